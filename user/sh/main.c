/*
 * main.c — Shoal's shell: options, the terminal and signal set-up, and the
 * loops that read commands (interactive prompt, script file, -c string).
 *
 *   sh [-eilx] [-c COMMANDS [NAME [ARG...]] | FILE [ARG...]]
 *
 * Invoked as "-sh" (init does this) or with -l it is a login shell: it
 * prints a banner and is interactive even if the terminal calls fail.
 *
 * Interactive set-up, each step optional: tcgetattr on stdin succeeds ->
 * line editing; tcgetpgrp/tcsetpgrp work -> job control, the shell leading
 * its own process group in the foreground and ignoring SIGINT, SIGQUIT,
 * SIGTSTP, SIGTTIN and SIGTTOU (children get back what the shell inherited,
 * see child_signals). Whatever fails (ENOTTY, ENOSYS), the shell carries on
 * with less: plain lines, one process group.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sh.h"

struct shell sh;

static const int job_signals[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define NJOBSIG (sizeof job_signals / sizeof job_signals[0])
static struct sigaction inherited[NJOBSIG];

static struct sigaction *inherited_action(int sig)
{
	for (size_t i = 0; i < NJOBSIG; i++)
		if (job_signals[i] == sig)
			return &inherited[i];
	return NULL;
}

void child_signals(void)
{
	for (size_t i = 0; i < NJOBSIG; i++)
		sigaction(job_signals[i], &inherited[i], NULL);
}

void sh_exit(int status)
{
	fflush(NULL);
	_exit(status);
}

static void usage(FILE *f)
{
	fputs("usage: sh [-eilx] [-c COMMANDS [NAME [ARG...]] | FILE [ARG...]]\n"
	      "  -c  run COMMANDS, then exit     -i  interactive (prompt)\n"
	      "  -l  login shell (banner)        -e  exit on the first error\n"
	      "  -x  print commands as they run\n"
	      "Without -c or FILE it reads commands from stdin. Type `help` at "
	      "the prompt\nfor the syntax and builtins.\n",
	      f);
}

/* Job control needs the terminal's foreground group to be ours. */
static void setup_job_control(void)
{
	pid_t fg = tcgetpgrp(sh.ttyfd);
	if (fg < 0)
		return;
	/* Started in the background of another shell: wait until it gives
	 * us the terminal (SIGTTIN stops us), as any job would. */
	for (int tries = 0; fg != getpgrp() && tries < 20; tries++) {
		if (inherited_action(SIGTTIN)->sa_handler != SIG_DFL)
			return;
		kill(0, SIGTTIN);
		fg = tcgetpgrp(sh.ttyfd);
	}
	if (fg != getpgrp())
		return;
	pid_t old = getpgrp();
	signal(SIGTTOU, SIG_IGN);
	if (getpid() != old && setpgid(0, 0) < 0)
		return;
	if (tcsetpgrp(sh.ttyfd, getpgrp()) < 0) {
		if (getpgrp() != old)
			setpgid(0, old);
		return;
	}
	sh.pgid = getpgrp();
	sh.jobctl = 1;
}

static void setup_interactive(void)
{
	struct termios t;
	if (tcgetattr(0, &t) == 0) {
		sh.ttyfd = fcntl(0, F_DUPFD_CLOEXEC, 10);
		if (sh.ttyfd < 0)
			sh.ttyfd = 0;
		sh.tmodes = t;
		sh.editing = 1;
		setup_job_control();
	}
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	if (!sh.jobctl) {
		/* One process group for the shell and its commands: ^Z would
		 * stop the shell too, with nobody left to continue it. So
		 * nobody stops. */
		inherited_action(SIGTSTP)->sa_handler = SIG_IGN;
	}
}

static const char *nodename(void)
{
	static struct utsname u;
	if (uname(&u) == 0 && u.nodename[0])
		return u.nodename;
	return "shoal";
}

static char *prompt(void)
{
	static char buf[128];
	const char *ps1 = var_get("PS1");
	if (ps1)
		return (char *)ps1;
	snprintf(buf, sizeof buf, "%s$ ", nodename());
	return buf;
}

/* Where the lines come from. */
struct source {
	int interactive; /* prompts and the line editor */
	int fd; /* otherwise: read from here */
	char buf[4096]; /* buffered unless fd is stdin */
	size_t pos, len;
};

