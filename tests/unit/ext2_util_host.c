/*
 * ext2_util_host.c — see ext2_host.h: a file-backed blockdev with fault
 * injection and wrappers for the e2fsprogs tools the tests use as oracles.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/ext2_host.h"

struct filedev {
	struct blockdev bd;
	int fd;
	long reads_ok, writes_ok;
};

static int fd_read(struct blockdev *d, uint64_t sector, uint32_t count,
		   void *buf)
{
	struct filedev *f = d->priv;
	if (f->reads_ok == 0)
		return -1;
	if (f->reads_ok > 0)
		f->reads_ok--;
	size_t len = (size_t)count * d->sector_size;
	ssize_t n = pread(f->fd, buf, len, (off_t)(sector * d->sector_size));
	return n == (ssize_t)len ? 0 : -1;
}

static int fd_write(struct blockdev *d, uint64_t sector, uint32_t count,
		    const void *buf)
{
	struct filedev *f = d->priv;
	if (f->writes_ok == 0)
		return -1;
	if (f->writes_ok > 0)
		f->writes_ok--;
	size_t len = (size_t)count * d->sector_size;
	ssize_t n = pwrite(f->fd, buf, len, (off_t)(sector * d->sector_size));
	return n == (ssize_t)len ? 0 : -1;
}

static int fd_flush(struct blockdev *d)
{
	struct filedev *f = d->priv;
	return f->writes_ok == 0 ? -1 : 0;
}

struct blockdev *filedev_open(const char *path, uint32_t sector_size,
			      bool readonly)
{
	int fd = open(path, readonly ? O_RDONLY : O_RDWR);
	if (fd < 0)
		return NULL;
	struct filedev *f = calloc(1, sizeof *f);
	f->fd = fd;
	f->reads_ok = f->writes_ok = -1;
	snprintf(f->bd.name, sizeof f->bd.name, "file%d", fd);
	f->bd.sector_size = sector_size;
	f->bd.nsectors = (uint64_t)lseek(fd, 0, SEEK_END) / sector_size;
	f->bd.readonly = readonly;
	f->bd.read = fd_read;
	f->bd.write = fd_write;
	f->bd.flush = fd_flush;
	f->bd.priv = f;
	return &f->bd;
}

void filedev_close(struct blockdev *d)
{
	struct filedev *f = d->priv;
	close(f->fd);
	free(f);
}

void filedev_fail(struct blockdev *d, long reads_ok, long writes_ok)
{
	struct filedev *f = d->priv;
	f->reads_ok = reads_ok;
	f->writes_ok = writes_ok;
}

static char tmpdir[64];

static void cleanup(void)
{
	if (getenv("SHOAL_KEEP_TMP")) {
		fprintf(stderr, "kept %s\n", tmpdir);
		return;
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

const char *host_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/shoal-fs-XXXXXX",
			 base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(1);
		}
		atexit(cleanup);
	}
	return tmpdir;
}

const char *host_path(const char *name)
{
	static char ring[64][256];
	static unsigned next;
	char *p = ring[next++ % 64];
	snprintf(p, 256, "%s/%s", host_tmpdir(), name);
	return p;
}

int host_run(char *out, size_t size, const char *fmt, ...)
{
	char cmd[4096] = "(";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd + 1, sizeof cmd - 1, fmt, ap);
	va_end(ap);
	strncat(cmd, ") 2>&1", sizeof cmd - strlen(cmd) - 1);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = 0;
	char tmp[4096];
	size_t got;
	while ((got = fread(tmp, 1, sizeof tmp, p)) > 0) {
		if (out && n + 1 < size) {
			size_t k = got < size - 1 - n ? got : size - 1 - n;
			memcpy(out + n, tmp, k);
			n += k;
		}
	}
	if (out && size)
		out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int host_mkfs(const char *img, unsigned bsize, unsigned size_kb,
	      const char *extra, const char *src)
{
	char out[4096];
	unlink(img);
	char srcopt[300] = "";
	if (src)
		snprintf(srcopt, sizeof srcopt, "-d '%s'", src);
	int rc = host_run(out, sizeof out,
			  "mke2fs -q -t ext2 -b %u %s %s -F '%s' %uK", bsize,
			  extra ? extra : "", srcopt, img, size_kb);
	if (rc)
		fprintf(stderr, "mke2fs failed (%d): %s\n", rc, out);
	return rc;
}

int host_fsck(const char *img)
{
	static char out[65536];
	int rc = host_run(out, sizeof out, "e2fsck -fn '%s'", img);
	/* Clean means exit 0 and nothing said beyond the banner, the five
	 * passes and the summary (some problems do not change the exit
	 * status under -n). */
	char copy[sizeof out];
	snprintf(copy, sizeof copy, "%s", out);
	for (char *l = strtok(copy, "\n"); l && !rc; l = strtok(NULL, "\n"))
		if (strncmp(l, "e2fsck ", 7) && strncmp(l, "Pass ", 5) &&
		    !strstr(l, " files ("))
			rc = 99;
	if (rc) {
		printf("# e2fsck -fn %s exited %d:\n", img, rc);
		for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
			printf("#   %s\n", l);
	}
	return rc;
}

void host_bcache_init(size_t bytes)
{
	static bool done;
	if (!done) {
		done = true;
		if (bcache_init(bytes)) {
			fprintf(stderr, "bcache_init failed\n");
			exit(1);
		}
		ext2_set_clock(host_now);
	}
}

uint64_t host_now(void)
{
	return (uint64_t)time(NULL);
}
