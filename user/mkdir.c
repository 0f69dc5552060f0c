/*
 * mkdir — create directories (mode 0777 less the umask). With -p, create
 * missing parents too and accept a directory that already exists.
 */
#define PROG "mkdir"
#include "ucommon.h"

static const char usage[] = "usage: mkdir [-p] DIR...\n"
			    "Create directories; -p: make parents as needed, "
			    "no error if existing.\n";

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p: make each prefix of path ending before a '/' in turn. */
static int make_parents(const char *path)
{
	if (!*path) {
		u_errno(path, ENOENT);
		return 1;
	}
	char *p = strdup(path);
	if (!p) {
		u_errno(path, ENOMEM);
		return 1;
	}
	for (char *s = p + 1;; s++) {
		char c = *s;
		if (c != '/' && c != 0)
			continue;
		*s = 0;
		if (mkdir(p, 0777) < 0 && !(errno == EEXIST && is_dir(p))) {
			/* An existing file in the middle of the path. */
			if (errno == EEXIST && c && s[1])
				errno = ENOTDIR;
			u_errno(p, errno);
			free(p);
			return 1;
		}
		*s = c;
		while (s[0] == '/' && s[1] == '/')
			s++;
		if (!c || !s[1])
			break;
	}
	free(p);
	return 0;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt, parents = 0, rc = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "p")) != -1) {
		if (opt != 'p')
			u_bad_option(optopt, usage);
		parents = 1;
	}
	if (optind >= argc) {
		u_err("missing operand");
		u_usage(usage);
	}
	for (int i = optind; i < argc; i++) {
		if (parents) {
			rc |= make_parents(argv[i]);
		} else if (mkdir(argv[i], 0777) < 0) {
			u_errno(argv[i], errno);
			rc = 1;
		}
	}
	return rc;
}
