/*
 * ucommon.h — small helpers shared by the one-file programs in user/.
 *
 * Interface: a program defines PROG (its name, a string literal) before
 * including this header. Everything here is `static inline`, so a program
 * pays only for what it calls and unused helpers raise no warnings.
 *
 *   u_help(argc, argv, usage)   `PROG --help`: usage on stdout, exit 0
 *   u_usage(usage)              its first line on stderr, exit 2
 *   u_err(fmt, ...)             "PROG: message" on stderr
 *   u_errno(what, err)          "PROG: what: strerror(err)" on stderr
 *   u_read / u_write_all        read and write that retry EINTR (and, for
 *                               writes, short counts); 0 or -errno
 *   u_copy_fd(in, out)          stream in to out; 0, or U_EREAD / U_EWRITE
 *                               with errno set
 *   u_flush_stdout()            flush stdio's stdout; 0 or 1 after a message
 *   u_mode_string(mode, s)      "drwxr-xr-x", as ls -l and stat show it
 *   u_join, u_basename          path pieces
 *   u_copy_tree / u_remove_tree cp -r, rm -r and mv across file systems
 *
 * Conventions every program follows (docs/programs.md): exit 2 for a bad
 * command line, 1 for a failure, and an error names the file and strerror.
 */
#ifndef UCOMMON_H
#define UCOMMON_H

/* memmem, klogctl, strsignal...: include this header before any other. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PROG
#error "define PROG before including ucommon.h"
#endif

#define U_BUFSIZE 65536
#define U_EREAD (-1)
#define U_EWRITE (-2)

static inline void u_err(const char *fmt, ...)
{
	va_list ap;
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static inline void u_errno(const char *what, int err)
{
	u_err("%s: %s", what, strerror(err));
}

static inline void u_help(int argc, char **argv, const char *usage)
{
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		exit(fflush(stdout) ? 1 : 0);
	}
}

/* A bad command line: the first line of the usage text on stderr, exit 2. */
static inline void u_usage(const char *usage)
{
	const char *nl = strchr(usage, '\n');
	fwrite(usage, 1, nl ? (size_t)(nl - usage) + 1 : strlen(usage), stderr);
	exit(2);
}

/* A decimal argument in [min, max] (digits only), or "PROG: what: invalid
 * number 'S' (min..max)" and the usage error (exit 2). */
static inline long u_number(const char *what, const char *s, long min, long max,
			    const char *usage)
{
	long v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9' && v <= max; p++)
		v = v * 10 + (*p - '0');
	if (p == s || *p || v < min || v > max) {
		u_err("%s: invalid number '%s' (%ld..%ld)", what, s, min, max);
		u_usage(usage);
	}
	return v;
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t u_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* getopt's own messages name argv[0]; ours name PROG. */
static inline void u_bad_option(int opt, const char *usage)
{
	u_err("invalid option -- '%c'", opt);
	u_usage(usage);
}

/* head/tail's line-count option at argv[*i] ("-n N", "-nN" or "-N"):
 * the number's text; *i moves past an argument it took. Usage error if
 * "-n" has no argument. */
static inline const char *u_count_option(int argc, char **argv, int *i,
					 const char *usage)
{
	const char *a = argv[*i];
	if (strcmp(a, "-n") == 0) {
		if (*i + 1 >= argc) {
			u_err("option requires an argument -- 'n'");
			u_usage(usage);
		}
		return argv[++*i];
	}
	return strncmp(a, "-n", 2) == 0 ? a + 2 : a + 1;
}

/* cp and mv: SRC... DST from argv[first..argc). 1 when DST is a directory
 * (sources go into it), 0 when it is the one target of one source; usage
 * error without two operands; -1 (reported) for several sources and a DST
 * that is no directory. */
static inline int u_dest_is_dir(int argc, char **argv, int first,
				const char *usage)
{
	int n = argc - first;
	if (n < 2) {
		u_err(n ? "missing destination after '%s'" : "missing operands",
		      argv[first]);
		u_usage(usage);
	}
	const char *dst = argv[argc - 1];
	struct stat st;
	int into_dir = stat(dst, &st) == 0 && S_ISDIR(st.st_mode);
	if (n > 2 && !into_dir) {
		u_errno(dst, ENOTDIR);
		return -1;
	}
	return into_dir;
}

static inline ssize_t u_read(int fd, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

static inline int u_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static inline int u_copy_fd(int in, int out)
{
	static char buf[U_BUFSIZE];
	for (;;) {
		ssize_t r = u_read(in, buf, sizeof buf);
		if (r < 0) {
			errno = (int)-r;
			return U_EREAD;
		}
		if (r == 0)
			return 0;
		int e = u_write_all(out, buf, (size_t)r);
		if (e) {
			errno = -e;
			return U_EWRITE;
		}
	}
}

/*
 * A failed write may have happened in an earlier printf, which set errno
 * then; errno is not cleared here so that cause is still reported.
 */
static inline int u_flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		u_errno("write error", errno ? errno : EIO);
		return 1;
	}
	return 0;
}

