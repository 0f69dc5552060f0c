/*
 * grep — print the lines of each FILE (or stdin) that contain PATTERN, a
 * fixed string (no regular expressions). Exit 0 if a line was selected,
 * 1 if none, 2 on an error (a missing file, a bad option).
 * With several files each output line starts with "NAME:".
 */
#define PROG "grep"
#include "ucommon.h"
#include <ctype.h>

static const char usage[] =
	"usage: grep [-vicnqF] PATTERN [FILE...]\n"
	"Print lines containing the fixed string PATTERN.\n"
	"  -v  select non-matching lines     -i  ignore case\n"
	"  -c  print only a count of lines   -n  prefix line numbers\n"
	"  -q  quiet: exit 0 at the first match\n"
	"  -F  fixed strings (always the case here)\n"
	"Exit status: 0 selected, 1 none selected, 2 error.\n";

static int opt_v, opt_i, opt_c, opt_n, opt_q;
static char *pattern;
static size_t pattern_len;

static void lower(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
}

static int line_matches(char *line, size_t len)
{
	if (opt_i)
		lower(line, len);
	return memmem(line, len, pattern, pattern_len) != NULL;
}

/* Returns the number of selected lines, or -1 after a read error. */
static long long grep_file(FILE *f, const char *name, const char *prefix)
{
	char *line = NULL, *copy = NULL;
	size_t cap = 0, copy_cap = 0;
	long long count = 0, lineno = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		char *test = line;
		if (opt_i && !opt_c && !opt_q) {
			/* Keep the original case of what we print. */
			if (copy_cap < cap) {
				free(copy);
				copy_cap = cap;
				if (!(copy = malloc(copy_cap))) {
					u_err("out of memory");
					exit(2);
				}
			}
			memcpy(copy, line, (size_t)len);
			test = copy;
		}
		size_t body = (size_t)len;
		if (body && line[body - 1] == '\n')
			body--;
		if (line_matches(test, body) == opt_v)
			continue;
		count++;
		if (opt_q)
			exit(0);
		if (opt_c)
			continue;
		if (prefix)
			printf("%s:", prefix);
		if (opt_n)
			printf("%lld:", lineno);
		fwrite(line, 1, body, stdout);
		putchar('\n');
	}
	int failed = ferror(f);
	int err = errno;
	free(line);
	free(copy);
	if (failed) {
		u_errno(name, err);
		return -1;
	}
	if (opt_c) {
		if (prefix)
			printf("%s:", prefix);
		printf("%lld\n", count);
	}
	return count;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt;
	opterr = 0;
	while ((opt = getopt(argc, argv, "vicnqF")) != -1) {
		switch (opt) {
		case 'v':
			opt_v = 1;
			break;
		case 'i':
			opt_i = 1;
			break;
		case 'c':
			opt_c = 1;
			break;
		case 'n':
			opt_n = 1;
			break;
		case 'q':
			opt_q = 1;
			break;
		case 'F':
			break;
		default:
			u_bad_option(optopt, usage);
		}
	}
	if (optind >= argc) {
		u_err("missing pattern");
		u_usage(usage);
	}
	pattern = argv[optind++];
	pattern_len = strlen(pattern);
	if (opt_i)
		lower(pattern, pattern_len);
	int nfiles = argc - optind, errors = 0;
	long long selected = 0;
	for (int i = optind; i < argc || (nfiles == 0 && i == optind); i++) {
		const char *name = nfiles ? argv[i] : "-";
		int is_stdin = strcmp(name, "-") == 0;
		FILE *f = is_stdin ? stdin : fopen(name, "re");
		if (!f) {
			u_errno(name, errno);
			errors = 1;
			continue;
		}
		const char *shown = is_stdin ? "(standard input)" : name;
		long long n = grep_file(f, shown, nfiles > 1 ? shown : NULL);
		if (n < 0)
			errors = 1;
		else
			selected += n;
		if (!is_stdin)
			fclose(f);
	}
	if (u_flush_stdout())
		return 2;
	if (errors)
		return 2;
	return selected ? 0 : 1;
}
