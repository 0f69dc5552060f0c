/*
 * ext2_host.h — helpers for the host tests of fs/ (bcache, ext2):
 * a file-backed block device with fault injection, the printk capture of
 * kern_host.c, and wrappers around mke2fs, e2fsck and debugfs.
 * Implemented in tests/unit/ext2_util_host.c and kern_host.c.
 */
#ifndef TESTS_UNIT_EXT2_HOST_H
#define TESTS_UNIT_EXT2_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fs.h"
#include "kern/kern.h"

/* kern_host.c: printk goes to stderr only when verbose. */
extern bool host_log_verbose;
extern unsigned long host_log_lines;
extern char host_log_last[256];

/* A block device over a file (pread/pwrite). After `reads_ok` more reads
 * (or `writes_ok` more writes) every request fails; -1 never fails. */
struct blockdev *filedev_open(const char *path, uint32_t sector_size,
			      bool readonly);
void filedev_close(struct blockdev *d);
void filedev_fail(struct blockdev *d, long reads_ok, long writes_ok);

/* A private temporary directory (removed at exit) and paths in it. */
const char *host_tmpdir(void);
/* Path of `name` in the temporary directory (in a ring of 64 static
 * buffers: copy it to keep it longer). */
const char *host_path(const char *name);
/* Run a shell command; its stdout+stderr go to out (may be NULL). Returns
 * the exit status, or -1. */
int host_run(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* mke2fs -q -t ext2 -b bsize [extra] [-d src] -F img size_kb K. */
int host_mkfs(const char *img, unsigned bsize, unsigned size_kb,
	      const char *extra, const char *src);
/* e2fsck -fn img: 0 when clean; prints its output when not. */
int host_fsck(const char *img);
/* The buffer cache, set up once per process. */
void host_bcache_init(size_t bytes);
/* ext2's clock: the host's time. */
uint64_t host_now(void);

#endif
