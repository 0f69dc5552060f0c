/*
 * jobs.c — the job table and job control: waiting for foreground jobs,
 * noticing background ones, and the builtins jobs, fg, bg, wait and kill.
 *
 * A job is the processes of one pipeline (or of a forked `a && b &`). With
 * job control (sh.jobctl) they form their own process group, pgid = the
 * first process; the shell hands the terminal to a foreground job with
 * tcsetpgrp and takes it back when the job finishes or stops. Without job
 * control (no terminal, or the kernel answers ENOTTY/ENOSYS) pgid is 0 and
 * signals go to each process.
 *
 * All child status changes come from waitpid(-1, ...): the shell installs
 * no SIGCHLD handler; it collects background results while it waits for a
 * foreground job and, without blocking, before each prompt (jobs_notify),
 * and reports them there: "[1]+  Done                    sleep 1".
 *
 * Current job: the one started in the background or stopped most recently
 * (shown '+'); the one before it is '-'. `%+`, `%%`, `%-`, `%N` and
 * `%prefix` name jobs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sh.h"

#define MAXJOBS 64

static struct job *table[MAXJOBS];
static unsigned long touched[MAXJOBS]; /* when it last became current */
static unsigned long clock_ticks;

struct job *job_new(const char *text)
{
	struct job *j = xmalloc(sizeof *j);
	memset(j, 0, sizeof *j);
	j->text = xstrdup(text);
	for (int i = 0; i < MAXJOBS; i++) {
		if (!table[i]) {
			table[i] = j;
			j->id = i + 1;
			touched[i] = ++clock_ticks;
			return j;
		}
	}
	j->id = 0; /* table full: a job without a number */
	return j;
}

void job_free(struct job *j)
{
	if (j->id)
		table[j->id - 1] = NULL;
	free(j->procs);
	free(j->text);
	free(j);
}

void job_add(struct job *j, pid_t pid)
{
	j->procs = xrealloc(j->procs, (j->nprocs + 1) * sizeof *j->procs);
	j->procs[j->nprocs].pid = pid;
	j->procs[j->nprocs].status = 0;
	j->procs[j->nprocs].state = JOB_RUNNING;
	j->nprocs++;
}

enum job_state job_state(const struct job *j)
{
	int stopped = 0;
	for (int i = 0; i < j->nprocs; i++) {
		if (j->procs[i].state == JOB_RUNNING)
			return JOB_RUNNING;
		if (j->procs[i].state == JOB_STOPPED)
			stopped = 1;
	}
	return stopped ? JOB_STOPPED : JOB_DONE;
}

static void touch(struct job *j)
{
	if (j->id)
		touched[j->id - 1] = ++clock_ticks;
}

/* The current (rank 0) or previous (rank 1) job, or NULL. */
static struct job *ranked(int rank)
{
	int best = -1, second = -1;
	for (int i = 0; i < MAXJOBS; i++) {
		if (!table[i])
			continue;
		if (best < 0 || touched[i] > touched[best]) {
			second = best;
			best = i;
		} else if (second < 0 || touched[i] > touched[second]) {
			second = i;
		}
	}
	int k = rank ? second : best;
	return k >= 0 ? table[k] : NULL;
}

static char mark(const struct job *j)
{
	if (j == ranked(0))
		return '+';
	if (j == ranked(1))
		return '-';
	return ' ';
}

int wait_status_to_exit(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	if (WIFSTOPPED(st))
		return 128 + WSTOPSIG(st);
	return 0;
}

const char *status_text(int st, char *buf, size_t n)
{
	if (WIFEXITED(st)) {
		if (!WEXITSTATUS(st))
			return "Done";
		snprintf(buf, n, "Exit %d", WEXITSTATUS(st));
		return buf;
	}
	if (WIFSTOPPED(st))
		return "Stopped";
	if (WIFSIGNALED(st)) {
		snprintf(buf, n, "%s%s", strsignal(WTERMSIG(st)),
			 WCOREDUMP(st) ? " (core dumped)" : "");
		return buf;
	}
	return "Done";
}

/* Record a status change reported by waitpid. */
static void update(pid_t pid, int st)
{
	for (int i = 0; i < MAXJOBS; i++) {
		struct job *j = table[i];
		for (int k = 0; j && k < j->nprocs; k++) {
			if (j->procs[k].pid != pid)
				continue;
			j->procs[k].status = st;
			if (WIFSTOPPED(st)) {
				j->procs[k].state = JOB_STOPPED;
				touch(j);
			} else {
				j->procs[k].state = JOB_DONE;
			}
			j->notified = 0;
			return;
		}
	}
}

