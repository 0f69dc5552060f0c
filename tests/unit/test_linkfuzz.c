// SOURCES: mosix/link_tp.c mosix/siphash.c
/*
 * test_linkfuzz.c — the Linker's frame parser and validation
 * (mosix/link_tp.c) under hand-made and random frames.
 *
 * Two engines talk over a FIFO wire. wire_format builds frames with an
 * encoder written here from the format documented in docs/linker.md (an
 * oracle independent of the engine's own encoder) and checks the engine
 * accepts them and that its own frames decode the same way. drop_reasons
 * walks every enum link_drop value with a frame made to hit it.
 *
 * The seeded batches (fuzz_keyless, fuzz_keyed) first run traffic of every
 * kind (messages of 0 B to 20 KB on every channel both ways, raw frames)
 * and capture every frame, then leave a multi-fragment transfer half done
 * so that both engines hold in-flight frames and a partial reassembly.
 * Each case feeds one engine a frame in an exact-size heap buffer: random
 * bytes, a frame built from scratch, or a captured one with bytes flipped,
 * a header field set to a boundary value (zero, all ones, the current
 * rcv_nxt/snd_nxt plus or minus the window, LINK_MSG_MAX, the real epochs
 * and session), truncated, extended or spliced; its payload length is
 * often fixed up and, for the keyed insider, its tag recomputed, so the
 * frame reaches the deep checks. After every case the return value and the
 * counters must be consistent. Every 250 cases the engines must still work:
 * if no injected frame was accepted (or taken as a duplicate, whose ack
 * part counts), the half-done transfer must complete exactly, byte for
 * byte; otherwise (a forger with the key, or no key, can change state) the
 * sessions are reset (the engine whose table took a forged hello is
 * restarted) and then fresh messages must flow exactly. At the end all
 * engine memory must be returned.
 *
 * FUZZ_CASES (default 20000 per batch) and FUZZ_SEED (default 1) select
 * the batch; `make fuzz` runs a long random one. A failure prints the seed
 * and case number.
 */
#include "mosix/link_tp.h"
#include "mosix/siphash.h"
#include "tests/unit/unit.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define ETH 14
#define HDR 60

/* ---------------------------------------------------------------- encoder
 * Written from docs/linker.md, not from link_tp.c. */

struct fr {
	const uint8_t *dst_mac, *src_mac;
	uint8_t type, flags, src, dst, chan;
	uint64_t sepoch, depoch;
	uint32_t session, seq, ack;
	uint16_t window;
	uint64_t sack;
	uint32_t msg_seq, offset, total;
	const uint8_t *payload;
	size_t plen;
	const uint8_t *key; /* add the tag (and its flag) */
};

static void be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t rd(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void sign(uint8_t *f, size_t len, const uint8_t *key)
{
	struct siphash_key k;
	siphash_key_init(&k, key);
	be(f + len - 8, siphash24(&k, f + 6, len - 6 - 8), 8);
}

/* Encode into a fresh exact-size buffer; *len gets its length. */
static uint8_t *enc(const struct fr *r, size_t *len)
{
	size_t n = ETH + HDR + r->plen + (r->key ? 8 : 0);
	uint8_t *f = calloc(1, n);
	memcpy(f, r->dst_mac, 6);
	memcpy(f + 6, r->src_mac, 6);
	be(f + 12, 0x88B5, 2);
	uint8_t *h = f + ETH;
	be(h + 0, 0x4C4B, 2);
	h[2] = 1;
	h[3] = r->type;
	h[4] = r->flags | (r->key ? 0x01 : 0);
	h[5] = r->src;
	h[6] = r->dst;
	h[7] = r->chan;
	be(h + 8, r->sepoch, 8);
	be(h + 16, r->depoch, 8);
	be(h + 24, r->session, 4);
	be(h + 28, r->seq, 4);
	be(h + 32, r->ack, 4);
	be(h + 36, r->window, 2);
	be(h + 38, r->plen, 2);
	be(h + 40, r->sack, 8);
	be(h + 48, r->msg_seq, 4);
	be(h + 52, r->offset, 4);
	be(h + 56, r->total, 4);
	if (r->plen)
		memcpy(h + HDR, r->payload, r->plen);
	if (r->key)
		sign(f, n, r->key);
	*len = n;
	return f;
}

/* ---------------------------------------------------------------- harness */

struct harness;

struct eng {
	struct harness *h;
	int idx;
	unsigned num;
	uint8_t mac[6];
	uint64_t epoch;
	struct link_tp *tp;
	uint64_t next_poll;
	int64_t mem, blocks;
	bool fail_alloc;
	bool lenient; /* deliveries not checked (forged frames may deliver) */
	uint32_t seg_deliveries;
	uint32_t next_idx[LINK_CHANNELS]; /* outgoing message numbers */
	uint32_t expect[LINK_CHANNELS]; /* next number from the other */
	uint32_t gen; /* generation of the other's messages we accept */
	uint32_t delivered, sent_ok, sent_err, outstanding;
	bool up[LINK_MAX_NODES];
};

struct qframe {
	int dst;
	size_t len;
	uint8_t *d;
};

struct harness {
	struct eng e[2];
	uint64_t now, rng;
	struct qframe *q;
	size_t qhead, qtail, qcap;
	struct qframe *cap;
	size_t ncap, capcap;
	bool capturing;
	bool keyed;
	uint8_t key[16];
	struct link_config cfg;
	uint32_t gen; /* generation of messages sent now */
	char failed[240];
};

struct msg {
	struct eng *from;
	uint8_t *buf;
};

#define HFAIL(h, ...)                                                          \
	do {                                                                   \
		if (!(h)->failed[0])                                           \
			snprintf((h)->failed, sizeof(h)->failed, __VA_ARGS__); \
	} while (0)

static uint64_t rnd(struct harness *h)
{
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return h->rng;
}

static unsigned env_num(const char *name, unsigned def)
{
	const char *v = getenv(name);
	return v && *v ? (unsigned)strtoul(v, NULL, 0) : def;
}

static void qpush(struct harness *h, int dst, const void *d, size_t len)
{
	if (h->qtail == h->qcap) {
		if (h->qhead) {
			memmove(h->q, h->q + h->qhead,
				(h->qtail - h->qhead) * sizeof *h->q);
			h->qtail -= h->qhead;
			h->qhead = 0;
		}
		if (h->qtail == h->qcap) {
			h->qcap = h->qcap ? 2 * h->qcap : 256;
			h->q = realloc(h->q, h->qcap * sizeof *h->q);
		}
	}
	struct qframe *f = &h->q[h->qtail++];
	f->dst = dst;
	f->len = len;
	f->d = malloc(len);
	memcpy(f->d, d, len);
}

static int h_xmit(void *ctx, const void *frame, size_t len)
{
	struct eng *e = ctx;
	struct harness *h = e->h;
	const uint8_t *f = frame;
	if (h->capturing) {
		if (h->ncap == h->capcap) {
			h->capcap = h->capcap ? 2 * h->capcap : 256;
			h->cap = realloc(h->cap, h->capcap * sizeof *h->cap);
		}
		struct qframe *c = &h->cap[h->ncap++];
		c->dst = 1 - e->idx;
		c->len = len;
		c->d = malloc(len);
		memcpy(c->d, f, len);
	}
	int other = 1 - e->idx;
	if ((f[0] & 1) || !memcmp(f, h->e[other].mac, 6))
		qpush(h, other, f, len);
	return 0;
}

static void *h_alloc(void *ctx, size_t size)
{
	struct eng *e = ctx;
	if (e->fail_alloc)
		return NULL;
	size_t *p = malloc(sizeof(size_t) * 2 + size);
	p[0] = size;
	e->mem += (int64_t)size;
	e->blocks++;
	return p + 2;
}

static void h_free(void *ctx, void *ptr)
{
	struct eng *e = ctx;
	if (!ptr)
		return;
	size_t *p = (size_t *)ptr - 2;
	e->mem -= (int64_t)p[0];
	e->blocks--;
	free(p);
}

/* Legit messages: idx, generation, channel, then a pattern. */
#define MSG_HDR 12

static void fill(uint8_t *b, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (uint8_t)(seed >> 56);
	}
}

