/*
 * linkperf.c — the Linker measured from a user program: the Shoal-only
 * system call linkperf (number 500, user/include/shoal.h) and the message
 * handlers it talks to on the other node.
 *
 *   linkperf(mode, node, size, count, struct linkperf_result *res, seed)
 *
 *   LINKPERF_SEND     count one-way messages of size bytes on the BULK
 *                     channel, at most LINKPERF_WINDOW unacknowledged;
 *                     done when the last is acknowledged. With seed != 0
 *                     every message carries a pattern the receiver checks
 *                     (index in order, every byte): peer_bad counts
 *                     messages that were not exactly what was sent.
 *   LINKPERF_RPC      count calls, each a request of size bytes and an
 *                     8-byte reply; min/median/max per call.
 *   LINKPERF_RAW      count unacknowledged frames of size payload bytes
 *                     (the engine's raw type): what the link itself
 *                     carries; peer_msgs is what arrived.
 *   LINKPERF_RAWPING  count raw frames each echoed by the peer's engine:
 *                     the round trip below the transport.
 *   LINKPERF_NEST     count calls that nest size levels deep: the peer's
 *                     handler calls back to this node, whose handler calls
 *                     the peer again, and so on; each level's reply must
 *                     come back to its own caller (size 1..16).
 *
 * Checks before anything is sent: a known mode, a node other than self,
 * size and count in range, a writable result. The call waits without a
 * signal ending it (the engine holds its buffers) but every wait is
 * bounded: a node that goes down ends it with -EHOSTDOWN.
 *
 * Message formats (payload after the Linker's message header):
 *   PERF_SINK   u32 seed, u32 index, u32 size, u32 0, then the pattern
 *               (seed != 0) or zeros
 *   PERF_ECHO   any bytes; reply u64 the request's length
 *   PERF_STATS  empty; reply 6 x u64: sink messages, bytes, bad, out of
 *               order, raw frames, raw bytes received from the caller
 *   PERF_NEST   u32 depth, u32 tag; reply u32 depth, u32 tag (the same),
 *               after calling back with depth - 1 and a new tag when
 *               depth > 0 and checking that answer
 * All little endian.
 */
#include "arch/x86/arch.h"
#include "kern/errno.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "mosix/link.h"
#include "mosix/link_tp.h"
#include "vm/vm.h"

enum {
	LINKPERF_SEND = 1,
	LINKPERF_RPC = 2,
	LINKPERF_RAW = 3,
	LINKPERF_RAWPING = 4,
	LINKPERF_NEST = 5,
};

#define LINKPERF_NEST_MAX 16

#define LINKPERF_WINDOW 32 /* messages in flight (SEND) */
#define LINKPERF_SIZE_MAX (16u << 20)
#define LINKPERF_COUNT_MAX 1000000u
#define LINKPERF_TIMES_MAX 100000u /* RPC/RAWPING calls timed */
#define LINKPERF_SINK_HDR 16
#define LINKPERF_CALL_NS (30ull * 1000000000ull)

/* What this node received from each sender (PERF_SINK). */
struct sink_counts {
	uint64_t msgs, bytes, bad, disorder;
	uint32_t next_index, seed;
};
static struct sink_counts sinks[LINK_MAX_NODES];

static void put32(uint8_t *p, uint32_t v)
{
	link_put_le(p, v, 4);
}