static char *source_line(struct source *s, int continuation)
{
	if (s->interactive)
		return edit_readline(continuation ? "> " : prompt());
	if (s->fd == 0)
		return edit_readline(NULL);
	struct str line = {0};
	str_addn(&line, "", 0);
	for (;;) {
		if (s->pos == s->len) {
			ssize_t r = read(s->fd, s->buf, sizeof s->buf);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (line.len)
					return line.s;
				str_free(&line);
				return NULL;
			}
			s->pos = 0;
			s->len = r;
		}
		char *nl = memchr(s->buf + s->pos, '\n', s->len - s->pos);
		size_t n = nl ? (size_t)(nl - (s->buf + s->pos))
			      : s->len - s->pos;
		str_addn(&line, s->buf + s->pos, n);
		s->pos += n + (nl != NULL);
		if (nl)
			return line.s;
	}
}

/* Read, parse and run commands until the input ends or `exit`. */
static int run_source(struct source *s)
{
	while (!sh.exiting) {
		if (s->interactive)
			jobs_notify();
		char *text = source_line(s, 0);
		if (!text) {
			if (s->interactive)
				fputs("exit\n", stderr);
			break;
		}
		struct arena a = {0};
		struct list *l = NULL;
		int rc;
		while ((rc = parse(&a, text, &l)) == PARSE_INCOMPLETE) {
			arena_free(&a);
			char *more = source_line(s, 1);
			if (!more || edit_interrupted) {
				if (!more) {
					sh_error("syntax error: unexpected end "
						 "of file");
					sh.status = 2;
				}
				free(more);
				rc = PARSE_ERROR;
				l = NULL;
				break;
			}
			size_t n = strlen(text);
			text = xrealloc(text, n + strlen(more) + 2);
			text[n] = '\n';
			strcpy(text + n + 1, more);
			free(more);
		}
		if (s->interactive)
			history_add(text);
		if (rc == PARSE_ERROR) {
			if (!edit_interrupted)
				sh.status = 2;
			arena_free(&a);
			free(text);
			if (!s->interactive)
				break;
			continue;
		}
		run_list(l);
		arena_free(&a);
		free(text);
	}
	return sh.exiting ? sh.exit_status : sh.status;
}

int run_fd(int fd)
{
	struct source *s = xmalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->fd = fd;
	int st = run_source(s);
	free(s);
	return st;
}

int run_string(const char *src)
{
	struct arena a = {0};
	struct list *l = NULL;
	int rc = parse(&a, src, &l);
	if (rc == PARSE_INCOMPLETE) {
		sh_error("syntax error: unexpected end of file");
		rc = PARSE_ERROR;
	}
	if (rc == PARSE_ERROR) {
		arena_free(&a);
		return sh.status = 2;
	}
	run_list(l);
	arena_free(&a);
	return sh.exiting ? sh.exit_status : sh.status;
}

int main(int argc, char **argv)
{
	extern char **environ;
	const char *cmd = NULL, *script = NULL;
	int force_interactive = 0, i;

	sh.pid = getpid();
	sh.ttyfd = -1;
	sh.name = argc > 0 ? argv[0] : "sh";
	if (sh.name[0] == '-') {
		sh.login = 1;
		sh.name++;
	}
	for (size_t k = 0; k < NJOBSIG; k++)
		sigaction(job_signals[k], NULL, &inherited[k]);
	var_init(environ);

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break;
		for (const char *f = a + 1; *f; f++) {
			switch (*f) {
			case 'c':
				cmd = "";
				break;
			case 'i':
				force_interactive = 1;
				break;
			case 'l':
				sh.login = 1;
				break;
			case 'e':
				errexit = 1;
				break;
			case 'x':
				set_xtrace(1);
				break;
			case 's':
				break;
			default:
				fprintf(stderr, "sh: -%c: unknown option\n",
					*f);
				usage(stderr);
				return 2;
			}
		}
	}
	if (cmd) {
		if (i >= argc) {
			fputs("sh: -c: option requires an argument\n", stderr);
			return 2;
		}
		cmd = argv[i++];
		if (i < argc)
			sh.name = argv[i++];
	} else if (i < argc) {
		script = argv[i++];
		sh.name = script;
	}
	sh.argv = argv + i;
	sh.argc = argc - i;

	if (cmd)
		return run_string(cmd);
	if (script) {
		int fd = open(script, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			sh_error("%s: %s", script, strerror(errno));
			return errno == ENOENT ? 127 : 126;
		}
		sh_exit(run_fd(fd));
	}

	sh.interactive = force_interactive || sh.login ||
			 (isatty(0) && isatty(2));
	if (!sh.interactive)
		sh_exit(run_fd(0));
	setup_interactive();
	if (sh.login)
		fprintf(stderr, "Shoal shell on %s \xe2\x80\x94 type help\n",
			nodename());
	struct source *s = xmalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->interactive = 1;
	int st = run_source(s);
	jobs_hangup();
	tty_restore();
	sh_exit(st);
}