static uint64_t msg_seed(unsigned from, unsigned chan, uint32_t idx,
			 uint32_t gen)
{
	return ((uint64_t)from << 40) ^ ((uint64_t)chan << 32) ^
	       ((uint64_t)gen << 20) ^ idx;
}

static void h_deliver(void *ctx, unsigned node, unsigned chan, void *msg,
		      size_t len)
{
	struct eng *e = ctx;
	struct harness *h = e->h;
	uint8_t *m = msg;
	if (len && !m)
		HFAIL(h, "node %u: NULL message of %zu bytes", e->num, len);
	if (e->lenient) {
		e->seg_deliveries++;
	} else if (node != h->e[1 - e->idx].num || len < MSG_HDR) {
		HFAIL(h, "node %u: unexpected message from %u (%zu bytes)",
		      e->num, node, len);
	} else {
		uint32_t idx = (uint32_t)rd(m, 4), gen = (uint32_t)rd(m + 4, 4);
		uint8_t *want = malloc(len);
		fill(want, len - MSG_HDR, msg_seed(node, chan, idx, gen));
		if (idx != e->expect[chan] || gen != e->gen || m[8] != chan ||
		    memcmp(want, m + MSG_HDR, len - MSG_HDR))
			HFAIL(h,
			      "node %u chan %u: message %u gen %u, want %u gen "
			      "%u",
			      e->num, chan, idx, gen, e->expect[chan], e->gen);
		free(want);
		e->expect[chan] = idx + 1;
		e->delivered++;
	}
	h_free(ctx, msg);
}

static void h_sent(void *ctx, void *cookie, int status)
{
	struct eng *e = ctx;
	struct msg *m = cookie;
	if (m->from != e)
		HFAIL(e->h, "sent() on the wrong engine");
	if (status == 0) {
		e->sent_ok++;
	} else {
		if (!e->lenient)
			HFAIL(e->h, "node %u: sent() %d", e->num, status);
		e->sent_err++;
	}
	e->outstanding--;
	free(m->buf);
	free(m);
}

static void h_event(void *ctx, unsigned node, bool up, uint64_t epoch)
{
	struct eng *e = ctx;
	if (node >= LINK_MAX_NODES || node == e->num)
		HFAIL(e->h, "event for node %u", node);
	else
		e->up[node] = up;
}

static void boot(struct harness *h, int i, uint64_t epoch)
{
	struct eng *e = &h->e[i];
	struct link_env env = {
		.ctx = e,
		.xmit = h_xmit,
		.deliver = h_deliver,
		.sent = h_sent,
		.peer_event = h_event,
		.alloc = h_alloc,
		.free = h_free,
	};
	e->tp = malloc(link_tp_size());
	e->epoch = epoch;
	memset(e->up, 0, sizeof e->up);
	link_tp_init(e->tp, &env, &h->cfg, e->num, epoch, e->mac, h->now);
	if (h->keyed)
		link_tp_set_key(e->tp, h->key);
	e->next_poll = h->now;
}

static void halt(struct harness *h, int i)
{
	struct eng *e = &h->e[i];
	bool lenient = e->lenient;
	e->lenient = true; /* pending sends get -ESHUTDOWN */
	link_tp_fini(e->tp);
	e->lenient = lenient;
	free(e->tp);
	e->tp = NULL;
	if (e->mem || e->blocks)
		HFAIL(h, "node %u: %lld bytes in %lld blocks leaked", e->num,
		      (long long)e->mem, (long long)e->blocks);
}

