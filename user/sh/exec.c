/*
 * exec.c — running parsed commands: lists, and-or chains, pipelines,
 * simple commands, redirections and the search through $PATH.
 *
 * Where a command runs:
 *   - a lone simple command that is a builtin (or only assignments) runs in
 *     the shell itself, its redirections undone afterwards (saved copies of
 *     the descriptors live at fd >= 10, close-on-exec);
 *   - anything else is forked: every process of a pipeline is a child of
 *     the shell, all of them in one process group (the job) whose first
 *     process is the leader. Both parent and child call setpgid (whichever
 *     runs first wins the race the same way), and for a foreground job both
 *     call tcsetpgrp, so the job owns the terminal before it can read it;
 *   - `cmd &` with more than one pipeline (a && b &) forks a subshell job.
 * Words are expanded in the shell for lone commands (so ${X:=y} sticks) and
 * in the child for pipeline members.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sh.h"

/* ---------------------------------------------------------- redirections */

struct saved_fds {
	int fd[16];
	int copy[16]; /* -1: fd was closed before */
	int n;
};

static void save_fd(struct saved_fds *sv, int fd)
{
	if (!sv)
		return;
	for (int i = 0; i < sv->n; i++)
		if (sv->fd[i] == fd)
			return;
	if (sv->n == 16)
		return;
	fflush(NULL);
	sv->fd[sv->n] = fd;
	sv->copy[sv->n] = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	sv->n++;
}

static void restore_fds(struct saved_fds *sv)
{
	fflush(NULL);
	for (int i = sv->n - 1; i >= 0; i--) {
		if (sv->copy[i] >= 0) {
			dup2(sv->copy[i], sv->fd[i]);
			close(sv->copy[i]);
		} else {
			close(sv->fd[i]);
		}
	}
	sv->n = 0;
}

static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Open name and make it fd (and fd2 if >= 0). */
static int redirect_file(const char *name, int flags, int fd, int fd2,
			 struct saved_fds *sv)
{
	int f = open(name, flags, 0666);
	if (f < 0) {
		sh_error("%s: %s", name, strerror(errno));
		return -1;
	}
	save_fd(sv, fd);
	if (fd2 >= 0)
		save_fd(sv, fd2);
	if (f != fd) {
		if (dup2(f, fd) < 0) {
			sh_error("%d: %s", fd, strerror(errno));
			close(f);
			return -1;
		}
		close(f);
	}
	if (fd2 >= 0 && dup2(fd, fd2) < 0) {
		sh_error("%d: %s", fd2, strerror(errno));
		return -1;
	}
	return 0;
}

