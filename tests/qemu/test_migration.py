"""test_migration.py — process migration, the deputy and remote paging
(mosix/mig.c, docs/migration.md) on a 3-node cluster.

  * memhash (32 MiB of pseudo-random data, hashed round after round) moved
    0 -> 1 -> 2 -> home while it runs prints exactly what an unmoved run
    prints; the migration counters move and the remotes fetched its clean
    text pages from home on demand;
  * a remote process's HOME calls work through its deputy: files on home's
    /data, a signal handler, fork and exec (it comes home for them), pipes
    both ways, a TCP connection from home's network identity (its 127.0.0.1
    is home's), kill -9 from home;
  * a remote reads its home console; ^Z at home stops it (the shell sees
    it stopped), fg resumes it, ^C ends it;
  * migrate to a node that is down or does not exist, or of init, fails
    cleanly and the process keeps running; a locked process still accepts
    an explicit migrate;
  * the node running a remote is killed: home reports the loss within 5 s
    and the parent's wait sees SIGKILL; the home of a remote is killed: the
    remote is gone within 5 s; the cluster keeps working afterwards;
  * a one-sided silence (/proc/cluster/deaf): node 1 deaf to node 0 for 6 s
    keeps running node 0's process, as node 2 still hears node 0
    (MIG_HEARS), and it ends normally; so it does when node 1 hears no
    node at all (the fault is its own); a forwarded read whose answer is
    typed while node 1 is deaf is sent again once home is heard and gets
    the answer the deputy kept (one read); node 0 deaf to node 1 for longer
    than the 30 s limit gives its process there up (status 137) and, once
    it hears node 1 again, has node 1 end it, so nothing runs on unseen;
  * 100 processes moved back and forth by 8 movers between 3 nodes all end
    with the right result, and free memory on every node comes back.

Waits are on output with timeouts, never on sleeps alone."""

import re
import time

import pytest

NODES = 3
T = "/bin/tests/"


@pytest.fixture(scope="module")
def mc(module_cluster):
    c = module_cluster("migration", nodes=NODES, boot="direct", disk_mb=32)
    for n in range(NODES):
        with c.console(n) as con:
            all_up(con)
    return c


def all_up(con, timeout=15):
    """Wait until con's node sees every node up (or self)."""
    t0 = time.monotonic()
    while True:
        out, status = con.run("cat /proc/cluster/nodes")
        states = re.findall(r"^\d+\s+\S+\s+(\w+)", out, re.M)
        if status == 0 and len(states) == NODES and \
                all(s in ("up", "self") for s in states):
            return
        assert time.monotonic() - t0 < timeout, out
        time.sleep(0.2)


def migrations(con):
    out, status = con.run("cat /proc/cluster/migrations")
    assert status == 0, out
    return {k: int(v) for k, v in (line.split() for line in out.splitlines() if line)}


def where(con, pid):
    out, status = con.run(f"cat /proc/{pid}/where")
    assert status == 0, out
    return int(out)


def start_bg(con, cmd):
    """Start cmd in the background on con's shell: its pid."""
    out, status = con.run(f"{cmd} & echo pid=$!")
    m = re.search(r"pid=(\d+)", out)
    assert status == 0 and m, out
    return int(m.group(1))


def memory(con):
    """(free KiB plus the kernel heap's pages — its slabs keep pages once
    grown — and the Linker workers' stacks, and the live kernel heap
    blocks): both fall back to their baseline unless something leaked."""
    out, _ = con.run("cat /proc/meminfo /proc/cluster/link")
    v = {k: int(re.search(rf"^{k}:?\s+(\d+)", out, re.M).group(1))
         for k in ("MemFree", "Slab", "KernelAllocs", "workers")}
    # The Linker's worker pool grows with concurrency and keeps its
    # threads: count each one's kernel stack (16 KiB) as free.
    return v["MemFree"] + v["Slab"] + 16 * v["workers"], v["KernelAllocs"]


