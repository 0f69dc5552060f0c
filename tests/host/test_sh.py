"""The Shoal shell (user/sh) and init (user/init.c), run on the build host.

Shoal runs static musl binaries through the Linux system-call ABI, so the
very /bin/sh of the image runs here too. The shell is built with tools/cc
into a temporary directory and driven three ways:
  - `sh -c` and `sh FILE`, checking output, stderr and exit status;
  - plain lines on a pipe (no terminal: no prompt, editing or job control);
  - interactively through a pseudo-terminal, as a person (or the QEMU test
    console, which types "^U CMD; echo @@nonce@@ $? CR") would.
Every wait is for output, with a timeout; nothing sleeps to synchronise.
Skipped when musl-gcc is missing.
"""
import os
import pathlib
import pty
import re
import select
import shutil
import signal
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TIMEOUT = 10.0

pytestmark = pytest.mark.skipif(shutil.which("musl-gcc") is None,
                                reason="musl-gcc not installed (Debian package musl-tools)")


@pytest.fixture(scope="module")
def bins(tmp_path_factory):
    out = tmp_path_factory.mktemp("shbin")
    sources = sorted(str(p) for p in (ROOT / "user" / "sh").glob("*.c"))
    for name, srcs in (("sh", sources), ("init", [str(ROOT / "user" / "init.c")])):
        r = subprocess.run([str(ROOT / "tools" / "cc"), "-Werror", "-o", str(out / name), *srcs],
                           capture_output=True, text=True)
        assert r.returncode == 0, f"building {name} failed:\n{r.stdout}{r.stderr}"
    return out


@pytest.fixture(scope="module")
def sh(bins):
    return str(bins / "sh")


def env_for(tmp_path):
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TERM": "xterm", "LC_ALL": "C"}


def run(sh, cmd, tmp_path, **kw):
    return subprocess.run([sh, "-c", cmd], capture_output=True, text=True, timeout=TIMEOUT,
                          cwd=tmp_path, env=env_for(tmp_path), **kw)


# ------------------------------------------------------------ sh -c, scripts

@pytest.mark.parametrize("cmd,out", [
    ("echo hello   world", "hello world\n"),
    ("echo 'a  $X \\n' \"b  \\$X \\\" c\" d\\ e \\$f", "a  $X \\n b  $X \" c d e $f\n"),
    ("X=one; echo $X ${X}two \"$X\"", "one onetwo one\n"),
    ("X='a   b'; printf '<%s>' $X \"$X\"; echo", "<a><b><a   b>\n"),
    ("echo ${UNSET:-dflt} ${UNSET-d2} ${X:=set} $X ${X:+alt} ${#X}", "dflt d2 set set alt 3\n"),
    ("false; echo $?; true; echo $?; (exit 42); echo $?", "1\n0\n42\n"),
    ("true && echo a; false && echo b; false || echo c; true || echo d", "a\nc\n"),
    ("false && echo no || echo yes; true || false && echo both", "yes\nboth\n"),
    ("! true; echo $?; ! false; echo $?", "1\n0\n"),
    ("echo a; echo b # a comment; echo c", "a\nb\n"),
    ("echo one | tr a-z A-Z | rev", "ENO\n"),
    ("printf 'x\\ny\\nz\\n' | grep -v y | wc -l", "2\n"),
    ("echo $(echo inner; echo two) `echo back`", "inner two back\n"),
    ("x=$(false); echo $?; y=\"$(printf ' a  b\\n\\n')\"; echo \"[$y]\"", "1\n[ a  b]\n"),
    ("echo -n no-newline; echo", "no-newline\n"),
    ("echo -e 'tab\\tx'", "tab\tx\n"),
    ("set -- a 'b c' d; echo $#; for_x=\"$@\"; printf '[%s]' \"$@\"; echo; shift; echo $1",
     "3\n[a][b c][d]\nb c\n"),
    ("echo a; \\\necho b", "a\nb\n"),
    ("(echo sub; exit 3) ; echo $?", "sub\n3\n"),
    ("A=1 sh_test_var=2 env | grep -c '^sh_test_var=2$'; echo ${sh_test_var:-unset}", "1\nunset\n"),
    ("export E1=exported; L1=local; env | grep -E '^(E1|L1)='", "E1=exported\n"),
    ("export E2=x; unset E2; env | grep -c E2=; echo ${E2-gone}", "0\ngone\n"),
    ("type echo cd", "echo is a shell builtin\ncd is a shell builtin\n"),
    ("echo 'x  y z' | { read a b; echo \"$b/$a\"; }; { echo g; } | cat", "y z/x\ng\n"),
    ("echo 'x  y z' | (read a b; echo \"$b/$a\")", "y z/x\n"),
])
def test_c_output(sh, tmp_path, cmd, out):
    r = run(sh, cmd, tmp_path)
    assert r.stdout == out, r.stderr
    assert r.returncode == 0, r.stderr


