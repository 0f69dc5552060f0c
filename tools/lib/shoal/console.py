"""console.py — a node's serial console, and what must never appear on it.

Interface:
  Console(sock, lock, name)   not connected until connect() (or `with`)
    .connect(timeout)         takes the node's console lock (flock, never
                              waits: ConsoleBusy) and connects to QEMU's
                              socket (NodeDown if nobody listens)
    .send(text)               raw bytes to the node
    .wait_for(regex, timeout) the first match in what arrived since the last
                              match; ConsoleTimeout with the recent output
    .run(cmd, timeout)        (output, status) of one command line
    .expect_reboot()          one more "Shoal ... booting" banner is fine
    .allow(*names)            context manager: these failure patterns don't
                              raise inside it (e.g. "exception")
    .interact(in, out)        a human at the console until the detach byte
    .linger(out)              the output that follows, until it pauses
    .close()
  scan_console(text, ...) / scan_qemu_log(text, ...)   the global failure
                              patterns as a list of problems (for logs)
  LogWatch(path)              follows a log file QEMU appends to; tells
                              when a restarted node replaced the file
  READY_RE, BANNER_RE         the kernel's ready line and boot banner
  PROMPT_RE                   the console shell's (or the monitor's) prompt

How run() finds a command's output and status: it types
    ^U CMD; echo @@<nonce>@@ $? CR
(^U erases anything left on the line), waits for a line "@@<nonce>@@ <n>"
that is not the echo of what it typed, and returns what lies between the end
of the echoed line and that marker line, CRLF turned into LF (a job notice
of the shell, "[1]+  Done ...", that lands inside the echo is part of it). The shell
(/bin/sh, or the kernel monitor with init=monitor) must echo input, treat
`;` as a separator and expand `$?`; nothing here depends on its prompt
(Cluster.up waits for it, so that the first command does not race the
shell's start).

Reads never block for longer than the caller's timeout. The console has no
flow control problems to handle: QEMU stops reading the socket while the
guest's receive FIFO is full, so typed bytes wait in the socket buffer even
while the kernel polls its UART only now and then.

Failure patterns: "panic" (SHOAL PANIC), "exception" (SHOAL EXCEPTION),
"reboot" (a second boot banner without expect_reboot, not counting what a
completed run() printed: `log` replays the banner) on the console, and
"triple fault" in QEMU's log. A Console raises ConsoleFailure as soon as
one shows up, after collecting the rest of the report (until the output
pauses), so a test fails at once with the kernel's own explanation.
"""

import codecs
import contextlib
import errno
import fcntl
import os
import re
import secrets
import select
import socket
import sys
import time

from . import NodeDown, ShoalError

READY_RE = re.compile(r"shoal: node (\d+) ready")
# The prompt of what answers on the console once the node is ready: the
# shell init starts (`node3$ `, from uname) or the kernel monitor
# (`shoal:3> `, with init=monitor or when init cannot start).
PROMPT_RE = re.compile(r"(?m)^(?:[\w.-]+\$|shoal:\d+>) ")
BANNER_RE = re.compile(r"Shoal \S+ booting")
FAILURE_PATTERNS = {
    "panic": re.compile(r"SHOAL PANIC"),
    "exception": re.compile(r"SHOAL EXCEPTION"),
}
TRIPLE_FAULT_RE = re.compile(r"Triple fault")
MAX_PATTERN_LEN = 32  # how far back a new chunk is rescanned

QUIET_AFTER_FAILURE = 0.5  # s of silence that ends a panic/exception report
MAX_FAILURE_REPORT = 3.0  # s at most spent collecting one


class ConsoleBusy(ShoalError):
    """Someone else holds the node's console."""


class ConsoleTimeout(ShoalError):
    """What was waited for did not arrive in time."""


class ConsoleFailure(ShoalError):
    """A failure pattern (panic, exception, reboot) showed on the console."""


ANSI_RE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])")


def tail(text, lines=20):
    """The last lines of text for error messages: no CRs, no terminal
    escape sequences (GRUB's), no runs of blank lines."""
    text = ANSI_RE.sub("", text).replace("\r", "")
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return "\n".join(text.split("\n")[-lines:])


def _line_at(text, pos):
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start:end if end >= 0 else len(text)].strip("\r")


# What run() typed and the output it got back, up to its status marker (or
# the end of the text while the command still runs).
RUN_REGION_RE = re.compile(r"echo (@@[0-9a-f]{8}@@) \$\?.*?(?:(?<!echo )\1 \d+|\Z)", re.S)


def count_banners(text):
    """Boot banners in console output, not counting those a completed
    command printed (the `log` command replays the boot messages; a node
    that reboots never completes the command it was running)."""
    return len(BANNER_RE.findall(RUN_REGION_RE.sub("", text)))


