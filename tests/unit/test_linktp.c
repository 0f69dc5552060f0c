// SOURCES: mosix/link_tp.c mosix/siphash.c
/*
 * test_linktp.c — the Linker's transport (mosix/link_tp.c, the file the
 * kernel runs) between 2-4 engines over a simulated wire.
 *
 * The wire is an event queue of frames with delivery times on a virtual
 * clock: each node's NIC serialises frames at 1 Gbit/s (a full queue makes
 * xmit fail), then every copy may be lost, duplicated, delayed by a random
 * jitter (which reorders), truncated or corrupted; links can be cut one way.
 * Each engine is polled at the deadline it returns and after every frame,
 * like the kernel glue. A driver keeps a few messages outstanding on every
 * flow (src, dst, channel); messages carry a seeded pattern (and, from 16
 * bytes, their index and generation) and the receiver checks every byte,
 * the order and that nothing arrives twice. Engine memory goes through
 * counting alloc/free, so leaks and the reassembly bound are checked; the
 * frames in flight per channel are checked against the window.
 *
 * Without a cluster key the Linker relies on the Ethernet FCS for
 * integrity, so corrupted frames are tested with a key (the tag catches
 * them) and truncated ones without (the length check catches them).
 *
 * FUZZ_CASES (default 12) and FUZZ_SEED (default 1) select the random batch
 * (seeded_batch); a failing case prints its seed and number: rerun it with
 * FUZZ_SEED=seed FUZZ_FROM=case FUZZ_CASES=case+1. LINK_HEAVY=1 adds 16 MB
 * at 30% loss and larger batches.
 */
#include "mosix/link_tp.h"
#include "tests/unit/unit.h"

#include <time.h>

#define MAXN 4
#define MAXFLOWS 48
#define MS 1000000ull
#define SEC 1000000000ull

struct sim;

struct flow {
	int src, dst;
	unsigned chan;
	uint32_t count;
	size_t *sizes;
	uint64_t *submit_t;
	uint32_t next_send, next_recv, done_ok, done_err, outstanding;
	uint32_t max_outstanding;
	bool loose; /* resets expected: gaps allowed, never twice, in order */
	int64_t last_idx;
	uint32_t gen; /* sender's generation, carried in messages */
	uint32_t gen_min; /* receiver refuses older generations */
	uint32_t delivered;
	uint64_t max_latency;
	int allowed_err[3];
	struct msgrec *pending; /* built, refused for now by link_tp_send */
};

struct msgrec {
	struct flow *f;
	uint32_t idx, gen;
	uint8_t *buf;
	struct link_tp_msg tm; /* the engine's record, for link_tp_send_msg */
};

struct node {
	struct sim *sim;
	int idx;
	unsigned num;
	uint8_t mac[6];
	struct link_tp *tp;
	uint64_t epoch;
	uint64_t next_poll;
	uint64_t tx_free;
	int64_t mem, mem_peak, nallocs;
	bool peer_up[MAXN];
	uint64_t peer_epoch[MAXN];
	uint64_t down_at[MAXN], up_at[MAXN];
	uint32_t ups[MAXN], downs[MAXN];
	uint64_t tx_full;
	uint32_t echoes, echo_last_seq; /* raw echo answers */
	unsigned echo_from;
};

struct ev {
	uint64_t t, order;
	int dst;
	size_t len;
	uint8_t data[];
};

struct capture {
	int src;
	size_t len;
	uint8_t *data;
};

struct sim {
	struct node n[MAXN];
	int nn;
	uint64_t now, order;
	uint64_t rng;
	struct link_config cfg;
	bool keyed;
	uint8_t key[16];
	/* impairments, per copy: permille */
	unsigned loss, dup, trunc, corrupt, alloc_fail;
	uint64_t delay, jitter, ns_per_byte, txq_ns;
	bool cut[MAXN][MAXN]; /* frames from i to j vanish */
	/* events */
	struct ev **heap;
	size_t nheap, capheap;
	/* flows */
	struct flow f[MAXFLOWS];
	int nf;
	/* capture of transmitted frames (replay tests) */
	struct capture *cap;
	size_t ncap, capcap;
	bool capturing;
	/* results */
	char failed[256];
	uint64_t events, wire_frames, wire_bytes;
};

/* ---------------------------------------------------------------- misc */

