/*
 * link.h — the Linker's interface layer: what the rest of the kernel uses
 * to talk to other nodes (design §5, docs/linker.md).
 *
 *   link_init()                        once at boot, after net_lwip_init
 *   link_self() / link_node_up(n)      membership
 *   link_node_resets(n, &up)           sessions with n cleared so far
 *   link_send(node, chan, type, p, n)  one-way message (copied)
 *   link_call(node, type, req, n, &reply, &reply_len, timeout_ns)
 *                                      a request and its reply
 *   link_register(type, handler)       who answers a message type
 *
 * Messages travel over the protocol engine (mosix/link_tp.c) on NIC1.
 * Every message starts with a 16-byte struct link_msg header (type, kind,
 * request id, status) that this layer adds and strips; users see only
 * their payload.
 *
 * Handlers run in the Linker's worker threads, never in the receive
 * thread, so a handler may block and may itself call link_call — even back
 * to the node whose request it is serving (nested calls, as the deputy's
 * copy-in/copy-out requests will be): the pool grows when every worker is
 * busy, up to LINK_WORKERS_MAX.
 *
 * Errors: -EHOSTDOWN (the node is not up, or went down while waiting),
 * -ECONNRESET (it rebooted), -ETIMEDOUT, -ENOMEM, -EMSGSIZE, -EINVAL (bad
 * node, self, bad type), -EPROTO (nobody handles that type there), or what
 * the remote handler returned.
 */
#ifndef MOSIX_LINK_H
#define MOSIX_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/sync.h"

/* Little-endian fields of Linker messages (n bytes, n <= 8), written and
 * read byte by byte, never by casting a buffer. */
static inline void link_put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t link_get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Message types: one handler each (link_register). */
enum link_type {
	LINK_T_NONE = 0,
	LINK_T_PING, /* empty request, empty reply */
	LINK_T_PERF_SINK, /* linkperf: throughput messages, checked, no reply */
	LINK_T_PERF_ECHO, /* linkperf: request of any size, 8-byte reply */
	LINK_T_PERF_STATS, /* linkperf: the receiver's counters */
	LINK_T_PERF_NEST, /* linkperf: calls back to the caller, depth N */
	/* Migration and the deputy (mosix/mig.c, docs/migration.md). */
	LINK_T_MIG_BEGIN, /* source → target: context and region map */
	LINK_T_MIG_PAGES, /* source → target: dirty pages (one-way) */
	LINK_T_MIG_COMMIT, /* source → target: start it (or abort) */
	LINK_T_MIG_SYSCALL, /* remote → home: a HOME call (one-way) */
	LINK_T_MIG_SYSRET, /* deputy → remote: its result (one-way) */
	LINK_T_MIG_UCOPY, /* deputy → remote: read/write/check user memory */
	LINK_T_MIG_PAGE, /* remote → home: a clean file page */
	LINK_T_MIG_SIGNAL, /* deputy → remote: a signal to deliver */
	LINK_T_MIG_EXIT, /* remote → home: the process ended */
	LINK_T_MIG_WHERE, /* remote → home: it moved on to another node */
	LINK_T_MIG_GOTO, /* home → remote: migrate it (migrate, goto) */
	LINK_T_LB_INFO, /* load information (mosix/balance.c, one-way) */
	LINK_T_MIG_HEARS, /* any → any: is node N up for you? (mig.c) */
	LINK_T_COUNT = 64
};

#define LINK_WORKERS_MIN 2
#define LINK_WORKERS_MAX 32

/* A handler: the request payload (valid during the call). To answer, set
 * *reply to a kmalloc'ed buffer (ownership passes to the Linker) and
 * *reply_len, and return 0; or return a negative errno, which becomes the
 * caller's result. For a one-way message (link_send) the reply is
 * ignored. */
typedef int (*link_handler_fn)(unsigned node, const void *req, size_t len,
			       void **reply, size_t *reply_len);

void link_init(void);
void linkperf_init(void); /* mosix/linkperf.c: its handlers */
bool link_enabled(void); /* NIC1 exists and node < LINK_MAX_NODES */
unsigned link_self(void);
bool link_node_up(unsigned node);
/* How many times the session with `node` was cleared (a message sent
 * before a change may have been dropped); *up: the node is up now. */
uint64_t link_node_resets(unsigned node, bool *up);
int link_register(enum link_type type, link_handler_fn fn);
/* A handler that never sleeps and is short (an echo, a counter read):
 * requests are answered by the receive thread, without a worker. */
int link_register_quick(enum link_type type, link_handler_fn fn);

int link_send(unsigned node, unsigned chan, enum link_type type,
	      const void *payload, size_t len);
/* On success *reply is a kmalloc'ed buffer (possibly NULL when
 * *reply_len is 0) the caller frees with kfree. */
int link_call(unsigned node, enum link_type type, const void *req, size_t len,
	      void **reply, size_t *reply_len, uint64_t timeout_ns);
/* link_call with flags: LINK_NOINTR waits through signals (a remote
 * process's forwarded system call: its signals come from home). */
#define LINK_NOINTR 1u
int link_call_opt(unsigned node, enum link_type type, const void *req,
		  size_t len, void **reply, size_t *reply_len,
		  uint64_t timeout_ns, unsigned flags);
/* fn(node, up, epoch) on every membership change (a node down, or up:
 * back after a partition with the same epoch, or rebooted with a new
 * one), after the calls waiting for it have failed. It runs under the
 * engine's lock: it must not call the Linker or sleep long (it may post
 * signals and wake threads). One watcher: the migration layer. */
void link_set_peer_watch(void (*fn)(unsigned node, bool up, uint64_t epoch));

/*
 * Tracked sends: many one-way messages in flight, and a wait until at most
 * `max` remain (a sender's window, or 0 for "all acknowledged"). The
 * first failure is kept in t->error. The tracker must outlive its
 * messages: wait for 0 before it goes out of scope.
 */
struct link_track {
	struct spinlock lock;
	struct waitq wq;
	unsigned pending;
	int error;
};
void link_track_init(struct link_track *t);
int link_send_tracked(unsigned node, unsigned chan, enum link_type type,
		      const void *payload, size_t len, struct link_track *t);
/* 0, or -ETIMEDOUT at deadline_ns (0 = none); never interrupted. */
int link_track_wait(struct link_track *t, unsigned max, uint64_t deadline_ns);

/* The engine's raw frames (linkperf raw): count frames of size payload
 * bytes, unacknowledged; *ns gets the time it took, *sent how many the
 * NIC took (a ring that stays full loses some). */
int link_raw_blast(unsigned node, size_t size, unsigned count, uint64_t *ns,
		   unsigned *sent);
/* One raw frame to node, echoed by its engine: the round trip in *ns, or
 * -ETIMEDOUT. */
int link_raw_ping(unsigned node, size_t size, uint64_t timeout_ns,
		  uint64_t *ns);
/* What this node's engine counted from node: raw frames and bytes. */
void link_raw_counts(unsigned node, uint64_t *frames, uint64_t *bytes);
uint64_t link_retransmits(void);
size_t link_raw_max(void); /* largest raw frame payload */

/* linkperf (sys_linkperf, mosix/linkperf.c). */
struct linkperf_result {
	uint64_t ns; /* elapsed */
	uint64_t msgs; /* completed */
	uint64_t bytes; /* payload bytes completed */
	uint64_t retransmits; /* the link's, during the run */
	uint64_t peer_msgs, peer_bytes; /* what the peer counted */
	uint64_t peer_bad; /* messages the peer found corrupt */
	uint64_t min_ns, median_ns, max_ns; /* per call (rpc, raw ping) */
};

#endif
