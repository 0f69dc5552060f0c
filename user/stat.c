/*
 * stat — show what lstat(2) (or with -L, stat(2)) says about each FILE:
 * type, size, blocks, device, inode, links, mode, owner and the three
 * times (UTC).
 */
#define PROG "stat"
#include "ucommon.h"
#include <sys/sysmacros.h>
#include <time.h>

static const char usage[] = "usage: stat [-L] FILE...\n"
			    "Show file status; -L: follow symbolic links.\n";

static const char *type_name(mode_t m)
{
	return S_ISREG(m)    ? "regular file"
	       : S_ISDIR(m)  ? "directory"
	       : S_ISLNK(m)  ? "symbolic link"
	       : S_ISCHR(m)  ? "character special file"
	       : S_ISBLK(m)  ? "block special file"
	       : S_ISFIFO(m) ? "fifo"
	       : S_ISSOCK(m) ? "socket"
			     : "unknown";
}

static void print_time(const char *label, const struct timespec *ts)
{
	char buf[64] = "?";
	time_t t = ts->tv_sec;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s: %s.%09ld UTC\n", label, buf, (long)ts->tv_nsec);
}

static int stat_one(const char *path, int follow)
{
	struct stat st;
	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0) {
		u_errno(path, errno);
		return 1;
	}
	char mode[11];
	u_mode_string(st.st_mode, mode);
	printf("  File: %s", path);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof target - 1);
		if (n >= 0) {
			target[n] = 0;
			printf(" -> %s", target);
		}
	}
	printf("\n  Size: %lld\tBlocks: %lld\tIO Block: %ld\t%s\n",
	       (long long)st.st_size, (long long)st.st_blocks,
	       (long)st.st_blksize, type_name(st.st_mode));
	printf("Device: %u,%u\tInode: %llu\tLinks: %lu", major(st.st_dev),
	       minor(st.st_dev), (unsigned long long)st.st_ino,
	       (unsigned long)st.st_nlink);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		printf("\tDevice type: %u,%u", major(st.st_rdev),
		       minor(st.st_rdev));
	printf("\nAccess: (%04o/%s)\tUid: %u\tGid: %u\n",
	       (unsigned)(st.st_mode & 07777), mode, (unsigned)st.st_uid,
	       (unsigned)st.st_gid);
	print_time("Access", &st.st_atim);
	print_time("Modify", &st.st_mtim);
	print_time("Change", &st.st_ctim);
	return 0;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt, follow = 0, rc = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "L")) != -1) {
		if (opt != 'L')
			u_bad_option(optopt, usage);
		follow = 1;
	}
	if (optind >= argc) {
		u_err("missing operand");
		u_usage(usage);
	}
	for (int i = optind; i < argc; i++)
		rc |= stat_one(argv[i], follow);
	return u_flush_stdout() | rc;
}