/* Apply the redirections in order; sv (may be NULL) records what to undo. */
static int redir_apply(struct redir *r, struct saved_fds *sv)
{
	for (; r; r = r->next) {
		char *w = expand_one(r->word);
		if (!w)
			return -1;
		int rc = 0;
		const int wr = O_WRONLY | O_CREAT;
		switch (r->op) {
		case R_IN:
			rc = redirect_file(w, O_RDONLY, r->fd, -1, sv);
			break;
		case R_OUT:
			rc = redirect_file(w, wr | O_TRUNC, r->fd, -1, sv);
			break;
		case R_APPEND:
			rc = redirect_file(w, wr | O_APPEND, r->fd, -1, sv);
			break;
		case R_RDWR:
			rc = redirect_file(w, O_RDWR | O_CREAT, r->fd, -1, sv);
			break;
		case R_BOTH:
			rc = redirect_file(w, wr | O_TRUNC, 1, 2, sv);
			break;
		case R_BOTHAPP:
			rc = redirect_file(w, wr | O_APPEND, 1, 2, sv);
			break;
		case R_DUP:
			if (!strcmp(w, "-")) {
				save_fd(sv, r->fd);
				close(r->fd);
			} else if (is_number(w)) {
				int from = atoi(w);
				if (fcntl(from, F_GETFD) < 0) {
					sh_error("%s: bad file descriptor", w);
					rc = -1;
				} else if (from != r->fd) {
					save_fd(sv, r->fd);
					if (dup2(from, r->fd) < 0) {
						sh_error("%d: %s", r->fd,
							 strerror(errno));
						rc = -1;
					}
				}
			} else if (r->fd == 1) {
				/* cmd >&file is cmd >file 2>&1 */
				rc = redirect_file(w, wr | O_TRUNC, 1, 2, sv);
			} else {
				sh_error("%s: ambiguous redirect", w);
				rc = -1;
			}
			break;
		}
		free(w);
		if (rc)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- commands */

static int is_assignment(const char *w)
{
	const char *eq = strchr(w, '=');
	return eq && var_valid_name(w, eq - w);
}

/* The expanded form of a simple command. */
struct expanded {
	struct strv argv;
	struct strv assign; /* NAME=value, value expanded */
};

static void expanded_free(struct expanded *x)
{
	strv_free(&x->argv);
	strv_free(&x->assign);
}

static int expand_command(struct command *c, struct expanded *x)
{
	int i = 0;
	for (; i < c->nwords && is_assignment(c->words[i]); i++) {
		const char *eq = strchr(c->words[i], '=');
		char *v = expand_one(eq + 1);
		if (!v)
			return -1;
		size_t n = eq - c->words[i] + 1;
		char *s = xmalloc(n + strlen(v) + 1);
		memcpy(s, c->words[i], n);
		strcpy(s + n, v);
		free(v);
		strv_add(&x->assign, s);
	}
	for (; i < c->nwords; i++)
		if (expand_fields(c->words[i], &x->argv))
			return -1;
	return 0;
}

static void apply_assignments(struct strv *assign, int export)
{
	for (int i = 0; i < assign->n; i++) {
		char *eq = strchr(assign->v[i], '=');
		*eq = 0;
		var_set(assign->v[i], eq + 1, export);
		*eq = '=';
	}
}

static int xtrace;

static void trace(struct expanded *x)
{
	if (!xtrace)
		return;
	struct str t = {0};
	str_adds(&t, "+");
	for (int i = 0; i < x->assign.n; i++) {
		str_addc(&t, ' ');
		str_adds(&t, x->assign.v[i]);
	}
	for (int i = 0; i < x->argv.n; i++) {
		str_addc(&t, ' ');
		str_adds(&t, x->argv.v[i]);
	}
	str_addc(&t, '\n');
	write(2, t.s, t.len);
	str_free(&t);
}

void set_xtrace(int on)
{
	xtrace = on;
}

/* A file that execve refused with ENOEXEC: a script without #!, which the
 * shell runs itself (in the already forked child). */
static void run_script_here(const char *path, char **argv)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char head[256];
	ssize_t n = read(fd, head, sizeof head);
	if (n < 0 || memchr(head, 0, n)) {
		close(fd);
		sh_error("%s: cannot execute binary file", path);
		_exit(126);
	}
	lseek(fd, 0, SEEK_SET);
	sh.name = path;
	sh.argv = argv + 1;
	for (sh.argc = 0; sh.argv[sh.argc];)
		sh.argc++;
	sh_exit(run_fd(fd));
}

void exec_path(char **argv)
{
	char **env = var_environ();
	const char *name = argv[0];
	fflush(NULL);
	if (strchr(name, '/')) {
		execve(name, argv, env);
		int err = errno;
		if (err == ENOEXEC)
			run_script_here(name, argv);
		struct stat st;
		if (err == EACCES && !stat(name, &st) && S_ISDIR(st.st_mode))
			sh_error("%s: is a directory", name);
		else
			sh_error("%s: %s", name, strerror(err));
		_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
	}
	const char *path = var_get("PATH");
	if (!path)
		path = "/bin:/usr/local/bin";
	int denied = 0;
	size_t nlen = strlen(name);
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t dlen = colon ? (size_t)(colon - path) : strlen(path);
		char *full = xmalloc(dlen + nlen + 3);
		if (dlen) {
			memcpy(full, path, dlen);
			full[dlen] = '/';
			strcpy(full + dlen + 1, name);
		} else {
			strcpy(full, name);
		}
		execve(full, argv, env);
		if (errno == ENOEXEC)
			run_script_here(full, argv);
		if (errno == EACCES) {
			struct stat st;
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
				denied = 1;
		}
		free(full);
		path += dlen;
		if (*path == ':')
			path++;
	}
	if (denied) {
		sh_error("%s: Permission denied", name);
		_exit(126);
	}
	sh_error("%s: not found", name);
	_exit(127);
}