def test_redirections(sh, tmp_path):
    r = run(sh, "echo one > f; echo two >> f; cat < f; cat f nonexist > both 2>&1; "
                "echo err 1>&2 2>/dev/null; (echo out; echo err >&2) 2>&1 >/dev/null; "
                "echo x 3>three >&3; cat three; exec 4>four; echo via4 >&4; cat four; "
                "echo gone >&-; echo status $?; cat <>f; echo all &> ampfile; cat ampfile",
            tmp_path)
    assert r.stdout == "one\ntwo\nerr\nx\nvia4\nstatus 1\none\ntwo\nall\n", r.stderr
    # echo to a closed stdout fails with a message, as bash's does.
    assert r.stderr == "err\nsh: echo: write error: Bad file descriptor\n"
    both = (tmp_path / "both").read_text()
    assert both.startswith("one\ntwo\n") and "nonexist" in both


def test_redirection_errors(sh, tmp_path):
    r = run(sh, "cat < missing; echo $?; echo x > /nonexistent/dir/f; echo $?; echo y >&7; echo $?",
            tmp_path)
    assert r.stdout == "1\n1\n1\n"
    assert "sh: missing: No such file or directory" in r.stderr
    assert "sh: 7: bad file descriptor" in r.stderr


def test_not_found_and_not_executable(sh, tmp_path):
    (tmp_path / "noexec").write_text("echo hi\n")
    (tmp_path / "noexec").chmod(0o644)
    r = run(sh, "nosuchcommand_xyz; echo $?; ./noexec; echo $?; ./missing; echo $?; "
                "/; echo $?", tmp_path)
    assert r.stdout == "127\n126\n127\n126\n"
    assert "sh: nosuchcommand_xyz: not found" in r.stderr
    assert "sh: ./noexec: Permission denied" in r.stderr
    assert "sh: ./missing: No such file or directory" in r.stderr
    r = run(sh, "nosuchcommand_xyz", tmp_path)
    assert r.returncode == 127


def test_path_search(sh, tmp_path):
    d = tmp_path / "mybin"
    d.mkdir()
    tool = d / "mytool"
    tool.write_text("echo mytool ran with $# args: $1\n")  # no #!: the shell runs it
    tool.chmod(0o755)
    r = run(sh, f"PATH={d}:/usr/bin:/bin; mytool one two; type mytool", tmp_path)
    assert r.stdout == f"mytool ran with 2 args: one\nmytool is {tool}\n", r.stderr


@pytest.mark.parametrize("sig,code,msg", [(signal.SIGSEGV, 139, "Segmentation fault"),
                                          (signal.SIGKILL, 137, "Killed"),
                                          (signal.SIGTERM, 143, "Terminated")])
def test_signalled_status(sh, tmp_path, sig, code, msg):
    r = run(sh, f"{sh} -c 'kill -{int(sig)} $$'; echo status $?", tmp_path)
    assert r.stdout == f"status {code}\n"
    assert msg in r.stderr


