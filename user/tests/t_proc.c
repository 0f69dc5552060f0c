/*
 * t_proc — process lifetime: fork, vfork, clone(SIGCHLD), execve (argv,
 * envp, the auxiliary vector, close-on-exec, signal dispositions and mask
 * across exec, errors), exit, exit_group, wait4 (WNOHANG, statuses,
 * ECHILD), waitid (WNOWAIT, WEXITED, CLD_*), getpid, getppid, gettid,
 * set_tid_address, setpgid, getpgid, getpgrp, setsid, getsid, orphans.
 *
 * The program re-executes itself for the execve tests: argv[1] ==
 * "--exec-child" selects that mode; argv[0] must name the program (or it
 * is looked for as /bin/tests/t_proc).
 */
#include "tap.h"

#include <sys/auxv.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/utsname.h>

extern char **environ;

static const char *self;

/* Exec mode: check what the parent arranged; exit 0 or the failed step. */
static int exec_child(int argc, char **argv)
{
	if (argc != 6 || strcmp(argv[2], "arg two") || strcmp(argv[3], ""))
		return 10;
	if (!getenv("T_PROC_A") || strcmp(getenv("T_PROC_A"), "one"))
		return 11;
	if (!getenv("T_PROC_B") || strcmp(getenv("T_PROC_B"), "x=y"))
		return 12;
	if (getenv("PATH_SHOULD_NOT_BE_HERE"))
		return 13;
	if (getauxval(AT_PAGESZ) != 4096)
		return 20;
	if (!getauxval(AT_PHDR) || getauxval(AT_PHNUM) == 0 ||
	    getauxval(AT_PHENT) == 0)
		return 21;
	if (!getauxval(AT_ENTRY))
		return 22;
	if (!getauxval(AT_RANDOM))
		return 23;
	if (getauxval(AT_UID) != getuid() || getauxval(AT_EUID) != geteuid() ||
	    getauxval(AT_GID) != getgid() || getauxval(AT_EGID) != getegid())
		return 24;
	if (getauxval(AT_SECURE) != 0)
		return 25;
	/* argv[4] = the close-on-exec fd, argv[5] = the inherited one. */
	int cloexec_fd = atoi(argv[4]), kept_fd = atoi(argv[5]);
	if (fcntl(cloexec_fd, F_GETFD) != -1 || errno != EBADF)
		return 30;
	char c;
	if (fcntl(kept_fd, F_GETFD) != 0 || read(kept_fd, &c, 1) != 1 ||
	    c != 'b')
		return 31; /* open, and at the offset the parent left */
	struct sigaction sa;
	sigaction(SIGUSR1, NULL, &sa);
	if (sa.sa_handler != SIG_DFL)
		return 40; /* a handler does not survive exec */
	sigaction(SIGUSR2, NULL, &sa);
	if (sa.sa_handler != SIG_IGN)
		return 41; /* an ignored signal stays ignored */
	sigset_t m;
	sigprocmask(SIG_SETMASK, NULL, &m);
	if (!sigismember(&m, SIGWINCH) || sigismember(&m, SIGUSR1))
		return 42; /* the mask is inherited */
	/* The pid does not change: report it through the kept fd's pipe. */
	pid_t pid = getpid();
	int out = atoi(argv[4]) + 1;
	if (write(out, &pid, sizeof pid) != sizeof pid)
		return 43;
	return 0;
}