/* Run a command inside a child that is already set up: never returns. */
static void child_command(struct command *c, struct expanded *pre)
{
	if (c->subshell || c->group) {
		if (redir_apply(c->redirs, NULL))
			_exit(1);
		run_list(c->subshell ? c->subshell : c->group);
		sh_exit(sh.exiting ? sh.exit_status : sh.status);
	}
	struct expanded own = {0};
	struct expanded *x = pre;
	if (!x) {
		x = &own;
		if (expand_command(c, x))
			_exit(1);
		trace(x);
	}
	apply_assignments(&x->assign, 1);
	if (redir_apply(c->redirs, NULL))
		_exit(1);
	if (!x->argv.n)
		sh_exit(last_subst_status >= 0 ? last_subst_status : 0);
	builtin_fn *fn = builtin_find(x->argv.v[0]);
	if (fn) {
		int st = fn(x->argv.n, x->argv.v);
		sh_exit(sh.exiting ? sh.exit_status : st);
	}
	exec_path(x->argv.v);
}

/* In a freshly forked job process: process group, terminal, signals; the
 * job `self` being started is no job of the child's. */
static void child_setup(pid_t pgid, int bg, struct job *self)
{
	job_free(self);
	if (sh.jobctl) {
		pid_t me = getpid();
		setpgid(0, pgid ? pgid : me);
		if (!bg)
			tcsetpgrp(sh.ttyfd, pgid ? pgid : me);
	}
	child_signals();
	if (!sh.jobctl && bg) {
		/* Without job control ^C reaches every process of the
		 * terminal: background jobs must not die of it, nor read the
		 * keyboard. */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0 && null != 0) {
			dup2(null, 0);
			close(null);
		}
	}
	/* The job table stays: `jobs | wc -l` shows the shell's jobs. */
	sh.subshell = 1;
	sh.interactive = sh.jobctl = sh.editing = 0;
}

/* Fork the commands of p as one job; pre holds the already expanded words
 * of a lone command. Returns the status (0 for a background job). */
static int run_job(struct pipeline *p, int bg, const char *text,
		   struct expanded *pre)
{
	struct job *j = job_new(text);
	int in = -1;
	pid_t pgid = 0, pid = 0;
	fflush(NULL);
	for (struct command *c = p->cmds; c; c = c->next) {
		int pfd[2] = {-1, -1};
		if (c->next && pipe2(pfd, O_CLOEXEC) < 0) {
			sh_error("cannot make a pipe: %s", strerror(errno));
			break;
		}
		pid = fork();
		if (pid < 0) {
			sh_error("cannot fork: %s", strerror(errno));
			close(pfd[0]);
			close(pfd[1]);
			break;
		}
		if (pid == 0) {
			child_setup(pgid, bg, j);
			if (in >= 0) {
				dup2(in, 0);
				close(in);
			}
			if (pfd[1] >= 0) {
				dup2(pfd[1], 1);
				close(pfd[1]);
				close(pfd[0]);
			}
			child_command(c, pre);
		}
		if (!pgid)
			pgid = pid;
		if (sh.jobctl)
			setpgid(pid, pgid);
		job_add(j, pid);
		if (in >= 0)
			close(in);
		if (pfd[1] >= 0)
			close(pfd[1]);
		in = pfd[0];
	}
	if (in >= 0)
		close(in);
	j->pgid = sh.jobctl ? pgid : 0;
	if (!j->nprocs) {
		job_free(j);
		return 126;
	}
	if (bg) {
		sh.last_bg = pid;
		job_started_bg(j);
		return 0;
	}
	return job_wait_fg(j);
}