/* Collect status changes; with block, wait for one. Returns -1 when there
 * is nothing (more) to collect or a signal interrupted a blocking wait. */
static int reap(int block)
{
	int st;
	/* Without job control a stopped child is not reported: the shell
	 * waits on until something continues it (a script run from another
	 * shell stops and continues along with its children). */
	int flags = (sh.jobctl ? WUNTRACED : 0) | (block ? 0 : WNOHANG);
	pid_t pid = waitpid(-1, &st, flags);
	if (pid <= 0) {
		if (pid < 0 && errno == ECHILD) {
			/* Nothing left to wait for: whatever the table still
			 * thinks is running is gone. */
			for (int i = 0; i < MAXJOBS; i++)
				for (int k = 0;
				     table[i] && k < table[i]->nprocs; k++)
					if (table[i]->procs[k].state !=
					    JOB_DONE)
						table[i]->procs[k].state =
							JOB_DONE;
		}
		return -1;
	}
	update(pid, st);
	return 0;
}

/* The status a job reports: its last process's, as pipelines do. */
static int job_status(const struct job *j)
{
	return j->nprocs ? j->procs[j->nprocs - 1].status : 0;
}

static void print_job(struct job *j, const char *state)
{
	char line[600];
	snprintf(line, sizeof line, "[%d]%c  %-24s%s\n", j->id, mark(j), state,
		 j->text);
	fflush(stdout);
	write(2, line, strlen(line));
}

static void give_terminal(pid_t pgid)
{
	if (sh.jobctl && pgid > 0)
		tcsetpgrp(sh.ttyfd, pgid);
}

int job_wait_fg(struct job *j)
{
	give_terminal(j->pgid);
	while (job_state(j) == JOB_RUNNING) {
		if (reap(1) < 0 && errno != EINTR && errno != ECHILD)
			break;
	}
	give_terminal(sh.pgid);
	enum job_state state = job_state(j);
	if (state == JOB_STOPPED) {
		int sig = SIGTSTP;
		for (int k = 0; k < j->nprocs; k++)
			if (j->procs[k].state == JOB_STOPPED)
				sig = WSTOPSIG(j->procs[k].status);
		tty_restore();
		touch(j);
		j->notified = 1;
		if (sh.interactive)
			write(2, "\n", 1);
		print_job(j, "Stopped");
		return 128 + sig;
	}
	int st = job_status(j);
	int code = wait_status_to_exit(st);
	int killed = 0;
	for (int k = 0; k < j->nprocs; k++)
		if (WIFSIGNALED(j->procs[k].status))
			killed = 1;
	if (killed)
		tty_restore();
	if (WIFSIGNALED(st) && WTERMSIG(st) != SIGPIPE) {
		char buf[80];
		const char *msg = "\n";
		if (WTERMSIG(st) != SIGINT) {
			snprintf(buf, sizeof buf, "%s%s\n",
				 strsignal(WTERMSIG(st)),
				 WCOREDUMP(st) ? " (core dumped)" : "");
			msg = buf;
		}
		if (WTERMSIG(st) != SIGINT || sh.interactive)
			write(2, msg, strlen(msg));
	}
	job_free(j);
	return code;
}

void job_started_bg(struct job *j)
{
	touch(j);
	if (sh.interactive) {
		char line[64];
		snprintf(line, sizeof line, "[%d] %d\n", j->id,
			 (int)j->procs[j->nprocs - 1].pid);
		write(2, line, strlen(line));
	}
}

void jobs_notify(void)
{
	while (reap(0) == 0)
		;
	for (int i = 0; i < MAXJOBS; i++) {
		struct job *j = table[i];
		if (!j || j->notified)
			continue;
		enum job_state s = job_state(j);
		char buf[80];
		if (s == JOB_DONE) {
			if (sh.interactive)
				print_job(j, status_text(job_status(j), buf,
							 sizeof buf));
			job_free(j);
		} else if (s == JOB_STOPPED) {
			print_job(j, "Stopped");
			j->notified = 1;
		}
	}
}

static void job_signal(struct job *j, int sig)
{
	if (j->pgid > 0) {
		kill(-j->pgid, sig);
		return;
	}
	for (int k = 0; k < j->nprocs; k++)
		if (j->procs[k].state != JOB_DONE)
			kill(j->procs[k].pid, sig);
}