def test_memhash_moved_0_1_2_home_prints_the_same(mc):
    with mc.console(0) as con:
        ref, status = con.run(T + "memhash -m 32 -r 8", timeout=180)
        assert status == 0 and "memhash done" in ref, ref
        before = migrations(con)
        pid = start_bg(con, T + "memhash -m 32 -r 8 -d 300 >/data/mh.out")

        def rounds():
            return con.run("cat /data/mh.out")[0].count("round")

        def wait_round(n):
            t0 = time.monotonic()
            while rounds() < n:
                assert time.monotonic() - t0 < 60, f"round {n} never came"
                time.sleep(0.3)

        wait_round(1)  # its 32 MiB are filled and written once
        for node, want in ((1, 1), (2, 2), ("home", 0)):
            t0 = time.monotonic()
            out, status = con.run(f"migrate {pid} {node}", timeout=90)
            assert status == 0, (node, out)
            print(f"migrate {pid} {node}: {time.monotonic() - t0:.2f} s")
            assert where(con, pid) == want
            out, _ = con.run("ps")
            assert re.search(rf"^\s*{pid}\s+\d+\s+\w\s+{want}\s", out, re.M), out
            if want:  # it prints a round over there before moving on
                wait_round(rounds() + 1)
        out, status = con.run(f"wait {pid}; echo st=$?", timeout=180)
        assert "st=0" in out, out
        out, status = con.run("cat /data/mh.out")
        assert out == ref
        after = migrations(con)
        # Out twice (0->1 from here, and nothing else from here), in once
        # (home again); 32 MiB and more went each way.
        assert after["out"] - before["out"] == 1, (before, after)
        assert after["in"] - before["in"] == 1, (before, after)
        assert after["out_bytes"] - before["out_bytes"] >= 32 << 20, after
        assert after["calls_served"] > before["calls_served"], after
        print("node 0:", after)
    fetched = 0
    for n in (1, 2):
        with mc.console(n) as con:
            m = migrations(con)
            print(f"node {n}:", m)
            fetched += m["pages_fetched"]
            assert m["in"] >= 1 and m["out"] >= 1, m
    # Its text was never sent: the remotes read it from home on demand.
    assert fetched > 0


def test_remote_process_calls_go_home(mc):
    with mc.console(0) as con:
        for cmd, want in (("-n 1 files /data", "files ok\n"),
                          ("-n 2 signal", "signal ok\n"),
                          ("-n 1 fork 5", "fork ok\n"),
                          ("-n 2 pipe", "pipe ok\n"),
                          ("-n 1 exec /bin/echo exec-ok", "exec-ok\n"),
                          ("-n 2 where", "node 2\n")):
            out, status = con.run(T + "migtest " + cmd, timeout=60)
            assert (out, status) == (want, 0), cmd
        # A remote writing into a pipe that a local process reads.
        out, status = con.run(T + "migtest -n 1 spin 2 | wc -l", timeout=60)
        assert (out.strip(), status) == ("3", 0), out
        # Its sockets are home's: 127.0.0.1 is node 0's loopback.
        out, status = con.run("echo reply | nc -l 7000 >/data/nc.out & sleep 1; "
                              + T + "migtest -n 2 tcp 7000; wait", timeout=60)
        assert "tcp ok: reply" in out, out
        out, status = con.run("cat /data/nc.out")
        assert out == "hello\n", out
        # kill -9 at home ends it over there; wait reports SIGKILL.
        pid = start_bg(con, T + "migtest -n 1 spin 60 >/dev/null")
        t0 = time.monotonic()
        while where(con, pid) != 1:
            assert time.monotonic() - t0 < 20
            time.sleep(0.2)
        out, status = con.run(f"kill -9 {pid}; wait {pid}; echo st=$?", timeout=20)
        assert "st=137" in out, out
    gone_from(mc, 1, "migtest")  # nothing left on the remote's node


def gone_from(mc, node, name, timeout=5):
    """No process `name` left on `node` (a remote is listed as [name]):
    its home hears of its exit before it has quite ended there."""
    with mc.console(node) as c:
        t0 = time.monotonic()
        while name in (out := c.run("ps")[0]):
            assert time.monotonic() - t0 < timeout, out
            time.sleep(0.2)


