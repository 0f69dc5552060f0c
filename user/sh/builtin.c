/*
 * builtin.c — the commands the shell runs itself.
 *
 * Interface: builtin_find(name) gives the function or NULL. A builtin gets
 * argc/argv like main, writes through stdio (the caller flushes) and
 * returns its status. exit only sets sh.exiting: the callers unwind and the
 * main loop leaves. jobs, fg, bg, wait and kill live in jobs.c, exec in
 * exec.c (its redirections outlive it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sh.h"

static int bi_true(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int bi_false(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 1;
}

static int bi_exit(int argc, char **argv)
{
	int st = sh.status;
	if (argc > 1) {
		char *end;
		long v = strtol(argv[1], &end, 10);
		if (!*argv[1] || *end) {
			sh_error("exit: %s: numeric argument required",
				 argv[1]);
			v = 2;
		}
		st = (int)(v & 255);
	}
	sh.exiting = 1;
	sh.exit_status = st;
	return st;
}

static void set_pwd(void)
{
	char buf[PATH_MAX];
	const char *old = var_get("PWD");
	if (old)
		var_set("OLDPWD", old, 1);
	if (getcwd(buf, sizeof buf))
		var_set("PWD", buf, 1);
}

static int bi_cd(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : var_get("HOME");
	int print = 0;
	if (argc > 2) {
		sh_error("cd: too many arguments");
		return 1;
	}
	if (!dir) {
		sh_error("cd: HOME not set");
		return 1;
	}
	if (!strcmp(dir, "-")) {
		dir = var_get("OLDPWD");
		if (!dir) {
			sh_error("cd: OLDPWD not set");
			return 1;
		}
		print = 1;
	}
	char *copy = xstrdup(dir);
	if (chdir(copy) < 0) {
		sh_error("cd: %s: %s", copy, strerror(errno));
		free(copy);
		return 1;
	}
	free(copy);
	set_pwd();
	if (print)
		printf("%s\n", var_get("PWD") ? var_get("PWD") : dir);
	return 0;
}

static int bi_pwd(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char buf[PATH_MAX];
	if (!getcwd(buf, sizeof buf)) {
		sh_error("pwd: %s", strerror(errno));
		return 1;
	}
	printf("%s\n", buf);
	return 0;
}

static int escape_char(const char *s, size_t *used)
{
	*used = 1;
	switch (*s) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case 'r':
		return '\r';
	case 'a':
		return '\a';
	case 'b':
		return '\b';
	case 'e':
		return 033;
	case 'f':
		return '\f';
	case 'v':
		return '\v';
	case '\\':
		return '\\';
	case '0': {
		int v = 0;
		size_t k = 1;
		while (k < 4 && s[k] >= '0' && s[k] <= '7')
			v = v * 8 + (s[k++] - '0');
		*used = k;
		return v;
	}
	default:
		*used = 0;
		return '\\';
	}
}

static int bi_echo(int argc, char **argv)
{
	int newline = 1, escapes = 0, i = 1;
	clearerr(stdout);
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *f = argv[i] + 1;
		if (strspn(f, "neE") != strlen(f))
			break;
		for (; *f; f++) {
			if (*f == 'n')
				newline = 0;
			else if (*f == 'e')
				escapes = 1;
			else
				escapes = 0;
		}
	}
	for (; i < argc; i++) {
		const char *s = argv[i];
		while (*s) {
			if (escapes && *s == '\\' && s[1] == 'c') {
				fflush(stdout);
				return 0;
			}
			if (escapes && *s == '\\' && s[1]) {
				size_t used;
				int c = escape_char(s + 1, &used);
				putchar(c);
				s += 1 + used;
				continue;
			}
			putchar(*s++);
		}
		if (i + 1 < argc)
			putchar(' ');
	}
	if (newline)
		putchar('\n');
	/* A write can fail inside putchar (line buffering flushes at the
	 * newline), leaving nothing for fflush to report: ask ferror too. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		sh_error("echo: write error: %s", strerror(errno));
		clearerr(stdout);
		return 1;
	}
	return 0;
}

static int bi_export(int argc, char **argv)
{
	int rc = 0;
	if (argc == 1 || (argc == 2 && !strcmp(argv[1], "-p"))) {
		var_print(1);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		size_t n = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		if (!var_valid_name(argv[i], n)) {
			sh_error("export: `%s': not a valid name", argv[i]);
			rc = 1;
			continue;
		}
		if (eq) {
			*eq = 0;
			var_set(argv[i], eq + 1, 1);
			*eq = '=';
		} else {
			var_export(argv[i]);
		}
	}
	return rc;
}

static int bi_unset(int argc, char **argv)
{
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			continue;
		if (!var_valid_name(argv[i], strlen(argv[i]))) {
			sh_error("unset: `%s': not a valid name", argv[i]);
			rc = 1;
			continue;
		}
		var_unset(argv[i]);
	}
	return rc;
}

static int bi_set(int argc, char **argv)
{
	int i = 1;
	if (argc == 1) {
		var_print(0);
		return 0;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if ((a[0] != '-' && a[0] != '+') || !a[1])
			break;
		for (const char *f = a + 1; *f; f++) {
			if (*f == 'e') {
				errexit = a[0] == '-';
			} else if (*f == 'x') {
				set_xtrace(a[0] == '-');
			} else {
				sh_error("set: -%c: unknown option (only -e, "
					 "-x and -- ARGS)",
					 *f);
				return 2;
			}
		}
	}
	if (i < argc || (argc > 1 && !strcmp(argv[argc - 1], "--"))) {
		/* Positional parameters are never freed: a handful of
		 * strings per `set --`, and $@ may still point into them. */
		char **v = xmalloc((argc - i + 1) * sizeof *v);
		for (int k = i; k < argc; k++)
			v[k - i] = xstrdup(argv[k]);
		v[argc - i] = NULL;
		sh.argv = v;
		sh.argc = argc - i;
	}
	return 0;
}

