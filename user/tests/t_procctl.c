/*
 * t_procctl — the per-process migration control files of /proc (issue 7)
 * and the rules for writing /proc files:
 *
 *   /proc/<pid>/lock      "0\n" or "1\n"; written with "0" or "1" and an
 *                         optional newline (else EINVAL), of oneself and of
 *                         a child; inherited by fork, kept across execve
 *   /proc/<pid>/where     the node number, as uname's nodename "nodeN" says
 *                         (and /proc/cluster/nodes' "self" row, if any)
 *   /proc/<pid>/cantmove  empty for an ordinary process, a reason for init,
 *                         a zombie, a vfork child and its parent
 *
 * Writes: mode 0644 for a writable file, 0444 for the rest; one write of
 * the whole value at offset 0 (a second write on the descriptor, pwrite
 * or lseek elsewhere, or more than 256 bytes: EINVAL); O_TRUNC and
 * O_APPEND opens as shells make them; truncate(2) accepted; files without
 * a write handler refuse writers (EACCES at open as Shoal does, or EINVAL
 * or EIO at write as Linux does for root).
 *
 * These files are Shoal's own: on a kernel without /proc/self/lock (Linux)
 * their points are skipped and only the read-only-file points run. The
 * program re-executes itself (argv[1] == "--print-lock": exit with the
 * lock it reads) to see the lock after execve.
 */
#include "tap.h"

#include <stdbool.h>
#include <sys/utsname.h>

static const char *self;
static const char *no_shoal = "no /proc/self/lock: not a Shoal kernel";

/* Open path as a shell's `>` does and write len bytes of text in one
 * call: write's result, or -1 with errno (open's or write's). */
static ssize_t put(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, len);
	int e = errno;
	close(fd);
	errno = e;
	return n;
}

static ssize_t puts_to(const char *path, const char *text)
{
	return put(path, text, strlen(text));
}

/* The lock of pid as /proc says: 0, 1, or -1 if unreadable. */
static int lock_of(pid_t pid)
{
	char path[64], buf[16];
	snprintf(path, sizeof path, "/proc/%d/lock", (int)pid);
	if (read_file(path, buf, sizeof buf) < 0)
		return -1;
	return !strcmp(buf, "1\n") ? 1 : !strcmp(buf, "0\n") ? 0 : -1;
}

static bool mode_is(const char *path, mode_t mode)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_mode == (S_IFREG | mode);
}

static void test_modes(void)
{
	OK(mode_is("/proc/self/lock", 0644), "/proc/self/lock is 0644");
	OK(mode_is("/proc/self/where", 0444), "/proc/self/where is 0444");
	OK(mode_is("/proc/self/cantmove", 0444), "/proc/self/cantmove is 0444");
	OK(mode_is("/proc/self/stat", 0444), "/proc/self/stat is 0444");
}

static void test_lock_self(void)
{
	char buf[16];
	IS(read_file("/proc/self/lock", buf, sizeof buf), 2,
	   "read lock: 2 bytes");
	OK(!strcmp(buf, "0\n") || !strcmp(buf, "1\n"), "lock reads 0 or 1");
	IS(puts_to("/proc/self/lock", "1\n"), 2, "write \"1\\n\" to lock");
	IS(lock_of(getpid()), 1, "lock now reads 1");
	IS(puts_to("/proc/self/lock", "0"), 1, "write \"0\" to lock");
	IS(lock_of(getpid()), 0, "lock now reads 0");
	IS(puts_to("/proc/self/lock", "1"), 1, "write \"1\" to lock");
	static const char *bad[] = {"2",   "\n",    "10", "1 ", " 1",
				    "one", "1\n\n", "-1", "0x1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ERR(puts_to("/proc/self/lock", bad[i]), EINVAL,
		    "write bad value %zu (%zu bytes) to lock: EINVAL", i,
		    strlen(bad[i]));
	char big[300];
	memset(big, '1', sizeof big);
	ERR(put("/proc/self/lock", big, 257), EINVAL,
	    "a 257-byte write: EINVAL");
	IS(lock_of(getpid()), 1, "lock still 1 after the refused writes");
	IS(put("/proc/self/lock", "0\n", 2), 2, "back to 0");
}