static uint64_t rnd(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static unsigned env_num(const char *name, unsigned def)
{
	const char *v = getenv(name);
	return v && *v ? (unsigned)strtoul(v, NULL, 0) : def;
}

static bool heavy(void)
{
	return env_num("LINK_HEAVY", 0) != 0;
}

#define FAIL(s, ...)                                                           \
	do {                                                                   \
		if (!(s)->failed[0])                                           \
			snprintf((s)->failed, sizeof(s)->failed, __VA_ARGS__); \
	} while (0)

static void pattern(uint8_t *b, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x1234567;
	for (size_t i = 0; i < len; i++) {
		if (!(i & 7)) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		b[i] = (uint8_t)(x >> (8 * (i & 7)));
	}
}

static bool pattern_ok(const uint8_t *b, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x1234567;
	for (size_t i = 0; i < len; i++) {
		if (!(i & 7)) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		if (b[i] != (uint8_t)(x >> (8 * (i & 7))))
			return false;
	}
	return true;
}

static uint64_t msg_seed(const struct sim *s, const struct flow *f,
			 uint32_t idx)
{
	return (uint64_t)(f - s->f + 1) * 1000003u + idx;
}

#define MSG_HDR 16

static void put32le(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get32le(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint8_t *make_msg(struct sim *s, struct flow *f, uint32_t idx,
			 size_t len)
{
	uint8_t *b = malloc(len ? len : 1);
	if (len >= MSG_HDR) {
		put32le(b, idx);
		put32le(b + 4, f->gen);
		put32le(b + 8, (uint32_t)(f - s->f));
		put32le(b + 12, (uint32_t)len);
		pattern(b + MSG_HDR, len - MSG_HDR, msg_seed(s, f, idx));
	} else {
		pattern(b, len, msg_seed(s, f, idx));
	}
	return b;
}

/* ---------------------------------------------------------------- events */

static bool ev_before(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->order < b->order);
}

static void heap_push(struct sim *s, struct ev *e)
{
	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? 2 * s->capheap : 1024;
		s->heap = realloc(s->heap, s->capheap * sizeof *s->heap);
	}
	size_t i = s->nheap++;
	while (i && ev_before(e, s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = e;
}

static struct ev *heap_pop(struct sim *s)
{
	struct ev *top = s->heap[0], *last = s->heap[--s->nheap];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && ev_before(s->heap[c + 1], s->heap[c]))
			c++;
		if (!ev_before(s->heap[c], last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap)
		s->heap[i] = last;
	return top;
}

static void wire_put(struct sim *s, int dst, const uint8_t *frame, size_t len,
		     uint64_t t)
{
	struct ev *e = malloc(sizeof *e + len);
	e->t = t;
	e->order = s->order++;
	e->dst = dst;
	e->len = len;
	memcpy(e->data, frame, len);
	if (len && s->corrupt && rnd(s) % 1000 < s->corrupt) {
		size_t at = rnd(s) % len;
		e->data[at] ^= (uint8_t)(1u << (rnd(s) % 8));
	}
	if (len && s->trunc && rnd(s) % 1000 < s->trunc)
		e->len = rnd(s) % len;
	heap_push(s, e);
}

/* One copy of a frame towards node j, with the impairments. */
static void wire_to(struct sim *s, int from, int j, const uint8_t *frame,
		    size_t len, uint64_t dep)
{
	if (s->cut[from][j])
		return;
	if (s->loss && rnd(s) % 1000 < s->loss)
		return;
	int copies = s->dup && rnd(s) % 1000 < s->dup ? 2 : 1;
	for (int k = 0; k < copies; k++) {
		uint64_t t =
			dep + s->delay + (s->jitter ? rnd(s) % s->jitter : 0);
		wire_put(s, j, frame, len, t);
	}
}

/* ---------------------------------------------------------------- env */

static int sim_xmit(void *ctx, const void *frame, size_t len)
{
	struct node *n = ctx;
	struct sim *s = n->sim;
	const uint8_t *f = frame;
	if (len < 14 || len > 14 + (s->cfg.mtu ? s->cfg.mtu : 1500) ||
	    f[12] != 0x88 || f[13] != 0xB5 || memcmp(f + 6, n->mac, 6))
		FAIL(s, "node %u sent a bad frame (len %zu)", n->num, len);
	uint64_t start = s->now > n->tx_free ? s->now : n->tx_free;
	if (start - s->now > s->txq_ns) {
		n->tx_full++;
		return -ENOBUFS;
	}
	n->tx_free = start + len * s->ns_per_byte;
	s->wire_frames++;
	s->wire_bytes += len;
	if (s->capturing) {
		if (s->ncap == s->capcap) {
			s->capcap = s->capcap ? 2 * s->capcap : 256;
			s->cap = realloc(s->cap, s->capcap * sizeof *s->cap);
		}
		s->cap[s->ncap].src = n->idx;
		s->cap[s->ncap].len = len;
		s->cap[s->ncap].data = malloc(len);
		memcpy(s->cap[s->ncap].data, f, len);
		s->ncap++;
	}
	bool bcast = f[0] == 0xff && f[1] == 0xff;
	for (int j = 0; j < s->nn; j++)
		if (j != n->idx && (bcast || !memcmp(f, s->n[j].mac, 6)))
			wire_to(s, n->idx, j, f, len, n->tx_free);
	return 0;
}

struct memhdr {
	size_t size;
	size_t pad;
};

static void *sim_alloc(void *ctx, size_t size)
{
	struct node *n = ctx;
	struct sim *s = n->sim;
	if (s->alloc_fail && rnd(s) % 1000 < s->alloc_fail)
		return NULL;
	struct memhdr *h = malloc(sizeof *h + size);
	h->size = size;
	n->mem += (int64_t)size;
	n->nallocs++;
	if (n->mem > n->mem_peak)
		n->mem_peak = n->mem;
	return h + 1;
}

static void sim_free(void *ctx, void *p)
{
	struct node *n = ctx;
	if (!p)
		return;
	struct memhdr *h = (struct memhdr *)p - 1;
	n->mem -= (int64_t)h->size;
	n->nallocs--;
	free(h);
}

static struct flow *find_flow(struct sim *s, int src, int dst, unsigned chan)
{
	for (int i = 0; i < s->nf; i++)
		if (s->f[i].src == src && s->f[i].dst == dst &&
		    s->f[i].chan == chan)
			return &s->f[i];
	return NULL;
}

static void sim_deliver(void *ctx, unsigned node, unsigned chan, void *msg,
			size_t len)
{
	struct node *n = ctx;
	struct sim *s = n->sim;
	int src = (int)node - 1;
	struct flow *f = src >= 0 && src < s->nn
				 ? find_flow(s, src, n->idx, chan)
				 : NULL;
	if (!f) {
		FAIL(s, "node %u: message from %u chan %u: no such flow",
		     n->num, node, chan);
	} else if (len && !msg) {
		FAIL(s, "node %u: NULL message of %zu bytes", n->num, len);
	} else if (f->loose) {
		/* gaps allowed (resets), but in order, once, intact */
		uint32_t idx = len >= MSG_HDR ? get32le(msg) : 0;
		uint32_t gen = len >= MSG_HDR ? get32le((uint8_t *)msg + 4) : 0;
		if (len < MSG_HDR || idx >= f->count || len != f->sizes[idx] ||
		    (int64_t)idx <= f->last_idx || gen < f->gen_min ||
		    !pattern_ok((uint8_t *)msg + MSG_HDR, len - MSG_HDR,
				msg_seed(s, f, idx)))
			FAIL(s,
			     "node %u: flow %d: bad loose message idx %u "
			     "gen %u len %zu (last %lld, gen_min %u)",
			     n->num, (int)(f - s->f), idx, gen, len,
			     (long long)f->last_idx, f->gen_min);
		f->last_idx = idx;
		f->delivered++;
	} else {
		uint32_t idx = f->next_recv++;
		bool ok = idx < f->count && len == f->sizes[idx];
		if (ok && len >= MSG_HDR)
			ok = get32le(msg) == idx &&
			     pattern_ok((uint8_t *)msg + MSG_HDR, len - MSG_HDR,
					msg_seed(s, f, idx));
		else if (ok)
			ok = pattern_ok(msg, len, msg_seed(s, f, idx));
		if (!ok)
			FAIL(s,
			     "node %u: flow %d (from %u chan %u): message %u "
			     "wrong (len %zu, want %zu)",
			     n->num, (int)(f - s->f), node, chan, idx, len,
			     idx < f->count ? f->sizes[idx] : 0);
		if (ok && s->now - f->submit_t[idx] > f->max_latency)
			f->max_latency = s->now - f->submit_t[idx];
		f->delivered++;
	}
	sim_free(ctx, msg);
}

static void sim_sent(void *ctx, void *cookie, int status)
{
	struct node *n = ctx;
	struct sim *s = n->sim;
	struct msgrec *m = cookie;
	struct flow *f = m->f;
	if (f->src != n->idx)
		FAIL(s, "node %u: sent() for another node's message", n->num);
	if (status == 0) {
		f->done_ok++;
	} else if (status == f->allowed_err[0] || status == f->allowed_err[1] ||
		   status == f->allowed_err[2]) {
		f->done_err++;
	} else {
		FAIL(s, "node %u: flow %d message %u: sent() status %d", n->num,
		     (int)(f - s->f), m->idx, status);
		f->done_err++;
	}
	f->outstanding--;
	free(m->buf);
	free(m);
}

static void sim_peer_event(void *ctx, unsigned node, bool up, uint64_t epoch)
{
	struct node *n = ctx;
	struct sim *s = n->sim;
	int j = (int)node - 1;
	if (j < 0 || j >= s->nn || j == n->idx) {
		FAIL(s, "node %u: event for node %u", n->num, node);
		return;
	}
	if (up == n->peer_up[j] && !(up && epoch != n->peer_epoch[j]))
		FAIL(s, "node %u: repeated %s event for %u", n->num,
		     up ? "up" : "down", node);
	n->peer_up[j] = up;
	n->peer_epoch[j] = epoch;
	if (up) {
		n->ups[j]++;
		n->up_at[j] = s->now;
	} else {
		n->downs[j]++;
		n->down_at[j] = s->now;
	}
}

static void sim_raw_echo(void *ctx, unsigned node, uint32_t seq)
{
	struct node *n = ctx;
	n->echoes++;
	n->echo_last_seq = seq;
	n->echo_from = node;
}

/* ---------------------------------------------------------------- nodes */

static void node_boot(struct sim *s, int i, uint64_t epoch)
{
	struct node *n = &s->n[i];
	static const struct link_env proto = {
		.xmit = sim_xmit,
		.deliver = sim_deliver,
		.sent = sim_sent,
		.peer_event = sim_peer_event,
		.raw_echo = sim_raw_echo,
		.alloc = sim_alloc,
		.free = sim_free,
	};
	struct link_env env = proto;
	env.ctx = n;
	n->tp = malloc(link_tp_size());
	n->epoch = epoch;
	memset(n->peer_up, 0, sizeof n->peer_up);
	link_tp_init(n->tp, &env, &s->cfg, n->num, epoch, n->mac, s->now);
	if (s->keyed)
		link_tp_set_key(n->tp, s->key);
	link_tp_set_load(n->tp, 1000 + n->num, 7 * n->num);
	n->next_poll = s->now;
}

static void check_stats(struct sim *s, struct node *n)
{
	const struct link_stats *st = link_tp_stats(n->tp);
	uint64_t sum = 0;
	for (int d = 0; d < LINK_DROP_COUNT; d++)
		sum += st->drop[d];
	if (sum != st->rx_dropped || st->drop[LINK_DROP_NONE] ||
	    st->rx_dropped > st->rx_frames)
		FAIL(s, "node %u: drop counters inconsistent", n->num);
}

/* Stop a node's engine (a crash or power-off: its frames in flight stay on
 * the wire). Its memory must all come back. */
static void node_halt(struct sim *s, int i)
{
	struct node *n = &s->n[i];
	check_stats(s, n);
	link_tp_fini(n->tp);
	free(n->tp);
	n->tp = NULL;
	if (n->mem || n->nallocs)
		FAIL(s, "node %u: %lld bytes in %lld blocks leaked", n->num,
		     (long long)n->mem, (long long)n->nallocs);
}

static void sim_init(struct sim *s, int nn, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->nn = nn;
	s->rng = seed * 0x9E3779B97F4A7C15ull + 88172645463325252ull;
	s->now = 1 * SEC;
	s->delay = 50000;
	s->ns_per_byte = 8;
	s->txq_ns = 8 * MS; /* 4 channels' windows of full frames fit */
	for (int i = 0; i < nn; i++) {
		struct node *n = &s->n[i];
		n->sim = s;
		n->idx = i;
		n->num = (unsigned)i + 1;
		uint8_t mac[6] = {0x52, 0x54, 0x00,
				  0x12, 0x34, (uint8_t)(i + 1)};
		memcpy(n->mac, mac, 6);
	}
}

static void sim_start(struct sim *s)
{
	for (int i = 0; i < s->nn; i++)
		node_boot(s, i, 1000 + (uint64_t)i);
}

static void sim_fini(struct sim *s)
{
	for (int i = 0; i < s->nn; i++)
		if (s->n[i].tp)
			node_halt(s, i);
	while (s->nheap)
		free(heap_pop(s));
	free(s->heap);
	for (int i = 0; i < s->nf; i++) {
		free(s->f[i].sizes);
		free(s->f[i].submit_t);
		if (s->f[i].pending) {
			free(s->f[i].pending->buf);
			free(s->f[i].pending);
		}
	}
	for (size_t i = 0; i < s->ncap; i++)
		free(s->cap[i].data);
	free(s->cap);
}

static struct flow *add_flow(struct sim *s, int src, int dst, unsigned chan,
			     uint32_t count, size_t size)
{
	struct flow *f = &s->f[s->nf++];
	memset(f, 0, sizeof *f);
	f->src = src;
	f->dst = dst;
	f->chan = chan;
	f->count = count;
	f->sizes = calloc(count ? count : 1, sizeof *f->sizes);
	f->submit_t = calloc(count ? count : 1, sizeof *f->submit_t);
	for (uint32_t i = 0; i < count; i++)
		f->sizes[i] = size;
	f->max_outstanding = 4;
	f->last_idx = -1;
	return f;
}

/* Keep max_outstanding messages queued on every flow. */
static void drive(struct sim *s)
{
	for (int i = 0; i < s->nf; i++) {
		struct flow *f = &s->f[i];
		struct node *n = &s->n[f->src];
		if (!n->tp)
			continue;
		while (f->outstanding < f->max_outstanding &&
		       f->next_send < f->count) {
			uint32_t idx = f->next_send;
			size_t len = f->sizes[idx];
			struct msgrec *m = f->pending;
			if (!m || m->idx != idx || m->gen != f->gen) {
				if (m) {
					free(m->buf);
					free(m);
				}
				m = malloc(sizeof *m);
				m->f = f;
				m->idx = idx;
				m->gen = f->gen;
				m->buf = make_msg(s, f, idx, len);
			}
			f->pending = NULL;
			/* Every other message brings its own record, so both
			 * ways of queueing see loss, resets and failures. */
			unsigned dst = s->n[f->dst].num;
			int r;
			if (idx & 1)
				r = link_tp_send_msg(n->tp, dst, f->chan,
						     &m->tm, m->buf, len, m,
						     s->now);
			else
				r = link_tp_send(n->tp, dst, f->chan, m->buf,
						 len, m, s->now);
			if (r) {
				f->pending = m;
				if (r != -EHOSTDOWN && r != -ENOBUFS)
					FAIL(s, "link_tp_send: %d", r);
				break;
			}
			f->submit_t[idx] = s->now;
			f->next_send++;
			f->outstanding++;
		}
	}
}

static bool flows_done(const struct sim *s)
{
	for (int i = 0; i < s->nf; i++) {
		const struct flow *f = &s->f[i];
		if (f->next_send < f->count || f->outstanding)
			return false;
		if (!f->loose && f->next_recv < f->count)
			return false;
	}
	return true;
}

static void check_bounds(struct sim *s)
{
	uint32_t w = s->cfg.window ? s->cfg.window : 64;
	for (int i = 0; i < s->nn; i++) {
		struct node *n = &s->n[i];
		if (!n->tp)
			continue;
		for (int j = 0; j < s->nn; j++) {
			if (j == i)
				continue;
			struct link_peer_info pi;
			link_tp_peer_info(n->tp, s->n[j].num, &pi);
			if (pi.reasm_bytes > (48u << 20))
				FAIL(s, "node %u: %llu reassembly bytes",
				     n->num,
				     (unsigned long long)pi.reasm_bytes);
			for (unsigned c = 0; c < LINK_CHANNELS; c++) {
				struct link_chan_info ci;
				if (link_tp_chan_info(n->tp, s->n[j].num, c,
						      &ci))
					continue;
				if (ci.inflight > w || ci.inflight_max > w)
					FAIL(s, "node %u: %u frames in flight",
					     n->num, ci.inflight);
			}
		}
		/* engine memory: reassembly plus sessions and descriptors */
		const struct link_stats *st = link_tp_stats(n->tp);
		if (n->mem > (int64_t)st->reasm_bytes + (4 << 20))
			FAIL(s, "node %u: %lld bytes held, %llu reassembly",
			     n->num, (long long)n->mem,
			     (unsigned long long)st->reasm_bytes);
	}
}

static void dump_chan(struct sim *s, struct node *n, unsigned peer, unsigned c)
{
	struct link_chan_info ci;
	if (link_tp_chan_info(n->tp, peer, c, &ci) ||
	    !(ci.snd_nxt || ci.rcv_nxt))
		return;
	long long rto = ci.rto_at_ns ? (long long)(ci.rto_at_ns - s->now) : -1;
	printf("#   chan %u: una %u nxt %u queued %u rcv_nxt %u backoff %u "
	       "reorder %u rto in %lld ns\n",
	       c, ci.snd_una, ci.snd_nxt, ci.queued, ci.rcv_nxt, ci.backoff,
	       ci.reorder, rto);
}

/* What is stuck, printed when a run times out. */
static void dump(struct sim *s)
{
	for (int i = 0; i < s->nf; i++) {
		struct flow *f = &s->f[i];
		printf("# flow %d: %d->%d chan %u: sent %u/%u, outstanding %u, "
		       "received %u\n",
		       i, f->src + 1, f->dst + 1, f->chan, f->next_send,
		       f->count, f->outstanding, f->next_recv);
	}
	for (int i = 0; i < s->nn; i++) {
		struct node *n = &s->n[i];
		if (!n->tp)
			continue;
		for (int j = 0; j < s->nn; j++) {
			struct link_peer_info pi;
			if (j == i)
				continue;
			link_tp_peer_info(n->tp, s->n[j].num, &pi);
			printf("# node %u sees %u: state %d session %u "
			       "rto %llu us srtt %llu us\n",
			       n->num, s->n[j].num, pi.state, pi.session,
			       (unsigned long long)pi.rto_ns / 1000,
			       (unsigned long long)pi.rtt_ns / 1000);
			for (unsigned c = 0; c < LINK_CHANNELS; c++)
				dump_chan(s, n, s->n[j].num, c);
		}
	}
}

typedef bool (*until_fn)(struct sim *s, void *arg);

/* Run the clock until `until` (or every flow is done when NULL) or the
 * virtual time limit; false on timeout. */
static bool sim_run_until(struct sim *s, uint64_t limit, until_fn until,
			  void *arg)
{
	uint64_t spins = 0;
	while (!s->failed[0]) {
		drive(s);
		if (until ? until(s, arg) : flows_done(s))
			return true;
		int who = -1;
		uint64_t t = s->nheap ? s->heap[0]->t : UINT64_MAX;
		for (int i = 0; i < s->nn; i++)
			if (s->n[i].tp && s->n[i].next_poll < t) {
				t = s->n[i].next_poll;
				who = i;
			}
		if (t > limit)
			return false;
		if (t > s->now)
			s->now = t;
		if (who >= 0) {
			struct node *n = &s->n[who];
			uint64_t next = link_tp_poll(n->tp, s->now);
			if (next <= s->now) {
				if (++spins > 1000000)
					FAIL(s, "node %u: poll spins", n->num);
				next = s->now + 1;
			}
			n->next_poll = next;
			continue;
		}
		struct ev *e = heap_pop(s);
		struct node *n = &s->n[e->dst];
		if (n->tp) {
			int r = link_tp_input(n->tp, e->data, e->len, s->now);
			if (r < 0 || r >= LINK_DROP_COUNT)
				FAIL(s, "link_tp_input returned %d", r);
			n->next_poll = s->now;
		}
		free(e);
		if (!(++s->events & 1023))
			check_bounds(s);
	}
	return false;
}

static bool sim_run(struct sim *s, uint64_t limit)
{
	return sim_run_until(s, limit, NULL, NULL);
}

static bool all_up(struct sim *s, void *arg)
{
	for (int i = 0; i < s->nn; i++)
		for (int j = 0; j < s->nn; j++)
			if (i != j && s->n[i].tp && s->n[j].tp &&
			    !s->n[i].peer_up[j])
				return false;
	return true;
}

static bool time_reached(struct sim *s, void *arg)
{
	return s->now >= *(uint64_t *)arg;
}

static void run_for(struct sim *s, uint64_t ns)
{
	uint64_t until = s->now + ns;
	sim_run_until(s, until, time_reached, &until);
}

#define SIM_CHECK(s)                                   \
	do {                                           \
		if ((s)->failed[0])                    \
			printf("# %s\n", (s)->failed); \
		CHECK(!(s)->failed[0]);                \
	} while (0)

static void report(struct sim *s, const char *what)
{
	uint64_t retx = 0, sent = 0, rto = 0, fast = 0, txerr = 0;
	for (int i = 0; i < s->nn; i++) {
		if (!s->n[i].tp)
			continue;
		const struct link_stats *st = link_tp_stats(s->n[i].tp);
		retx += st->retransmits;
		sent += st->data_sent;
		rto += st->rto_fired;
		fast += st->fast_retransmits;
		txerr += st->tx_errors;
	}
	printf("# %s: %.3f s virtual, %llu frames on the wire, %llu data "
	       "frames sent, %llu retransmitted (%llu timeouts, %llu fast), "
	       "%llu xmit errors\n",
	       what, (double)(s->now - SEC) / 1e9,
	       (unsigned long long)s->wire_frames, (unsigned long long)sent,
	       (unsigned long long)retx, (unsigned long long)rto,
	       (unsigned long long)fast, (unsigned long long)txerr);
}

/* ---------------------------------------------------------------- tests */

TEST(membership)
{
	struct sim s;
	sim_init(&s, 4, 1);
	sim_start(&s);
	uint64_t t0 = s.now;
	CHECK(sim_run_until(&s, t0 + 2 * SEC, all_up, NULL));
	CHECK(s.now - t0 <= 600 * MS);
	run_for(&s, 1 * SEC);
	for (int i = 0; i < 4; i++) {
		struct link_peer_info pi;
		link_tp_peer_info(s.n[i].tp, s.n[i].num, &pi);
		CHECK_EQ(pi.state, LINK_PEER_SELF);
		CHECK_EQ(pi.epoch, 1000 + i);
		for (int j = 0; j < 4; j++) {
			if (j == i)
				continue;
			link_tp_peer_info(s.n[i].tp, s.n[j].num, &pi);
			CHECK_EQ(pi.state, LINK_PEER_UP);
			CHECK(!memcmp(pi.mac, s.n[j].mac, 6));
			CHECK_EQ(pi.epoch, 1000 + j);
			CHECK_EQ(pi.speed, 1000 + s.n[j].num);
			CHECK_EQ(pi.load, 7 * s.n[j].num);
			CHECK(pi.hellos >= 2);
			CHECK(s.now - pi.last_heard_ns <= 500 * MS);
			CHECK_EQ(s.n[i].ups[j], 1);
		}
		link_tp_peer_info(s.n[i].tp, 40, &pi);
		CHECK_EQ(pi.state, LINK_PEER_UNKNOWN);
	}
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

/* Sizes 0 B - 16 MB on several channels at once at a given loss rate. */
static void sizes_run(unsigned loss, unsigned dup, uint64_t jitter, bool big,
		      uint64_t seed)
{
	struct sim s;
	sim_init(&s, 2, seed);
	s.loss = loss;
	s.dup = dup;
	s.jitter = jitter;
	s.cfg.dead_hellos = loss >= 200 ? 10 : 3;
	sim_start(&s);
	static const size_t sizes[] = {0, 1, 1024, 65536, 1 << 20};
	for (int d = 0; d < 2; d++)
		for (unsigned c = 0; c < LINK_CHANNELS; c++) {
			bool with_big = big && d == 0 && c == LINK_CHAN_BULK;
			struct flow *f = add_flow(&s, d, 1 - d, c,
						  with_big ? 11 : 10, 0);
			for (uint32_t i = 0; i < 10; i++)
				f->sizes[i] = sizes[(i + c + 2 * d) % 5];
			if (with_big)
				f->sizes[10] = 16u << 20;
		}
	bool done = sim_run(&s, s.now + 600 * SEC);
	char what[64];
	snprintf(what, sizeof what, "loss %u%%%s", loss / 10,
		 big ? " + 16 MB" : "");
	report(&s, what);
	if (!done)
		FAIL(&s, "not done by the time limit");
	sim_fini(&s);
	if (s.failed[0])
		printf("# %s\n", s.failed);
	unit_failed_now |= s.failed[0] != 0;
}

TEST(sizes_no_loss)
{
	sizes_run(0, 0, 0, true, 2);
}

TEST(loss_1pct)
{
	sizes_run(10, 0, 0, false, 3);
}

TEST(loss_10pct_16mb)
{
	sizes_run(100, 0, 0, true, 4);
}

TEST(loss_30pct)
{
	sizes_run(300, 0, 0, heavy(), 5);
}

TEST(dup_reorder_delay)
{
	struct sim s;
	sim_init(&s, 3, 6);
	s.dup = 100;
	s.jitter = 400000; /* 0.4 ms: many frames overtake each other */
	s.delay = 2 * MS;
	s.loss = 20;
	sim_start(&s);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			if (i != j) {
				add_flow(&s, i, j, LINK_CHAN_RPC, 40, 100);
				add_flow(&s, i, j, LINK_CHAN_BULK, 4, 200000);
			}
	CHECK(sim_run(&s, s.now + 120 * SEC));
	report(&s, "dup 10%, reorder, 2 ms delay");
	uint64_t dups = 0;
	for (int i = 0; i < 3; i++)
		dups += link_tp_stats(s.n[i].tp)->drop[LINK_DROP_DUPLICATE];
	CHECK(dups > 100);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

TEST(truncated_frames)
{
	struct sim s;
	sim_init(&s, 2, 7);
	s.trunc = 50;
	sim_start(&s);
	add_flow(&s, 0, 1, LINK_CHAN_BULK, 3, 300000);
	add_flow(&s, 1, 0, LINK_CHAN_RPC, 50, 700);
	CHECK(sim_run(&s, s.now + 60 * SEC));
	const struct link_stats *a = link_tp_stats(s.n[0].tp),
				*b = link_tp_stats(s.n[1].tp);
	CHECK(a->drop[LINK_DROP_BAD_LENGTH] + a->drop[LINK_DROP_RUNT] > 0);
	CHECK(b->drop[LINK_DROP_BAD_LENGTH] + b->drop[LINK_DROP_RUNT] > 10);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

static void key_bytes(uint8_t *k, uint8_t base)
{
	for (int i = 0; i < 16; i++)
		k[i] = (uint8_t)(base + 3 * i);
}

TEST(corrupted_frames_keyed)
{
	struct sim s;
	sim_init(&s, 2, 8);
	s.keyed = true;
	key_bytes(s.key, 9);
	s.corrupt = 50;
	s.trunc = 10;
	s.loss = 20;
	sim_start(&s);
	add_flow(&s, 0, 1, LINK_CHAN_BULK, 2, 1 << 20);
	add_flow(&s, 1, 0, LINK_CHAN_RPC, 60, 300);
	add_flow(&s, 0, 1, LINK_CHAN_INFO, 60, 16);
	CHECK(sim_run(&s, s.now + 60 * SEC));
	const struct link_stats *b = link_tp_stats(s.n[1].tp);
	CHECK(b->drop[LINK_DROP_BAD_TAG] > 20);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

/* Node 2 reboots in the middle of transfers both ways. */
TEST(peer_reboot)
{
	struct sim s;
	sim_init(&s, 2, 9);
	s.loss = 10;
	sim_start(&s);
	CHECK(sim_run_until(&s, s.now + 2 * SEC, all_up, NULL));
	struct flow *ab = add_flow(&s, 0, 1, LINK_CHAN_BULK, 200, 100000);
	struct flow *ar = add_flow(&s, 0, 1, LINK_CHAN_RPC, 400, 64);
	struct flow *ba = add_flow(&s, 1, 0, LINK_CHAN_BULK, 40, 100000);
	struct flow *all[] = {ab, ar, ba};
	for (int k = 0; k < 3; k++) {
		all[k]->loose = true;
		all[k]->allowed_err[0] = -ECONNRESET;
		all[k]->allowed_err[1] = -ESHUTDOWN;
	}
	ar->max_outstanding = 16;
	run_for(&s, 30 * MS);
	SIM_CHECK(&s);
	CHECK(ab->delivered > 0 && ab->next_send < ab->count);
	uint32_t before_ok = ab->done_ok + ar->done_ok;
	/* reboot: the old engine vanishes, its frames stay on the wire */
	node_halt(&s, 1);
	/* the new node must not see old data; node 1 may still get what
	 * the old node 2 sent before it died */
	for (int k = 0; k < 2; k++) {
		all[k]->last_idx = -1;
		all[k]->gen_min = 1;
	}
	ab->gen = ar->gen = 1;
	ba->gen = 1;
	run_for(&s, 1 * MS);
	node_boot(&s, 1, 5000);
	uint64_t t0 = s.now;
	CHECK(sim_run_until(&s, t0 + 2 * SEC, all_up, NULL));
	CHECK(s.n[0].peer_epoch[1] == 5000);
	CHECK_EQ(s.n[0].downs[1], 1); /* down (old epoch), then up */
	CHECK_EQ(s.n[0].ups[1], 2);
	CHECK(sim_run(&s, s.now + 120 * SEC));
	report(&s, "reboot");
	CHECK(ab->done_err > 0);
	CHECK(ab->done_ok + ar->done_ok > before_ok);
	CHECK(ab->delivered > 0 && ba->delivered > 0);
	CHECK(link_tp_stats(s.n[0].tp)->resets >= 1);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

/* Node 3 falls silent: the others see it down within dead_hellos hellos
 * plus one, every waiter gets -EHOSTDOWN; it comes back and works. */
TEST(peer_silent)
{
	struct sim s;
	sim_init(&s, 3, 10);
	sim_start(&s);
	CHECK(sim_run_until(&s, s.now + 2 * SEC, all_up, NULL));
	struct flow *to3 = add_flow(&s, 0, 2, LINK_CHAN_BULK, 30, 1 << 20);
	struct flow *to3r = add_flow(&s, 1, 2, LINK_CHAN_RPC, 20000, 100);
	struct flow *from3 = add_flow(&s, 2, 0, LINK_CHAN_RPC, 20000, 100);
	to3->allowed_err[0] = to3r->allowed_err[0] = -EHOSTDOWN;
	from3->allowed_err[0] = -EHOSTDOWN;
	to3->loose = to3r->loose = from3->loose = true;
	to3->max_outstanding = 3;
	to3r->max_outstanding = 50;
	from3->max_outstanding = 50;
	run_for(&s, 20 * MS);
	/* cut node 3 off both ways */
	for (int i = 0; i < 2; i++)
		s.cut[i][2] = s.cut[2][i] = true;
	uint64_t t0 = s.now;
	uint32_t out1 = to3->outstanding, out2 = to3r->outstanding;
	CHECK(out1 > 0 && out2 > 0);
	uint32_t err1 = to3->done_err, err2 = to3r->done_err;
	run_for(&s, 2 * SEC);
	uint64_t bound = 3 * 500 * MS + 500 * MS;
	for (int i = 0; i < 2; i++) {
		CHECK(!s.n[i].peer_up[2]);
		CHECK_EQ(s.n[i].downs[2], 1);
		CHECK(s.n[i].down_at[2] - t0 <= bound);
		printf("# node %d saw node 3 down after %.0f ms\n", i + 1,
		       (double)(s.n[i].down_at[2] - t0) / 1e6);
	}
	CHECK(!s.n[2].peer_up[0] && !s.n[2].peer_up[1]);
	/* every waiter failed (the driver resubmits only once it is up) */
	CHECK(to3->done_err - err1 >= out1);
	CHECK(to3r->done_err - err2 >= out2);
	CHECK_EQ(to3->outstanding, 0);
	struct link_peer_info pi;
	link_tp_peer_info(s.n[0].tp, 3, &pi);
	CHECK_EQ(pi.state, LINK_PEER_DOWN);
	CHECK_EQ(pi.queued, 0);
	/* heal */
	for (int i = 0; i < 2; i++)
		s.cut[i][2] = s.cut[2][i] = false;
	CHECK(sim_run_until(&s, s.now + 2 * SEC, all_up, NULL));
	CHECK_EQ(s.n[0].ups[2], 2);
	CHECK(sim_run(&s, s.now + 300 * SEC));
	CHECK(to3->done_ok > 0 && from3->done_ok > 0);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

/* Frames from node 2 to node 1 vanish long enough for node 1 to declare it
 * down; node 2 still hears node 1 and never sees it go down. When the link
 * heals, the session numbers make node 2 reset too. */
TEST(one_way_partition)
{
	struct sim s;
	sim_init(&s, 2, 11);
	sim_start(&s);
	CHECK(sim_run_until(&s, s.now + 2 * SEC, all_up, NULL));
	struct flow *ab = add_flow(&s, 0, 1, LINK_CHAN_RPC, 3000, 200);
	struct flow *ba = add_flow(&s, 1, 0, LINK_CHAN_BULK, 3000, 20000);
	ab->loose = ba->loose = true;
	ab->allowed_err[0] = -EHOSTDOWN;
	ba->allowed_err[0] = -ECONNRESET;
	run_for(&s, 50 * MS);
	s.cut[1][0] = true;
	run_for(&s, 2500 * MS);
	CHECK(!s.n[0].peer_up[1]);
	CHECK(s.n[1].peer_up[0]);
	CHECK(ba->outstanding > 0);
	s.cut[1][0] = false;
	CHECK(sim_run(&s, s.now + 300 * SEC));
	CHECK(ba->done_err > 0);
	CHECK_EQ(s.n[1].downs[0], 0);
	CHECK(ab->done_ok > 0 && ba->done_ok > 0);
	struct link_peer_info pi;
	link_tp_peer_info(s.n[1].tp, 1, &pi);
	CHECK_EQ(pi.session, 1);
	CHECK(link_tp_stats(s.n[1].tp)->resets >= 1);
	/* Both ends count the reset against the other, s.n[1] too, which
	 * never saw s.n[0] down: what a caller waiting on an answer reads
	 * to know its message may be gone (mosix/mig.c, mig_syscall). */
	CHECK(pi.resets >= 1);
	link_tp_peer_info(s.n[0].tp, s.n[1].num, &pi);
	CHECK(pi.resets >= 1);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

/* A short RPC is not held up by a 16 MB transfer on BULK. */
TEST(channels_independent)
{
	struct sim s;
	sim_init(&s, 2, 12);
	sim_start(&s);
	CHECK(sim_run_until(&s, s.now + 2 * SEC, all_up, NULL));
	/* idle latency first */
	struct flow *idle = add_flow(&s, 0, 1, LINK_CHAN_INFO, 20, 100);
	idle->max_outstanding = 1;
	CHECK(sim_run(&s, s.now + 10 * SEC));
	struct flow *bulk = add_flow(&s, 0, 1, LINK_CHAN_BULK, 1, 16u << 20);
	bulk->max_outstanding = 1;
	run_for(&s, 5 * MS);
	struct flow *rpc = add_flow(&s, 0, 1, LINK_CHAN_RPC, 50, 100);
	rpc->max_outstanding = 1;
	uint64_t t0 = s.now;
	while (rpc->delivered < rpc->count && s.now < t0 + 60 * SEC &&
	       !s.failed[0])
		run_for(&s, 1 * MS);
	CHECK(bulk->next_recv == 0); /* the bulk message is still going */
	CHECK(sim_run(&s, s.now + 60 * SEC));
	/* the RPC waits behind at most the NIC queue of one BULK window */
	uint64_t window_time = 64 * 1514 * s.ns_per_byte;
	printf("# RPC latency idle %.0f us, beside 16 MB bulk %.0f us "
	       "(one bulk window on the wire: %.0f us)\n",
	       (double)idle->max_latency / 1e3, (double)rpc->max_latency / 1e3,
	       (double)window_time / 1e3);
	CHECK(rpc->max_latency <= idle->max_latency + window_time + 100000);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

/* Small window on one side, three big messages at once: frames in flight
 * never exceed min(window, peer's window); reassembly memory stays under
 * reasm_max (two 16 MB messages fill it; the third waits). */
TEST(flow_control_bounds)
{
	struct sim s;
	sim_init(&s, 2, 13);
	s.loss = 20;
	s.cfg.reasm_max = 32u << 20;
	sim_start(&s);
	/* node 2 receives with a window of 8 */
	node_halt(&s, 1);
	struct link_config small = s.cfg;
	small.window = 8;
	struct link_config save = s.cfg;
	s.cfg = small;
	node_boot(&s, 1, 2000);
	s.cfg = save;
	CHECK(sim_run_until(&s, s.now + 2 * SEC, all_up, NULL));
	add_flow(&s, 0, 1, LINK_CHAN_BULK, 1, 16u << 20)->max_outstanding = 1;
	add_flow(&s, 0, 1, LINK_CHAN_TEST, 1, 16u << 20)->max_outstanding = 1;
	add_flow(&s, 0, 1, LINK_CHAN_INFO, 4, 1 << 20)->max_outstanding = 4;
	add_flow(&s, 1, 0, LINK_CHAN_BULK, 2, 1 << 20);
	CHECK(sim_run(&s, s.now + 600 * SEC));
	for (unsigned c = 0; c < LINK_CHANNELS; c++) {
		struct link_chan_info ci;
		CHECK_EQ(link_tp_chan_info(s.n[0].tp, 2, c, &ci), 0);
		CHECK(ci.inflight_max <= 8);
		CHECK_EQ(link_tp_chan_info(s.n[1].tp, 1, c, &ci), 0);
		CHECK(ci.inflight_max <= 8);
	}
	const struct link_stats *b = link_tp_stats(s.n[1].tp);
	printf("# receiver reassembly peak %llu bytes, %llu frames refused "
	       "for the bound; node memory peak %lld\n",
	       (unsigned long long)b->reasm_bytes_max,
	       (unsigned long long)b->drop[LINK_DROP_REASM_LIMIT],
	       (long long)s.n[1].mem_peak);
	CHECK(b->reasm_bytes_max <= 32u << 20);
	CHECK(b->drop[LINK_DROP_REASM_LIMIT] > 0);
	CHECK(s.n[1].mem_peak <= (32 << 20) + (1 << 20));
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

/* The NIC queue overflows (xmit fails) and alloc fails at random. */
TEST(xmit_and_alloc_failures)
{
	struct sim s;
	sim_init(&s, 2, 14);
	s.txq_ns = 100000; /* about 8 full frames */
	s.alloc_fail = 30;
	s.cfg.window = 128;
	sim_start(&s);
	add_flow(&s, 0, 1, LINK_CHAN_BULK, 4, 1 << 20);
	add_flow(&s, 1, 0, LINK_CHAN_RPC, 200, 1000);
	add_flow(&s, 0, 1, LINK_CHAN_TEST, 100, 0);
	CHECK(sim_run(&s, s.now + 120 * SEC));
	CHECK(s.n[0].tx_full > 0);
	CHECK(link_tp_stats(s.n[0].tp)->tx_errors > 0);
	CHECK(link_tp_stats(s.n[0].tp)->drop[LINK_DROP_NO_MEMORY] +
		      link_tp_stats(s.n[1].tp)->drop[LINK_DROP_NO_MEMORY] >
	      0);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

static bool peer_seen(struct sim *s, void *arg)
{
	int *ij = arg;
	return s->n[ij[0]].peer_up[ij[1]];
}

/* Nodes 1 and 2 share a key, node 3 has another: 3 is never seen up, its
 * frames count as bad tags, 1 and 2 work. */
TEST(key_mismatch)
{
	struct sim s;
	sim_init(&s, 3, 15);
	s.keyed = true;
	key_bytes(s.key, 1);
	for (int i = 0; i < 2; i++)
		node_boot(&s, i, 1000 + (uint64_t)i);
	key_bytes(s.key, 2);
	node_boot(&s, 2, 1002);
	key_bytes(s.key, 1);
	add_flow(&s, 0, 1, LINK_CHAN_RPC, 20, 500);
	add_flow(&s, 1, 0, LINK_CHAN_BULK, 2, 100000);
	CHECK(sim_run(&s, s.now + 10 * SEC));
	run_for(&s, 2 * SEC);
	for (int i = 0; i < 2; i++) {
		CHECK(!s.n[i].peer_up[2]);
		CHECK(!s.n[2].peer_up[i]);
		CHECK(link_tp_stats(s.n[i].tp)->drop[LINK_DROP_BAD_TAG] >= 4);
	}
	CHECK(s.n[0].peer_up[1] && s.n[1].peer_up[0]);
	/* a node without any key refuses tagged frames, and vice versa */
	node_halt(&s, 2);
	s.keyed = false;
	node_boot(&s, 2, 1003);
	int ij[2] = {2, 0};
	CHECK(!sim_run_until(&s, s.now + 2 * SEC, peer_seen, ij));
	CHECK(link_tp_stats(s.n[2].tp)->drop[LINK_DROP_BAD_TAG] >= 4);
	CHECK(link_tp_stats(s.n[0].tp)->drop[LINK_DROP_BAD_TAG] >= 8);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

static int inject(struct sim *s, int dst, const uint8_t *f, size_t len)
{
	uint8_t *copy = malloc(len);
	memcpy(copy, f, len);
	int r = link_tp_input(s->n[dst].tp, copy, len, s->now);
	free(copy);
	return r;
}

/* With a key: every captured frame replayed later is refused and causes
 * no second delivery; a tampered byte anywhere is a bad tag. */
TEST(replay_and_tamper_keyed)
{
	struct sim s;
	sim_init(&s, 2, 16);
	s.keyed = true;
	key_bytes(s.key, 5);
	sim_start(&s);
	CHECK(sim_run_until(&s, s.now + 2 * SEC, all_up, NULL));
	s.capturing = true;
	struct flow *ab = add_flow(&s, 0, 1, LINK_CHAN_RPC, 30, 2000);
	struct flow *ba = add_flow(&s, 1, 0, LINK_CHAN_BULK, 3, 5000);
	CHECK(sim_run(&s, s.now + 10 * SEC));
	run_for(&s, 1200 * MS); /* hellos too */
	s.capturing = false;
	CHECK(s.ncap > 40);
	uint32_t got_ab = ab->delivered, got_ba = ba->delivered;
	const struct link_stats *st1 = link_tp_stats(s.n[1].tp);
	uint64_t hellos_before = st1->drop[LINK_DROP_REPLAY];
	size_t replayed = 0;
	for (size_t k = 0; k < s.ncap; k++) {
		struct capture *c = &s.cap[k];
		int dst = 1 - c->src;
		int r = inject(&s, dst, c->data, c->len);
		CHECK(r != 0);
		CHECK(r == LINK_DROP_DUPLICATE || r == LINK_DROP_REPLAY ||
		      r == LINK_DROP_STALE_SESSION);
		replayed++;
		/* a flipped bit anywhere after the destination MAC: bad tag
		 * (or refused before the tag is looked at) */
		size_t at = 6 + (size_t)(rnd(&s) % (c->len - 6));
		c->data[at] ^= (uint8_t)(1u << (rnd(&s) % 8));
		r = inject(&s, dst, c->data, c->len);
		CHECK(r == LINK_DROP_BAD_TAG || r == LINK_DROP_BAD_MAGIC ||
		      r == LINK_DROP_BAD_TYPE || r == LINK_DROP_BAD_LENGTH);
	}
	CHECK(st1->drop[LINK_DROP_REPLAY] > hellos_before);
	run_for(&s, 500 * MS);
	CHECK_EQ(ab->delivered, got_ab);
	CHECK_EQ(ba->delivered, got_ba);
	printf("# %zu frames replayed, all refused\n", replayed);
	/* new traffic still works */
	struct flow *more = add_flow(&s, 0, 1, LINK_CHAN_INFO, 10, 100);
	CHECK(sim_run(&s, s.now + 10 * SEC));
	CHECK_EQ(more->delivered, 10);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

/* link_tp_peer_reset: pending sends fail with -ESHUTDOWN, the peer's with
 * -ECONNRESET, and new messages flow afterwards. */
TEST(peer_reset_api)
{
	struct sim s;
	sim_init(&s, 2, 17);
	sim_start(&s);
	CHECK(sim_run_until(&s, s.now + 2 * SEC, all_up, NULL));
	struct flow *ab = add_flow(&s, 0, 1, LINK_CHAN_BULK, 20, 300000);
	struct flow *ba = add_flow(&s, 1, 0, LINK_CHAN_BULK, 20, 300000);
	ab->loose = ba->loose = true;
	ab->allowed_err[0] = -ESHUTDOWN;
	ba->allowed_err[0] = -ECONNRESET;
	run_for(&s, 8 * MS);
	CHECK(ab->outstanding > 0 && ba->outstanding > 0);
	link_tp_peer_reset(s.n[0].tp, 2);
	CHECK_EQ(ab->outstanding, 0);
	CHECK(ab->done_err > 0);
	CHECK(sim_run(&s, s.now + 60 * SEC));
	CHECK(ba->done_err > 0);
	CHECK(ab->delivered > 0 && ba->delivered > 0);
	CHECK(s.n[0].peer_up[1] && s.n[1].peer_up[0]);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

/* A node that could not run its engine for 3 s (busy elsewhere) does not
 * hold the gap against its peers when it polls again; a peer that then
 * stays silent is still down within the usual time. */
TEST(late_poll_is_not_peer_silence)
{
	struct sim s;
	sim_init(&s, 2, 21);
	sim_start(&s);
	CHECK(sim_run_until(&s, s.now + 2 * SEC, all_up, NULL));
	struct link_tp *tp = s.n[0].tp;
	struct link_peer_info pi;
	uint64_t t = s.now + 3 * SEC;
	link_tp_poll(tp, t);
	link_tp_peer_info(tp, 2, &pi);
	CHECK_EQ(pi.state, LINK_PEER_UP);
	CHECK_EQ(link_tp_stats(tp)->stalls, 1);
	/* polled on time from now on, nothing heard: down after 3 hellos */
	uint64_t hello = 500 * MS, down_at = 0;
	for (int k = 1; k <= 8 && !down_at; k++) {
		link_tp_poll(tp, t + (uint64_t)k * hello);
		link_tp_peer_info(tp, 2, &pi);
		if (pi.state == LINK_PEER_DOWN)
			down_at = (uint64_t)k * hello;
	}
	CHECK(down_at >= 3 * hello && down_at <= 4 * hello);
	CHECK_EQ(link_tp_stats(tp)->stalls, 1);
	sim_fini(&s);
}

TEST(send_errors_and_raw)
{
	struct sim s;
	sim_init(&s, 2, 18);
	s.cfg.queue_max = 3;
	sim_start(&s);
	struct link_tp *tp = s.n[0].tp;
	uint8_t b[8] = {0};
	CHECK_EQ(link_tp_send(tp, 1, 0, b, 8, NULL, s.now), -EINVAL); /* self */
	CHECK_EQ(link_tp_send(tp, 64, 0, b, 8, NULL, s.now), -EINVAL);
	CHECK_EQ(link_tp_send(tp, 2, 4, b, 8, NULL, s.now), -EINVAL);
	CHECK_EQ(link_tp_send(tp, 2, 0, NULL, 8, NULL, s.now), -EINVAL);
	CHECK_EQ(link_tp_send(tp, 2, 0, b, LINK_MSG_MAX + 1, NULL, s.now),
		 -EMSGSIZE);
	CHECK_EQ(link_tp_send(tp, 2, 0, b, 8, NULL, s.now), -EHOSTDOWN);
	CHECK_EQ(link_tp_send(tp, 5, 0, b, 8, NULL, s.now), -EHOSTDOWN);
	struct link_tp_msg tm;
	CHECK_EQ(link_tp_send_msg(tp, 1, 0, &tm, b, 8, NULL, s.now), -EINVAL);
	CHECK_EQ(link_tp_send_msg(tp, 2, 0, &tm, b, 8, NULL, s.now),
		 -EHOSTDOWN);
	CHECK_EQ(link_tp_send_raw(tp, 2, 100, 1), -EHOSTDOWN);
	CHECK(sim_run_until(&s, s.now + 2 * SEC, all_up, NULL));
	/* queue limit: the driver sees -ENOBUFS and waits */
	struct flow *f = add_flow(&s, 0, 1, LINK_CHAN_RPC, 30, 0);
	f->max_outstanding = 10;
	drive(&s);
	CHECK_EQ(f->outstanding, 3);
	CHECK(sim_run(&s, s.now + 10 * SEC));
	CHECK_EQ(f->delivered, 30);
	/* raw frames: counted, never delivered */
	size_t max = link_tp_raw_max(tp);
	CHECK_EQ(max, 1500 - LINK_HDR_LEN);
	CHECK_EQ(link_tp_send_raw(tp, 2, max + 1, 0), -EMSGSIZE);
	CHECK_EQ(link_tp_send_raw(tp, 1, 10, 0), -EINVAL);
	for (uint32_t i = 0; i < 10; i++)
		CHECK_EQ(link_tp_send_raw(tp, 2, i * 100, 77 + i), 0);
	run_for(&s, 10 * MS);
	struct link_peer_info pi;
	link_tp_peer_info(s.n[1].tp, 1, &pi);
	CHECK_EQ(pi.raw_rx_frames, 10);
	CHECK_EQ(pi.raw_rx_bytes, 4500);
	CHECK_EQ(pi.raw_last_seq, 86);
	CHECK_EQ(link_tp_stats(s.n[1].tp)->raw_rx_frames, 10);
	/* An echo request comes straight back, same seq; the answer is
	 * reported, not echoed again. */
	CHECK_EQ(link_tp_send_raw_echo(tp, 2, 64, 4242), 0);
	CHECK_EQ(link_tp_send_raw_echo(tp, 2, max + 1, 0), -EMSGSIZE);
	run_for(&s, 10 * MS);
	CHECK_EQ(s.n[0].echoes, 1);
	CHECK_EQ(s.n[0].echo_last_seq, 4242);
	CHECK_EQ(s.n[0].echo_from, 2);
	CHECK_EQ(s.n[1].echoes, 0);
	link_tp_peer_info(s.n[1].tp, 1, &pi);
	CHECK_EQ(pi.raw_rx_frames, 11);
	CHECK_EQ(link_tp_self(tp), 1);
	CHECK_STR(link_drop_name(LINK_DROP_BAD_TAG), "bad tag");
	CHECK_STR(link_drop_name(LINK_DROP_COUNT), "?");
	for (int d = 0; d < LINK_DROP_COUNT; d++)
		CHECK(link_drop_name(d) != NULL);
	SIM_CHECK(&s);
	sim_fini(&s);
	SIM_CHECK(&s);
}

/* Random clusters, impairments, windows, MTUs and message mixes. */
TEST(seeded_batch)
{
	uint64_t seed = env_num("FUZZ_SEED", 1);
	unsigned cases = env_num("FUZZ_CASES", heavy() ? 100 : 12);
	for (unsigned c = env_num("FUZZ_FROM", 0); c < cases; c++) {
		struct sim s;
		uint64_t cs = seed * 7919 + c;
		sim_init(&s, 2 + (int)(cs % 3), cs);
		rnd(&s);
		unsigned mode = (unsigned)(rnd(&s) % 4);
		s.loss = mode == 0 ? 0 : (unsigned)(rnd(&s) % (mode * 100));
		s.dup = (unsigned)(rnd(&s) % 60);
		s.jitter = rnd(&s) % 500000;
		s.delay = 10000 + rnd(&s) % 2000000;
		s.trunc = (unsigned)(rnd(&s) % 20);
		s.alloc_fail = (unsigned)(rnd(&s) % 3 == 0 ? rnd(&s) % 30 : 0);
		s.keyed = rnd(&s) % 2;
		if (s.keyed) {
			key_bytes(s.key, (uint8_t)rnd(&s));
			s.corrupt = (unsigned)(rnd(&s) % 40);
		}
		static const uint32_t windows[] = {1, 2, 4, 16, 64, 128, 256};
		static const uint32_t mtus[] = {576, 1000, 1500, 9000};
		s.cfg.window = windows[rnd(&s) % 7];
		s.cfg.mtu = mtus[rnd(&s) % 4];
		s.cfg.ack_every = 1 + (uint32_t)(rnd(&s) % 8);
		s.cfg.dead_hellos = 30;
		sim_start(&s);
		unsigned nflows = 1 + (unsigned)(rnd(&s) % 8);
		for (unsigned k = 0; k < nflows; k++) {
			int a = (int)(rnd(&s) % (unsigned)s.nn);
			int b = (a + 1 +
				 (int)(rnd(&s) % (unsigned)(s.nn - 1))) %
				s.nn;
			unsigned ch = (unsigned)(rnd(&s) % LINK_CHANNELS);
			if (find_flow(&s, a, b, ch))
				continue;
			uint32_t count = 1 + (uint32_t)(rnd(&s) % 40);
			struct flow *f = add_flow(&s, a, b, ch, count, 0);
			f->max_outstanding = 1 + (uint32_t)(rnd(&s) % 8);
			for (uint32_t i = 0; i < count; i++) {
				unsigned kind = (unsigned)(rnd(&s) % 10);
				f->sizes[i] = kind < 5	 ? rnd(&s) % 200
					      : kind < 9 ? rnd(&s) % 20000
							 : rnd(&s) % 400000;
			}
		}
		bool done = sim_run(&s, s.now + 600 * SEC);
		if (!done) {
			dump(&s);
			FAIL(&s, "not done (loss %u, window %u, mtu %u)",
			     s.loss, s.cfg.window, s.cfg.mtu);
		}
		sim_fini(&s);
		if (s.failed[0]) {
			printf("# seed %llu case %u: %s\n",
			       (unsigned long long)seed, c, s.failed);
			unit_failed_now = 1;
			return;
		}
	}
}

/* unit_main with each test's CPU time. */
int main(void)
{
	int failed = 0;
	clock_t all = clock();
	printf("1..%d\n", unit_ntests);
	for (int i = 0; i < unit_ntests; i++) {
		clock_t t0 = clock();
		unit_failed_now = 0;
		unit_tests[i].fn();
		failed += unit_failed_now;
		printf("# %s: %.2f s\n", unit_tests[i].name,
		       (double)(clock() - t0) / CLOCKS_PER_SEC);
		printf("%sok %d - %s\n", unit_failed_now ? "not " : "", i + 1,
		       unit_tests[i].name);
	}
	printf("# total %.1f s\n", (double)(clock() - all) / CLOCKS_PER_SEC);
	return failed ? 1 : 0;
}
