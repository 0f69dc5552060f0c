"""The small programs of user/ (ls, cat, ps, kill, ...) tested on the host.

Shoal runs static Linux x86_64 binaries, so the very binaries that go into
/bin run here natively: each test builds them with tools/cc (musl-gcc,
-Werror) once per session and checks their behaviour in temporary
directories — output, exit statuses (0 ok, 1 failure, 2 bad usage) and
"PROG: FILE: strerror" messages. Skipped when musl-gcc is missing.

Processes are synchronised through pipes, never with sleeps: a child `cat`
has run once it has echoed a line back. `reboot` only ever runs with root's
privileges dropped, so a mistake can never restart the machine.
"""
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROGRAMS = sorted(
    "ls cat echo ps kill mkdir rm cp mv ln wc head tail grep sleep true false "
    "env uptime free mount sync dmesg reboot pwd touch rmdir stat".split())

pytestmark = pytest.mark.skipif(shutil.which("musl-gcc") is None,
                                reason="musl-gcc not installed (tools/deps)")


@pytest.fixture(scope="session")
def bindir(build_programs):
    return build_programs("coreutils", PROGRAMS)


@pytest.fixture
def run(bindir):
    def run(prog, *args, input=None, cwd=None, env=None, text=True,
            stdout=subprocess.PIPE):
        if isinstance(input, str) and not text:
            input = input.encode()
        return subprocess.run([str(bindir / prog), *map(str, args)],
                              input=input, cwd=cwd, env=env, text=text,
                              stdout=stdout, stderr=subprocess.PIPE,
                              timeout=60)
    return run


def lines(r):
    return r.stdout.splitlines()


# ------------------------------------------------------------ conventions

@pytest.mark.parametrize("prog", [p for p in PROGRAMS if p != "reboot"])
def test_help(run, prog):  # reboot's: in test_reboot, unprivileged
    r = run(prog, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"usage: {prog}"), r.stdout
    assert r.stderr == ""


@pytest.mark.parametrize("prog", sorted(
    set(PROGRAMS) - {"true", "false", "echo", "reboot"}))
def test_bad_option(run, prog):
    r = run(prog, "-Z", "x", "y")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith(f"{prog}: "), r.stderr
    assert f"usage: {prog}" in r.stderr