def test_dollar_dollar_and_exit(sh, tmp_path):
    p = subprocess.Popen([sh, "-c", "echo $$; exit 5"], stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=TIMEOUT)
    assert out == f"{p.pid}\n" and p.returncode == 5
    assert run(sh, "exit", tmp_path).returncode == 0
    assert run(sh, "false; exit", tmp_path).returncode == 1
    r = run(sh, "exit 3; echo not reached", tmp_path)
    assert r.returncode == 3 and r.stdout == ""


def test_background_and_wait(sh, tmp_path):
    r = run(sh, "(exit 3) & p=$!; wait $p; echo first $?; "
                "sleep 0.1 & sleep 0.1 & jobs | wc -l; wait; echo all $?; "
                "true && (exit 4) & wait $!; echo chain $?", tmp_path)
    assert r.stdout == "first 3\n2\nall 0\nchain 4\n", r.stderr


def test_syntax_errors(sh, tmp_path):
    for cmd in ("echo a |", "echo 'open", "; echo", "echo a && && b", "( echo", "echo )"):
        r = run(sh, cmd, tmp_path)
        assert r.returncode == 2, cmd
        assert "syntax error" in r.stderr, cmd


def test_glob(sh, tmp_path):
    for n in ("b.txt", "a.txt", "c.dat"):
        (tmp_path / n).write_text("")
    r = run(sh, "echo *.txt; echo '*.txt' \"*\".txt; echo *.none; echo ?.dat", tmp_path)
    assert r.stdout == "a.txt b.txt\n*.txt *.txt\n*.none\nc.dat\n"


def test_cd_pwd(sh, tmp_path):
    (tmp_path / "sub").mkdir()
    real = os.path.realpath(tmp_path)
    r = run(sh, "cd sub && pwd; cd ..; pwd; cd /nonexistent; echo $?; cd; pwd; cd - >/dev/null; "
                "pwd", tmp_path)
    assert r.stdout == f"{real}/sub\n{real}\n1\n{tmp_path}\n{real}\n"
    assert "sh: cd: /nonexistent: No such file or directory" in r.stderr


