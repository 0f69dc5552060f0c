/*
 * expand.c — from a raw word to the fields a command gets.
 *
 * One pass over the raw word does, in order of appearance: quote removal
 * ('...', "...", backslash), parameter expansion ($NAME ${NAME} $? $$ $!
 * $# $0-$9 $@ $* and ${NAME:-w} ${NAME-w} ${NAME:=w} ${NAME:+w} ${NAME:?w}
 * ${#NAME}), command substitution ($(...) and `...`) and tilde (~ and ~/ at
 * the start). Every produced character remembers whether it was quoted:
 * only unquoted results of expansions are split into fields (on the
 * characters of $IFS, default blank, tab, newline), and only unquoted
 * * ? [ make a field a glob pattern (glob(3); no match keeps the word).
 *
 * Invariant: a field exists once it got a character or a quote ("" is one
 * empty field; an unset $X alone is none).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sh.h"

struct expander {
	struct strv *out;
	int split; /* field splitting and globbing */
	struct str text; /* the field being built */
	struct str quote; /* per character: 1 if it came quoted */
	int active; /* the field exists (see the invariant) */
	int globbable; /* it holds an unquoted * ? or [ */
	int error;
};

static void emit(struct expander *e, char c, int quoted)
{
	str_addc(&e->text, c);
	str_addc(&e->quote, quoted ? 1 : 0);
	e->active = 1;
	if (!quoted && (c == '*' || c == '?' || c == '['))
		e->globbable = 1;
}

static void end_field(struct expander *e)
{
	if (!e->active)
		return;
	const char *text = e->text.s ? e->text.s : "";
	if (e->split && e->globbable) {
		struct str pat = {0};
		for (size_t i = 0; i < e->text.len; i++) {
			char c = e->text.s[i];
			if (e->quote.s[i] && strchr("*?[\\", c))
				str_addc(&pat, '\\');
			str_addc(&pat, c);
		}
		glob_t g;
		if (glob(pat.s, 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++)
				strv_add(e->out, xstrdup(g.gl_pathv[i]));
			globfree(&g);
		} else {
			strv_add(e->out, xstrdup(text));
		}
		str_free(&pat);
	} else {
		strv_add(e->out, xstrdup(text));
	}
	e->text.len = e->quote.len = 0;
	if (e->text.s)
		e->text.s[0] = 0;
	e->active = e->globbable = 0;
}

static const char *ifs(void)
{
	const char *v = var_get("IFS");
	return v ? v : " \t\n";
}

/* Insert the value of an expansion: quoted as is, unquoted split. */
static void insert(struct expander *e, const char *v, int quoted)
{
	if (quoted || !e->split) {
		for (; *v; v++)
			emit(e, *v, quoted);
		return;
	}
	const char *sep = ifs();
	for (; *v; v++) {
		if (strchr(sep, *v))
			end_field(e);
		else
			emit(e, *v, 0);
	}
}

static void expand_range(struct expander *e, const char *s, size_t n, int dq);

/* The value of a parameter, or NULL if unset; small numbers go to buf. */
static const char *param(const char *name, size_t n, char *buf, size_t bufsz)
{
	if (n == 1) {
		switch (name[0]) {
		case '?':
			snprintf(buf, bufsz, "%d", sh.status);
			return buf;
		case '$':
			snprintf(buf, bufsz, "%d", (int)sh.pid);
			return buf;
		case '!':
			if (!sh.last_bg)
				return NULL;
			snprintf(buf, bufsz, "%d", (int)sh.last_bg);
			return buf;
		case '#':
			snprintf(buf, bufsz, "%d", sh.argc);
			return buf;
		case '0':
			return sh.name;
		}
		if (name[0] >= '1' && name[0] <= '9') {
			int k = name[0] - '0';
			return k <= sh.argc ? sh.argv[k - 1] : NULL;
		}
	}
	if (n && name[0] >= '0' && name[0] <= '9') {
		int k = 0;
		for (size_t i = 0; i < n; i++) {
			if (name[i] < '0' || name[i] > '9')
				return NULL;
			k = k * 10 + (name[i] - '0');
		}
		return k >= 1 && k <= sh.argc ? sh.argv[k - 1] : NULL;
	}
	char key[128];
	if (n >= sizeof key)
		return NULL;
	memcpy(key, name, n);
	key[n] = 0;
	return var_get(key);
}