/* "drwxr-xr-x" for a st_mode (as ls -l shows it); s has room for 11. */
static inline void u_mode_string(mode_t m, char s[11])
{
	static const char rwx[] = "rwxrwxrwx";
	s[0] = S_ISDIR(m)    ? 'd'
	       : S_ISLNK(m)  ? 'l'
	       : S_ISCHR(m)  ? 'c'
	       : S_ISBLK(m)  ? 'b'
	       : S_ISFIFO(m) ? 'p'
	       : S_ISSOCK(m) ? 's'
			     : '-';
	for (int i = 0; i < 9; i++)
		s[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		s[3] = s[3] == 'x' ? 's' : 'S';
	if (m & S_ISGID)
		s[6] = s[6] == 'x' ? 's' : 'S';
	if (m & S_ISVTX)
		s[9] = s[9] == 'x' ? 't' : 'T';
	s[10] = 0;
}

/* "dir" + "/" + "name" in a fresh buffer; exits on allocation failure. */
static inline char *u_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + nl + 2);
	if (!p) {
		u_err("out of memory");
		exit(1);
	}
	memcpy(p, dir, dl);
	size_t at = dl;
	if (dl == 0 || dir[dl - 1] != '/')
		p[at++] = '/';
	memcpy(p + at, name, nl + 1);
	return p;
}

/* The last component of a path, ignoring trailing slashes; a static copy. */
static inline const char *u_basename(const char *path)
{
	static char buf[PATH_MAX];
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t start = n;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (n - start >= sizeof buf)
		n = start + sizeof buf - 1;
	memcpy(buf, path + start, n - start);
	buf[n - start] = 0;
	return buf;
}

/*
 * Directory entries other than . and .., read completely before the caller
 * recurses so a deep tree never holds one descriptor per level. Returns a
 * NULL-terminated array (free with u_free_names) or NULL with errno set.
 */
static inline char **u_read_names(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	size_t n = 0, cap = 16;
	char **v = malloc(cap * sizeof *v);
	struct dirent *de;
	errno = 0;
	while (v && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n + 1 >= cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof *v);
			if (!nv)
				break;
			v = nv;
		}
		if (!(v[n] = strdup(de->d_name)))
			break;
		v[++n] = NULL;
		errno = 0;
	}
	int err = errno;
	closedir(d);
	if (v)
		v[n] = NULL;
	if (err || !v) {
		for (size_t i = 0; v && i < n; i++)
			free(v[i]);
		free(v);
		errno = err ? err : ENOMEM;
		return NULL;
	}
	return v;
}

