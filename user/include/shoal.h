/*
 * shoal.h — Shoal's own system calls for user programs (kern/
 * syscall_table.h, numbers from 500 up), as small inline wrappers that
 * return what the libc syscall() does: the result, or -1 with errno.
 *
 *   shoal_linkperf(mode, node, size, count, &res, seed)   mosix/linkperf.c
 *   shoal_migrate(pid, node)    move a process to another node (issue 7,
 *                               docs/migration.md)
 *   SHOAL_TIOCECHOED            a terminal ioctl (fs/tty.c) for line editors
 */
#ifndef SHOAL_H
#define SHOAL_H

#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>

#define SHOAL_SYS_LINKPERF 500
#define SHOAL_SYS_MIGRATE 501

/* ioctl on a terminal: into an int, how many of the readable bytes, from
 * the front, were echoed by the terminal when they arrived (typed ahead in
 * cooked mode). Linux has no such call: ENOTTY there. */
#define SHOAL_TIOCECHOED 0x800454E0u

enum {
	LINKPERF_SEND = 1, /* one-way messages, windowed, all acknowledged */
	LINKPERF_RPC = 2, /* calls of SIZE bytes, 8-byte replies */
	LINKPERF_RAW = 3, /* unacknowledged raw frames */
	LINKPERF_RAWPING = 4, /* raw frames echoed by the peer's engine */
	LINKPERF_NEST = 5, /* calls nesting SIZE levels back and forth */
};

/* The kernel's struct linkperf_result (mosix/link.h), field for field. */
struct linkperf_result {
	uint64_t ns, msgs, bytes, retransmits;
	uint64_t peer_msgs, peer_bytes, peer_bad;
	uint64_t min_ns, median_ns, max_ns;
};

static inline long shoal_linkperf(int mode, unsigned node, uint64_t size,
				  uint64_t count, struct linkperf_result *res,
				  uint32_t seed)
{
	return syscall(SHOAL_SYS_LINKPERF, mode, node, size, count, res, seed);
}

/*
 * Move process pid (0: the caller) to node (-1: its home node). Returns 0
 * when the process runs on node (or the request was accepted), or -1 with
 * errno:
 *   ESRCH      no such process
 *   EINVAL     bad node number
 *   EHOSTDOWN  the node is not up
 *   EBUSY      the process cannot move (/proc/<pid>/cantmove says why)
 *   EPERM      not allowed
 *   ENOMEM     the target is out of memory
 *   ETIMEDOUT  no answer from the target
 *   EAGAIN     a migration of the process is already under way
 */
static inline long shoal_migrate(int pid, int node)
{
	return syscall(SHOAL_SYS_MIGRATE, pid, node);
}

#endif