void jobs_hangup(void)
{
	for (int i = 0; i < MAXJOBS; i++) {
		if (table[i] && job_state(table[i]) == JOB_STOPPED) {
			job_signal(table[i], SIGHUP);
			job_signal(table[i], SIGCONT);
		}
	}
}

/* A job named by spec (%N %+ %% %- %prefix, or N when bare_is_job). */
static struct job *find_job(const char *cmd, const char *spec, int bare_is_job)
{
	struct job *j = NULL;
	if (!spec || !strcmp(spec, "%%") || !strcmp(spec, "%+") ||
	    !strcmp(spec, "%")) {
		j = ranked(0);
	} else if (!strcmp(spec, "%-")) {
		j = ranked(1);
	} else if (spec[0] == '%' || bare_is_job) {
		const char *s = spec[0] == '%' ? spec + 1 : spec;
		char *end;
		long n = strtol(s, &end, 10);
		if (*s && !*end) {
			j = n >= 1 && n <= MAXJOBS ? table[n - 1] : NULL;
		} else {
			for (int i = 0; i < MAXJOBS && !j; i++)
				if (table[i] &&
				    !strncmp(table[i]->text, s, strlen(s)))
					j = table[i];
		}
	}
	if (!j)
		sh_error("%s: %s: no such job", cmd, spec ? spec : "current");
	return j;
}

static void continue_job(struct job *j)
{
	for (int k = 0; k < j->nprocs; k++)
		if (j->procs[k].state == JOB_STOPPED)
			j->procs[k].state = JOB_RUNNING;
	j->notified = 0;
	job_signal(j, SIGCONT);
}

int bi_jobs(int argc, char **argv)
{
	int pids = 0, longfmt = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p")) {
			pids = 1;
		} else if (!strcmp(argv[i], "-l")) {
			longfmt = 1;
		} else {
			sh_error("jobs: usage: jobs [-l|-p]");
			return 2;
		}
	}
	/* A forked subshell (jobs | wc) shows the table it inherited: the
	 * processes are not its children. */
	while (!sh.subshell && reap(0) == 0)
		;
	for (int i = 0; i < MAXJOBS; i++) {
		struct job *j = table[i];
		if (!j)
			continue;
		enum job_state s = job_state(j);
		char buf[80];
		const char *what =
			s == JOB_RUNNING ? "Running"
			: s == JOB_STOPPED
				? "Stopped"
				: status_text(job_status(j), buf, sizeof buf);
		if (pids) {
			printf("%d\n", (int)j->procs[0].pid);
		} else if (longfmt) {
			printf("[%d]%c %d %-24s%s\n", j->id, mark(j),
			       (int)j->procs[0].pid, what, j->text);
		} else {
			printf("[%d]%c  %-24s%s\n", j->id, mark(j), what,
			       j->text);
		}
		if (s == JOB_DONE)
			job_free(j);
		else
			j->notified = 1;
	}
	fflush(stdout);
	return 0;
}

int bi_fg(int argc, char **argv)
{
	struct job *j = find_job("fg", argc > 1 ? argv[1] : NULL, 1);
	if (!j)
		return 1;
	if (job_state(j) == JOB_DONE) {
		sh_error("fg: job %d has finished", j->id);
		return 1;
	}
	printf("%s\n", j->text);
	fflush(stdout);
	give_terminal(j->pgid);
	continue_job(j);
	return job_wait_fg(j);
}

int bi_bg(int argc, char **argv)
{
	int rc = 0;
	for (int i = 1; i < argc || i == 1; i++) {
		struct job *j = find_job("bg", argc > 1 ? argv[i] : NULL, 1);
		if (!j) {
			rc = 1;
		} else if (job_state(j) != JOB_STOPPED) {
			sh_error("bg: job %d is already running", j->id);
		} else {
			continue_job(j);
			touch(j);
			printf("[%d]%c %s &\n", j->id, mark(j), j->text);
		}
		if (argc == 1)
			break;
	}
	fflush(stdout);
	return rc;
}

static volatile sig_atomic_t wait_interrupted;

static void on_wait_sigint(int sig)
{
	(void)sig;
	wait_interrupted = 1;
}

/* Wait for j (or every running job if NULL); ^C interrupts the wait even in
 * an interactive shell, which otherwise ignores SIGINT. */
