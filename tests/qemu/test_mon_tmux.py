"""test_mon_tmux.py — `mon` in a real terminal emulator: an 80×24 tmux pane
(issue 8 item 9, "mon draws without garbage on a 80×24 tmux";
docs/loadbalancing.md#tools). test_balance_progs.py checks the bytes mon
writes; this checks what a terminal makes of them.

A 4-node cluster of reference-speed nodes (`--icount 5`, direct boot,
lb=static). Node 0 first runs `spawn -n 22 --static cpuhog 0.2`, so that
its /proc/cluster/balance holds the 16 moves it keeps and mon's frame fills
all 24 rows: header, column titles, 4 node rows, 2 title rows and 16 moves
(the case where a newline after the last row would scroll the frame).

Then a private tmux server (its own socket in a private temporary
directory, its own configuration: no status line, so the pane is exactly
80×24, and no scroll-on-clear, so an erased screen does not go into the
history) runs `tools/cluster console 0` in its one pane; the test's own
console connection is closed meanwhile (one client per console). In the
pane: Enter, the prompt, `mon`. While it redraws, node 1 runs `cpuhog 4`
(through the test's connection to node 1), so node 1's row changes between
frames. The pane is captured (`capture-pane`: plain, with -e for
attributes, with -J for wrapped lines, and the cursor and history size in
the same tmux command) every 50 ms; a capture unchanged for 0.5 s is a
settled frame (mon draws one in about 20 ms, once a second). Every settled frame, until 3
different ones (their clocks differ) have gone by and node 1's row has
changed, must be exactly one clean frame:

  * row 0 the header "mon: node 0, policy static, HH:MM:SS UTC, up ...",
    row 1 the column titles, rows 2-5 nodes 0-3 (0 is self) with a
    32-column bar, rows 6-7 the migrations' titles, rows 8-23 the 16
    moves of /proc/cluster/balance, newest first: each row matched whole,
    so a character left from an earlier frame, from the shell or from an
    escape sequence the terminal did not take fails it;
  * every row under 80 columns, no row wrapped (-J joins nothing), no
    attribute or colour (-e adds no escape), no copy mode;
  * the cursor at the end of row 23 (no newline after the last row) and
    the history as long as before mon started (nothing scrolled).

Then q: the pane's whole content (history included) is the last frame
followed by the prompt, and `echo tmux-ok` typed there is echoed and
answered (the terminal echoes again). Ctrl-] detaches; the tmux server is
killed by its socket (only this test's server), and the node's console
answers the test again.

Needs tmux 3.3 or later (Debian 12's; tools/deps installs it) for the
scroll-on-clear option; skipped, saying so, only without tmux."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

NODES = 4
ROWS, COLS = 24, 80
MOVES_KEPT = 16  # mosix/balance.c keeps the last 16 moves
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "tools", "cluster")

HEADER = re.compile(r"mon: node 0, policy static, \d\d:\d\d:\d\d UTC, up \d+:\d\d:\d\d")
COLUMNS = re.compile(r"NODE STATUS LOAD \(8 # = 1 process\) +LOAD +SPEED +MiB FREE +PROCS")
# load, speed, MiB free, processes: "-" while unknown (no load message yet)
NODE_ROW = re.compile(r" {3}(\d) (self|up) +\[[#.>]{32}\] +(?:\d+\.\d\d|-)(?: +(?:\d+|-)){3}")
MOVES_TITLE = re.compile(re.escape("Last migrations from node 0, newest first:"))
MOVE_COLUMNS = re.compile(r" +UPTIME +PID NAME +FROM +TO +REASON")
MOVE_ROW = re.compile(r" *\d+:\d\d:\d\d +(\d+) cpuhog +0 -> ([1-3]) +manual")
FRAME = [HEADER, COLUMNS] + [NODE_ROW] * NODES + [MOVES_TITLE, MOVE_COLUMNS] + \
    [MOVE_ROW] * MOVES_KEPT
assert len(FRAME) == ROWS

NODE1 = 3  # node 1's row
PROMPT = "node0$"  # as capture-pane shows it: trailing blanks cut
SEP = "<<shoal-tmux-capture>>"
SETTLE = 0.5  # s a capture must stay unchanged to be a settled screen (mon
# draws a frame in about 20 ms, once a second)
POLL = 0.05

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed (tools/deps installs it)")


class Snap:
    """One capture of the pane, taken by one tmux command (so the parts
    agree): lines are the history then the 24 visible rows."""

    def __init__(self, out):
        plain, esc, rest = out.split(SEP + "\n")
        rest = rest.split("\n")
        self.lines = plain.split("\n")[:-1]
        self.esc = esc
        self.joined = [line.rstrip(" ") for line in rest[:-2]]
        (self.x, self.y, self.history, self.width, self.height, self.in_mode,
         self.dead) = (int(v) for v in rest[-2].split())
        self.screen = self.lines[-self.height:]

    def key(self):
        return (self.lines, self.esc, self.x, self.y, self.history, self.dead)

    def dump(self):
        rows = "\n".join(f"{i:2} |{r}" for i, r in enumerate(self.screen))
        return (f"pane {self.width}x{self.height}, cursor {self.x},{self.y}, history "
                f"{self.history}, in mode {self.in_mode}, dead {self.dead}:\n{rows}")


class Tmux:
    """A tmux server of this test alone, on its own socket, with one
    80×24 pane running command."""

    FORMAT = ("#{cursor_x} #{cursor_y} #{history_size} #{pane_width} #{pane_height} "
              "#{pane_in_mode} #{pane_dead}")

    def __init__(self, directory, command):
        self.sock = os.path.join(directory, "tmux.sock")
        conf = os.path.join(directory, "tmux.conf")
        with open(conf, "w") as f:
            f.write("set -g default-shell /bin/sh\n"  # runs the pane's command, whatever $SHELL
                    "set -g status off\n"  # the pane is the whole 80x24 window
                    "set -gq scroll-on-clear off\n"  # erasing keeps the history as it is
                    "set -g history-limit 2000\n"
                    "set -g remain-on-exit on\n")  # a pane that fails stays readable
        # Never the tmux this test may run in: no $TMUX, our socket only.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        self.pid = None
        try:
            self.tmux("-f", conf, "new-session", "-d", "-x", str(COLS), "-y", str(ROWS),
                      "-s", "mon", command)
            self.pid = int(self.tmux("display-message", "-p", "#{pid}"))
        except BaseException:
            self.close()
            raise

    def tmux(self, *args):
        r = subprocess.run(["tmux", "-S", self.sock] + list(args), env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=10)
        if r.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def option(self, name):
        return self.tmux("show-options", "-gqv", name).strip()

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "mon", *keys)

    def snap(self):
        return Snap(self.tmux(
            "capture-pane", "-p", "-t", "mon", "-S", "-", ";",
            "display-message", "-p", SEP, ";",
            "capture-pane", "-p", "-e", "-t", "mon", "-S", "-", ";",
            "display-message", "-p", SEP, ";",
            "capture-pane", "-p", "-J", "-t", "mon", "-S", "-", ";",
            "display-message", "-p", "-t", "mon", self.FORMAT))

    def settled(self, what, ok, timeout):
        """The first capture that stays unchanged for SETTLE s and for
        which ok(snap) is true; fails after timeout s with the last one."""
        deadline = time.monotonic() + timeout
        last, since = None, 0.0
        while True:
            s = self.snap()
            now = time.monotonic()
            if last is None or s.key() != last.key():
                last, since = s, now
            elif now - since >= SETTLE and ok(s):
                return s
            if s.dead and not ok(s):
                pytest.fail(f"the pane's command ended while waiting for {what}; "
                            f"{s.dump()}", pytrace=False)
            if now > deadline:
                pytest.fail(f"no {what} in the tmux pane within {timeout:g} s; last "
                            f"{last.dump()}", pytrace=False)
            time.sleep(POLL)

    def close(self):
        """Kill this server (by its socket) and wait for its process."""
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
        deadline = time.monotonic() + 5
        while self.pid and os.path.exists(f"/proc/{self.pid}") and \
                time.monotonic() < deadline:
            time.sleep(POLL)
        self.pid = None


def frame_problems(rows, pids):
    """What keeps rows (the 24 visible rows) from being one clean frame of
    mon on node 0, with the moves of pids (newest first)."""
    problems = []
    for i, (row, rx) in enumerate(zip(rows, FRAME)):
        if len(row) >= COLS:
            problems.append(f"row {i} has {len(row)} columns")
        if not rx.fullmatch(row):
            problems.append(f"row {i} is not {rx.pattern!r}: {row!r}")
    if problems:
        return problems
    nodes = [NODE_ROW.fullmatch(r).group(1, 2) for r in rows[2:2 + NODES]]
    if nodes != [("0", "self")] + [(str(n), "up") for n in range(1, NODES)]:
        problems.append(f"node rows: {nodes}")
    shown = [int(MOVE_ROW.fullmatch(r).group(1)) for r in rows[-MOVES_KEPT:]]
    if shown != pids:
        problems.append(f"moves shown for pids {shown}, /proc/cluster/balance has {pids}")
    return problems


def check_screen(s, history0, pids):
    problems = screen_problems(s, history0, pids)
    if problems:
        pytest.fail("not one clean frame of mon:\n" + "\n".join(problems) + "\n" + s.dump(),
                    pytrace=False)


def screen_problems(s, history0, pids):
    """frame_problems plus what only the terminal shows."""
    problems = []
    if (s.width, s.height) != (COLS, ROWS):
        problems.append(f"the pane is {s.width}x{s.height}")
    if s.in_mode:
        problems.append("the pane is in a mode (copy mode?)")
    if s.history != history0:
        problems.append(f"the history grew from {history0} to {s.history} lines "
                        "(the frame scrolled)")
    if s.joined != s.lines:
        problems.append("a row is wrapped (capture-pane -J joins it)")
    if "\x1b" in s.esc:
        problems.append(f"attributes in the pane: {s.esc[s.esc.index(chr(27)):][:40]!r}")
    if (s.x, s.y) != (len(s.screen[-1]), ROWS - 1):
        problems.append(f"the cursor is at {s.x},{s.y}, not after row {ROWS - 1}'s "
                        f"{len(s.screen[-1])} characters")
    for i, line in enumerate(s.lines[:-ROWS]):
        if HEADER.match(line):
            problems.append(f"a header in the history (line {i})")
    return problems + frame_problems(s.screen, pids)


@pytest.fixture
def tmpdir_short():
    """A private directory for the tmux socket (a short path: a socket's
    path has at most 107 bytes)."""
    d = tempfile.mkdtemp(prefix="shoal-tmux-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_mon_in_tmux(make_cluster, tmpdir_short, cluster_ready):
    t0 = time.monotonic()
    c = make_cluster("montmux", nodes=NODES, boot="direct", disk_mb=0, icount_default=5,
                     append="lb=static")
    cluster_ready(c, NODES)
    with c.console(0) as con:
        # 16 manual moves recorded on node 0 (a copy that ends before spawn
        # moves it is not one: try again, a few times at most).
        for _ in range(3):
            out, status = con.run("spawn -n 22 --static cpuhog 0.2", timeout=60)
            assert status == 0, out
            balance, _ = con.run("cat /proc/cluster/balance")
            pids = [int(m) for m in re.findall(r"(?m)^move \d+ (\d+) ", balance)]
            if len(pids) == MOVES_KEPT:
                break
        assert len(pids) == MOVES_KEPT, balance
    pids.reverse()  # mon shows the newest first

    console = shlex.join([sys.executable, TOOL, "--dir", c.lay.dir, "console", "0"])
    tm = Tmux(tmpdir_short, console)
    try:
        if tm.option("scroll-on-clear") != "off":
            pytest.skip(f"{tm.tmux('-V').strip()} has no scroll-on-clear option "
                        "(tmux 3.3 and later)")
        tm.settled("'Connected to node 0'",
                   lambda s: "Connected to node 0" in "".join(s.lines), 10)
        tm.keys("Enter")
        s = tm.settled("prompt", lambda s: s.screen[s.y] == PROMPT and s.x == len(PROMPT) + 1,
                       10)
        history0 = s.history
        tm.keys("mon", "Enter")

        def header(s):
            """The last header in the pane (in the history too: a frame
            that scrolls is checked and fails, rather than never seen)."""
            found = (HEADER.match(line) for line in reversed(s.lines))
            return next((m.group(0) for m in found if m), None)

        first = tm.settled("mon frame", header, 10)
        check_screen(first, history0, pids)

        # Node 1 gets busy: its row on node 0 changes from frame to frame.
        with c.console(1) as con1:
            con1.drain()
            con1.send("\x15cpuhog 4\r")
            headers = {header(first)}
            deadline = time.monotonic() + 20
            while len(headers) < 3 or s.screen[NODE1] == first.screen[NODE1]:
                s = tm.settled("new mon frame",
                               lambda s: header(s) not in headers,
                               deadline - time.monotonic())
                check_screen(s, history0, pids)
                headers.add(header(s))

            # q: the frame stays, the prompt comes back below it, and the
            # terminal echoes what is typed.
            tm.keys("q")
            s = tm.settled("prompt after q", lambda s: s.screen[-1] == PROMPT, 10)
            assert (s.x, s.y) == (len(PROMPT) + 1, ROWS - 1), s.dump()
            tm.keys("echo tmux-ok", "Enter")
            s = tm.settled("echo tmux-ok",
                           lambda s: s.screen[-3:] == [f"{PROMPT} echo tmux-ok", "tmux-ok",
                                                       PROMPT], 10)
            after = s.lines[history0:]
            assert len(after) == ROWS + 3, s.dump()
            assert not frame_problems(after[:ROWS], pids), \
                "\n".join(frame_problems(after[:ROWS], pids)) + "\n" + s.dump()

            con1.wait_for(r"cpuhog: 4 s of work, checksum", timeout=15)

        # Ctrl-] detaches tools/cluster console; the node's console is free.
        tm.keys("C-]")
        tm.settled("detach", lambda s: s.dead and any("Detached from node 0." in line
                                                       for line in s.lines), 10)
    finally:
        tm.close()
    with c.console(0) as con:
        assert con.run("echo back") == ("back\n", 0)
    print(f"mon in tmux: {len(headers)} frames checked, {time.monotonic() - t0:.1f} s")