def start_read_line(mc, con, node):
    """Run `migtest -n NODE read-line` in the foreground of con (node 0)
    and wait until it runs on `node`, about to read the home console."""
    con.drain()
    con.send("\x15" + T + f"migtest -n {node} read-line\r")
    con.wait_for(r"read-line\r?\n", timeout=10)
    with mc.console(node) as c:
        t0 = time.monotonic()
        while "migtest" not in c.run("ps")[0]:
            assert time.monotonic() - t0 < 20
            time.sleep(0.2)


def test_remote_reads_home_console_ctrl_z_fg_ctrl_c(mc):
    with mc.console(0) as con:
        start_read_line(mc, con, 2)
        con.send("typed at home\r")
        con.wait_for(r"got: typed at home\r?\n", timeout=20)
        assert con.run("echo $?") == ("0\n", 0)
        con.send("\x15" + T + "migtest -n 1 spin 60\r")
        con.wait_for(r"spin 1\r?\n", timeout=30)
        # ^Z stops it over there and the shell at home sees it stopped;
        # fg resumes it.
        con.send("\x1a")
        con.wait_for(r"Stopped +/bin/tests/migtest -n 1 spin 60\r?\nnode0\$ ",
                     timeout=10)
        out, _ = con.run("ps")
        assert re.search(r"\sT\s+1\s.*migtest", out), out
        con.drain()
        con.send("\x15fg\r")
        con.wait_for(r"spin 3\r?\n", timeout=30)
        con.send("\x03")
        con.wait_for(r"node0\$ ", timeout=10)
        out, _ = con.run("echo $?")
        assert out == "130\n", out
    gone_from(mc, 1, "migtest")


def test_bad_targets_fail_cleanly_and_lock_allows_explicit_moves(mc):
    with mc.console(0) as con:
        pid = start_bg(con, T + "migtest spin 8 >/data/spin.out")
        for node, msg in (("7", "Host is down"), ("63", "Host is down"),
                          ("64", "Invalid argument"), ("x", "usage")):
            out, status = con.run(f"migrate {pid} {node}")
            assert status != 0 and msg in out, (node, out)
        out, status = con.run("migrate 1 1")
        assert status == 1 and "init" in out, out
        out, status = con.run("migrate 999 1")
        assert status == 1 and "No such process" in out, out
        assert where(con, pid) == 0
        # The lock stops automatic moves only.
        assert con.run(f"echo 1 >/proc/{pid}/lock")[1] == 0
        assert con.run(f"migrate {pid} 2") == ("", 0)
        assert where(con, pid) == 2
        out, status = con.run(f"echo home >/proc/{pid}/goto; cat /proc/{pid}/where")
        assert (out, status) == ("0\n", 0)
        out, status = con.run(f"echo 9 >/proc/{pid}/goto")
        assert status != 0 and "down" in out.lower(), out
        out, status = con.run(f"wait {pid}; echo st=$?; tail -1 /data/spin.out",
                              timeout=30)
        assert "st=0" in out and "spin ok" in out, out