def scan_console(text, allow=(), boots=1):
    """Problems in console output: failure patterns not in allow, and more
    than `boots` boot banners unless "reboot" is allowed."""
    problems = []
    for name, rx in FAILURE_PATTERNS.items():
        if name in allow:
            continue
        m = rx.search(text)
        if m:
            problems.append(f"{name}: {_line_at(text, m.start())}")
    banners = count_banners(text)
    if "reboot" not in allow and banners > boots:
        problems.append(f"reboot: {banners} boot banners, expected at most {boots}")
    return problems


def scan_qemu_log(text, allow=()):
    if "triple fault" not in allow and TRIPLE_FAULT_RE.search(text):
        return ["triple fault: QEMU reported a triple fault (CPU reset)"]
    return []


class LogWatch:
    """Follows a file that one process appends to and another may replace
    (a restarted node's QEMU writes a new file). read_new() returns
    (text, replaced): the text appended since the last call, and whether
    the file was replaced since (then text starts at its beginning)."""

    def __init__(self, path, from_start=False):
        self.path = path
        self.ino = None
        self.offset = 0
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        if not from_start:
            st = self._stat()
            if st:
                self.ino, self.offset = st.st_ino, st.st_size

    def _stat(self):
        try:
            return os.stat(self.path)
        except FileNotFoundError:
            return None

    def read_new(self):
        st = self._stat()
        if st is None:
            return "", False
        replaced = False
        if self.ino is not None and (st.st_ino != self.ino or st.st_size < self.offset):
            replaced = True
            self.offset = 0
            self._dec.reset()
        self.ino = st.st_ino
        if st.st_size <= self.offset:
            return "", replaced
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        return self._dec.decode(data), replaced