def test_script_file(sh, tmp_path):
    script = tmp_path / "script"
    script.write_text("# a script\n"
                      "echo \"$0 has $# args: $1 $2\"\n"
                      "if_like=1; false ||\n"
                      "  echo continued line\n"
                      "echo 'multi\n"
                      "line'\n"
                      "exit 9\n"
                      "echo not reached\n")
    r = subprocess.run([sh, str(script), "x", "y z"], capture_output=True, text=True,
                       timeout=TIMEOUT, cwd=tmp_path)
    assert r.stdout == f"{script} has 2 args: x y z\ncontinued line\nmulti\nline\n", r.stderr
    assert r.returncode == 9
    r = subprocess.run([sh, str(tmp_path / "missing")], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 127 and "missing: No such file or directory" in r.stderr


def test_rc_script(sh, tmp_path):
    r = subprocess.run([sh, str(ROOT / "rootfs" / "etc" / "rc")], capture_output=True,
                       text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and r.stdout.startswith("rc: "), r.stderr


def test_stdin_not_a_terminal(sh, tmp_path):
    """No tty: plain lines, no prompt; a command reading stdin gets what
    follows its own line."""
    r = subprocess.run([sh], input="echo a\nread v\nfrom stdin\necho $v $?\nexit 3\necho no\n",
                       capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert r.stdout == "a\nfrom stdin 0\n"
    assert r.returncode == 3 and r.stderr == ""
    # -i without a terminal: prompts on stderr, but no editing and no hang.
    r = subprocess.run([sh, "-i"], input="echo b\n", capture_output=True, text=True,
                       timeout=TIMEOUT, env={"PS1": "P> ", "PATH": "/usr/bin:/bin"})
    assert r.stdout == "b\n" and r.returncode == 0
    assert r.stderr.count("P> ") == 2


def test_help_and_usage(sh, tmp_path):
    r = subprocess.run([sh, "--help"], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and r.stdout.startswith("usage: sh")
    r = subprocess.run([sh, "-q"], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 2 and "unknown option" in r.stderr
    r = run(sh, "help", tmp_path)
    assert "Builtins:" in r.stdout and "jobs" in r.stdout


def test_init(bins, tmp_path):
    """init with its paths pointed into tmp_path (the build-time INIT_*
    defines), on a pseudo-terminal as its console: it runs the rc script,
    starts a login shell with job control, restarts it when it exits, and
    gives up for a while after 5 starts in 10 s."""
    rc = tmp_path / "rc"
    rc.write_text("echo rc ran as $0\n")
    console = tmp_path / "console"
    init = tmp_path / "init"
    r = subprocess.run([str(ROOT / "tools" / "cc"), "-Werror", f'-DSHELL="{bins / "sh"}"',
                        f'-DRC="{rc}"', f'-DCONSOLE="{console}"', "-o", str(init),
                        str(ROOT / "user" / "init.c")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    master, slave = os.openpty()
    console.symlink_to(os.ttyname(slave))
    p = subprocess.Popen([str(init)], stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True, env={"PS1": "PROMPT$ "},
                         preexec_fn=default_signals)
    os.close(slave)
    t = Term.__new__(Term)
    t.pid, t.fd, t.buf = 0, master, b""
    try:
        t.expect(r"init: warning: running as pid \d+, not 1")
        t.expect(r"rc ran as " + re.escape(str(rc)))
        t.expect(r"Shoal shell on \S+ .* type help\r\nPROMPT\$ ")
        assert "/:/" in t.line("echo $HOME:$PATH:")
        # the console is the shell's controlling terminal: job control works
        t.send(f"{bins / 'sh'} -c 'echo re''ady; sleep 30'\r")
        t.expect("ready\r\n")
        t.send("\x1a")
        assert re.search(r"\[1\]\+\s+Stopped", t.prompt())
        t.line("kill -9 %1; wait")
        for _ in range(4):
            t.send("exit\r")
            t.expect(r"Shoal shell on .*PROMPT\$ ")
        t.send("exit 3\r")
        t.expect(r"exited with status 3")
        t.expect(r"init: .* restarted 5 times in 10 s; waiting 30 s")
    finally:
        p.kill()
        p.wait(timeout=TIMEOUT)
        os.close(master)


# -------------------------------------------------------------- terminal

# Dispositions a login on a terminal starts with. pytest's own may differ:
# Python ignores SIGPIPE, and a `make test` started in the background of a
# script without job control runs with SIGINT and SIGQUIT ignored, which
# the shell hands on to its jobs (as bash does), so ^C never ended `cat`.
TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTTIN,
                    signal.SIGTTOU, signal.SIGPIPE)


def default_signals():
    for sig in TERMINAL_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


class Term:
    """The shell on a pseudo-terminal: send keys, wait for output."""

    def __init__(self, sh, tmp_path, args=(), ps1="PROMPT$ "):
        env = {**env_for(tmp_path), **({"PS1": ps1} if ps1 else {})}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                default_signals()
                os.chdir(tmp_path)
                os.execve(sh, [sh, *args], env)
            finally:
                os._exit(127)
        self.buf = b""

    def send(self, data):
        os.write(self.fd, data.encode() if isinstance(data, str) else data)

    def expect(self, pattern, timeout=TIMEOUT):
        """Everything up to the first match of pattern (bytes regex)."""
        rx = re.compile(pattern if isinstance(pattern, bytes) else pattern.encode(), re.S)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                out, self.buf = self.buf[:m.end()], self.buf[m.end():]
                return out.decode(errors="replace")
            left = end - time.monotonic()
            r, _, _ = select.select([self.fd], [], [], max(left, 0))
            if not r:
                raise AssertionError(f"timeout waiting for {pattern!r}; got {self.buf!r}")
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                data = b""
            if not data:
                raise AssertionError(f"shell closed the terminal waiting for {pattern!r}; "
                                     f"got {self.buf!r}")
            self.buf += data

    def prompt(self):
        return self.expect(rb"PROMPT\$ ")

    def line(self, text):
        """Type a command line at the prompt; return what came back up to
        the next prompt."""
        self.send(text + "\r")
        return self.prompt()

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)

    def wait_exit(self):
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = 0
                return os.waitstatus_to_exitcode(st)
            select.select([self.fd], [], [], 0.05)
            try:
                self.buf += os.read(self.fd, 4096)
            except OSError:
                pass
        raise AssertionError("the shell did not exit")


@pytest.fixture
def term(sh, tmp_path):
    t = Term(sh, tmp_path)
    t.prompt()
    yield t
    if t.pid:
        t.close()


def test_prompt_is_nodename(sh, tmp_path):
    t = Term(sh, tmp_path, ps1=None)
    try:
        t.expect(re.escape(os.uname().nodename) + r"\$ ")
        t.send("\r")
        assert t.expect(r"\$ ").endswith("\r\n" + os.uname().nodename + "$ ")
    finally:
        t.close()


def test_harness_protocol(term):
    """What tools/lib/shoal/console.py's run() types and parses."""
    for i, (cmd, want_out, want_status) in enumerate((
            ("echo hello", "hello\n", 0),
            ("false", "", 1),
            ("nosuch_cmd_q", "sh: nosuch_cmd_q: not found\n", 127),
            ("echo a | tr a b", "b\n", 0))):
        marker = f"@@{i + 0xabc0:08x}@@"
        line = f"{cmd}; echo {marker} $?"
        term.send("\x15" + line + "\r")
        text = term.expect(r"(?<!echo )" + re.escape(marker) + r" (\d+)\r?\n")
        assert line + "\r\n" in text, text  # echoed as typed, then a newline
        out = text[text.index(line) + len(line) + 2:]
        status = int(re.search(re.escape(marker) + r" (\d+)", out).group(1))
        out = out[:out.rindex(marker)].replace("\r\n", "\n")
        assert (out, status) == (want_out, want_status)
        term.prompt()


def test_ctrl_u_erases_line(term):
    term.send("echo garbage")
    term.expect("garbage")
    out = term.line("\x15echo clean")
    assert "clean\r\n" in out and "garbage" not in out


def test_editing_keys(term):
    # backspace, left arrow + insert, ^A/^E, ^W, Delete key
    assert "abX\r\n" in term.line("echo abcd\x7f\x7fX")
    assert "aXbc\r\n" in term.line("echo abc\x1b[D\x1b[DX")
    assert "xy\r\n" in term.line("cho x\x01e\x05y")
    assert "foo baz\r\n" in term.line("echo foo bar\x17baz")
    assert "ac\r\n" in term.line("echo abc\x1b[D\x1b[D\x1b[3~")
    assert "kept\r\n" in term.line("echo kept junk\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x0b")


def output_lines(out):
    """The lines a command printed: what follows the echoed line."""
    return out.split("\r\n")[1:-1]


def test_history(term):
    term.line("echo first")
    term.line("echo second")
    assert output_lines(term.line("\x1b[A\x1b[A")) == ["first"]  # up, up
    # history is now: first second first; ^P ^P ^P ^N goes back to the 2nd
    assert output_lines(term.line("\x10\x10\x10\x0e")) == ["second"]
    assert output_lines(term.line("\x1b[A\x1b[B")) == []  # back to the new, empty line
    out = term.line("history")
    assert "echo first" in out and "echo second" in out


def test_ctrl_c_at_prompt(term):
    term.send("echo should_not_run")
    term.expect("should_not_run")
    term.send("\x03")
    out = term.prompt()
    assert "^C" in out and "should_not_run" not in out
    out = term.line("echo status $?")
    assert "status 130\r\n" in out


def test_ctrl_c_interrupts_foreground_job(sh, term):
    # Keys are sent once the job shows it runs (and so owns the terminal):
    # typed earlier, they would reach the shell's line editor instead.
    term.send(f"{sh} -c 'echo re''ady; exec cat'\r")
    term.expect("ready\r\n")
    term.send("x\r")
    term.expect("x\r\nx\r\n")  # the terminal's echo, then cat's copy
    term.send("\x03")
    term.prompt()
    assert "status 130\r\n" in term.line("echo status $?")
    term.send(f"{sh} -c 'echo re''ady; sleep 30'; echo after $?\r")
    term.expect("ready\r\n")
    term.send("\x03")
    assert "after 130" in term.prompt()
    assert "alive\r\n" in term.line("echo alive")


def test_ctrl_z_jobs_fg_bg(sh, term):
    term.send(f"{sh} -c 'echo re''ady; sleep 30'\r")
    term.expect("ready\r\n")
    term.send("\x1a")
    out = term.prompt()
    assert re.search(r"\[1\]\+\s+Stopped\s+\S+ -c 'echo re''ady; sleep 30'", out), out
    assert re.search(r"\[1\]\+\s+Stopped", term.line("jobs"))
    assert "&" in term.line("bg")
    assert re.search(r"\[1\]\+\s+Running", term.line("jobs"))
    assert re.search(r"\[1\]\+\s+Terminated", term.line("kill %1; wait %1"))
    assert "no such job" in term.line("fg")

    # fg: a stopped cat gets the terminal back and reads from it.
    term.send(f"{sh} -c 'echo re''ady; exec cat'\r")
    term.expect("ready\r\n")
    term.send("one\r")
    term.expect("one\r\none\r\n")  # the tty's echo, then cat's copy
    term.send("\x1a")
    term.prompt()
    term.send("fg\r")
    term.expect("exec cat'\r\n")
    term.send("two\r")
    term.expect("two\r\ntwo\r\n")
    term.send("\x04")
    term.prompt()
    assert "status 0\r\n" in term.line("echo status $?")


def test_background_jobs_report(term, tmp_path):
    os.mkfifo(tmp_path / "fifo")  # the job runs until something is written
    out = term.line("cat fifo > got &")
    assert re.search(r"\[1\] \d+", out)
    assert re.search(r"\[1\]\+\s+Running\s+cat fifo > got", term.line("jobs"))
    out = term.line("echo data > fifo; wait")
    assert re.search(r"\[1\]\+\s+Done\s+cat fifo > got", out), out
    assert "Done" not in term.line("")  # reported once
    assert (tmp_path / "got").read_text() == "data\n"


def test_signal_message_interactive(sh, term):
    out = term.line(f"{sh} -c 'kill -SEGV $$'; echo st $?")
    assert "Segmentation fault" in out and "st 139" in out


def test_ctrl_d_exits(term):
    # On a non-empty line ^D deletes the character under the cursor.
    assert output_lines(term.line("Xecho xy\x01\x04")) == ["xy"]
    term.send("exit 6\r")
    assert term.wait_exit() == 6


def test_ctrl_d_on_empty_line(term):
    term.send("\x04")
    assert term.wait_exit() == 0


def test_ctrl_l_redraws(term):
    term.send("echo abc\x0c")
    out = term.expect(r"\x1b\[2JPROMPT\$ echo abc")
    assert out
    assert "abc\r\n" in term.line("")


def test_continuation_prompt(term):
    term.send("echo 'a\r")
    term.expect("> ")
    out = term.line("b'")
    assert "a\r\nb\r\n" in out


def test_login_banner(sh, tmp_path):
    t = Term(sh, tmp_path, args=("-l",))
    try:
        out = t.prompt()
        assert re.search(r"Shoal shell on \S+ .* type help", out), out
    finally:
        t.close()