static uint32_t get32(const void *p)
{
	return (uint32_t)link_get_le(p, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	link_put_le(p, v, 8);
}

static uint64_t get64(const void *p)
{
	return link_get_le(p, 8);
}

/* The pattern of message index under seed: xorshift64 words. */
static uint64_t pattern_state(uint32_t seed, uint32_t index)
{
	uint64_t x = ((uint64_t)seed << 32 | index) ^ 0x9E3779B97F4A7C15ull;
	return x ? x : 1;
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void pattern_fill(uint8_t *p, size_t n, uint32_t seed, uint32_t index)
{
	uint64_t x = pattern_state(seed, index);
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		put64(p + i, xorshift(&x));
	uint64_t last = xorshift(&x);
	for (; i < n; i++, last >>= 8)
		p[i] = (uint8_t)last;
}

static bool pattern_check(const uint8_t *p, size_t n, uint32_t seed,
			  uint32_t index)
{
	uint64_t x = pattern_state(seed, index);
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		if (get64(p + i) != xorshift(&x))
			return false;
	uint64_t last = xorshift(&x);
	for (; i < n; i++, last >>= 8)
		if (p[i] != (uint8_t)last)
			return false;
	return true;
}

/* ------------------------------------------------------------ handlers */

static int h_sink(unsigned node, const void *req, size_t len, void **reply,
		  size_t *reply_len)
{
	const uint8_t *p = req;
	struct sink_counts *s = &sinks[node];
	s->msgs++;
	s->bytes += len;
	if (len < LINKPERF_SINK_HDR || get32(p + 8) != len) {
		s->bad++;
		return 0;
	}
	uint32_t seed = get32(p), index = get32(p + 4);
	if (index == 0 || seed != s->seed) {
		s->seed = seed; /* a new run */
		s->next_index = index;
	}
	if (index != s->next_index)
		s->disorder++;
	s->next_index = index + 1;
	if (seed && !pattern_check(p + LINKPERF_SINK_HDR,
				   len - LINKPERF_SINK_HDR, seed, index))
		s->bad++;
	return 0;
}

static int h_echo(unsigned node, const void *req, size_t len, void **reply,
		  size_t *reply_len)
{
	uint8_t *r = kmalloc(8);
	if (!r)
		return -ENOMEM;
	put64(r, len);
	*reply = r;
	*reply_len = 8;
	return 0;
}

static int h_stats(unsigned node, const void *req, size_t len, void **reply,
		   size_t *reply_len)
{
	uint8_t *r = kmalloc(48);
	if (!r)
		return -ENOMEM;
	const struct sink_counts *s = &sinks[node];
	uint64_t rf, rb;
	link_raw_counts(node, &rf, &rb);
	put64(r, s->msgs);
	put64(r + 8, s->bytes);
	put64(r + 16, s->bad);
	put64(r + 24, s->disorder);
	put64(r + 32, rf);
	put64(r + 40, rb);
	*reply = r;
	*reply_len = 48;
	return 0;
}

static uint32_t nest_tag;

/* Ask node for a nest of depth levels under a fresh tag; 0 when the answer
 * echoes both. */
static int nest_call(unsigned node, uint32_t depth)
{
	uint8_t req[8];
	uint32_t tag = __atomic_add_fetch(&nest_tag, 1, __ATOMIC_RELAXED);
	put32(req, depth);
	put32(req + 4, tag);
	void *r;
	size_t n;
	int err = link_call(node, LINK_T_PERF_NEST, req, sizeof req, &r, &n,
			    LINKPERF_CALL_NS);
	if (!err &&
	    (n != 8 || get32(r) != depth || get32((uint8_t *)r + 4) != tag))
		err = -EPROTO;
	kfree(r);
	return err;
}

static int h_nest(unsigned node, const void *req, size_t len, void **reply,
		  size_t *reply_len)
{
	if (len != 8 || get32(req) > LINKPERF_NEST_MAX)
		return -EINVAL;
	uint32_t depth = get32(req);
	if (depth > 0) {
		int err = nest_call(node, depth - 1);
		if (err < 0)
			return err;
	}
	uint8_t *r = kmalloc(8);
	if (!r)
		return -ENOMEM;
	memcpy(r, req, 8);
	*reply = r;
	*reply_len = 8;
	return 0;
}

void linkperf_init(void)
{
	link_register(LINK_T_PERF_NEST, h_nest);
	link_register(LINK_T_PERF_SINK, h_sink);
	link_register_quick(LINK_T_PERF_ECHO, h_echo);
	link_register_quick(LINK_T_PERF_STATS, h_stats);
}

/* ---------------------------------------------------------- the caller */

struct peer_stats {
	uint64_t msgs, bytes, bad, disorder, raw_frames, raw_bytes;
};

static int peer_stats(unsigned node, struct peer_stats *ps)
{
	void *r;
	size_t n;
	int err = link_call(node, LINK_T_PERF_STATS, NULL, 0, &r, &n,
			    LINKPERF_CALL_NS);
	if (err < 0)
		return err;
	if (n != 48) {
		kfree(r);
		return -EPROTO;
	}
	const uint8_t *p = r;
	ps->msgs = get64(p);
	ps->bytes = get64(p + 8);
	ps->bad = get64(p + 16);
	ps->disorder = get64(p + 24);
	ps->raw_frames = get64(p + 32);
	ps->raw_bytes = get64(p + 40);
	kfree(r);
	return 0;
}

static int run_send(unsigned node, size_t size, unsigned count, uint32_t seed,
		    struct linkperf_result *res)
{
	uint8_t *buf = kzalloc(size);
	if (!buf)
		return -ENOMEM;
	struct link_track t;
	link_track_init(&t);
	int err = 0;
	for (unsigned i = 0; i < count && !err; i++) {
		put32(buf, seed);
		put32(buf + 4, i);
		put32(buf + 8, (uint32_t)size);
		if (seed)
			pattern_fill(buf + LINKPERF_SINK_HDR,
				     size - LINKPERF_SINK_HDR, seed, i);
		err = link_track_wait(&t, LINKPERF_WINDOW - 1,
				      time_ns() + LINKPERF_CALL_NS);
		if (!err)
			err = link_send_tracked(node, LINK_CHAN_BULK,
						LINK_T_PERF_SINK, buf, size,
						&t);
		if (!err)
			res->msgs++;
		spin_lock(&t.lock);
		if (!err && t.error)
			err = t.error;
		spin_unlock(&t.lock);
	}
	/* Every message is acknowledged or failed before buf goes. */
	link_track_wait(&t, 0, 0);
	if (!err && t.error)
		err = t.error;
	res->bytes = res->msgs * size;
	kfree(buf);
	return err;
}

static void sort_u64(uint64_t *v, unsigned n)
{
	static const unsigned gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
	for (unsigned g = 0; g < ARRAY_SIZE(gaps); g++)
		for (unsigned i = gaps[g]; i < n; i++) {
			uint64_t x = v[i];
			unsigned j = i;
			for (; j >= gaps[g] && v[j - gaps[g]] > x; j -= gaps[g])
				v[j] = v[j - gaps[g]];
			v[j] = x;
		}
}

static int run_timed(int mode, unsigned node, size_t size, unsigned count,
		     struct linkperf_result *res)
{
	unsigned nt = count < LINKPERF_TIMES_MAX ? count : LINKPERF_TIMES_MAX;
	uint64_t *times = kmalloc(nt * sizeof *times);
	uint8_t *req = mode == LINKPERF_RPC ? kzalloc(size ? size : 1) : NULL;
	if (!times || (mode == LINKPERF_RPC && !req)) {
		kfree(times);
		kfree(req);
		return -ENOMEM;
	}
	int err = 0;
	for (unsigned i = 0; i < count && !err; i++) {
		uint64_t t0 = time_ns(), ns = 0;
		if (mode == LINKPERF_RPC) {
			void *r;
			size_t n;
			err = link_call(node, LINK_T_PERF_ECHO, req, size, &r,
					&n, LINKPERF_CALL_NS);
			if (!err && (n != 8 || get64(r) != size))
				err = -EPROTO;
			kfree(r);
			ns = time_ns() - t0;
		} else if (mode == LINKPERF_NEST) {
			err = nest_call(node, (uint32_t)size);
			ns = time_ns() - t0;
		} else {
			err = link_raw_ping(node, size, 1000000000ull, &ns);
		}
		if (err)
			break;
		if (i < nt)
			times[i] = ns;
		res->msgs++;
		res->bytes += size;
	}
	unsigned n = res->msgs < nt ? (unsigned)res->msgs : nt;
	if (n) {
		sort_u64(times, n);
		res->min_ns = times[0];
		res->median_ns = times[n / 2];
		res->max_ns = times[n - 1];
	}
	kfree(times);
	kfree(req);
	return err;
}

long sys_linkperf(const uint64_t a[6])
{
	int mode = (int)a[0];
	uint64_t node = a[1], size = a[2], count = a[3];
	uintptr_t ures = a[4];
	uint32_t seed = (uint32_t)a[5];
	struct linkperf_result res;

	if (mode < LINKPERF_SEND || mode > LINKPERF_NEST)
		return -EINVAL;
	if (mode == LINKPERF_NEST && (size < 1 || size > LINKPERF_NEST_MAX))
		return -EINVAL;
	if (!link_enabled())
		return -ENETDOWN;
	if (node >= LINK_MAX_NODES || node == link_self())
		return -EINVAL;
	if (count < 1 || count > LINKPERF_COUNT_MAX)
		return -EINVAL;
	if (size > LINKPERF_SIZE_MAX ||
	    (mode == LINKPERF_SEND && size < LINKPERF_SINK_HDR))
		return -EINVAL;
	if ((mode == LINKPERF_RAW || mode == LINKPERF_RAWPING) &&
	    (size < 1 || size > link_raw_max()))
		return size < 1 ? -EINVAL : -EMSGSIZE;
	memset(&res, 0, sizeof res);
	struct vm_space *sp = proc_current()->user.space;
	if (copy_to_user(sp, ures, &res, sizeof res) < 0)
		return -EFAULT;
	if (!link_node_up((unsigned)node))
		return -EHOSTDOWN;

	struct peer_stats before, after;
	int err = peer_stats((unsigned)node, &before);
	if (err < 0)
		return err;
	uint64_t re0 = link_retransmits(), t0 = time_ns();
	switch (mode) {
	case LINKPERF_SEND:
		err = run_send((unsigned)node, size, (unsigned)count, seed,
			       &res);
		break;
	case LINKPERF_RAW: {
		uint64_t ns;
		unsigned sent;
		err = link_raw_blast((unsigned)node, size, (unsigned)count, &ns,
				     &sent);
		res.msgs = sent;
		res.bytes = (uint64_t)sent * size;
		break;
	}
	default:
		err = run_timed(mode, (unsigned)node, size, (unsigned)count,
				&res);
		break;
	}
	res.ns = time_ns() - t0;
	res.retransmits = link_retransmits() - re0;
	/* Raw frames still in the wire or the peer's ring: give them a
	 * moment before asking what arrived. */
	if (mode == LINKPERF_RAW)
		thread_sleep_ns(200000000ull);
	int serr = peer_stats((unsigned)node, &after);
	/* Every send was acknowledged, but the peer's last messages may
	 * still wait for its worker (the stats are answered at once, by its
	 * receive thread): ask again, for up to a second, until they are
	 * all counted. */
	for (int i = 0; mode == LINKPERF_SEND && serr == 0 && i < 100 &&
			after.msgs - before.msgs < res.msgs;
	     i++) {
		thread_sleep_ns(10000000ull);
		serr = peer_stats((unsigned)node, &after);
	}
	if (serr == 0) {
		if (mode == LINKPERF_RAW || mode == LINKPERF_RAWPING) {
			res.peer_msgs = after.raw_frames - before.raw_frames;
			res.peer_bytes = after.raw_bytes - before.raw_bytes;
		} else {
			res.peer_msgs = after.msgs - before.msgs;
			res.peer_bytes = after.bytes - before.bytes;
			res.peer_bad = (after.bad - before.bad) +
				       (after.disorder - before.disorder);
		}
	}
	if (copy_to_user(sp, ures, &res, sizeof res) < 0)
		return -EFAULT;
	return err;
}