def test_node_of_a_remote_dies_then_its_home_dies(mc):
    with mc.console(0) as con:
        pid = start_bg(con, T + "migtest -n 1 spin 120 >/dev/null")
        t0 = time.monotonic()
        while where(con, pid) != 1:
            assert time.monotonic() - t0 < 20
            time.sleep(0.2)
        con.drain()
        mc.kill(1)
        t_kill = time.monotonic()
        try:
            con.wait_for(rf"mig: pid {pid} \(migtest\) lost on node 1", timeout=10)
            took = time.monotonic() - t_kill
            print(f"home reported the loss {took:.2f} s after the kill")
            assert took <= 5.0
            out, _ = con.run(f"wait {pid}; echo st=$?", timeout=10)
            assert "st=137" in out, out
            # The survivors still migrate.
            out, status = con.run(T + "migtest -n 2 where", timeout=30)
            assert (out, status) == ("node 2\n", 0)
        finally:
            mc.start(1)
    # A remote whose home dies: node 2's process running on node 0.
    with mc.console(2) as con:
        all_up(con)
        pid = start_bg(con, T + "migtest -n 0 spin 120 >/dev/null")
        t0 = time.monotonic()
        while where(con, pid) != 0:
            assert time.monotonic() - t0 < 20
            time.sleep(0.2)
    with mc.console(0) as con:
        assert "spin 120" in con.run("ps")[0] or "migtest" in con.run("ps")[0]
        mc.kill(2)
        t_kill = time.monotonic()
        try:
            while "migtest" in con.run("ps")[0]:
                assert time.monotonic() - t_kill < 5.0, "the remote outlived its home"
                time.sleep(0.2)
            print(f"the remote was gone {time.monotonic() - t_kill:.2f} s after its home died")
            out, status = con.run(T + "migtest -n 1 where", timeout=30)
            assert (out, status) == ("node 1\n", 0)
        finally:
            mc.start(2)
    for n in range(NODES):
        with mc.console(n) as con:
            all_up(con)


def node_state(con, node):
    out, status = con.run("cat /proc/cluster/nodes")
    m = re.search(rf"^{node}\s+\S+\s+(\w+)", out, re.M)
    assert status == 0 and m, out
    return m.group(1)


def wait_state(con, node, want, timeout):
    t0 = time.monotonic()
    while node_state(con, node) != want:
        assert time.monotonic() - t0 < timeout, f"node {node} never {want}"
        time.sleep(0.2)


def deaf(con, what):
    assert con.run(f"echo {what} > /proc/cluster/deaf") == ("", 0)


def remote_through_silence(mc, deaf_to, logged, out_file):
    """A process of node 0's runs on node 1, writing a line home every
    second, while node 1 is deaf to `deaf_to` for 5 s past its seeing
    node 0 down (past the 2 s grace and one more look): node 1 logs
    `logged` about node 0 and keeps it; it ends with status 0, and every
    line is written once. Returns node 1's /proc/cluster/deaf after."""
    secs = 20  # outlives the silence (cpuhog 15 ends in a second here)
    with mc.console(0) as con:
        pid = start_bg(con, T + f"migtest spin {secs} >{out_file}")
        assert con.run(f"migrate {pid} 1") == ("", 0)
        assert where(con, pid) == 1
        with mc.console(1) as c1:
            deaf(c1, deaf_to)
            try:
                wait_state(c1, 0, "down", 10)
                t_down = time.monotonic()
                while time.monotonic() - t_down < 5:
                    time.sleep(0.5)
                out, _ = c1.run("dmesg | grep 'mig: node 0 silent here'")
                assert logged in out, out
            finally:
                deaf(c1, "none")
            after, _ = c1.run("cat /proc/cluster/deaf")
            wait_state(c1, 0, "up", 10)
        out, _ = con.run(f"wait {pid}; echo st=$?", timeout=120)
        assert "st=0" in out, out
        out, _ = con.run(f"cat {out_file}")
        assert out.splitlines() == [f"spin {i}" for i in range(1, secs + 1)] + ["spin ok"], out
    return after


def test_remote_deaf_to_its_home_keeps_running(mc):
    # Node 2 hears node 0 (MIG_HEARS).
    out = remote_through_silence(mc, "0", "heard by node 2", "/data/hog.out")
    assert re.search(r"^dropped [1-9]\d*$", out, re.M), out
    assert out.split("dropped")[0].strip() == "", out


def test_remote_deaf_to_every_node_keeps_running(mc):
    """Node 1 hears nobody: nobody to ask, but every peer silent at once
    means the fault is node 1's (a guest clock catching up after the host
    fell behind looks like this), so it waits instead of killing."""
    remote_through_silence(mc, "0 2", "and every other node: waiting", "/data/hog2.out")