/* $@ and $*: quoted $@ makes one field per parameter. */
static void insert_all(struct expander *e, int at, int dq)
{
	for (int i = 0; i < sh.argc; i++) {
		if (i > 0) {
			if (at && dq) {
				e->active = 1;
				end_field(e);
			} else if (dq) {
				const char *sep = ifs();
				if (*sep)
					emit(e, *sep, 1);
			} else {
				end_field(e);
			}
		}
		insert(e, sh.argv[i], dq);
	}
}

static int is_special_param(char c)
{
	return strchr("?$!#@*0123456789", c) != NULL;
}

/* ${...}: inner is what lies between the braces. */
static void expand_brace(struct expander *e, const char *in, size_t n, int dq)
{
	char buf[32];
	if (n > 1 && in[0] == '#') {
		const char *v = param(in + 1, n - 1, buf, sizeof buf);
		snprintf(buf, sizeof buf, "%zu", v ? strlen(v) : (size_t)0);
		insert(e, buf, dq);
		return;
	}
	size_t k = 0;
	if (n && is_special_param(in[0]) && !(in[0] >= '0' && in[0] <= '9'))
		k = 1;
	else
		while (k < n &&
		       (in[k] == '_' || (in[k] >= 'a' && in[k] <= 'z') ||
			(in[k] >= 'A' && in[k] <= 'Z') ||
			(in[k] >= '0' && in[k] <= '9')))
			k++;
	if (!k) {
		sh_error("${%.*s}: bad substitution", (int)n, in);
		e->error = 1;
		return;
	}
	if (k == 1 && (in[0] == '@' || in[0] == '*') && k == n) {
		insert_all(e, in[0] == '@', dq);
		return;
	}
	const char *v = param(in, k, buf, sizeof buf);
	if (k == n) {
		if (v)
			insert(e, v, dq);
		return;
	}
	int colon = in[k] == ':';
	char op = in[k + colon];
	const char *word = in + k + colon + 1;
	size_t wn = n - (k + colon + 1);
	if (k + colon >= n || !strchr("-=+?", op)) {
		sh_error("${%.*s}: bad substitution", (int)n, in);
		e->error = 1;
		return;
	}
	int set = v && (!colon || *v);
	switch (op) {
	case '-':
		if (set)
			insert(e, v, dq);
		else
			expand_range(e, word, wn, dq);
		break;
	case '+':
		if (set)
			expand_range(e, word, wn, dq);
		break;
	case '=':
	case '?':
		if (set) {
			insert(e, v, dq);
			break;
		}
		char *raw = xmalloc(wn + 1);
		memcpy(raw, word, wn);
		raw[wn] = 0;
		char *val = expand_one(raw);
		free(raw);
		if (!val) {
			e->error = 1;
			break;
		}
		if (op == '?') {
			sh_error("%.*s: %s", (int)k, in,
				 *val ? val : "parameter not set");
			e->error = 1;
		} else if (!var_valid_name(in, k)) {
			sh_error("%.*s: cannot assign this way", (int)k, in);
			e->error = 1;
		} else {
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)k, in);
			var_set(name, val, 0);
			insert(e, val, dq);
		}
		free(val);
		break;
	}
}

/* `...`: backslash keeps its meaning only before $ ` and \. */
static char *backquote_text(const char *s, size_t n)
{
	struct str t = {0};
	str_addn(&t, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && strchr("$`\\", s[i + 1]))
			i++;
		str_addc(&t, s[i]);
	}
	return t.s;
}

static void subst(struct expander *e, const char *text, size_t n, int dq)
{
	char *out = command_subst(text, n);
	insert(e, out, dq);
	free(out);
}

/* Expand s[i] == '$'; returns the position after what it consumed. */
static size_t dollar(struct expander *e, const char *s, size_t n, size_t i,
		     int dq)
{
	char buf[32];
	if (i + 1 >= n) {
		emit(e, '$', dq);
		return i + 1;
	}
	char c = s[i + 1];
	if (c == '(' || c == '{') {
		size_t end = skip_unit(s, i);
		if (end == NOEND || end > n) {
			e->error = 1;
			sh_error("unterminated %s", c == '(' ? "$(" : "${");
			return n;
		}
		if (c == '(')
			subst(e, s + i + 2, end - i - 3, dq);
		else
			expand_brace(e, s + i + 2, end - i - 3, dq);
		return end;
	}
	if (c == '@' || c == '*') {
		insert_all(e, c == '@', dq);
		return i + 2;
	}
	if (is_special_param(c)) {
		const char *v = param(s + i + 1, 1, buf, sizeof buf);
		if (v)
			insert(e, v, dq);
		return i + 2;
	}
	size_t k = i + 1;
	while (k < n && (s[k] == '_' || (s[k] >= 'a' && s[k] <= 'z') ||
			 (s[k] >= 'A' && s[k] <= 'Z') ||
			 (k > i + 1 && s[k] >= '0' && s[k] <= '9')))
		k++;
	if (k == i + 1) {
		emit(e, '$', dq);
		return i + 1;
	}
	const char *v = param(s + i + 1, k - i - 1, buf, sizeof buf);
	if (v)
		insert(e, v, dq);
	return k;
}