static void test_offsets(void)
{
	int fd = SYS(open("/proc/self/lock", O_WRONLY), "open lock O_WRONLY");
	IS(write(fd, "1", 1), 1, "the first write at offset 0");
	ERR(write(fd, "0", 1), EINVAL, "a second write (offset 1): EINVAL");
	ERR(pwrite(fd, "0", 1, 1), EINVAL, "pwrite at offset 1: EINVAL");
	IS(lseek(fd, 5, SEEK_SET), 5, "lseek to 5");
	ERR(write(fd, "0", 1), EINVAL, "write at offset 5: EINVAL");
	IS(lock_of(getpid()), 1, "the refused writes changed nothing");
	IS(pwrite(fd, "0\n", 2, 0), 2, "pwrite at offset 0");
	IS(lock_of(getpid()), 0, "and it took effect");
	char c;
	ERR(read(fd, &c, 1), EBADF, "read on a write-only descriptor: EBADF");
	close(fd);

	fd = SYS(open("/proc/self/lock", O_RDWR), "open lock O_RDWR");
	char buf[8] = {0};
	IS(read(fd, buf, sizeof buf), 2, "read the value");
	OK(!strcmp(buf, "0\n"), "it is 0");
	IS(pwrite(fd, "1", 1, 0), 1, "pwrite 1 at 0 on the same descriptor");
	IS(lock_of(getpid()), 1, "lock is 1");
	close(fd);

	fd = SYS(open("/proc/self/lock", O_WRONLY | O_APPEND),
		 "open lock O_APPEND (>>)");
	IS(write(fd, "0\n", 2), 2, "an appending write lands at 0");
	IS(lock_of(getpid()), 0, "lock is 0");
	close(fd);
	IS(truncate("/proc/self/lock", 0), 0, "truncate(2) is accepted");
	IS(lock_of(getpid()), 0, "and changes nothing");
}

/* A child that waits for a byte on fd, then exits with its lock. */
static pid_t waiting_child(int fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		read(fd, &c, 1);
		_exit(lock_of(getpid()) & 0x7f);
	}
	return pid;
}

static void test_lock_child_and_fork(void)
{
	int p[2];
	pipe(p);
	pid_t pid = waiting_child(p[0]);
	OK(pid > 0, "fork a child");
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/lock", (int)pid);
	IS(lock_of(pid), 0, "the child's lock is 0 (ours is 0)");
	IS(puts_to(path, "1\n"), 2, "write 1 to the child's lock");
	IS(lock_of(pid), 1, "the child's lock reads 1");
	IS(lock_of(getpid()), 0, "ours is still 0");
	ERR(puts_to(path, "7"), EINVAL, "a bad value for the child: EINVAL");
	write(p[1], "x", 1);
	IS_EXIT(wait_child(pid, 5000), 1, "the child saw its lock 1");
	ERR(puts_to(path, "0"), ENOENT, "the reaped child's lock: ENOENT");

	/* Inherited by fork. */
	IS(puts_to("/proc/self/lock", "1"), 1, "lock ourselves");
	pid = waiting_child(p[0]);
	write(p[1], "x", 1);
	IS_EXIT(wait_child(pid, 5000), 1, "a forked child inherits lock 1");
	IS(puts_to("/proc/self/lock", "0"), 1, "unlock ourselves");
	pid = waiting_child(p[0]);
	write(p[1], "x", 1);
	IS_EXIT(wait_child(pid, 5000), 0, "a forked child inherits lock 0");
	close(p[0]);
	close(p[1]);

	/* Kept across execve. */
	IS(puts_to("/proc/self/lock", "1"), 1, "lock ourselves again");
	pid = fork();
	if (pid == 0) {
		execl(self, self, "--print-lock", (char *)NULL);
		_exit(99);
	}
	IS_EXIT(wait_child(pid, 10000), 1, "the lock survives execve");
	IS(puts_to("/proc/self/lock", "0"), 1, "unlock ourselves");
}

/* The node number in uname's nodename "nodeN", or -1. */
static int uname_node(void)
{
	struct utsname u;
	if (uname(&u) != 0 || strncmp(u.nodename, "node", 4) || !u.nodename[4])
		return -1;
	char *end;
	long n = strtol(u.nodename + 4, &end, 10);
	return *end ? -1 : (int)n;
}

/* The node of /proc/cluster/nodes' "self" row, or -1 (no Linker). */
static int cluster_self(void)
{
	static char buf[8192];
	if (read_file("/proc/cluster/nodes", buf, sizeof buf) < 0)
		return -1;
	for (char *l = buf; *l;) {
		int node;
		char mac[32], state[16];
		if (sscanf(l, "%d %31s %15s", &node, mac, state) == 3 &&
		    !strcmp(state, "self"))
			return node;
		char *nl = strchr(l, '\n');
		if (!nl)
			break;
		l = nl + 1;
	}
	return -1;
}

static void test_where(void)
{
	char buf[32], path[64];
	int node = uname_node();
	OK(node >= 0, "uname's nodename is nodeN");
	SYS(read_file("/proc/self/where", buf, sizeof buf),
	    "read /proc/self/where");
	char want[32];
	snprintf(want, sizeof want, "%d\n", node);
	OK(!strcmp(buf, want), "where is the node number %d", node);
	int cs = cluster_self();
	if (cs < 0)
		SKIP("no self row in /proc/cluster/nodes (no Linker)",
		     "where agrees with /proc/cluster/nodes");
	else
		IS(atoi(buf), cs, "where agrees with /proc/cluster/nodes");
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	snprintf(path, sizeof path, "/proc/%d/where", (int)pid);
	SYS(read_file(path, buf, sizeof buf), "read a child's where");
	OK(!strcmp(buf, want), "the child is on node %d too", node);
	ERR(puts_to(path, "1"), EACCES, "where is read-only (EACCES)");
	kill(pid, SIGKILL);
	wait_child(pid, 5000);
}