static inline void u_free_names(char **v)
{
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

/*
 * rm -r: remove path and, if it is a directory, everything below it.
 * Reports each failure; returns 0 or 1.
 */
static inline int u_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		u_errno(path, errno);
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0) {
			u_errno(path, errno);
			return 1;
		}
		return 0;
	}
	char **names = u_read_names(path);
	if (!names) {
		u_errno(path, errno);
		return 1;
	}
	int rc = 0;
	for (size_t i = 0; names[i]; i++) {
		char *sub = u_join(path, names[i]);
		rc |= u_remove_tree(sub);
		free(sub);
	}
	u_free_names(names);
	if (rmdir(path) < 0) {
		u_errno(path, errno);
		rc = 1;
	}
	return rc;
}

/* Copy the regular file src (already lstat'ed as *st) to dst. */
static inline int u_copy_file(const char *src, const char *dst,
			      const struct stat *st)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		u_errno(src, errno);
		return 1;
	}
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		       st->st_mode & 07777);
	if (out < 0) {
		u_errno(dst, errno);
		close(in);
		return 1;
	}
	int rc = 0, r = u_copy_fd(in, out);
	if (r)
		u_errno(r == U_EREAD ? src : dst, errno);
	if (close(out) < 0 && !r) {
		u_errno(dst, errno);
		rc = 1;
	}
	close(in);
	return r || rc;
}

static inline int u_copy_symlink(const char *src, const char *dst)
{
	char target[PATH_MAX];
	ssize_t n = readlink(src, target, sizeof target - 1);
	if (n < 0) {
		u_errno(src, errno);
		return 1;
	}
	target[n] = 0;
	if (symlink(target, dst) < 0) {
		u_errno(dst, errno);
		return 1;
	}
	return 0;
}

/*
 * cp -r: copy src to dst (which is the new name, not its parent). Symbolic
 * links are copied as links, directories recursively, other files by
 * content; modes are kept. `avoid` is the directory the copy started in
 * (st_dev, st_ino of dst's root once made), so copying a directory into
 * itself stops instead of recursing forever.
 */
static inline int u_copy_tree_at(const char *src, const char *dst,
				 dev_t *avoid_dev, ino_t *avoid_ino)
{
	struct stat st;
	if (lstat(src, &st) < 0) {
		u_errno(src, errno);
		return 1;
	}
	if (S_ISLNK(st.st_mode))
		return u_copy_symlink(src, dst);
	if (!S_ISDIR(st.st_mode))
		return u_copy_file(src, dst, &st);
	if (avoid_ino && *avoid_ino && st.st_dev == *avoid_dev &&
	    st.st_ino == *avoid_ino) {
		u_err("cannot copy a directory into itself: %s", src);
		return 1;
	}
	if (mkdir(dst, (st.st_mode & 07777) | S_IRWXU) < 0 && errno != EEXIST) {
		u_errno(dst, errno);
		return 1;
	}
	struct stat dt;
	if (stat(dst, &dt) < 0) {
		u_errno(dst, errno);
		return 1;
	}
	if (!S_ISDIR(dt.st_mode)) {
		u_errno(dst, ENOTDIR);
		return 1;
	}
	if (avoid_ino && !*avoid_ino) {
		*avoid_dev = dt.st_dev;
		*avoid_ino = dt.st_ino;
	}
	char **names = u_read_names(src);
	if (!names) {
		u_errno(src, errno);
		return 1;
	}
	int rc = 0;
	for (size_t i = 0; names[i]; i++) {
		char *s = u_join(src, names[i]), *d = u_join(dst, names[i]);
		rc |= u_copy_tree_at(s, d, avoid_dev, avoid_ino);
		free(s);
		free(d);
	}
	u_free_names(names);
	if (chmod(dst, st.st_mode & 07777) < 0) {
		u_errno(dst, errno);
		rc = 1;
	}
	return rc;
}

static inline int u_copy_tree(const char *src, const char *dst)
{
	dev_t dev = 0;
	ino_t ino = 0;
	return u_copy_tree_at(src, dst, &dev, &ino);
}

#endif