static int wait_job(struct job *j)
{
	while (!wait_interrupted) {
		int running = 0;
		for (int i = 0; i < MAXJOBS; i++)
			if (table[i] && (!j || table[i] == j) &&
			    job_state(table[i]) == JOB_RUNNING)
				running = 1;
		if (!running)
			break;
		if (reap(1) < 0 && errno != EINTR)
			break;
	}
	if (wait_interrupted)
		return 128 + SIGINT;
	if (!j)
		return 0;
	int st = job_state(j) == JOB_STOPPED
			 ? 128 + SIGTSTP
			 : wait_status_to_exit(job_status(j));
	if (job_state(j) == JOB_DONE && !sh.interactive)
		job_free(j);
	return st;
}

int bi_wait(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_wait_sigint}, old;
	sigemptyset(&sa.sa_mask);
	int catch = sh.interactive;
	if (catch)
		sigaction(SIGINT, &sa, &old);
	wait_interrupted = 0;
	int st = 0;
	if (argc == 1) {
		st = wait_job(NULL);
		if (!sh.interactive)
			for (int i = 0; i < MAXJOBS; i++)
				if (table[i] && job_state(table[i]) == JOB_DONE)
					job_free(table[i]);
	}
	for (int i = 1; i < argc && !wait_interrupted; i++) {
		struct job *j = NULL;
		if (argv[i][0] == '%') {
			j = find_job("wait", argv[i], 0);
		} else {
			pid_t pid = atoi(argv[i]);
			for (int t = 0; t < MAXJOBS && !j; t++)
				for (int k = 0;
				     table[t] && k < table[t]->nprocs; k++)
					if (table[t]->procs[k].pid == pid)
						j = table[t];
			if (!j)
				sh_error("wait: pid %s is not a child of this "
					 "shell",
					 argv[i]);
		}
		st = j ? wait_job(j) : 127;
	}
	if (catch)
		sigaction(SIGINT, &old, NULL);
	if (wait_interrupted && sh.interactive)
		write(2, "\n", 1);
	return st;
}

static const struct {
	const char *name;
	int sig;
} signames[] = {
	{"HUP", SIGHUP},     {"INT", SIGINT},	{"QUIT", SIGQUIT},
	{"ILL", SIGILL},     {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},
	{"BUS", SIGBUS},     {"FPE", SIGFPE},	{"KILL", SIGKILL},
	{"USR1", SIGUSR1},   {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
	{"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
	{"CHLD", SIGCHLD},   {"CONT", SIGCONT}, {"STOP", SIGSTOP},
	{"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
	{"WINCH", SIGWINCH},
};

static int signal_number(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end)
		return n > 0 && n < 65 ? (int)n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++)
		if (!strcasecmp(s, signames[i].name))
			return signames[i].sig;
	return -1;
}

int bi_kill(int argc, char **argv)
{
	int sig = SIGTERM, i = 1;
	if (argc > 1 && !strcmp(argv[1], "-l")) {
		for (size_t k = 0; k < sizeof signames / sizeof signames[0];
		     k++)
			printf("%2d %s\n", signames[k].sig, signames[k].name);
		fflush(stdout);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "-s")) {
		sig = signal_number(argv[2]);
		i = 3;
	} else if (argc > 1 && argv[1][0] == '-' && argv[1][1]) {
		sig = signal_number(argv[1] + 1);
		i = 2;
	}
	if (sig < 0) {
		sh_error("kill: %s: unknown signal", argv[i - 1]);
		return 2;
	}
	if (i >= argc) {
		sh_error("kill: usage: kill [-SIGNAL | -s SIGNAL] pid|%%job... "
			 "| -l");
		return 2;
	}
	int rc = 0;
	for (; i < argc; i++) {
		if (argv[i][0] == '%') {
			struct job *j = find_job("kill", argv[i], 0);
			if (!j) {
				rc = 1;
				continue;
			}
			job_signal(j, sig);
			if (sig == SIGCONT)
				continue_job(j);
			continue;
		}
		char *end;
		long pid = strtol(argv[i], &end, 10);
		if (!*argv[i] || *end) {
			sh_error("kill: %s: not a pid or %%job", argv[i]);
			rc = 1;
		} else if (kill((pid_t)pid, sig) < 0) {
			sh_error("kill: %s: %s", argv[i], strerror(errno));
			rc = 1;
		}
	}
	return rc;
}
