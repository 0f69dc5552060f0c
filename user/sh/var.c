/*
 * var.c — shell variables: one list of (name, value, exported).
 *
 * The environment the shell started with becomes exported variables;
 * var_environ() builds a fresh environment for execve from the exported
 * ones, so `export`/`unset` take effect for the next command. A handful of
 * variables is all a shell session holds, so a linked list is enough.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "sh.h"

struct var {
	struct var *next;
	char *name;
	char *value; /* NULL: declared (export NAME) but unset */
	int exported;
};

static struct var *vars;

int var_valid_name(const char *s, size_t n)
{
	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

static struct var *lookup(const char *name)
{
	for (struct var *v = vars; v; v = v->next)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

static struct var *create(const char *name)
{
	struct var *v = lookup(name);
	if (v)
		return v;
	v = xmalloc(sizeof *v);
	v->name = xstrdup(name);
	v->value = NULL;
	v->exported = 0;
	v->next = vars;
	vars = v;
	return v;
}

void var_init(char **envp)
{
	for (; envp && *envp; envp++) {
		const char *eq = strchr(*envp, '=');
		if (!eq || !var_valid_name(*envp, eq - *envp))
			continue;
		char *name = xmalloc(eq - *envp + 1);
		memcpy(name, *envp, eq - *envp);
		name[eq - *envp] = 0;
		var_set(name, eq + 1, 1);
		free(name);
	}
	if (!var_get("PATH"))
		var_set("PATH", "/bin:/usr/local/bin", 1);
	struct utsname u;
	if (!var_get("HOSTNAME") && uname(&u) == 0)
		var_set("HOSTNAME", u.nodename, 0);
}

const char *var_get(const char *name)
{
	struct var *v = lookup(name);
	return v ? v->value : NULL;
}

int var_set(const char *name, const char *value, int export)
{
	struct var *v = create(name);
	char *copy = xstrdup(value);
	free(v->value);
	v->value = copy;
	if (export)
		v->exported = 1;
	return 0;
}

int var_export(const char *name)
{
	create(name)->exported = 1;
	return 0;
}

int var_unset(const char *name)
{
	for (struct var **pp = &vars; *pp; pp = &(*pp)->next) {
		struct var *v = *pp;
		if (!strcmp(v->name, name)) {
			*pp = v->next;
			free(v->name);
			free(v->value);
			free(v);
			return 0;
		}
	}
	return 0;
}

char **var_environ(void)
{
	struct strv env = {0};
	for (struct var *v = vars; v; v = v->next) {
		if (!v->exported || !v->value)
			continue;
		size_t n = strlen(v->name), m = strlen(v->value);
		char *s = xmalloc(n + m + 2);
		memcpy(s, v->name, n);
		s[n] = '=';
		memcpy(s + n + 1, v->value, m + 1);
		strv_add(&env, s);
	}
	if (!env.v) {
		env.v = xmalloc(sizeof *env.v);
		env.v[0] = NULL;
	}
	return env.v;
}

static int by_name(const void *a, const void *b)
{
	const struct var *x = *(struct var *const *)a;
	const struct var *y = *(struct var *const *)b;
	return strcmp(x->name, y->name);
}

/* Print in a form the shell reads back: export NAME='value'. */
void var_print(int exported_only)
{
	int n = 0;
	for (struct var *v = vars; v; v = v->next)
		n++;
	struct var **all = xmalloc((n + 1) * sizeof *all);
	n = 0;
	for (struct var *v = vars; v; v = v->next)
		if (!exported_only || v->exported)
			all[n++] = v;
	qsort(all, n, sizeof *all, by_name);
	for (int i = 0; i < n; i++) {
		struct var *v = all[i];
		if (exported_only)
			fputs("export ", stdout);
		fputs(v->name, stdout);
		if (v->value) {
			fputs("='", stdout);
			for (const char *c = v->value; *c; c++) {
				if (*c == '\'')
					fputs("'\\''", stdout);
				else
					putchar(*c);
			}
			putchar('\'');
		}
		putchar('\n');
	}
	fflush(stdout);
	free(all);
}