def test_call_in_flight_survives_a_silence(mc):
    """A remote blocked in a forwarded read while it hears nothing from
    home; the line is typed then, so the answer goes into a session that
    is cleared. Once home is heard the call goes again with its number,
    the deputy does not read twice but answers with the answer it kept."""
    with mc.console(1) as c1:
        before1 = migrations(c1)
    with mc.console(0) as con:
        before0 = migrations(con)
        start_read_line(mc, con, 1)
        with mc.console(1) as c1:
            time.sleep(1)  # in its read at home by now
            deaf(c1, "0")
            try:
                wait_state(c1, 0, "down", 10)
                con.send("typed in the silence\r")
                time.sleep(1.5)  # the answer is sent, node 1 drops it
            finally:
                deaf(c1, "none")
            con.wait_for(r"got: typed in the silence\r?\n", timeout=20)
            after1 = migrations(c1)
        assert con.run("echo $?") == ("0\n", 0)
        after0 = migrations(con)
    print(f"calls resent by node 1: {after1['calls_resent'] - before1['calls_resent']}, "
          f"repeats answered by node 0: {after0['calls_repeated'] - before0['calls_repeated']}")
    assert after1["calls_resent"] > before1["calls_resent"], (before1, after1)
    assert after0["calls_repeated"] > before0["calls_repeated"], (before0, after0)
    assert after0["lost"] == before0["lost"], (before0, after0)


def test_home_deaf_past_the_limit_gives_up_and_ends_it_there(mc):
    with mc.console(0) as con:
        lost = migrations(con)["lost"]
        pid = start_bg(con, T + "migtest spin 300 >/dev/null")
        assert con.run(f"migrate {pid} 1") == ("", 0)
        with mc.console(1) as c1:
            out, _ = c1.run("ps")
            assert "migtest" in out, out
        con.drain()
        deaf(con, "1")
        t0 = time.monotonic()
        try:
            con.wait_for(rf"mig: pid {pid} \(migtest\) lost on node 1", timeout=60)
            took = time.monotonic() - t0
            print(f"given up {took:.1f} s after node 0 went deaf to node 1")
            assert took >= 25, took  # node 2 heard node 1 all along
            assert migrations(con)["lost"] == lost + 1
        finally:
            deaf(con, "none")
        con.wait_for(rf"mig: pid {pid}, given up, ended on node 1", timeout=20)
        gone_from(mc, 1, "migtest", timeout=10)  # it does not run on there
    for n in range(NODES):
        with mc.console(n) as c:
            all_up(c)


def test_hundred_processes_moved_concurrently(mc):
    for n in range(NODES):
        with mc.console(n) as con:
            all_up(con)
    with mc.console(0) as con:
        # A short run of the same shape first: worker threads and heap
        # pools reach their working size, and what follows is measured
        # against that (a second run leaves exactly as much free).
        out, status = con.run(T + "migstorm -p 100 -r 6 -m 8", timeout=300)
        assert "100 workers ok" in out and "0 failed" in out, out
    time.sleep(1)
    base = {}
    for n in range(NODES):
        with mc.console(n) as c:
            base[n] = memory(c)
    with mc.console(0) as con:
        out, status = con.run(T + "migstorm -p 100 -r 40 -m 8", timeout=400)
        print(out)
        m = re.search(r"migstorm: (\d+) workers ok, (\d+) migrations, (\d+) failed", out)
        assert status == 0 and m and m.group(1) == "100" and m.group(3) == "0", out
        assert int(m.group(2)) >= 100, out
    # Free memory returns to the baseline (within 64 KiB), and so does the
    # number of live kernel heap blocks (within 16: a log line, a cache).
    for n in range(NODES):
        with mc.console(n) as c:
            t0 = time.monotonic()
            while True:
                now = memory(c)
                if now[0] >= base[n][0] - 64 and now[1] <= base[n][1] + 16:
                    break
                assert time.monotonic() - t0 < 10, (n, base[n], now)
                time.sleep(0.5)
            print(f"node {n}: free+heap {base[n][0]} KiB and {base[n][1]} heap "
                  f"blocks before, {now[0]} KiB and {now[1]} after")