static void expand_range(struct expander *e, const char *s, size_t n, int dq)
{
	size_t i = 0;
	while (i < n && !e->error) {
		char c = s[i];
		size_t end;
		switch (c) {
		case '\'':
			if (dq)
				break;
			e->active = 1;
			for (i++; i < n && s[i] != '\''; i++)
				emit(e, s[i], 1);
			i++;
			continue;
		case '"':
			if (dq)
				break;
			end = skip_unit(s, i);
			if (end == NOEND || end > n)
				end = n + 1;
			/* "$@" with no parameters makes no field at all. */
			if (!(end - i == 4 && !strncmp(s + i, "\"$@\"", 4)))
				e->active = 1;
			expand_range(e, s + i + 1, end - i - 2, 1);
			i = end;
			continue;
		case '\\':
			if (i + 1 >= n) {
				emit(e, '\\', dq);
				i++;
				continue;
			}
			if (s[i + 1] == '\n') {
				i += 2;
				continue;
			}
			if (dq && !strchr("$`\"\\", s[i + 1])) {
				emit(e, '\\', 1);
				i++;
				continue;
			}
			emit(e, s[i + 1], 1);
			i += 2;
			continue;
		case '$':
			i = dollar(e, s, n, i, dq);
			continue;
		case '`':
			end = skip_unit(s, i);
			if (end == NOEND || end > n)
				end = n + 1;
			char *text = backquote_text(s + i + 1, end - i - 2);
			subst(e, text, strlen(text), dq);
			free(text);
			i = end;
			continue;
		case '~':
			if (i == 0 && !dq && e->text.len == 0 &&
			    (n == 1 || s[1] == '/')) {
				const char *home = var_get("HOME");
				insert(e, home ? home : "~", 1);
				i++;
				continue;
			}
			break;
		}
		emit(e, c, dq);
		i++;
	}
}

int expand_fields(const char *raw, struct strv *out)
{
	struct expander e = {.out = out, .split = 1};
	expand_range(&e, raw, strlen(raw), 0);
	if (!e.error)
		end_field(&e);
	str_free(&e.text);
	str_free(&e.quote);
	return e.error ? -1 : 0;
}

char *expand_one(const char *raw)
{
	struct strv out = {0};
	struct expander e = {.out = &out, .split = 0};
	expand_range(&e, raw, strlen(raw), 0);
	char *s = NULL;
	if (!e.error)
		s = xstrdup(e.text.s ? e.text.s : "");
	str_free(&e.text);
	str_free(&e.quote);
	strv_free(&out);
	return s;
}

int last_subst_status = -1;

char *command_subst(const char *text, size_t len)
{
	int fds[2];
	struct str out = {0};
	str_addn(&out, "", 0);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		sh_error("cannot make a pipe: %s", strerror(errno));
		return out.s;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		sh_error("cannot fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return out.s;
	}
	if (pid == 0) {
		close(fds[0]);
		if (fds[1] != 1) {
			dup2(fds[1], 1);
			close(fds[1]);
		}
		sh.subshell = 1;
		sh.interactive = sh.jobctl = sh.editing = 0;
		child_signals();
		char *src = xmalloc(len + 1);
		memcpy(src, text, len);
		src[len] = 0;
		sh_exit(run_string(src));
	}
	close(fds[1]);
	char buf[4096];
	for (;;) {
		ssize_t r = read(fds[0], buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		str_addn(&out, buf, r);
	}
	close(fds[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			st = 0;
			break;
		}
	}
	last_subst_status = wait_status_to_exit(st);
	while (out.len && out.s[out.len - 1] == '\n')
		out.s[--out.len] = 0;
	return out.s;
}