/* A lone simple command in the foreground. */
static int run_simple(struct pipeline *p)
{
	struct command *c = p->cmds;
	struct expanded x = {0};
	int st;
	last_subst_status = -1;
	if (expand_command(c, &x)) {
		expanded_free(&x);
		return 1;
	}
	trace(&x);
	struct saved_fds sv = {.n = 0};
	if (!x.argv.n) {
		apply_assignments(&x.assign, 0);
		st = last_subst_status >= 0 ? last_subst_status : 0;
		if (redir_apply(c->redirs, &sv))
			st = 1;
		restore_fds(&sv);
		expanded_free(&x);
		return st;
	}
	if (!strcmp(x.argv.v[0], "exec")) {
		/* exec: the redirections stay; with a command, it replaces
		 * the shell. */
		if (redir_apply(c->redirs, NULL)) {
			expanded_free(&x);
			return 1;
		}
		if (x.argv.n > 1) {
			apply_assignments(&x.assign, 1);
			tty_restore();
			child_signals();
			exec_path(x.argv.v + 1);
		}
		expanded_free(&x);
		return 0;
	}
	builtin_fn *fn = builtin_find(x.argv.v[0]);
	if (!fn) {
		st = run_job(p, 0, p->text, &x);
		expanded_free(&x);
		return st;
	}
	apply_assignments(&x.assign, 0);
	if (redir_apply(c->redirs, &sv)) {
		restore_fds(&sv);
		expanded_free(&x);
		return 1;
	}
	st = fn(x.argv.n, x.argv.v);
	fflush(NULL);
	restore_fds(&sv);
	expanded_free(&x);
	return st;
}

/* { list; } alone runs in the shell, its redirections undone after. */
static int run_group(struct command *c)
{
	struct saved_fds sv = {.n = 0};
	int st = 1;
	if (!redir_apply(c->redirs, &sv))
		st = run_list(c->group);
	restore_fds(&sv);
	return st;
}

static int run_pipeline(struct pipeline *p)
{
	int st;
	if (p->ncmds == 1 && p->cmds->group)
		st = run_group(p->cmds);
	else if (p->ncmds == 1 && !p->cmds->subshell)
		st = run_simple(p);
	else
		st = run_job(p, 0, p->text, NULL);
	if (p->bang)
		st = !st;
	return st;
}

/* Whether the status of the last and-or chain may stop a `set -e` shell:
 * only its final pipeline counts, and not when negated with `!`. */
static int errexit_applies;

static int run_andor(struct pipeline *p)
{
	while (p) {
		sh.status = run_pipeline(p);
		errexit_applies = !p->next && !p->bang;
		if (sh.exiting)
			break;
		/* Skip what the result rules out: a && b || c runs c when
		 * a fails, skipping b. */
		while (p->next && ((p->op_next == AO_AND && sh.status) ||
				   (p->op_next == AO_OR && !sh.status)))
			p = p->next;
		p = p->next;
	}
	return sh.status;
}

static void run_background(struct list *l)
{
	struct pipeline *p = l->chain;
	if (!p->next && !p->bang) {
		run_job(p, 1, l->text, NULL);
		sh.status = 0;
		return;
	}
	/* a && b &: the whole chain is one job, run by a forked shell. */
	struct job *j = job_new(l->text);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		sh_error("cannot fork: %s", strerror(errno));
		job_free(j);
		sh.status = 126;
		return;
	}
	if (pid == 0) {
		child_setup(0, 1, j);
		sh_exit(run_andor(p));
	}
	if (sh.jobctl)
		setpgid(pid, pid);
	j->pgid = sh.jobctl ? pid : 0;
	job_add(j, pid);
	sh.last_bg = pid;
	job_started_bg(j);
	sh.status = 0;
}

int errexit;

int run_list(struct list *l)
{
	for (; l && !sh.exiting; l = l->next) {
		if (l->background) {
			run_background(l);
			continue;
		}
		run_andor(l->chain);
		if (errexit && sh.status && errexit_applies &&
		    !sh.interactive) {
			sh.exiting = 1;
			sh.exit_status = sh.status;
		}
	}
	return sh.status;
}