static void h_init(struct harness *h, uint64_t seed, bool keyed)
{
	memset(h, 0, sizeof *h);
	h->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	h->now = 5 * SEC;
	h->keyed = keyed;
	for (int i = 0; i < 16; i++)
		h->key[i] = (uint8_t)(0xA0 + i);
	h->cfg.window = 16;
	for (int i = 0; i < 2; i++) {
		struct eng *e = &h->e[i];
		e->h = h;
		e->idx = i;
		e->num = (unsigned)(7 + 13 * i); /* 7 and 20 */
		uint8_t mac[6] = {0x02, 0, 0, 0, 0x10, (uint8_t)(0x40 + i)};
		memcpy(e->mac, mac, 6);
		boot(h, i, 100000 + (uint64_t)i);
	}
}

static void h_fini(struct harness *h)
{
	for (int i = 0; i < 2; i++)
		if (h->e[i].tp)
			halt(h, i);
	for (size_t i = h->qhead; i < h->qtail; i++)
		free(h->q[i].d);
	free(h->q);
	for (size_t i = 0; i < h->ncap; i++)
		free(h->cap[i].d);
	free(h->cap);
}

/* Deliver up to max queued frames (0 = all) and run due timers; advance
 * the clock to the next deadline when the wire is idle. */
static void step(struct harness *h, size_t max)
{
	size_t n = 0;
	while (h->qhead < h->qtail && (!max || n < max)) {
		struct qframe f = h->q[h->qhead++];
		struct eng *e = &h->e[f.dst];
		int r = link_tp_input(e->tp, f.d, f.len, h->now);
		if (r < 0 || r >= LINK_DROP_COUNT)
			HFAIL(h, "input returned %d", r);
		free(f.d);
		n++;
		h->now += 2000;
	}
	uint64_t next = UINT64_MAX;
	for (int i = 0; i < 2; i++) {
		struct eng *e = &h->e[i];
		if (e->next_poll <= h->now)
			e->next_poll = link_tp_poll(e->tp, h->now);
		if (e->next_poll < next)
			next = e->next_poll;
	}
	if (h->qhead == h->qtail && next > h->now)
		h->now = next;
}

static void run_ms(struct harness *h, uint64_t ms)
{
	uint64_t until = h->now + ms * MS;
	while (h->now < until && !h->failed[0])
		step(h, 0);
}

static bool send_msg(struct harness *h, int from, unsigned chan, size_t len)
{
	struct eng *e = &h->e[from];
	if (len < MSG_HDR)
		len = MSG_HDR;
	struct msg *m = malloc(sizeof *m);
	m->from = e;
	m->buf = malloc(len);
	uint32_t idx = e->next_idx[chan];
	be(m->buf, idx, 4);
	be(m->buf + 4, h->gen, 4);
	memset(m->buf + 8, 0, 4);
	m->buf[8] = (uint8_t)chan;
	fill(m->buf + MSG_HDR, len - MSG_HDR,
	     msg_seed(e->num, chan, idx, h->gen));
	int r = link_tp_send(e->tp, h->e[1 - from].num, chan, m->buf, len, m,
			     h->now);
	if (r) {
		free(m->buf);
		free(m);
		return false;
	}
	e->next_idx[chan]++;
	e->outstanding++;
	return true;
}

static bool both_up(struct harness *h)
{
	return h->e[0].up[h->e[1].num] && h->e[1].up[h->e[0].num];
}