@pytest.mark.parametrize("prog,args", [
    ("cat", ["x"]), ("echo", ["hello"]), ("ls", ["/"]), ("ps", []),
    ("wc", ["x"]), ("env", []), ("free", []), ("uptime", []),
])
def test_write_error_reported(bindir, tmp_path, prog, args):
    (tmp_path / "x").write_text("some text\n")
    with open("/dev/full", "w") as full:
        r = subprocess.run([str(bindir / prog), *args], stdout=full,
                           stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == f"{prog}: write error: No space left on device\n"


# ------------------------------------------------------------ text tools

def test_cat(run, tmp_path):
    (tmp_path / "a").write_text("alpha\n")
    (tmp_path / "b").write_text("beta")
    r = run("cat", "a", "-", "b", input="stdin\n", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "alpha\nstdin\nbeta"
    assert run("cat", input="only stdin").stdout == "only stdin"


def test_cat_errors_continue(run, tmp_path):
    (tmp_path / "a").write_text("alpha\n")
    r = run("cat", "/nonexistent/x", "a", ".", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == "alpha\n"
    assert r.stderr == ("cat: /nonexistent/x: No such file or directory\n"
                        "cat: .: Is a directory\n")


def test_cat_large_binary(run, tmp_path):
    data = os.urandom(3 << 20)
    (tmp_path / "big").write_bytes(data)
    with open(tmp_path / "copy", "wb") as out:
        r = run("cat", tmp_path / "big", stdout=out)
    assert r.returncode == 0
    assert (tmp_path / "copy").read_bytes() == data
    assert run("cat", input=data, text=False).stdout == data


@pytest.mark.parametrize("args,out", [
    (["a", "b  c"], "a b  c\n"),
    ([], "\n"),
    (["-n", "x"], "x"),
    (["-e", r"t\tn\nx\x41\0102\\"], "t\tn\nxAB\\\n"),
    (["-ne", r"a\cb"], "a"),
    (["-E", r"a\tb"], "a\\tb\n"),
    ([r"a\tb"], "a\\tb\n"),
    (["-x", "-n"], "-x -n\n"),
    (["-e", "-n", "-", "y"], "- y"),
])
def test_echo(run, args, out):
    r = run("echo", *args)
    assert r.returncode == 0 and r.stdout == out


def test_wc(run, tmp_path):
    (tmp_path / "t").write_text("one two\nthree\n\n  four")
    (tmp_path / "u").write_text("x\n")
    r = run("wc", "t", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.split() == ["3", "4", "21", "t"]
    assert run("wc", "-l", input="a\nb\nc\n").stdout == "3\n"
    assert run("wc", "-w", "-c", input="a bb\n").stdout.split() == ["2", "5"]
    r = run("wc", "-l", "t", "missing", "u", cwd=tmp_path)
    assert r.returncode == 1
    assert [l.split() for l in lines(r)] == [["3", "t"], ["1", "u"],
                                             ["4", "total"]]
    assert r.stderr == "wc: missing: No such file or directory\n"


def test_head(run, tmp_path):
    text = "".join(f"line {i}\n" for i in range(1, 101))
    (tmp_path / "f").write_text(text)
    assert run("head", "f", cwd=tmp_path).stdout == \
        "".join(f"line {i}\n" for i in range(1, 11))
    assert run("head", "-n", "3", input=text).stdout == \
        "line 1\nline 2\nline 3\n"
    assert run("head", "-2", input=text).stdout == "line 1\nline 2\n"
    assert run("head", "-n0", input=text).stdout == ""
    assert run("head", "-n", "5", input="a\nb").stdout == "a\nb"
    r = run("head", "-n", "1", "f", "f", cwd=tmp_path)
    assert r.stdout == "==> f <==\nline 1\n\n==> f <==\nline 1\n"
    r = run("head", "-n", "x")
    assert r.returncode == 2 and "invalid number of lines" in r.stderr


def test_head_stops_early_on_a_pipe(bindir):
    # head must exit after N lines, not wait for the end of its input.
    p = subprocess.Popen([str(bindir / "head"), "-n", "2"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    p.stdin.write(b"1\n2\n3\n")
    p.stdin.flush()
    try:
        out = p.stdout.read()
        assert p.wait(timeout=30) == 0
        assert out == b"1\n2\n"
    finally:
        p.stdin.close()
        p.kill()
        p.wait()


@pytest.mark.parametrize("source", ["file", "pipe"])
def test_tail(run, tmp_path, source):
    n = 200000  # well past tail's 64 KiB chunk and trimming thresholds
    text = "".join(f"{i}\n" for i in range(1, n + 1))
    f = tmp_path / "f"
    f.write_text(text)

    def tail(*args, data=text):
        if source == "file":
            f.write_text(data)
            return run("tail", *args, f)
        return run("tail", *args, input=data)

    assert tail().stdout == "".join(f"{i}\n" for i in range(n - 9, n + 1))
    assert tail("-n", "3").stdout == f"{n - 2}\n{n - 1}\n{n}\n"
    assert tail("-n", str(n - 1)).stdout == text[text.index("\n") + 1:]
    assert tail("-n", "+199998").stdout == "199998\n199999\n200000\n"
    assert tail("-n", "0").stdout == ""
    assert tail("-n", "2", data="a\nb\nc").stdout == "b\nc"
    assert tail("-n", "5", data="a\nb\n").stdout == "a\nb\n"
    assert tail("-n", "1", data="").stdout == ""
    long_line = "x" * 300000 + "\n"
    assert tail("-n", "2", data="a\n" + long_line + "b\n").stdout == \
        long_line + "b\n"


def test_tail_misc(run):
    # /proc files report size 0: tail must read them, not trust st_size.
    last = pathlib.Path("/proc/self/mounts").read_text().splitlines()[-1]
    assert run("tail", "-n", "1", "/proc/self/mounts").stdout == last + "\n"
    r = run("tail", "/nonexistent")
    assert r.returncode == 1
    assert r.stderr == "tail: /nonexistent: No such file or directory\n"
    assert run("tail", "-n", "-").returncode == 2


GREP_TEXT = "Hello world\nfoo\nhello again\nbar foo\n"


@pytest.mark.parametrize("args,status,out", [
    (["hello"], 0, "hello again\n"),
    (["-i", "HELLO"], 0, "Hello world\nhello again\n"),
    (["-v", "foo"], 0, "Hello world\nhello again\n"),
    (["-n", "foo"], 0, "2:foo\n4:bar foo\n"),
    (["-c", "o"], 0, "4\n"),
    (["-c", "zzz"], 1, "0\n"),
    (["-vc", "o"], 1, "0\n"),
    (["-q", "bar"], 0, ""),
    (["-q", "zzz"], 1, ""),
    (["nothing"], 1, ""),
    (["-in", "AGAIN"], 0, "3:hello again\n"),
])
def test_grep(run, args, status, out):
    r = run("grep", *args, input=GREP_TEXT)
    assert (r.returncode, r.stdout) == (status, out), r.stderr


def test_grep_files(run, tmp_path):
    (tmp_path / "a").write_text(GREP_TEXT)
    (tmp_path / "b").write_text("foo fighters\n")
    r = run("grep", "foo", "a", "b", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout == "a:foo\na:bar foo\nb:foo fighters\n"
    r = run("grep", "foo", "missing", "b", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == "b:foo fighters\n"
    assert r.stderr == "grep: missing: No such file or directory\n"
    assert run("grep").returncode == 2


# ------------------------------------------------------------ files

def test_ls(run, tmp_path):
    for name in ["b", "a", ".hidden"]:
        (tmp_path / name).write_text("x")
    (tmp_path / "dir").mkdir()
    r = run("ls", cwd=tmp_path)
    assert r.returncode == 0 and lines(r) == ["a", "b", "dir"]
    assert lines(run("ls", "-a", tmp_path)) == \
        [".", "..", ".hidden", "a", "b", "dir"]
    assert lines(run("ls", "-1", "-d", "dir", cwd=tmp_path)) == ["dir"]
    r = run("ls", "dir", "b", "nope", "a", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == "ls: nope: No such file or directory\n"
    assert lines(r) == ["a", "b", "", "dir:"]


def test_ls_long(run, tmp_path):
    f = tmp_path / "file"
    f.write_text("12345")
    f.chmod(0o640)
    os.utime(f, (0, 86400 * 365 + 3661))  # 1971-01-01 01:01:01 UTC
    os.link(f, tmp_path / "hard")
    os.symlink("file", tmp_path / "sym")
    (tmp_path / "sub").mkdir(mode=0o755)
    r = run("ls", "-l", tmp_path, env={"TZ": "UTC"})
    assert r.returncode == 0, r.stderr
    rows = {l.split()[-1] if "->" not in l else l.split()[-3]: l
            for l in lines(r)}
    assert set(rows) == {"file", "hard", "sym", "sub"}
    assert rows["file"].split() == ["-rw-r-----", "2", "5", "1971-01-01",
                                    "01:01", "file"]
    assert rows["sym"].startswith("lrwxrwxrwx ")
    assert rows["sym"].endswith(" sym -> file")
    assert rows["sub"].startswith("drwxr-xr-x ")
    r = run("ls", "-ld", tmp_path / "sym")
    assert r.stdout.rstrip().endswith("sym -> file")


def test_mkdir(run, tmp_path):
    assert run("mkdir", "a", "b", cwd=tmp_path).returncode == 0
    assert (tmp_path / "a").is_dir() and (tmp_path / "b").is_dir()
    r = run("mkdir", "a", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == "mkdir: a: File exists\n"
    r = run("mkdir", "x/y", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == "mkdir: x/y: No such file or directory\n"
    assert run("mkdir", "-p", "x//y/z/", "a", cwd=tmp_path).returncode == 0
    assert (tmp_path / "x" / "y" / "z").is_dir()
    (tmp_path / "f").write_text("")
    r = run("mkdir", "-p", "f/g", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == "mkdir: f: Not a directory\n"
    assert run("mkdir").returncode == 2


def test_rm(run, tmp_path):
    (tmp_path / "f").write_text("")
    (tmp_path / "d" / "e" / "g").mkdir(parents=True)
    (tmp_path / "d" / "e" / "file").write_text("x")
    os.symlink("/", tmp_path / "d" / "root-link")  # must not be followed
    r = run("rm", "d", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == "rm: d: Is a directory\n"
    assert run("rm", "f", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "f").exists()
    assert run("rm", "-r", "d", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "d").exists()
    r = run("rm", "missing", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == "rm: missing: No such file or directory\n"
    r = run("rm", "-f", "missing", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (0, "")
    r = run("rm", "-rf", "..", cwd=tmp_path)
    assert r.returncode == 1 and "refusing" in r.stderr
    assert tmp_path.exists()


def test_cp(run, tmp_path):
    data = os.urandom(1 << 20) + b"tail"
    src = tmp_path / "src"
    src.write_bytes(data)
    src.chmod(0o751)
    assert run("cp", "src", "dst", cwd=tmp_path).returncode == 0
    assert (tmp_path / "dst").read_bytes() == data
    assert stat.S_IMODE((tmp_path / "dst").stat().st_mode) == 0o751
    (tmp_path / "dir").mkdir()
    assert run("cp", "src", "dst", "dir", cwd=tmp_path).returncode == 0
    assert (tmp_path / "dir" / "src").read_bytes() == data
    assert (tmp_path / "dir" / "dst").read_bytes() == data
    r = run("cp", "src", "dst", "nodir", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == "cp: nodir: Not a directory\n"
    r = run("cp", "src", "src", cwd=tmp_path)
    assert r.returncode == 1 and "same file" in r.stderr
    assert src.read_bytes() == data
    r = run("cp", "dir", "dir2", cwd=tmp_path)
    assert r.returncode == 1 and "use -r" in r.stderr
    r = run("cp", "missing", "x", cwd=tmp_path)
    assert r.stderr == "cp: missing: No such file or directory\n"
    assert run("cp", "src").returncode == 2


def test_cp_recursive(run, tmp_path):
    (tmp_path / "t" / "a" / "b").mkdir(parents=True)
    (tmp_path / "t" / "a" / "b" / "f").write_text("deep")
    (tmp_path / "t" / "top").write_text("top")
    os.symlink("a/b/f", tmp_path / "t" / "link")
    assert run("cp", "-r", "t", "u", cwd=tmp_path).returncode == 0
    assert (tmp_path / "u" / "a" / "b" / "f").read_text() == "deep"
    assert (tmp_path / "u" / "top").read_text() == "top"
    assert os.readlink(tmp_path / "u" / "link") == "a/b/f"
    # Into an existing directory: u/t.
    assert run("cp", "-r", "t", "u", cwd=tmp_path).returncode == 0
    assert (tmp_path / "u" / "t" / "top").read_text() == "top"
    r = run("cp", "-r", "t", "t/a", cwd=tmp_path)
    assert r.returncode == 1 and "into itself" in r.stderr


def test_mv(run, tmp_path):
    (tmp_path / "a").write_text("A")
    assert run("mv", "a", "b", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "a").exists()
    assert (tmp_path / "b").read_text() == "A"
    (tmp_path / "d").mkdir()
    (tmp_path / "c").write_text("C")
    assert run("mv", "b", "c", "d", cwd=tmp_path).returncode == 0
    assert sorted(os.listdir(tmp_path / "d")) == ["b", "c"]
    r = run("mv", "missing", "x", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == "mv: missing: No such file or directory\n"
    assert run("mv", "x").returncode == 2


def test_mv_across_file_systems(run, tmp_path):
    other = pathlib.Path("/dev/shm")
    if not other.is_dir() or other.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system to move to")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    data = os.urandom(200000)
    (tree / "sub" / "data").write_bytes(data)
    (tree / "sub" / "data").chmod(0o600)
    os.symlink("sub/data", tree / "link")
    dest = pathlib.Path(tempfile.mkdtemp(dir=other))
    try:
        r = run("mv", tree, dest / "moved")
        assert r.returncode == 0, r.stderr
        assert not tree.exists()
        assert (dest / "moved" / "sub" / "data").read_bytes() == data
        assert stat.S_IMODE(
            (dest / "moved" / "sub" / "data").stat().st_mode) == 0o600
        assert os.readlink(dest / "moved" / "link") == "sub/data"
        (tmp_path / "f").write_text("file")
        assert run("mv", tmp_path / "f", dest).returncode == 0
        assert (dest / "f").read_text() == "file"
        assert not (tmp_path / "f").exists()
    finally:
        shutil.rmtree(dest)


def test_ln(run, tmp_path):
    (tmp_path / "t").write_text("target")
    assert run("ln", "t", "h", cwd=tmp_path).returncode == 0
    assert (tmp_path / "h").stat().st_ino == (tmp_path / "t").stat().st_ino
    assert run("ln", "-s", "t", "s", cwd=tmp_path).returncode == 0
    assert os.readlink(tmp_path / "s") == "t"
    r = run("ln", "t", "h", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == "ln: h: File exists\n"
    r = run("ln", "missing", "m", cwd=tmp_path)
    assert r.stderr == "ln: missing: No such file or directory\n"
    (tmp_path / "d").mkdir()
    assert run("ln", "-s", "../t", "d", cwd=tmp_path).returncode == 0
    assert (tmp_path / "d" / "t").read_text() == "target"
    assert run("ln", "t").returncode == 2


def test_pwd_touch_rmdir_stat(run, tmp_path):
    assert run("pwd", cwd=tmp_path).stdout == f"{os.path.realpath(tmp_path)}\n"
    f = tmp_path / "new"
    assert run("touch", f).returncode == 0 and f.exists()
    os.utime(f, (1000, 1000))
    assert run("touch", f).returncode == 0
    assert f.stat().st_mtime > 1000
    assert run("touch", "-c", tmp_path / "nope").returncode == 0
    assert not (tmp_path / "nope").exists()
    r = run("stat", f)
    assert r.returncode == 0
    mode = stat.S_IMODE(f.stat().st_mode)
    assert "\tregular file\n" in r.stdout
    assert f"Access: ({mode:04o}/{stat.filemode(f.stat().st_mode)})" \
        in r.stdout
    assert f"Inode: {f.stat().st_ino}" in r.stdout
    (tmp_path / "a" / "b").mkdir(parents=True)
    r = run("rmdir", "a", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == "rmdir: a: Directory not empty\n"
    assert run("rmdir", "-p", "a/b/", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "a").exists()


# ------------------------------------------------------------ processes

def test_true_false(run):
    assert run("true", "-x", "anything").returncode == 0
    assert run("false").returncode == 1
    assert run("false", "x").returncode == 1


def test_sleep(run):
    start = time.monotonic()
    r = run("sleep", "0.1", "0.15s")
    assert r.returncode == 0
    assert time.monotonic() - start >= 0.25
    for bad in ["abc", "-1", "1x", "nan"]:
        r = run("sleep", bad)
        assert r.returncode == 2 and "invalid time interval" in r.stderr
    assert run("sleep").returncode == 2


def test_env(run, bindir):
    r = run("env", env={"FOO": "bar", "X": "1"})
    assert sorted(lines(r)) == ["FOO=bar", "X=1"]
    r = run("env", "-i", "A=1", "B=x=y", bindir / "env", env={"FOO": "bar"})
    assert lines(r) == ["A=1", "B=x=y"]
    r = run("env", "-u", "FOO", "env", env={"FOO": "bar", "PATH": str(bindir)})
    assert lines(r) == [f"PATH={bindir}"]
    r = run("env", "-i", "PATH=" + str(bindir), "echo", "-n", "hi")
    assert (r.returncode, r.stdout) == (0, "hi")
    r = run("env", "no-such-command-here")
    assert r.returncode == 127
    assert r.stderr == "env: no-such-command-here: No such file or directory\n"
    assert run("env", bindir / "false").returncode == 1


def echo_child(bindir, name="cat", **kw):
    """A child `cat` that has certainly started: it echoed a line back."""
    p = subprocess.Popen([str(bindir / name)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, **kw)
    p.stdin.write(b"ready\n")
    p.stdin.flush()
    assert p.stdout.readline() == b"ready\n"
    return p


def ps_rows(run):
    r = run("ps")
    assert r.returncode == 0, r.stderr
    out = lines(r)
    assert out[0].split() == ["PID", "PPID", "STATE", "NODE", "TIME", "CMD"]
    rows = {}
    for line in out[1:]:
        pid, ppid, state, node, cpu, cmd = line.split(None, 5)
        assert re.fullmatch(r"\d+:\d\d", cpu), line
        rows[int(pid)] = (int(ppid), state, node, cmd)
    return rows


def test_ps(run, bindir, tmp_path):
    # A name with spaces and a ')' tests the parsing of /proc/PID/stat.
    odd = tmp_path / "a b) c"
    shutil.copy(bindir / "cat", odd)
    child = echo_child(bindir)
    oddchild = subprocess.Popen([str(odd)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
    oddchild.stdin.write(b"x\n")
    oddchild.stdin.flush()
    assert oddchild.stdout.readline() == b"x\n"
    try:
        rows = ps_rows(run)
    finally:
        for p in (child, oddchild):
            p.stdin.close()
            p.wait(timeout=30)
    me = os.getpid()
    ppid, state, node, cmd = rows[child.pid]
    assert (ppid, cmd) == (me, str(bindir / "cat"))
    assert state in "SR"
    assert node == "-" or node.isdigit()
    assert rows[oddchild.pid][0] == me
    assert rows[oddchild.pid][3] == str(odd)
    ps_self = [pid for pid, row in rows.items()
               if row[0] == me and row[3] == str(bindir / "ps")]
    assert len(ps_self) == 1
    assert rows[ps_self[0]][1] == "R"
    assert list(rows) == sorted(rows)
    # A process with an empty cmdline (a Linux kernel thread) shows [comm].
    proc2 = pathlib.Path("/proc/2")
    if 2 in rows and not (proc2 / "cmdline").read_bytes():
        assert rows[2][3] == f"[{(proc2 / 'comm').read_text().strip()}]"


@pytest.mark.parametrize("args,sig", [
    ([], signal.SIGTERM),
    (["-9"], signal.SIGKILL),
    (["-KILL"], signal.SIGKILL),
    (["-SIGUSR2"], signal.SIGUSR2),
    (["-s", "alrm"], signal.SIGALRM),
    (["-s", "usr1"], signal.SIGUSR1),
    (["-s", "9", "--"], signal.SIGKILL),
])
def test_kill(run, bindir, args, sig):
    child = echo_child(bindir)
    try:
        r = run("kill", *args, child.pid)
        assert (r.returncode, r.stderr) == (0, "")
        assert child.wait(timeout=30) == -sig
    finally:
        child.kill()
        child.wait()


def test_kill_process_group(run, bindir):
    leader = echo_child(bindir, process_group=0)
    member = echo_child(bindir, process_group=leader.pid)
    outsider = echo_child(bindir)
    try:
        assert os.getpgid(member.pid) == leader.pid
        r = run("kill", "--", f"-{leader.pid}")
        assert r.returncode == 0, r.stderr
        assert leader.wait(timeout=30) == -signal.SIGTERM
        assert member.wait(timeout=30) == -signal.SIGTERM
        # Signal 0 only checks: the outsider must be alive and untouched.
        assert run("kill", "-0", outsider.pid).returncode == 0
        assert outsider.poll() is None
    finally:
        for p in (leader, member, outsider):
            p.kill()
            p.wait()


def test_kill_errors_and_list(run):
    r = run("kill", "999999999")
    assert r.returncode == 1
    assert r.stderr == "kill: 999999999: No such process\n"
    r = run("kill", "-NOPE", "1")
    assert r.returncode == 2 and "unknown signal 'NOPE'" in r.stderr
    r = run("kill", "abc")
    assert r.returncode == 1 and "invalid process id" in r.stderr
    assert run("kill").returncode == 2
    listing = run("kill", "-l").stdout
    assert re.search(r"^ 9\) KILL$", listing, re.M)
    assert re.search(r"^15\) TERM$", listing, re.M)
    assert run("kill", "-l", "137", "TERM").stdout == "KILL\n15\n"


# ------------------------------------------------------------ system

def test_uptime(run):
    before = float(pathlib.Path("/proc/uptime").read_text().split()[0])
    r = run("uptime")
    after = float(pathlib.Path("/proc/uptime").read_text().split()[0])
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"up (?:(\d+) days?, )?(\d+):(\d\d):(\d\d), "
                     r"(\d+) process(?:es)?\n", r.stdout)
    assert m, r.stdout
    d, h, mi, s, n = (int(x or 0) for x in m.groups())
    secs = d * 86400 + h * 3600 + mi * 60 + s
    assert int(before) <= secs <= int(after)
    assert h < 24 and mi < 60 and s < 60
    assert n >= 2  # at least us and uptime itself


def test_free(run):
    meminfo = {l.split(":")[0]: int(l.split()[1])
               for l in pathlib.Path("/proc/meminfo").read_text().splitlines()}
    r = run("free")
    assert r.returncode == 0, r.stderr
    head, mem, swap = lines(r)
    assert head.split() == ["total", "used", "free", "shared", "buff/cache",
                            "available"]
    name, total, used, free, shared, cache, avail = mem.split()
    assert name == "Mem:" and int(total) == meminfo["MemTotal"]
    assert int(used) + int(avail) == int(total)
    assert swap.split()[:2] == ["Swap:", str(meminfo.get("SwapTotal", 0))]
    r = run("free", "-m")
    assert int(r.stdout.splitlines()[1].split()[1]) == \
        meminfo["MemTotal"] >> 10


def test_mount_list(run):
    r = run("mount")
    assert r.returncode == 0, r.stderr
    first = pathlib.Path("/proc/mounts").read_text().splitlines()[0].split()
    assert lines(r)[0] == f"{first[0]} on {first[1]} type {first[2]} " \
        f"({first[3]})"
    assert all(re.fullmatch(r"\S+ on \S+ type \S+ \(\S+\)", l)
               for l in lines(r))


def test_mount_errors(run, tmp_path):
    r = run("mount", "-t", "tmpfs", "none", tmp_path / "missing")
    assert r.returncode == 1
    assert r.stderr.startswith("mount: mounting none on ")
    assert r.stderr.endswith(": No such file or directory\n")
    assert run("mount", "none", tmp_path).returncode == 2  # no -t
    assert run("mount", "-t", "tmpfs", "none").returncode == 2


def test_sync(run):
    r = run("sync")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert run("sync", "extra").returncode == 2


def test_dmesg(run):
    r = run("dmesg")
    if r.returncode == 0:
        assert r.stdout.endswith("\n") and r.stdout.strip()
        assert not re.search(r"^<\d+>", r.stdout, re.M)
    else:
        assert r.returncode == 1
        assert re.fullmatch(r"dmesg: cannot read kernel log: .+\n", r.stderr)
    assert run("dmesg", "-x").returncode == 2


def test_reboot(bindir):
    # Run as an unprivileged user: reboot(2) must fail with EPERM. A
    # private copy in a world-readable directory so that user can exec it.
    priv = pathlib.Path(tempfile.mkdtemp())
    try:
        priv.chmod(0o755)
        shutil.copy(bindir / "reboot", priv / "reboot")

        def drop():
            if os.getuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            assert os.getuid() != 0

        def reboot(*args):
            return subprocess.run([str(priv / "reboot"), *args],
                                  preexec_fn=drop, capture_output=True,
                                  text=True, timeout=60)
        r = reboot("--help")
        assert r.returncode == 0 and r.stdout.startswith("usage: reboot")
        r = reboot("-Z")
        assert r.returncode == 2 and r.stderr.startswith("reboot: ")
        r = reboot("-f")
        assert r.returncode == 1
        assert r.stderr == ("reboot: cannot reboot: Operation not permitted "
                            "(are you root?)\n")
    finally:
        shutil.rmtree(priv)