static void test_fork_wait(void)
{
	pid_t me = getpid();
	int p[2];
	pipe(p);
	pid_t pid = fork(); /* no test point before the child is gone */
	if (pid == 0) {
		pid_t info[2] = {getpid(), getppid()};
		write(p[1], info, sizeof info);
		_exit(42);
	}
	OK(pid > 0, "fork");
	pid_t info[2] = {0, 0};
	read(p[0], info, sizeof info);
	IS(info[0], pid, "the child's getpid is what fork returned");
	IS(info[1], me, "the child's getppid is the parent");
	OK(pid != me, "the child has a new pid");
	int st = 0;
	IS(wait4(pid, &st, 0, NULL), pid, "wait4 for the child");
	IS_EXIT(st, 42, "exit status 42");
	ERR(wait4(pid, &st, 0, NULL), ECHILD, "wait4 for a reaped child");
	ERR(wait4(-1, &st, 0, NULL), ECHILD, "wait4 with no children");
	ERR(wait4(-1, &st, WNOHANG, NULL), ECHILD, "WNOHANG with no children");
	close(p[0]);
	close(p[1]);

	/* WNOHANG while the child lives, then a real wait. */
	pipe(p);
	pid = fork();
	if (pid == 0) {
		char c;
		read(p[0], &c, 1);
		_exit(0);
	}
	IS(wait4(pid, &st, WNOHANG, NULL), 0, "WNOHANG on a running child");
	write(p[1], "x", 1);
	IS(wait4(pid, &st, 0, NULL), pid, "then wait4 blocks until it exits");
	close(p[0]);
	close(p[1]);

	/* Statuses: codes are 8 bits, exit and exit_group directly. */
	int codes[] = {0, 1, 255, 256 + 7};
	for (int i = 0; i < 4; i++) {
		pid = fork();
		if (pid == 0)
			exit(codes[i]);
		IS_EXIT(wait_child(pid, 5000), codes[i] & 0xff, "exit(%d)",
			codes[i]);
	}
	pid = fork();
	if (pid == 0)
		syscall(SYS_exit, 3);
	IS_EXIT(wait_child(pid, 5000), 3, "raw exit system call");
	pid = fork();
	if (pid == 0)
		syscall(SYS_exit_group, 4);
	IS_EXIT(wait_child(pid, 5000), 4, "exit_group");
	pid = fork();
	if (pid == 0) {
		kill(getpid(), SIGKILL);
		_exit(0);
	}
	IS_SIGNALED(wait_child(pid, 5000), SIGKILL, "killed by SIGKILL");

	/* wait4(-1) reaps several children, each once. */
	pid_t kids[5];
	for (int i = 0; i < 5; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(10 + i);
	}
	int got = 0, right = 0;
	for (int i = 0; i < 5; i++) {
		pid_t r = wait4(-1, &st, 0, NULL);
		for (int k = 0; k < 5; k++)
			if (r == kids[k]) {
				got++;
				right += WIFEXITED(st) &&
					 WEXITSTATUS(st) == 10 + k;
			}
	}
	IS(got, 5, "wait4(-1) reaps five children");
	IS(right, 5, "each with its own status");
	ERR(wait4(-1, &st, 0, NULL), ECHILD, "and then there are none");
	ERR(wait4(-1, &st, 0x100, NULL), EINVAL, "wait4 with bad options");

	struct rusage ru;
	pid = fork();
	if (pid == 0)
		_exit(0);
	IS(wait4(pid, &st, 0, &ru), pid, "wait4 with a rusage");
}

static void test_waitid(void)
{
	siginfo_t si;
	pid_t pid = fork();
	if (pid == 0)
		_exit(9);
	memset(&si, 0, sizeof si);
	SYS(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), "waitid WNOWAIT");
	IS(si.si_pid, pid, "si_pid");
	IS(si.si_code, CLD_EXITED, "si_code CLD_EXITED");
	IS(si.si_status, 9, "si_status is the exit code");
	IS(si.si_signo, SIGCHLD, "si_signo SIGCHLD");
	memset(&si, 0, sizeof si);
	SYS(waitid(P_ALL, 0, &si, WEXITED), "waitid P_ALL reaps it");
	IS(si.si_pid, pid, "the same child");
	ERR(waitid(P_ALL, 0, &si, WEXITED), ECHILD, "waitid with no children");

	int p[2];
	pipe(p);
	pid = fork();
	if (pid == 0) {
		char c;
		read(p[0], &c, 1);
		_exit(0);
	}
	memset(&si, 0xff, sizeof si);
	SYS(waitid(P_PID, pid, &si, WEXITED | WNOHANG),
	    "waitid WNOHANG on a running child");
	IS(si.si_pid, 0, "si_pid is 0 when nothing is ready");
	kill(pid, SIGTERM);
	memset(&si, 0, sizeof si);
	waitid(P_PID, pid, &si, WEXITED);
	IS(si.si_code, CLD_KILLED, "si_code CLD_KILLED for a killed child");
	IS(si.si_status, SIGTERM, "si_status is the signal");
	close(p[0]);
	close(p[1]);
	ERR(waitid(P_PID, pid, &si, 0), EINVAL, "waitid without WEXITED etc.");
}