/* Read /proc/<pid>/cantmove with plain system calls (a vfork child must
 * not touch stdio): its length, or -1. */
static int cantmove_raw(pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cantmove", (int)pid);
	int fd = (int)syscall(SYS_open, path, O_RDONLY);
	if (fd < 0)
		return -1;
	long n = syscall(SYS_read, fd, buf, size - 1);
	syscall(SYS_close, fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

/* Wait until pid is a zombie ('Z' in its stat): true, or false after
 * 5 s. */
static bool becomes_zombie(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 2500; i++) {
		if (read_file(path, buf, sizeof buf) > 0) {
			char *rp = strrchr(buf, ')');
			if (rp && rp[1] == ' ' && rp[2] == 'Z')
				return true;
		}
		msleep(2);
	}
	return false;
}

static void test_cantmove(void)
{
	char buf[128];
	IS(read_file("/proc/self/cantmove", buf, sizeof buf), 0,
	   "cantmove of ourselves is empty");
	if (read_file("/proc/1/stat", buf, sizeof buf) <= 0 ||
	    !strstr(buf, "(init)")) {
		SKIP("pid 1 is not /bin/init (the kernel monitor runs the "
		     "console)",
		     "cantmove of pid 1");
	} else {
		ssize_t n = read_file("/proc/1/cantmove", buf, sizeof buf);
		OK(n > 1 && buf[n - 1] == '\n', "cantmove of pid 1 is a line");
		OK(!strcmp(buf, "init\n"), "pid 1 cannot move: init");
	}
	ERR(puts_to("/proc/self/cantmove", ""), EACCES,
	    "cantmove is read-only (EACCES)");

	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	OK(becomes_zombie(pid), "a child that exited is a zombie");
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cantmove", (int)pid);
	read_file(path, buf, sizeof buf);
	OK(!strcmp(buf, "zombie\n"), "a zombie cannot move");
	snprintf(path, sizeof path, "/proc/%d/lock", (int)pid);
	ERR(puts_to(path, "1"), ESRCH, "locking a zombie: ESRCH");
	wait_child(pid, 5000);

	/* A vfork child runs in our memory until it execs or exits: it
	 * reads both files and answers with its exit status (bit 0: its
	 * own reason, bit 1: ours). */
	pid_t parent = getpid();
	pid = vfork();
	if (pid == 0) {
		char c[128], p[128];
		int code = 0;
		if (cantmove_raw(getpid(), c, sizeof c) > 0 &&
		    !strncmp(c, "vfork child", 11))
			code |= 1;
		if (cantmove_raw(parent, p, sizeof p) > 0 &&
		    !strncmp(p, "vfork parent", 12))
			code |= 2;
		_exit(code);
	}
	IS_EXIT(wait_child(pid, 5000), 3,
		"a vfork child and its parent cannot move (3 = both)");
	IS(read_file("/proc/self/cantmove", buf, sizeof buf), 0,
	   "once it is gone we can move again");
}

/* Files without a write handler: Shoal refuses the open (EACCES), Linux
 * lets root open them and refuses the write (EINVAL; EIO for files like
 * meminfo). */
static void test_read_only(const char *path, int flags)
{
	const char *how = flags == O_RDWR ? "O_RDWR" : "O_WRONLY";
	int fd = open(path, flags);
	if (fd < 0) {
		int e = errno;
		ERR((errno = e, fd), EACCES, "open %s %s: EACCES", path, how);
		return;
	}
	ERR2(write(fd, "1", 1), EINVAL, EIO, "write to %s (%s): EINVAL or EIO",
	     path, how);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--print-lock"))
		return lock_of(getpid()) & 0x7f;
	/* Resolve a relative argv[0] before tap_init changes directory. */
	self = tap_self(argv[0], "/bin/tests/t_procctl");
	tap_init(argc, argv, "t_procctl");
	test_read_only("/proc/self/stat", O_WRONLY);
	test_read_only("/proc/self/stat", O_RDWR);
	test_read_only("/proc/self/status", O_WRONLY);
	test_read_only("/proc/meminfo", O_WRONLY);
	if (access("/proc/self/lock", F_OK) != 0) {
		SKIP(no_shoal, "the control files");
		return tap_done();
	}
	/* We start unlocked whatever the shell's lock is. */
	put("/proc/self/lock", "0", 1);
	test_modes();
	test_lock_self();
	test_offsets();
	test_lock_child_and_fork();
	test_where();
	test_cantmove();
	ERR(puts_to("/proc/999999/lock", "1"), ENOENT,
	    "the lock of a pid that does not exist: ENOENT");
	return tap_done();
}
