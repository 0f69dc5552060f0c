/*
 * ls — list directories and files, one name per line, sorted by name.
 *   -a  include names starting with '.' (and . and ..)
 *   -l  long form: mode, links, size, modification time, name, and
 *       "-> target" for a symbolic link
 *   -d  list a directory operand itself, not its contents
 *   -1  one per line (always the case; accepted for compatibility)
 * File operands are listed first, then each directory operand, headed by
 * "NAME:" when there is more than one operand. A symbolic link operand is
 * followed unless -l or -d is given. Exit 1 if any operand failed.
 */
#define PROG "ls"
#include "ucommon.h"
#include <time.h>

static const char usage[] =
	"usage: ls [-1adl] [FILE...]\n"
	"List directory contents, one name per line.\n"
	"  -a  show hidden entries    -d  list directories "
	"themselves\n"
	"  -l  long format (mode, links, size, mtime, name)\n";

static int opt_a, opt_l, opt_d;

struct entry {
	char *name; /* as shown */
	char *path; /* for lstat/readlink */
	struct stat st;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
		      ((const struct entry *)b)->name);
}

static int digits(unsigned long long v)
{
	int n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static void print_entries(struct entry *e, size_t n)
{
	int wl = 1, ws = 1;
	for (size_t i = 0; opt_l && i < n; i++) {
		int a = digits((unsigned long long)e[i].st.st_nlink);
		int b = digits((unsigned long long)e[i].st.st_size);
		wl = a > wl ? a : wl;
		ws = b > ws ? b : ws;
	}
	for (size_t i = 0; i < n; i++) {
		if (!opt_l) {
			puts(e[i].name);
			continue;
		}
		char mode[11], when[32] = "?";
		u_mode_string(e[i].st.st_mode, mode);
		time_t t = e[i].st.st_mtime;
		struct tm *tm = localtime(&t);
		if (tm)
			strftime(when, sizeof when, "%Y-%m-%d %H:%M", tm);
		printf("%s %*llu %*lld %s %s", mode, wl,
		       (unsigned long long)e[i].st.st_nlink, ws,
		       (long long)e[i].st.st_size, when, e[i].name);
		if (S_ISLNK(e[i].st.st_mode)) {
			char target[PATH_MAX];
			ssize_t len =
				readlink(e[i].path, target, sizeof target - 1);
			target[len > 0 ? len : 0] = 0;
			printf(" -> %s", len >= 0 ? target : "?");
		}
		putchar('\n');
	}
}

static void free_entries(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (e[i].path != e[i].name)
			free(e[i].path);
		free(e[i].name);
	}
	free(e);
}

static int list_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		u_errno(dir, errno);
		return 1;
	}
	size_t n = 0, cap = 32;
	struct entry *e = malloc(cap * sizeof *e);
	struct dirent *de;
	int rc = 0;
	errno = 0;
	while (e && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && !opt_a)
			continue;
		if (n == cap) {
			struct entry *ne = realloc(e, (cap *= 2) * sizeof *e);
			if (!ne)
				break;
			e = ne;
		}
		e[n].name = strdup(de->d_name);
		if (!e[n].name)
			break;
		e[n].path = u_join(dir, de->d_name);
		if (lstat(e[n].path, &e[n].st) < 0) {
			/* Removed since readdir: say so, list the rest. */
			u_errno(e[n].path, errno);
			free(e[n].path);
			free(e[n].name);
			rc = 1;
		} else {
			n++;
		}
		errno = 0;
	}
	if (errno || !e) {
		u_errno(dir, errno ? errno : ENOMEM);
		rc = 1;
	}
	closedir(d);
	if (e) {
		qsort(e, n, sizeof *e, by_name);
		print_entries(e, n);
		free_entries(e, n);
	}
	return rc;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt;
	opterr = 0;
	while ((opt = getopt(argc, argv, "1adl")) != -1) {
		if (opt == 'a')
			opt_a = 1;
		else if (opt == 'd')
			opt_d = 1;
		else if (opt == 'l')
			opt_l = 1;
		else if (opt != '1')
			u_bad_option(optopt, usage);
	}
	static char dot[] = ".";
	char **ops = argv + optind;
	size_t nops = (size_t)(argc - optind);
	if (nops == 0) {
		static char *dflt[] = {dot, NULL};
		ops = dflt;
		nops = 1;
	}
	struct entry *files = calloc(nops, sizeof *files);
	const char **dirs = calloc(nops, sizeof *dirs);
	if (!files || !dirs) {
		u_err("out of memory");
		return 1;
	}
	size_t nfiles = 0, ndirs = 0;
	int rc = 0;
	for (size_t i = 0; i < nops; i++) {
		struct stat st;
		int r = (opt_l || opt_d) ? lstat(ops[i], &st)
					 : stat(ops[i], &st);
		if (r < 0 && errno == ENOENT && !opt_l && !opt_d)
			r = lstat(ops[i], &st); /* a dangling link */
		if (r < 0) {
			u_errno(ops[i], errno);
			rc = 1;
			continue;
		}
		if (S_ISDIR(st.st_mode) && !opt_d) {
			dirs[ndirs++] = ops[i];
			continue;
		}
		files[nfiles].name = strdup(ops[i]);
		files[nfiles].path = files[nfiles].name;
		files[nfiles].st = st;
		if (files[nfiles].name)
			nfiles++;
	}
	qsort(files, nfiles, sizeof *files, by_name);
	print_entries(files, nfiles);
	free_entries(files, nfiles);
	for (size_t i = 0; i < ndirs; i++) {
		if (nops > 1)
			printf("%s%s:\n", (nfiles || i) ? "\n" : "", dirs[i]);
		rc |= list_dir(dirs[i]);
	}
	free(dirs);
	return u_flush_stdout() | rc;
}