static void test_vfork_clone(void)
{
	pid_t pid = vfork();
	if (pid == 0)
		_exit(5);
	OK(pid > 0, "vfork");
	IS_EXIT(wait_child(pid, 5000), 5, "a vfork child's status");

	pid = vfork();
	if (pid == 0) {
		char *av[] = {(char *)self, "--exit", "6", NULL};
		execve(self, av, environ);
		_exit(99);
	}
	IS_EXIT(wait_child(pid, 5000), 6, "a vfork child that execs");

	pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		syscall(SYS_exit_group, 7);
	OK(pid > 0, "clone(SIGCHLD) works like fork");
	IS_EXIT(wait_child(pid, 5000), 7, "the clone child's status");
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Run the damaged program file "bad-elf" in a child: 42 when execve says
 * ENOEXEC, 43 for another error; a child that got past execve dies or
 * exits as the damaged image makes it. */
static int exec_bad(char **av)
{
	pid_t pid = fork();
	if (pid == 0) {
		execve("bad-elf", av, environ);
		_exit(errno == ENOEXEC ? 42 : 43);
	}
	return wait_child(pid, 10000);
}

/*
 * Damaged copies of this very program: Shoal must refuse each with ENOEXEC
 * (and survive them). Linux is laxer about some (it ignores EI_CLASS and
 * EI_DATA and maps a truncated file, whose image then dies at start), so
 * on Linux a child killed by a signal passes too.
 */
static void hostile_elves(char **av)
{
	static char img[1 << 16];
	int fd = open(self, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, img, sizeof img);
	if (fd >= 0)
		close(fd);
	if (n < 4096) {
		SKIP("cannot read this program", "hostile ELF files");
		return;
	}
	struct utsname u;
	bool shoal = uname(&u) == 0 && !strcmp(u.sysname, "Shoal");
	static const struct {
		const char *what;
		size_t len; /* bytes kept (0: all) */
		size_t at; /* a byte to change (0: none) */
		unsigned char val;
	} cases[] = {
		{"truncated inside the ELF header", 40, 0, 0},
		{"truncated after the program headers", 1024, 0, 0},
		{"bad magic", 0, 1, 'X'},
		{"32-bit class", 0, 4, 1},
		{"big-endian", 0, 5, 2},
		{"wrong machine", 0, 18, 3},
		{"program header count 0", 0, 56, 0},
		{"program header size 7", 0, 54, 7},
		{"program headers past the end", 0, 39, 0x7f},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = cases[i].len ? cases[i].len : (size_t)n;
		char saved = img[cases[i].at];
		if (cases[i].at)
			img[cases[i].at] = (char)cases[i].val;
		write_file("bad-elf", img, len);
		img[cases[i].at] = saved;
		chmod("bad-elf", 0755);
		int st = exec_bad(av);
		if (shoal)
			IS_EXIT(st, 42, "execve refuses: %s", cases[i].what);
		else
			OK(WIFSIGNALED(st) ||
				   (WIFEXITED(st) && WEXITSTATUS(st) == 42),
			   "execve refuses or the image dies: %s",
			   cases[i].what);
	}
	unlink("bad-elf");
}

static void test_exec(void)
{
	int p[2], f;
	f = open("exec-data", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(f, "ab", 2);
	lseek(f, 1, SEEK_SET);
	/* A close-on-exec fd c and c + 1 = the pipe's write end. */
	int c = fcntl(f, F_DUPFD_CLOEXEC, 50);
	pipe(p);
	dup2(p[1], c + 1);
	char cs[16], ks[16];
	snprintf(cs, sizeof cs, "%d", c);
	snprintf(ks, sizeof ks, "%d", f);

	struct sigaction sa = {0};
	sa.sa_handler = SIG_IGN;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_usr1; /* never called */
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t m, old;
	sigemptyset(&m);
	sigaddset(&m, SIGWINCH);
	sigprocmask(SIG_BLOCK, &m, &old);

	pid_t pid = fork();
	if (pid == 0) {
		char *av[] = {(char *)self, "--exec-child",
			      "arg two",    "",
			      cs,	    ks,
			      NULL};
		char *ev[] = {"T_PROC_A=one", "T_PROC_B=x=y", NULL};
		execve(self, av, ev);
		_exit(99);
	}
	int st = wait_child(pid, 10000);
	pid_t seen = 0;
	read(p[0], &seen, sizeof seen);
	IS_EXIT(st, 0,
		"execve: argv, envp, auxv, fds, signals (exit code = step)");
	IS(seen, pid, "execve keeps the pid");
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	close(c);
	close(c + 1);
	close(p[0]);
	close(p[1]);
	close(f);

	/* A large argument list builds a big initial stack. */
	enum { NARGS = 200 };
	static char store[NARGS][128];
	char *av[NARGS + 4];
	av[0] = (char *)self;
	av[1] = "--args";
	for (int i = 0; i < NARGS; i++) {
		memset(store[i], 'a' + i % 26, 127);
		store[i][0] = (char)('0' + i % 10);
		av[2 + i] = store[i];
	}
	av[NARGS + 2] = NULL;
	pid = fork();
	if (pid == 0) {
		execve(self, av, environ);
		_exit(99);
	}
	IS_EXIT(wait_child(pid, 10000), 0, "execve with %d 127-byte args",
		NARGS);

	ERR(execve("missing-program", av, environ), ENOENT,
	    "execve a missing file");
	write_file("not-elf", "garbage garbage garbage\n", 24);
	chmod("not-elf", 0755);
	ERR(execve("not-elf", av, environ), ENOEXEC,
	    "execve a file that is not a program");
	chmod("not-elf", 0644);
	ERR(execve("not-elf", av, environ), EACCES,
	    "execve a file without execute permission");
	hostile_elves(av);
	ERR(execve(".", av, environ), EACCES, "execve a directory");
	unlink("not-elf");
	ERR(syscall(SYS_execve, 1L, av, environ), EFAULT, "execve a bad path");
	ERR(syscall(SYS_execve, self, 1L, environ), EFAULT,
	    "execve a bad argv");
}

static int check_args(int argc, char **argv)
{
	if (argc != 202)
		return 1;
	for (int i = 0; i < 200; i++) {
		const char *a = argv[2 + i];
		if (strlen(a) != 127 || a[0] != '0' + i % 10 ||
		    a[1] != 'a' + i % 26)
			return 2;
	}
	return 0;
}

static void test_ids(void)
{
	pid_t me = getpid();
	IS(syscall(SYS_gettid), me, "gettid is the pid (one thread)");
	IS(syscall(SYS_set_tid_address, NULL), me,
	   "set_tid_address returns the tid");
	OK(getppid() >= 0, "getppid");
	pid_t pg = getpgrp();
	IS(getpgid(0), pg, "getpgid(0) is getpgrp");
	IS(syscall(SYS_getpgrp), pg, "the getpgrp system call agrees");
	IS(getpgid(me), pg, "getpgid(self)");
	OK(getsid(0) > 0, "getsid(0)");
	ERR(getpgid(999999), ESRCH, "getpgid of no process");
	ERR(getsid(999999), ESRCH, "getsid of no process");

	int p[2], q[2]; /* child to parent, parent to child */
	pipe(p);
	pipe(q);
	pid_t pid = fork();
	if (pid == 0) {
		/* own group, then a new session */
		int r = 0;
		if (setpgid(0, 0) != 0 || getpgrp() != getpid())
			r |= 1;
		if (setsid() != -1 || errno != EPERM)
			r |= 2; /* a group leader may not setsid */
		write(p[1], "x", 1);
		char c;
		read(q[0], &c, 1);
		_exit(r);
	}
	char c;
	read(p[0], &c, 1);
	IS(getpgid(pid), pid, "a child in its own group (setpgid 0,0)");
	IS(getsid(pid), getsid(0), "it is still in our session");
	write(q[1], "x", 1);
	IS_EXIT(wait_child(pid, 5000), 0, "setpgid and setsid rules in child");
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);

	pid = fork();
	if (pid == 0) {
		pid_t s = setsid();
		int r = 0;
		if (s != getpid())
			r |= 1;
		if (getsid(0) != getpid() || getpgrp() != getpid())
			r |= 2;
		if (setpgid(0, getppid()) != -1 || errno != EPERM)
			r |= 4; /* a session leader cannot move */
		_exit(r);
	}
	IS_EXIT(wait_child(pid, 5000), 0,
		"setsid makes a session and group leader");

	/* The parent puts the child into a group. */
	pipe(p);
	pid = fork();
	if (pid == 0) {
		read(p[0], &c, 1);
		_exit(getpgrp() == getpid() ? 0 : 1);
	}
	SYS(setpgid(pid, pid), "setpgid(child, child) from the parent");
	write(p[1], "x", 1);
	IS_EXIT(wait_child(pid, 5000), 0, "the child sees its new group");
	ERR(setpgid(999999, 0), ESRCH, "setpgid of no process");
	ERR(setpgid(0, -1), EINVAL, "setpgid to a negative group");
	close(p[0]);
	close(p[1]);
}

/* An orphaned grandchild gets a new parent and can still exit. */
static void test_orphan(void)
{
	int p[2], q[2];
	pipe(p);
	pipe(q);
	pid_t pid = fork();
	if (pid == 0) {
		pid_t g = fork();
		if (g == 0) {
			pid_t parent = getppid();
			write(q[1], "x", 1); /* now the middle may exit */
			long long end = now_ns() + 3000000000LL;
			while (getppid() == parent && now_ns() < end)
				msleep(2);
			pid_t info[2] = {parent, getppid()};
			write(p[1], info, sizeof info);
			_exit(0);
		}
		char c;
		read(q[0], &c, 1);
		_exit(0);
	}
	IS_EXIT(wait_child(pid, 5000), 0, "the middle process exits");
	pid_t info[2] = {0, 0};
	read(p[0], info, sizeof info);
	IS(info[0], pid, "the grandchild's first parent");
	OK(info[1] != pid, "after its parent's exit it is reparented (to %d)",
	   (int)info[1]);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--exec-child"))
		return exec_child(argc, argv);
	if (argc > 2 && !strcmp(argv[1], "--exit"))
		return atoi(argv[2]);
	if (argc > 1 && !strcmp(argv[1], "--args"))
		return check_args(argc, argv);
	/* Resolve a relative argv[0] before tap_init changes directory. */
	self = tap_self(argv[0], "/bin/tests/t_proc");
	tap_init(argc, argv, "t_proc");
	tap_diag("t_proc: re-executing %s", self);
	test_fork_wait();
	test_waitid();
	test_vfork_clone();
	test_ids();
	test_orphan();
	test_exec();
	return tap_done();
}