static int bi_shift(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	if (n < 0 || n > sh.argc) {
		sh_error("shift: %s: shift count out of range",
			 argc > 1 ? argv[1] : "1");
		return 1;
	}
	sh.argv += n;
	sh.argc -= n;
	return 0;
}

static int bi_source(int argc, char **argv)
{
	if (argc < 2) {
		sh_error("%s: usage: %s FILE", argv[0], argv[0]);
		return 2;
	}
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sh_error("%s: %s: %s", argv[0], argv[1], strerror(errno));
		return 1;
	}
	int st = run_fd(fd);
	close(fd);
	return st;
}

/* read [-r] [NAME...]: one line of stdin, split on $IFS; the last name
 * gets the rest of the line. Reads a byte at a time so that what follows
 * the line stays for the next reader. */
static int bi_read(int argc, char **argv)
{
	int raw = 0, i = 1;
	if (i < argc && !strcmp(argv[i], "-r")) {
		raw = 1;
		i++;
	}
	struct str line = {0};
	str_addn(&line, "", 0);
	int got_eol = 0;
	for (;;) {
		char c;
		ssize_t r = read(0, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (c == '\n') {
			got_eol = 1;
			break;
		}
		if (c == '\\' && !raw) {
			r = read(0, &c, 1);
			if (r <= 0)
				break;
			if (c == '\n')
				continue;
		}
		str_addc(&line, c);
	}
	const char *ifs = var_get("IFS");
	if (!ifs)
		ifs = " \t\n";
	char *p = line.s;
	if (i == argc) {
		var_set("REPLY", p, 0);
	} else {
		for (; i < argc; i++) {
			while (*p && strchr(ifs, *p))
				p++;
			char *end = p;
			if (i + 1 < argc) {
				while (*end && !strchr(ifs, *end))
					end++;
			} else {
				end = p + strlen(p);
				while (end > p && strchr(ifs, end[-1]))
					end--;
			}
			char save = *end;
			*end = 0;
			var_set(argv[i], p, 0);
			*end = save;
			p = end;
		}
	}
	int rc = got_eol || line.len ? 0 : 1;
	str_free(&line);
	return rc;
}

static int bi_type(int argc, char **argv)
{
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		const char *n = argv[i];
		if (builtin_find(n) || !strcmp(n, "exec")) {
			printf("%s is a shell builtin\n", n);
			continue;
		}
		if (strchr(n, '/')) {
			if (access(n, X_OK) == 0) {
				printf("%s is %s\n", n, n);
				continue;
			}
		} else {
			const char *path = var_get("PATH");
			int found = 0;
			while (path && *path && !found) {
				size_t d = strcspn(path, ":");
				char full[PATH_MAX];
				snprintf(full, sizeof full, "%.*s%s%s", (int)d,
					 path, d ? "/" : "", n);
				struct stat st;
				if (!stat(full, &st) && S_ISREG(st.st_mode) &&
				    !access(full, X_OK)) {
					printf("%s is %s\n", n, full);
					found = 1;
				}
				path += d + (path[d] == ':');
			}
			if (found)
				continue;
		}
		sh_error("type: %s: not found", n);
		rc = 1;
	}
	return rc;
}

static int bi_history(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	history_print();
	return 0;
}

static int bi_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("Shoal shell. Syntax:\n"
	      "  cmd args   cmd | cmd   cmd ; cmd   cmd && cmd   cmd || cmd"
	      "   cmd &   ! cmd   ( cmds )   { cmds; }\n"
	      "  <f  >f  >>f  <>f  N>f  N>&M  N<&M  N>&-  2>&1  &>f\n"
	      "  'literal'  \"$expanded\"  \\c  $VAR ${VAR} ${VAR:-default}"
	      "  $? $$ $! $# $0-$9 $@  $(cmd) `cmd`  ~  * ? [..]  # comment\n"
	      "Builtins:\n"
	      "  cd [DIR|-]  pwd  echo [-neE]  export [NAME[=V]]  unset NAME"
	      "  set [-ex] [-- ARGS]  shift [N]\n"
	      "  read [-r] NAME..  . FILE  exec CMD  type NAME  history"
	      "  true  false  :  exit [N]  help\n"
	      "  jobs [-lp]  fg [%N]  bg [%N]  wait [%N|PID]"
	      "  kill [-SIG] PID|%N\n"
	      "Keys: arrows, ^A ^E ^B ^F move, ^U kill line, ^K kill to end,"
	      " ^W kill word, ^P ^N history,\n"
	      "  ^L clear, ^C cancel, ^D exit on an empty line,"
	      " ^Z stop the running job.\n"
	      "More: docs/shell.md\n",
	      stdout);
	return 0;
}

static const struct {
	const char *name;
	builtin_fn *fn;
} builtins[] = {
	{":", bi_true},	       {".", bi_source},	{"bg", bi_bg},
	{"cd", bi_cd},	       {"echo", bi_echo},	{"exit", bi_exit},
	{"export", bi_export}, {"false", bi_false},	{"fg", bi_fg},
	{"help", bi_help},     {"history", bi_history}, {"jobs", bi_jobs},
	{"kill", bi_kill},     {"pwd", bi_pwd},		{"read", bi_read},
	{"set", bi_set},       {"shift", bi_shift},	{"source", bi_source},
	{"true", bi_true},     {"type", bi_type},	{"unset", bi_unset},
	{"wait", bi_wait},
};

builtin_fn *builtin_find(const char *name)
{
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (!strcmp(builtins[i].name, name))
			return builtins[i].fn;
	return NULL;
}