static bool settle(struct harness *h, uint64_t ms)
{
	uint64_t until = h->now + ms * MS;
	while (h->now < until && !h->failed[0]) {
		step(h, 0);
		if (both_up(h) && !h->e[0].outstanding && !h->e[1].outstanding)
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- tests */

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* A frame to engine 1 as if from engine 0, fields filled for a session
 * at its start. */
static struct fr base_frame(struct harness *h, uint8_t type)
{
	struct eng *a = &h->e[0], *b = &h->e[1];
	struct fr r = {
		.dst_mac = b->mac,
		.src_mac = a->mac,
		.type = type,
		.src = (uint8_t)a->num,
		.dst = (uint8_t)b->num,
		.sepoch = a->epoch,
		.depoch = b->epoch,
		.window = 16,
	};
	return r;
}

static int feed(struct harness *h, int to, const struct fr *r)
{
	size_t len;
	uint8_t *f = enc(r, &len);
	int v = link_tp_input(h->e[to].tp, f, len, h->now);
	free(f);
	return v;
}

static uint8_t hello_body[20];

static struct fr hello_frame(struct harness *h, uint64_t ctr)
{
	struct fr r = base_frame(h, 1);
	r.dst_mac = bcast;
	r.dst = 0xFF;
	r.depoch = 0;
	be(hello_body, ctr, 8);
	be(hello_body + 8, 1234, 4);
	be(hello_body + 12, 5678, 4);
	be(hello_body + 16, 16, 4);
	r.payload = hello_body;
	r.plen = 20;
	return r;
}

/* Frames made by hand from the documented format are understood, and the
 * engine's own hello reads back as documented. */
TEST(wire_format)
{
	struct harness h;
	h_init(&h, 1, false);
	struct eng *a = &h.e[0], *b = &h.e[1];
	/* engine 0 is played by hand: a hello makes it known to engine 1 */
	struct fr hello = hello_frame(&h, 1);
	CHECK_EQ(feed(&h, 1, &hello), 0);
	CHECK(b->up[a->num]);
	struct link_peer_info pi;
	link_tp_peer_info(b->tp, a->num, &pi);
	CHECK_EQ(pi.speed, 1234);
	CHECK_EQ(pi.load, 5678);
	CHECK_EQ(pi.window, 16);
	CHECK(!memcmp(pi.mac, a->mac, 6));
	/* a 3-fragment message, out of order */
	uint8_t body[25];
	for (int i = 0; i < 25; i++)
		body[i] = (uint8_t)(i * 11);
	be(body, 0, 4);
	be(body + 4, 0, 4);
	memset(body + 8, 0, 4);
	body[8] = 2;
	fill(body + MSG_HDR, 25 - MSG_HDR, msg_seed(a->num, 2, 0, 0));
	struct fr d = base_frame(&h, 2);
	d.chan = 2;
	d.total = 25;
	d.msg_seq = 0;
	static const uint32_t order[3] = {2, 0, 1};
	for (int k = 0; k < 3; k++) {
		uint32_t s = order[k];
		d.seq = s;
		d.offset = 10 * s;
		d.plen = s == 2 ? 5 : 10;
		d.payload = body + d.offset;
		d.flags = s == 2 ? 0x02 : 0;
		CHECK_EQ(feed(&h, 1, &d), 0);
		CHECK_EQ(b->delivered, k == 2 ? 1 : 0);
	}
	/* a zero-length message next */
	d.seq = 3;
	d.msg_seq = 3;
	d.offset = 0;
	d.total = 0;
	d.plen = 0;
	d.flags = 0x02 | 0x04; /* LAST, ACKNOW */
	b->lenient = true;
	CHECK_EQ(feed(&h, 1, &d), 0);
	CHECK_EQ(b->seg_deliveries, 1);
	/* ACKNOW: engine 1 acknowledged at once, by the documented format */
	CHECK(h.qtail > h.qhead);
	struct qframe *last = &h.q[h.qtail - 1];
	const uint8_t *f = last->d;
	CHECK_EQ(last->len, ETH + HDR);
	CHECK(!memcmp(f, a->mac, 6) && !memcmp(f + 6, b->mac, 6));
	CHECK_EQ(rd(f + 12, 2), 0x88B5);
	CHECK_EQ(rd(f + ETH, 2), 0x4C4B);
	CHECK_EQ(f[ETH + 2], 1);
	CHECK_EQ(f[ETH + 3], 3); /* ACK */
	CHECK_EQ(f[ETH + 5], b->num);
	CHECK_EQ(f[ETH + 6], a->num);
	CHECK_EQ(f[ETH + 7], 2);
	CHECK_EQ(rd(f + ETH + 8, 8), b->epoch);
	CHECK_EQ(rd(f + ETH + 16, 8), a->epoch);
	CHECK_EQ(rd(f + ETH + 24, 4), 0);
	CHECK_EQ(rd(f + ETH + 32, 4), 4); /* ack: next expected */
	CHECK_EQ(rd(f + ETH + 36, 2), 16); /* window */
	CHECK_EQ(rd(f + ETH + 38, 2), 0);
	CHECK_EQ(rd(f + ETH + 40, 8), 0); /* sack */
	/* engine 1's hello */
	while (h.qhead < h.qtail)
		free(h.q[h.qhead++].d);
	link_tp_set_load(b->tp, 99, 42);
	link_tp_poll(b->tp, h.now);
	CHECK(h.qtail > h.qhead);
	f = h.q[h.qtail - 1].d;
	CHECK_EQ(h.q[h.qtail - 1].len, ETH + HDR + 20);
	CHECK(!memcmp(f, bcast, 6));
	CHECK_EQ(f[ETH + 3], 1);
	CHECK_EQ(f[ETH + 6], 0xFF);
	CHECK_EQ(rd(f + ETH + 38, 2), 20);
	CHECK_EQ(rd(f + ETH + HDR, 8), 1); /* first hello */
	CHECK_EQ(rd(f + ETH + HDR + 8, 4), 99);
	CHECK_EQ(rd(f + ETH + HDR + 12, 4), 42);
	CHECK_EQ(rd(f + ETH + HDR + 16, 4), 16);
	/* with a key: the tag covers the frame from the source MAC on */
	struct harness k;
	h_init(&k, 2, true);
	hello = hello_frame(&k, 1);
	hello.key = k.key;
	size_t len;
	uint8_t *fr = enc(&hello, &len);
	fr[0] ^= 1; /* the destination MAC is not covered */
	fr[0] ^= 1;
	CHECK_EQ(link_tp_input(k.e[1].tp, fr, len, k.now), 0);
	free(fr);
	CHECK(k.e[1].up[k.e[0].num]);
	h_fini(&k);
	CHECK(!k.failed[0]);
	h_fini(&h);
	if (h.failed[0])
		printf("# %s\n", h.failed);
	CHECK(!h.failed[0]);
}

/* Every drop reason, each by a frame made to hit it. */
TEST(drop_reasons)
{
	struct harness h;
	h_init(&h, 3, false);
	struct eng *a = &h.e[0], *b = &h.e[1];
	struct link_tp *tp = b->tp;
	size_t len;
	uint8_t *f;
	struct fr r;
#define EXPECT(frame, why)                                                 \
	do {                                                               \
		int got_ = feed(&h, 1, &(frame));                          \
		if (got_ != (why))                                         \
			printf("# line %d: got %s, want %s\n", __LINE__,   \
			       link_drop_name(got_), link_drop_name(why)); \
		CHECK_EQ(got_, (why));                                     \
	} while (0)

	/* runt */
	uint8_t small[ETH + HDR - 1] = {0};
	CHECK_EQ(link_tp_input(tp, small, sizeof small, h.now), LINK_DROP_RUNT);
	CHECK_EQ(link_tp_input(tp, NULL, 100, h.now), LINK_DROP_RUNT);
	/* header */
	r = hello_frame(&h, 1);
	f = enc(&r, &len);
	f[ETH] ^= 1;
	CHECK_EQ(link_tp_input(tp, f, len, h.now), LINK_DROP_BAD_MAGIC);
	f[ETH] ^= 1;
	f[ETH + 2] = 2;
	CHECK_EQ(link_tp_input(tp, f, len, h.now), LINK_DROP_BAD_MAGIC);
	f[ETH + 2] = 1;
	f[ETH + 4] = 0x80;
	CHECK_EQ(link_tp_input(tp, f, len, h.now), LINK_DROP_BAD_MAGIC);
	f[ETH + 4] = 0x08; /* DUP only on ACK */
	CHECK_EQ(link_tp_input(tp, f, len, h.now), LINK_DROP_BAD_MAGIC);
	f[ETH + 4] = 0;
	f[ETH + 3] = 0;
	CHECK_EQ(link_tp_input(tp, f, len, h.now), LINK_DROP_BAD_TYPE);
	f[ETH + 3] = 5;
	CHECK_EQ(link_tp_input(tp, f, len, h.now), LINK_DROP_BAD_TYPE);
	f[ETH + 3] = 1;
	CHECK_EQ(link_tp_input(tp, f, len - 1, h.now), LINK_DROP_BAD_LENGTH);
	f[ETH + 4] = 0x01; /* says tagged, but no key here */
	CHECK_EQ(link_tp_input(tp, f, len, h.now), LINK_DROP_BAD_LENGTH);
	CHECK_EQ(link_tp_input(tp, f, len - 8, h.now), LINK_DROP_BAD_LENGTH);
	free(f);
	r.key = h.key;
	EXPECT(r, LINK_DROP_BAD_TAG); /* tagged, we have no key */
	r.key = NULL;
	r.plen = 19;
	EXPECT(r, LINK_DROP_BAD_LENGTH);
	r = hello_frame(&h, 1);
	r.src = 64;
	EXPECT(r, LINK_DROP_BAD_NODE);
	r.src = (uint8_t)b->num;
	EXPECT(r, LINK_DROP_SELF);
	r = hello_frame(&h, 1);
	r.dst = 3;
	EXPECT(r, LINK_DROP_NOT_FOR_US);
	r.dst = 0xFF;
	uint8_t other_mac[6] = {0x02, 1, 2, 3, 4, 5};
	r.dst_mac = other_mac;
	EXPECT(r, LINK_DROP_NOT_FOR_US);
	uint8_t group_src[6] = {0x03, 1, 2, 3, 4, 5};
	r = hello_frame(&h, 1);
	r.src_mac = group_src;
	EXPECT(r, LINK_DROP_BAD_SRC);
	r = hello_frame(&h, 1);
	be(hello_body + 16, 0, 4); /* window 0 */
	EXPECT(r, LINK_DROP_BAD_ACK);
	/* data before the peer is up */
	r = base_frame(&h, 2);
	r.flags = 0x02;
	EXPECT(r, LINK_DROP_PEER_DOWN);
	/* hellos: up, replay, older epoch, MAC change */
	r = hello_frame(&h, 5);
	EXPECT(r, 0);
	CHECK(b->up[a->num]);
	r = hello_frame(&h, 5);
	EXPECT(r, LINK_DROP_REPLAY);
	r = hello_frame(&h, 4);
	EXPECT(r, LINK_DROP_REPLAY);
	r = hello_frame(&h, 9);
	r.sepoch = a->epoch - 1;
	EXPECT(r, LINK_DROP_BAD_EPOCH);
	r = hello_frame(&h, 9);
	r.src_mac = other_mac;
	EXPECT(r, LINK_DROP_BAD_SRC);
	/* unicast checks */
	r = base_frame(&h, 2);
	r.flags = 0x02;
	r.dst = 3;
	EXPECT(r, LINK_DROP_NOT_FOR_US);
	r.dst = (uint8_t)b->num;
	r.dst_mac = bcast;
	EXPECT(r, LINK_DROP_NOT_FOR_US);
	r.dst_mac = b->mac;
	r.src_mac = other_mac;
	EXPECT(r, LINK_DROP_BAD_SRC);
	r.src_mac = a->mac;
	r.sepoch++;
	EXPECT(r, LINK_DROP_BAD_EPOCH);
	r.sepoch--;
	r.depoch++;
	EXPECT(r, LINK_DROP_BAD_EPOCH);
	r.depoch--;
	r.chan = 4;
	EXPECT(r, LINK_DROP_BAD_CHANNEL);
	r.chan = 0;
	r.window = 0;
	EXPECT(r, LINK_DROP_BAD_ACK);
	r.window = 16;
	r.ack = 1; /* acknowledges a frame never sent */
	EXPECT(r, LINK_DROP_BAD_ACK);
	r.ack = 0;
	r.sack = 1;
	EXPECT(r, LINK_DROP_BAD_ACK);
	r.sack = 0;
	struct fr ack = base_frame(&h, 3);
	ack.plen = 1;
	ack.payload = hello_body;
	EXPECT(ack, LINK_DROP_BAD_LENGTH);
	ack.plen = 0;
	EXPECT(ack, LINK_DROP_DUPLICATE); /* tells nothing new */
	/* fragments */
	uint8_t pay[100] = {0};
	r.payload = pay;
	r.plen = 10;
	r.total = 5;
	EXPECT(r, LINK_DROP_BAD_FRAGMENT); /* longer than the message */
	r.total = LINK_MSG_MAX + 1;
	r.flags = 0;
	EXPECT(r, LINK_DROP_BAD_FRAGMENT);
	r.total = 20;
	r.flags = 0x02; /* LAST, but bytes 10..19 are missing */
	EXPECT(r, LINK_DROP_BAD_FRAGMENT);
	r.flags = 0;
	r.offset = 10;
	EXPECT(r, LINK_DROP_BAD_FRAGMENT); /* not LAST but ends the message */
	r.offset = 0;
	r.seq = 1; /* offset 0 must start its message */
	EXPECT(r, LINK_DROP_BAD_FRAGMENT);
	r.seq = 0;
	r.msg_seq = 5; /* the message cannot start after this frame */
	EXPECT(r, LINK_DROP_BAD_FRAGMENT);
	r.msg_seq = 0;
	r.total = 0;
	r.plen = 0;
	r.flags = 0x02;
	r.seq = 16; /* window 16: seq 0..15 */
	r.msg_seq = 16;
	EXPECT(r, LINK_DROP_OUTSIDE_WINDOW);
	r.seq = r.msg_seq = 0;
	b->lenient = true;
	EXPECT(r, 0); /* a zero-length message */
	EXPECT(r, LINK_DROP_DUPLICATE);
	r.seq = r.msg_seq = 0xFFFFFFF0u;
	EXPECT(r, LINK_DROP_DUPLICATE); /* far behind */
	/* reassembly: a 32 MB message's first fragment takes the bound */
	r.seq = 1;
	r.msg_seq = 1;
	r.total = LINK_MSG_MAX;
	r.plen = 100;
	r.flags = 0;
	EXPECT(r, 0); /* reasm_max is 48 MB by default */
	r.seq = 2;
	r.msg_seq = 2;
	r.total = 20 << 20;
	r.plen = 100;
	EXPECT(r, LINK_DROP_REASM_LIMIT);
	r.seq = 3;
	r.msg_seq = 1; /* belongs to the first, but says another length */
	r.offset = 100;
	r.total = 1000;
	EXPECT(r, LINK_DROP_BAD_FRAGMENT);
	/* no memory */
	r.seq = 4;
	r.msg_seq = 4;
	r.offset = 0;
	r.total = 1000;
	b->fail_alloc = true;
	EXPECT(r, LINK_DROP_NO_MEMORY);
	b->fail_alloc = false;
	EXPECT(r, 0);
	/* a session older than ours: refused, and answered */
	link_tp_peer_reset(tp, a->num);
	size_t q0 = h.qtail;
	r.seq = r.msg_seq = 5;
	EXPECT(r, LINK_DROP_STALE_SESSION);
	CHECK(h.qtail > q0); /* an ACK carrying our new session */
	CHECK_EQ(rd(h.q[h.qtail - 1].d + ETH + 24, 4), 1);
	/* raw frames are counted, from an up peer only */
	struct fr raw = base_frame(&h, 4);
	raw.plen = 50;
	raw.payload = pay;
	raw.seq = 3;
	EXPECT(raw, 0);
	raw.depoch = 1;
	EXPECT(raw, LINK_DROP_BAD_EPOCH);
	/* a newer epoch is a reboot: down, then up */
	r = hello_frame(&h, 1);
	r.sepoch = a->epoch + 10;
	EXPECT(r, 0);
	struct link_peer_info pi;
	link_tp_peer_info(tp, a->num, &pi);
	CHECK_EQ(pi.epoch, a->epoch + 10);
	CHECK_EQ(pi.session, 0);
	CHECK_EQ(pi.reasm_bytes, 0);
	CHECK_EQ(pi.raw_rx_frames, 1);
	/* every reason was counted where it was returned */
	const struct link_stats *st = link_tp_stats(tp);
	uint64_t sum = 0;
	for (int d = 1; d < LINK_DROP_COUNT; d++) {
		sum += st->drop[d];
		if (!st->drop[d])
			printf("# reason %s never seen\n", link_drop_name(d));
		CHECK(st->drop[d] > 0);
	}
	CHECK_EQ(sum, st->rx_dropped);
	CHECK_EQ(st->drop[0], 0);
	/* keyed engine: missing and wrong tags */
	struct harness k;
	h_init(&k, 4, true);
	r = hello_frame(&k, 1);
	CHECK_EQ(feed(&k, 1, &r), LINK_DROP_BAD_TAG);
	r.key = k.key;
	f = enc(&r, &len);
	f[len - 1] ^= 0x40;
	CHECK_EQ(link_tp_input(k.e[1].tp, f, len, k.now), LINK_DROP_BAD_TAG);
	f[len - 1] ^= 0x40;
	f[8] ^= 1; /* the source MAC is covered */
	CHECK_EQ(link_tp_input(k.e[1].tp, f, len, k.now), LINK_DROP_BAD_TAG);
	f[8] ^= 1;
	CHECK_EQ(link_tp_input(k.e[1].tp, f, len, k.now), 0);
	free(f);
	h_fini(&k);
	CHECK(!k.failed[0]);
	h_fini(&h);
	if (h.failed[0])
		printf("# %s\n", h.failed);
	CHECK(!h.failed[0]);
#undef EXPECT
}

/* ---------------------------------------------------------------- fuzz */

struct field {
	int off, size;
};

static const struct field fields[] = {
	{0, 2},	 {2, 1},  {3, 1},  {4, 1},  {5, 1},  {6, 1},
	{7, 1},	 {8, 8},  {16, 8}, {24, 4}, {28, 4}, {32, 4},
	{36, 2}, {38, 2}, {40, 8}, {48, 4}, {52, 4}, {56, 4},
};

/* An interesting value for a header field of the frame going to t. */
static uint64_t field_value(struct harness *h, int t, const struct field *fl,
			    const uint8_t *f)
{
	struct eng *e = &h->e[t];
	unsigned chan = f[ETH + 7] % LINK_CHANNELS;
	struct link_chan_info ci;
	link_tp_chan_info(e->tp, h->e[1 - t].num, chan, &ci);
	struct link_peer_info pi;
	link_tp_peer_info(e->tp, h->e[1 - t].num, &pi);
	uint64_t max = fl->size == 8 ? UINT64_MAX
				     : (1ull << (8 * fl->size)) - 1;
	static const int64_t near[] = {-17, -16, -15, -2, -1, 0,
				       1,   2,	 15,  16, 17};
	int64_t d = near[rnd(h) % 11];
	switch (rnd(h) % 8) {
	case 0:
		return 0;
	case 1:
		return max;
	case 2:
		return rnd(h) & max;
	case 3:
		return (uint64_t)((int64_t)(fl->off == 32 ? ci.snd_nxt
							  : ci.rcv_nxt) +
				  d) &
		       max;
	case 4:
		return (uint64_t)(LINK_MSG_MAX + d) & max;
	case 5:
		return (fl->size == 8 ? (rnd(h) % 2 ? e->epoch : pi.epoch)
				      : pi.session) +
		       (uint64_t)d;
	case 6:
		return (uint64_t)(h->e[rnd(h) % 2].num + (d % 2)) & max;
	default:
		return (rd(f + ETH + fl->off, fl->size) + (uint64_t)d) & max;
	}
}

/* Make a fuzz frame for engine t in a fresh exact-size buffer. */
static uint8_t *mutate(struct harness *h, int t, bool resign, size_t *lenp)
{
	unsigned kind = (unsigned)(rnd(h) % 12);
	uint8_t *f;
	size_t len;
	if (kind == 0) { /* random bytes */
		len = rnd(h) % 4 ? rnd(h) % 200 : rnd(h) % 1600;
		f = malloc(len ? len : 1);
		for (size_t i = 0; i < len; i++)
			f[i] = (uint8_t)rnd(h);
		*lenp = len;
		return f;
	}
	/* start from a captured frame that went to t (or any) */
	struct qframe *c = &h->cap[rnd(h) % h->ncap];
	for (int tries = 0; tries < 8 && c->dst != t; tries++)
		c = &h->cap[rnd(h) % h->ncap];
	len = c->len;
	if (kind == 1) { /* resized: truncated or extended */
		len = rnd(h) % 2 ? rnd(h) % (c->len + 1)
				 : c->len + 1 + rnd(h) % 100;
	}
	f = malloc(len ? len : 1);
	memcpy(f, c->d, len < c->len ? len : c->len);
	for (size_t i = c->len; i < len; i++)
		f[i] = (uint8_t)rnd(h);
	if (len < ETH + HDR) {
		*lenp = len;
		return f;
	}
	if (kind >= 2 && kind <= 5) { /* bytes flipped, mostly the header */
		unsigned n = 1 + (unsigned)(rnd(h) % 4);
		for (unsigned i = 0; i < n; i++) {
			size_t at = rnd(h) % 4 ? rnd(h) % (ETH + HDR)
					       : rnd(h) % len;
			f[at] ^= (uint8_t)(1 + rnd(h) % 255);
		}
	} else if (kind >= 6 && kind <= 10) { /* fields set */
		unsigned n = 1 + (unsigned)(rnd(h) % 3);
		for (unsigned i = 0; i < n; i++) {
			const struct field *fl =
				&fields[rnd(h) %
					(sizeof fields / sizeof fields[0])];
			be(f + ETH + fl->off, field_value(h, t, fl, f),
			   fl->size);
		}
	} else if (kind == 11 && h->ncap > 1) { /* another frame's payload */
		struct qframe *o = &h->cap[rnd(h) % h->ncap];
		if (o->len > ETH + HDR) {
			size_t n = o->len - ETH - HDR;
			if (n > len - ETH - HDR)
				n = len - ETH - HDR;
			memcpy(f + ETH + HDR, o->d + ETH + HDR, n);
		}
	}
	/* usually make the length and the tag agree, to get deeper */
	if (rnd(h) % 4) {
		bool tag = f[ETH + 4] & 1;
		size_t body = len - ETH - HDR;
		if (tag && body >= 8)
			body -= 8;
		else
			f[ETH + 4] &= (uint8_t)~1;
		be(f + ETH + 38, body > 0xFFFF ? 0xFFFF : body, 2);
		if (resign && tag && body <= 0xFFFF)
			sign(f, len, h->key);
	}
	*lenp = len;
	return f;
}

static void fail_case(struct harness *h, uint64_t seed, unsigned c)
{
	if (h->failed[0])
		printf("# seed %llu case %u: %s\n", (unsigned long long)seed, c,
		       h->failed);
}

/* Queue legit work and deliver only part of it: in-flight frames and a
 * partial reassembly exist while the fuzz frames come. */
static void half_transfer(struct harness *h)
{
	send_msg(h, 0, LINK_CHAN_BULK, 30000);
	send_msg(h, 1, LINK_CHAN_BULK, 9000);
	for (unsigned c = 0; c < LINK_CHANNELS; c++)
		send_msg(h, (int)(c % 2), c, 100 + 50 * c);
	step(h, 9);
}

/* After a segment: the sessions must still work (see the file comment). */
static void health(struct harness *h, bool tainted, const bool poisoned[2])
{
	for (int i = 0; i < 2; i++)
		if (!tainted && h->e[i].seg_deliveries)
			HFAIL(h, "node %u delivered from refused frames",
			      h->e[i].num);
	if (!tainted) {
		for (int i = 0; i < 2; i++)
			h->e[i].lenient = false;
	} else {
		for (int i = 0; i < 2; i++) {
			h->e[i].lenient = true;
			if (poisoned[i]) {
				uint64_t epoch = h->e[i].epoch + 1000;
				halt(h, i);
				boot(h, i, epoch);
			} else {
				link_tp_peer_reset(h->e[i].tp, h->e[1 - i].num);
			}
		}
		/* until both are up on one session, nothing in flight; after
		 * forged numbers the ends may only agree once traffic flows,
		 * so probe (a probe may fail -ECONNRESET on the way) */
		uint64_t until = h->now + 10 * SEC, probe = h->now;
		for (;;) {
			step(h, 0);
			if (h->now >= probe && both_up(h)) {
				probe = h->now + 50 * MS;
				send_msg(h, 0, LINK_CHAN_RPC, 0);
				send_msg(h, 1, LINK_CHAN_RPC, 0);
			}
			struct link_peer_info p0, p1;
			link_tp_peer_info(h->e[0].tp, h->e[1].num, &p0);
			link_tp_peer_info(h->e[1].tp, h->e[0].num, &p1);
			if (both_up(h) && p0.session == p1.session &&
			    p0.epoch == h->e[1].epoch &&
			    p1.epoch == h->e[0].epoch && !p0.inflight &&
			    !p1.inflight && !h->e[0].outstanding &&
			    !h->e[1].outstanding)
				break;
			if (h->now > until) {
				HFAIL(h,
				      "sessions did not recover: up %d/%d, "
				      "sessions %u/%u, epochs %llu/%llu "
				      "(real %llu/%llu), in flight %u/%u, "
				      "outstanding %u/%u",
				      h->e[0].up[h->e[1].num],
				      h->e[1].up[h->e[0].num], p0.session,
				      p1.session, (unsigned long long)p1.epoch,
				      (unsigned long long)p0.epoch,
				      (unsigned long long)h->e[0].epoch,
				      (unsigned long long)h->e[1].epoch,
				      p0.inflight, p1.inflight,
				      h->e[0].outstanding, h->e[1].outstanding);
				return;
			}
		}
		h->gen++;
		for (int i = 0; i < 2; i++) {
			struct eng *e = &h->e[i];
			e->gen = h->gen;
			for (unsigned c = 0; c < LINK_CHANNELS; c++)
				e->expect[c] = h->e[1 - i].next_idx[c];
			e->lenient = false;
		}
	}
	/* the half-done transfer (untainted) and fresh messages complete;
	 * their frames replace the capture, so that the next mutations are
	 * close to the live state */
	for (size_t i = 0; i < h->ncap; i++)
		free(h->cap[i].d);
	h->ncap = 0;
	h->capturing = true;
	for (unsigned c = 0; c < LINK_CHANNELS; c++) {
		send_msg(h, 0, c, 3000);
		send_msg(h, 1, c, c * 700);
	}
	link_tp_send_raw(h->e[0].tp, h->e[1].num, 10, 1);
	if (!settle(h, 20000))
		HFAIL(h, "traffic did not complete after the segment%s",
		      tainted ? " (tainted)" : "");
	run_ms(h, 600); /* a hello each */
	h->capturing = false;
	for (int i = 0; i < 2; i++)
		if (h->e[i].mem > (int64_t)(48u << 20) + (1 << 20))
			HFAIL(h, "node %u holds %lld bytes", h->e[i].num,
			      (long long)h->e[i].mem);
}

static void fuzz_batch(bool keyed, bool resign, uint64_t seed, unsigned cases)
{
	struct harness h;
	h_init(&h, seed, keyed);
	CHECK(settle(&h, 3000));
	/* traffic of every kind, captured */
	h.capturing = true;
	static const size_t sizes[] = {0, 5, 3000, 20000};
	for (unsigned c = 0; c < LINK_CHANNELS; c++)
		for (int k = 0; k < 4; k++) {
			send_msg(&h, 0, c, sizes[k]);
			send_msg(&h, 1, (c + 1) % LINK_CHANNELS,
				 sizes[(k + c) % 4]);
		}
	for (uint32_t i = 0; i < 4; i++) {
		link_tp_send_raw(h.e[0].tp, h.e[1].num, 100 * i, i);
		link_tp_send_raw(h.e[1].tp, h.e[0].num, 64, i);
	}
	CHECK(settle(&h, 5000));
	run_ms(&h, 1100); /* hellos */
	h.capturing = false;
	CHECK(h.ncap > 50);
	half_transfer(&h);
	bool tainted = false, poisoned[2] = {false, false};
	uint64_t outcomes[LINK_DROP_COUNT] = {0};
	for (unsigned c = 0; c < cases && !h.failed[0]; c++) {
		if (c % 250 == 0) {
			for (int i = 0; i < 2; i++) {
				h.e[i].lenient = true;
				h.e[i].seg_deliveries = 0;
			}
		}
		int t = (int)(rnd(&h) % 2);
		struct link_tp *tp = h.e[t].tp;
		size_t len;
		uint8_t *f = mutate(&h, t, resign, &len);
		struct link_stats before = *link_tp_stats(tp);
		int r = link_tp_input(tp, f, len, h.now);
		const struct link_stats *after = link_tp_stats(tp);
		if (r < 0 || r >= LINK_DROP_COUNT) {
			HFAIL(&h, "input returned %d", r);
		} else {
			outcomes[r]++;
			if (after->rx_frames != before.rx_frames + 1 ||
			    after->rx_dropped != before.rx_dropped + (r != 0) ||
			    (r && after->drop[r] != before.drop[r] + 1))
				HFAIL(&h, "counters inconsistent (reason %d)",
				      r);
		}
		/* RAW frames are only counted (docs/linker.md) */
		bool raw = len > ETH + 3 && f[ETH + 3] == 4;
		if (keyed && !resign && r == 0 && !raw)
			HFAIL(&h, "an unsigned frame was accepted");
		if ((r == 0 && !raw) || r == LINK_DROP_DUPLICATE) {
			tainted = true;
			if (len > ETH + 5 && f[ETH + 3] == 1 && r == 0 &&
			    f[ETH + 5] == h.e[1 - t].num)
				poisoned[t] = true;
		}
		free(f);
		if (c % 250 == 249 || c + 1 == cases) {
			health(&h, tainted, poisoned);
			tainted = poisoned[0] = poisoned[1] = false;
			half_transfer(&h);
		}
		fail_case(&h, seed, c);
	}
	printf("# %s, seed %llu, %u cases:",
	       keyed ? (resign ? "keyed insider" : "keyed") : "keyless",
	       (unsigned long long)seed, cases);
	for (int d = 0; d < LINK_DROP_COUNT; d++)
		if (outcomes[d])
			printf(" %s %llu;", link_drop_name(d),
			       (unsigned long long)outcomes[d]);
	printf("\n");
	for (int i = 0; i < 2; i++)
		h.e[i].lenient = true;
	h_fini(&h);
	if (h.failed[0])
		printf("# seed %llu: %s\n", (unsigned long long)seed, h.failed);
	CHECK(!h.failed[0]);
}

TEST(fuzz_keyless)
{
	uint64_t seed = env_num("FUZZ_SEED", 1);
	fuzz_batch(false, false, seed, env_num("FUZZ_CASES", 20000));
}

TEST(fuzz_keyed)
{
	uint64_t seed = env_num("FUZZ_SEED", 1);
	unsigned cases = env_num("FUZZ_CASES", 20000);
	fuzz_batch(true, false, seed + 1, cases / 2);
	fuzz_batch(true, true, seed + 2, cases / 2);
}

UNIT_MAIN()