class Console:
    # The monitor's line buffer holds 255 characters.
    max_line = 255

    def __init__(self, sock_path, lock_path=None, name="node", holder=None):
        self.sock_path = sock_path
        self.holder = holder or os.path.basename(sys.argv[0] or "python")
        self.lock_path = lock_path
        self.name = name
        self.sock = None
        self._lock_fd = None
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""  # everything received since connect()
        self.pos = 0  # wait_for searches from here
        self._scanned = 0
        self._allowed = []
        self._boots_allowed = 0
        self._eof = False

    # ------------------------------------------------------------ connection
    def connect(self, timeout=5.0):
        if self.sock:
            return self
        if self.lock_path:
            self._take_lock()
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            try:
                s.connect(self.sock_path)
            except (FileNotFoundError, ConnectionRefusedError) as e:
                s.close()
                raise NodeDown(f"{self.name} is not up (its console {self.sock_path}: "
                               f"{e.strerror.lower()})") from None
            s.setblocking(False)
        except BaseException:
            self._drop_lock()
            raise
        self.sock = s
        return self

    def _take_lock(self):
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                os.close(fd)
                raise
            try:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            finally:
                os.close(fd)
            who = f" by {holder}" if holder else ""
            raise ConsoleBusy(f"{self.name}'s console is in use{who}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"PID {os.getpid()} ({self.holder})\n".encode(), 0)
        self._lock_fd = fd

    def _drop_lock(self):
        if self._lock_fd is not None:
            os.ftruncate(self._lock_fd, 0)
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        self._drop_lock()

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ I/O
    def send(self, text):
        if not self.sock:
            raise ShoalError(f"{self.name}'s console is not connected")
        data = text.encode()
        deadline = time.monotonic() + 10
        while data:
            try:
                n = self.sock.send(data)
                data = data[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConsoleTimeout(f"{self.name} does not read its console input")
                select.select([], [self.sock], [], 0.1)
            except (BrokenPipeError, ConnectionResetError):
                raise NodeDown(f"{self.name}'s console closed (its QEMU exited)") from None

    def _fill(self, timeout):
        """Receive what is there, waiting at most timeout s for the first
        byte. Returns whether anything arrived; raises NodeDown at EOF."""
        if not self.sock:
            raise ShoalError(f"{self.name}'s console is not connected")
        if self._eof:
            raise NodeDown(f"{self.name}'s console closed (its QEMU exited); last output:\n"
                           f"{tail(self.text[self.pos:], 10)}")
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return False
        got = False
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                break
            except ConnectionResetError:
                data = b""
            if not data:
                self._eof = True
                break
            self.text += self._dec.decode(data)
            got = True
        if got:
            self._check_failures()
        elif self._eof:
            return self._fill(0)
        return got

    def _check_failures(self):
        start = max(0, self._scanned - MAX_PATTERN_LEN)
        allowed = {n for group in self._allowed for n in group}
        problems = scan_console(self.text[start:], allow=allowed | {"reboot"})
        banners = count_banners(self.text)
        self._scanned = len(self.text)
        if "reboot" not in allowed and banners > self._boots_allowed:
            problems.append(f"reboot: the node booted again ({banners} banners since "
                            f"connecting, {self._boots_allowed} expected)")
        if problems:
            self._collect_report()
            raise ConsoleFailure(f"{self.name}: {problems[0]}\n{tail(self.text, 40)}")

    def _collect_report(self):
        end = time.monotonic() + MAX_FAILURE_REPORT
        while time.monotonic() < end:
            try:
                r, _, _ = select.select([self.sock], [], [], QUIET_AFTER_FAILURE)
                if not r:
                    return
                data = self.sock.recv(65536)
            except (BlockingIOError, ConnectionResetError):
                return
            if not data:
                return
            self.text += self._dec.decode(data)
        self._scanned = len(self.text)

    def expect_reboot(self):
        """The next boot banner is wanted (the test asked for a reboot)."""
        self._boots_allowed += 1

    @contextlib.contextmanager
    def allow(self, *names):
        """Failure patterns that are expected inside the block."""
        self._allowed.append(set(names))
        try:
            yield self
        finally:
            self._allowed.pop()

    def wait_for(self, regex, timeout=30.0):
        """Wait for regex (a string or compiled pattern) in the output that
        arrived after the previous match; return the match object."""
        rx = re.compile(regex) if isinstance(regex, str) else regex
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConsoleTimeout(
                    f"{self.name}: no {rx.pattern!r} within {timeout:g} s; output since the "
                    f"last match:\n{tail(self.text[self.pos:], 20)}")
            self._fill(min(left, 1.0))

    def drain(self):
        """Take in what already arrived and forget it for wait_for."""
        while self._fill(0):
            pass
        self.pos = len(self.text)

    def interact(self, infd, outfd, detach=b"\x1d"):
        """Copy infd to the node and the node to outfd until the detach
        byte is read ("detached"), infd ends ("eof") or the node's console
        closes ("closed"). No failure patterns: a human is watching."""
        if self.text[self.pos:]:
            os.write(outfd, self.text[self.pos:].encode())
            self.pos = len(self.text)
        while True:
            r, _, _ = select.select([infd, self.sock], [], [])
            if self.sock in r:
                try:
                    data = self.sock.recv(65536)
                except BlockingIOError:
                    data = None
                except ConnectionResetError:
                    data = b""
                if data == b"":
                    return "closed"
                if data:
                    os.write(outfd, data)
            if infd in r:
                data = os.read(infd, 1024)
                if not data:
                    return "eof"
                cut = data.find(detach)
                if cut >= 0:
                    if cut:
                        self.send(data[:cut].decode(errors="replace"))
                    return "detached"
                self.send(data.decode(errors="replace"))

    def linger(self, outfd, quiet=1.0, limit=5.0):
        """Copy the node's output to outfd until it pauses for quiet s (at
        most limit s): what a piped `console` shows after its input ends."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            r, _, _ = select.select([self.sock], [], [], quiet)
            if not r:
                return
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                return
            if not data:
                return
            os.write(outfd, data)

    def run(self, cmd, timeout=30.0):
        """Type cmd; return (output, status) as the shell reports them."""
        if "\r" in cmd or "\n" in cmd:
            raise ShoalError("run: one command line only (use ';' between commands)")
        marker = f"@@{secrets.token_hex(4)}@@"
        line = f"{cmd}; echo {marker} $?"
        if len(line) > self.max_line:
            raise ShoalError(f"run: command too long for the console ({len(line)} characters "
                             f"with the status marker; at most {self.max_line})")
        self.drain()
        start = self.pos
        self.send("\x15" + line + "\r")
        try:
            m = self.wait_for(re.compile(r"(?<!echo )" + marker + r" (\d+)\r?\n"), timeout)
        except ConsoleTimeout:
            if BANNER_RE.search(self.text, start) and self._boots_allowed == 0 and \
                    not any("reboot" in g for g in self._allowed):
                raise ConsoleFailure(f"{self.name}: reboot: the node booted again while running "
                                     f"'{cmd}':\n{tail(self.text[start:], 20)}") from None
            raise ConsoleTimeout(
                f"{self.name}: '{cmd}' did not finish within {timeout:g} s (or another client "
                f"holds the console); output so far:\n{tail(self.text[start:], 20)}") from None
        # The echo of the typed line ends the command's echo. The shell's
        # job notice ("[1]+  Done ...") can land inside it when a
        # background job ends while the line is typed: allow one there.
        notice = r"(?:\[\d+\][+-]?[^\n]*\n)?"
        echo = re.compile(notice.join(re.escape(ch) for ch in f"echo {marker} $?"))
        echoed = echo.search(self.text, start, m.start())
        begin = start
        if echoed:
            nl = self.text.find("\n", echoed.end(), m.start())
            begin = nl + 1 if nl >= 0 else m.start()
        out = self.text[begin:m.start()].replace("\r\n", "\n").replace("\r", "")
        return out, int(m.group(1))
