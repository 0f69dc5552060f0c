/*
 * link_tp.c — the Linker's protocol engine: the network layer (hellos,
 * node table, liveness) and the transport layer (reliable, ordered,
 * flow-controlled channels) of design §5, as a pure state machine. The
 * kernel glue (mosix/link.c) and the host tests (tests/unit/test_link*.c)
 * compile this very file. docs/linker.md says the same at more length.
 *
 * Interface: see link_tp.h. Frames come in through link_tp_input, timer
 * ticks through link_tp_poll, messages through link_tp_send; frames go out
 * through env->xmit, messages through env->deliver, completions through
 * env->sent. Not thread-safe: the caller holds one lock around every call,
 * and callbacks (which run under it) never call back in. link_tp_send never
 * calls sent() itself.
 *
 * WIRE FORMAT. An Ethernet frame with EtherType 0x88B5, then a 60-byte
 * header, all fields big-endian, encoded and decoded byte by byte:
 *
 *   off size field
 *     0   2  magic 0x4C4B ("LK")
 *     2   1  version (1)
 *     3   1  type: 1 HELLO, 2 DATA, 3 ACK, 4 RAW
 *     4   1  flags: 0x01 TAG (a tag follows the payload), 0x02 LAST (last
 *            fragment of a message), 0x04 ACKNOW (acknowledge at once),
 *            0x08 DUP (ACK only: msg seq names a duplicate received),
 *            0x10 ECHO (RAW only: answer with an ECHOED RAW frame of the
 *            same seq and length), 0x20 ECHOED (RAW only: that answer);
 *            other bits must be 0
 *     5   1  src node (0..63)
 *     6   1  dst node (0..63; 0xFF in a hello)
 *     7   1  channel (0..3; DATA and ACK)
 *     8   8  src epoch: the sender's boot
 *    16   8  dst epoch: the receiver's boot as the sender knows it (0 in a
 *            hello)
 *    24   4  session number of the pair (see SESSIONS; 0 in a hello)
 *    28   4  seq: DATA: this frame's sequence number on the channel; ACK:
 *            the sender's next seq (information); RAW: linkperf's counter
 *    32   4  ack: next seq expected on the channel in the other direction
 *    36   2  window: frames the sender of this frame accepts beyond ack
 *    38   2  payload length
 *    40   8  sack: bit i set = seq ack+1+i received
 *    48   4  msg seq: DATA: seq of the first fragment of this message;
 *            ACK with DUP: the duplicate's seq
 *    52   4  offset of this fragment in the message
 *    56   4  total length of the message (<= LINK_MSG_MAX)
 *    60   -  payload; then, with the TAG flag, 8 bytes SipHash-2-4 over the
 *            frame from the Ethernet source MAC (offset 6) to the end of
 *            the payload, keyed with the cluster key
 *
 * The frame length must be exactly 14 + 60 + payload (+ 8). A HELLO's
 * payload is 20 bytes: hello counter (8), CPU speed (4), load word (4), the
 * sender's receive window (4). ACK has no payload. DATA carries the ack
 * fields of the same channel of the reverse direction (piggybacking). RAW
 * is linkperf's unacknowledged frame.
 *
 * NETWORK LAYER. Every hello_ms each node broadcasts a HELLO with a counter
 * that grows by one per hello. Peer states: UNKNOWN (never heard) -> UP on
 * a hello; UP -> DOWN when nothing that proves life (a hello, new data, an
 * ack that acknowledges something new) came for dead_hellos * hello_ms;
 * DOWN -> UP on the next hello. A hello with a greater epoch is a reboot:
 * down (old epoch) then up (new epoch), sessions reset. A hello with an
 * older epoch, or the same epoch and a counter not greater than the last
 * one, is a replay and is dropped. A peer's MAC is learnt from its hellos;
 * other frames must come from that MAC.
 *
 * SESSIONS. Both ends keep, per peer, a session number (starting at 0 with
 * each new epoch) and reset every channel with that peer whenever it
 * changes; DATA and ACK frames carry it. A node that resets on its own
 * (peer went down, link_tp_peer_reset) increments its number and announces
 * it with an ACK (at once, or when the peer is back up). A frame with a
 * newer number (modulo 2^32, antisymmetric) means the peer reset: if it is
 * valid for a fresh session we reset too (sent() -ECONNRESET) and take its
 * number. A frame with an older number comes from before our reset:
 * dropped, and answered with an ACK carrying our number. A newer number
 * whose frame acknowledges data we never sent in it means the sessions
 * crossed (wrapped or forged numbers): we move to one beyond it and
 * announce that. Such answers are limited to one per peer per ack_delay.
 * Each numbered session starts every sequence space at 0 on both sides and
 * only accepts frames of its number, so no stale frame crosses a reset.
 *
 * TRANSPORT. Per (peer, channel): sender state snd_una (oldest frame not
 * cumulatively acknowledged), snd_nxt, a ring of `window` slots of frames in
 * flight (message, offset, length, last send time, SACKed, retransmitted);
 * at most min(window, peer's window) frames in flight. A message is cut
 * into fragments of mtu - 60 (- 8) bytes (one empty fragment if empty) with
 * consecutive seqs; it is finished (sent() 0) when its last fragment is
 * cumulatively acknowledged. Receiver state rcv_nxt and a ring of `window`
 * slots for [rcv_nxt, rcv_nxt + window): received/last flags, and at the
 * slot of a message's first seq the message buffer, allocated whole on its
 * first fragment to arrive (any fragment) after checking the declared length
 * against LINK_MSG_MAX and the per-peer bound reasm_max. Fragments are
 * copied into place on arrival; when rcv_nxt passes a LAST fragment the
 * message is delivered. A duplicate (seq below rcv_nxt or already here) is
 * dropped and answered with an ACK.
 *
 * Acknowledgements: cumulative ack + 64-bit SACK in every DATA and ACK.
 * A standalone ACK goes out at once on ACKNOW (the sender's queue emptied,
 * on any channel but RPC, whose replies carry the ack), a duplicate, the first out-of-order frame, a frame
 * that fills a hole, or after ack_every frames; otherwise after ack_delay.
 *
 * Retransmission: RTT samples from acks that cover no retransmitted frame
 * (Karn), srtt/rttvar as Jacobson's, rto = srtt + 4 rttvar in [rto_min,
 * rto_max], doubled per consecutive timeout up to 8 times. A timeout
 * resends the oldest frame with ACKNOW. Every transmission is numbered per
 * channel; a frame not yet delivered is presumed lost and resent at once
 * when one transmitted after it was delivered (acked or SACKed) and it went
 * out srtt/4 earlier or `reorder` transmissions earlier (fast retransmit of
 * SACK holes; a lost retransmission is found the same way). `reorder`
 * starts at 3 and grows to the reordering seen: an original delivered after
 * later ones, or a DUP report (an ACK naming a duplicate it received) for a
 * frame we fast-retransmitted.
 *
 * FAILURES. Peer down: every queued and in-flight message gets -EHOSTDOWN,
 * reassembly is freed. Peer rebooted or reset: -ECONNRESET. peer_reset and
 * fini: -ESHUTDOWN. xmit failure: the frame counts as lost. alloc failure:
 * the frame is dropped (the sender resends). Malformed input never panics:
 * link_tp_input validates every field against the frame length and the
 * state first, counts the reason and leaves the state untouched.
 */
#include <string.h>

#include "mosix/link_tp.h"
#include "mosix/siphash.h"

#define LINK_MAGIC 0x4C4B
#define LINK_VERSION 1

enum { T_HELLO = 1, T_DATA = 2, T_ACK = 3, T_RAW = 4 };

#define F_TAG 0x01
#define F_LAST 0x02
#define F_ACKNOW 0x04
#define F_DUP 0x08
#define F_ECHO 0x10
#define F_ECHOED 0x20
#define F_KNOWN (F_TAG | F_LAST | F_ACKNOW | F_DUP | F_ECHO | F_ECHOED)

#define HELLO_LEN 20
#define LOSS_XMITS 3 /* initial reordering tolerance, in transmissions */
#define FAST_LOG 8 /* recent fast retransmissions remembered */
/* Consecutive timeouts double the RTO up to 8 times its value: a dead peer
 * is found by the hellos, and a timeout resends one frame, so back-off
 * only spares a slow receiver; unbounded doubling would make the expected
 * recovery time infinite at 30% loss. */
#define BACKOFF_MAX 3

/* header field offsets, from the start of the Linker header */
enum {
	O_MAGIC = 0,
	O_VERSION = 2,
	O_TYPE = 3,
	O_FLAGS = 4,
	O_SRC = 5,
	O_DST = 6,
	O_CHAN = 7,
	O_SEPOCH = 8,
	O_DEPOCH = 16,
	O_SESSION = 24,
	O_SEQ = 28,
	O_ACK = 32,
	O_WINDOW = 36,
	O_PLEN = 38,
	O_SACK = 40,
	O_MSGSEQ = 48,
	O_OFFSET = 52,
	O_TOTAL = 56,
};

/* ---------------------------------------------------------------- state */

/* A queued message is a struct link_tp_msg (link_tp.h): from env->alloc
 * (link_tp_send), or the caller's (link_tp_send_msg). */

#define SS_LAST 0x01
#define SS_SACKED 0x02
#define SS_RETX 0x04

/* A frame in flight: seq maps to slot seq & wmask. */
struct sslot {
	struct link_tp_msg *msg;
	uint64_t sent_ns; /* last (re)transmission */
	uint32_t xmit; /* its (last) transmission number on the channel */
	uint32_t off;
	uint16_t len;
	uint8_t flags;
};

#define RS_HAVE 0x01
#define RS_LAST 0x02
#define RS_EMPTY 0x04

/* A receive slot; buf/total/got describe the message whose first seq maps
 * here, once one of its fragments arrived. */
struct rslot {
	uint8_t *buf;
	uint32_t total, got;
	uint8_t flags;
};

/* The message rcv_nxt is in the middle of (its first seq is behind). */
struct reasm {
	uint8_t *buf;
	uint32_t total, got, msg_seq;
	bool active;
};

struct chan {
	/* sender: messages head..tail, cur = first with bytes not yet sent */
	struct link_tp_msg *head, *tail, *cur;
	uint32_t queued;
	uint32_t snd_una, snd_nxt;
	uint32_t peer_win, inflight_max, backoff;
	uint64_t rto_at; /* 0 = not armed */
	uint32_t xmits; /* transmissions so far (numbers frames) */
	uint32_t rack_xmit; /* last transmitted of the frames known delivered */
	uint64_t rack_ns; /* and its send time */
	uint32_t reorder; /* transmissions a frame may be overtaken by */
	bool rack_valid;
	/* fast retransmissions: seq, and by how many transmissions the frame
	 * had been overtaken; a DUP report for one proves reordering */
	uint32_t fast_seq[FAST_LOG], fast_dist[FAST_LOG];
	uint32_t fast_next;
	/* receiver */
	uint32_t rcv_nxt, unacked;
	uint64_t sack; /* bit i: rcv_nxt + 1 + i received */
	uint64_t ack_at; /* delayed ack due; 0 = none */
	bool ack_now;
	bool dup_pending; /* report dup_seq, a duplicate, in the next ACK */
	uint32_t dup_seq;
	struct reasm rx;
	struct sslot *ss;
	struct rslot *rs;
};

/* Allocated when a peer comes up, freed when it goes down; the slot
 * arrays follow it in the same allocation. */
struct session {
	struct chan ch[LINK_CHANNELS];
};

struct peer {
	enum link_state state;
	bool known; /* epoch, hello_ctr valid */
	uint8_t mac[6];
	uint64_t epoch, hello_ctr, hellos, last_heard;
	uint32_t session, speed, load, window;
	uint64_t srtt, rttvar, rto, min_rtt;
	uint64_t reasm_bytes;
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes, retransmits;
	uint64_t raw_rx_frames, raw_rx_bytes;
	uint32_t raw_last_seq;
	uint64_t ctl_at; /* no answer to a stale or crossed frame before */
	uint64_t resets; /* sessions cleared (messages in them dropped) */
	struct session *s;
};

struct cfg {
	uint64_t hello_ns, dead_ns, rto_min_ns, rto_max_ns, rto_init_ns;
	uint64_t ack_delay_ns;
	uint32_t window, wmask, mtu, ack_every, queue_max, reasm_max;
};

struct link_tp {
	struct link_env env;
	struct cfg cfg;
	unsigned self;
	uint64_t epoch;
	uint8_t mac[6];
	bool keyed;
	struct siphash_key key;
	uint32_t speed, load;
	uint64_t hello_ctr, next_hello;
	bool hello_started;
	uint64_t last_poll; /* link_tp_poll's previous now */
	uint64_t active; /* bit n: peer n has a session (is up) */
	struct link_stats st;
	struct peer peer[LINK_MAX_NODES];
	/* the frame being sent (a key set late could add a tag to a full
	 * fragment: room for it) */
	uint8_t frame[LINK_ETH_HLEN + LINK_MTU_MAX + LINK_TAG_LEN];
};

/* A decoded frame; payload points into the caller's buffer. */
struct hdr {
	uint8_t type, flags, src, dst, chan;
	uint64_t src_epoch, dst_epoch;
	uint32_t session, seq, ack;
	uint16_t window, plen;
	uint64_t sack;
	uint32_t msg_seq, offset, total;
	const uint8_t *eth, *payload;
};

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---------------------------------------------------------------- helpers */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Sequence numbers wrap: a is before b if b - a < 2^31. */
static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Session numbers: a is newer than b. Antisymmetric even for numbers 2^31
 * apart, so two nodes never both take the other's number for the older and
 * answer each other's answers forever. */
static bool session_newer(uint32_t a, uint32_t b)
{
	uint32_t d = a - b;
	return d && (d < 0x80000000u || (d == 0x80000000u && a > b));
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static unsigned peer_node(const struct link_tp *tp, const struct peer *p)
{
	return (unsigned)(p - tp->peer);
}

static size_t payload_max(const struct link_tp *tp)
{
	return tp->cfg.mtu - LINK_HDR_LEN - (tp->keyed ? LINK_TAG_LEN : 0);
}

static struct sslot *sslot(const struct link_tp *tp, const struct chan *c,
			   uint32_t seq)
{
	return &c->ss[seq & tp->cfg.wmask];
}

static struct rslot *rslot(const struct link_tp *tp, const struct chan *c,
			   uint32_t seq)
{
	return &c->rs[seq & tp->cfg.wmask];
}

static uint64_t rto_now(const struct link_tp *tp, const struct peer *p,
			const struct chan *c)
{
	uint64_t rto = p->rto;
	for (uint32_t i = 0; i < c->backoff && rto < tp->cfg.rto_max_ns; i++)
		rto <<= 1;
	return min64(rto, tp->cfg.rto_max_ns);
}

static const char *const drop_names[LINK_DROP_COUNT] = {
	[LINK_DROP_NONE] = "accepted",
	[LINK_DROP_RUNT] = "runt",
	[LINK_DROP_BAD_MAGIC] = "bad magic/version/flags",
	[LINK_DROP_BAD_TYPE] = "bad type",
	[LINK_DROP_BAD_LENGTH] = "bad length",
	[LINK_DROP_BAD_TAG] = "bad tag",
	[LINK_DROP_NOT_FOR_US] = "not for us",
	[LINK_DROP_BAD_NODE] = "bad node",
	[LINK_DROP_SELF] = "from self",
	[LINK_DROP_PEER_DOWN] = "peer not up",
	[LINK_DROP_BAD_SRC] = "wrong source MAC",
	[LINK_DROP_BAD_EPOCH] = "bad epoch",
	[LINK_DROP_STALE_SESSION] = "stale session",
	[LINK_DROP_REPLAY] = "replayed hello",
	[LINK_DROP_BAD_CHANNEL] = "bad channel",
	[LINK_DROP_BAD_ACK] = "bad ack/window",
	[LINK_DROP_OUTSIDE_WINDOW] = "outside window",
	[LINK_DROP_DUPLICATE] = "duplicate",
	[LINK_DROP_BAD_FRAGMENT] = "bad fragment",
	[LINK_DROP_REASM_LIMIT] = "reassembly limit",
	[LINK_DROP_NO_MEMORY] = "no memory",
};

const char *link_drop_name(enum link_drop d)
{
	if ((unsigned)d >= LINK_DROP_COUNT)
		return "?";
	return drop_names[d];
}

/* ---------------------------------------------------------------- output */

/* Start a frame in tp->frame; returns the Linker header. */
static uint8_t *frame_start(struct link_tp *tp, unsigned type, unsigned dst,
			    const uint8_t *dst_mac)
{
	uint8_t *f = tp->frame, *h = f + LINK_ETH_HLEN;
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, tp->mac, 6);
	put16(f + 12, LINK_ETHERTYPE);
	memset(h, 0, LINK_HDR_LEN);
	put16(h + O_MAGIC, LINK_MAGIC);
	h[O_VERSION] = LINK_VERSION;
	h[O_TYPE] = (uint8_t)type;
	h[O_SRC] = (uint8_t)tp->self;
	h[O_DST] = (uint8_t)dst;
	put64(h + O_SEPOCH, tp->epoch);
	return h;
}

/* The addressing of a unicast frame to p on channel ci. */
static uint8_t *frame_to(struct link_tp *tp, struct peer *p, unsigned type,
			 unsigned ci)
{
	uint8_t *h = frame_start(tp, type, peer_node(tp, p), p->mac);
	h[O_CHAN] = (uint8_t)ci;
	put64(h + O_DEPOCH, p->epoch);
	put32(h + O_SESSION, p->session);
	return h;
}

/* Our receive state of channel c into the ack fields; the ack is then no
 * longer pending. */
static void frame_ack(struct link_tp *tp, uint8_t *h, struct chan *c)
{
	put32(h + O_ACK, c->rcv_nxt);
	put16(h + O_WINDOW, (uint16_t)tp->cfg.window);
	put64(h + O_SACK, c->sack);
	c->unacked = 0;
	c->ack_at = 0;
	c->ack_now = false;
}

/* Finish the frame in tp->frame (payload length, tag) and transmit it. */
static int frame_send(struct link_tp *tp, struct peer *p, size_t plen)
{
	uint8_t *f = tp->frame, *h = f + LINK_ETH_HLEN;
	size_t len = LINK_ETH_HLEN + LINK_HDR_LEN + plen;
	put16(h + O_PLEN, (uint16_t)plen);
	if (tp->keyed) {
		h[O_FLAGS] |= F_TAG;
		put64(f + len, siphash24(&tp->key, f + 6, len - 6));
		len += LINK_TAG_LEN;
	}
	int r = tp->env.xmit(tp->env.ctx, f, len);
	if (r < 0) {
		tp->st.tx_errors++;
		return r;
	}
	tp->st.tx_frames++;
	if (p) {
		p->tx_frames++;
		p->tx_bytes += len;
	}
	return 0;
}

/* A RAW frame of plen zero bytes to p (an up peer). */
static int raw_frame(struct link_tp *tp, struct peer *p, size_t plen,
		     uint32_t seq, unsigned flags)
{
	uint8_t *h = frame_to(tp, p, T_RAW, 0);
	h[O_FLAGS] |= (uint8_t)flags;
	put32(h + O_SEQ, seq);
	memset(h + LINK_HDR_LEN, 0, plen);
	return frame_send(tp, p, plen);
}

static void send_hello(struct link_tp *tp)
{
	uint8_t *h = frame_start(tp, T_HELLO, LINK_NODE_ALL, bcast_mac);
	uint8_t *b = h + LINK_HDR_LEN;
	put64(b, ++tp->hello_ctr);
	put32(b + 8, tp->speed);
	put32(b + 12, tp->load);
	put32(b + 16, tp->cfg.window);
	tp->st.hellos_sent++;
	frame_send(tp, NULL, HELLO_LEN);
}

static void send_ack(struct link_tp *tp, struct peer *p, unsigned ci)
{
	struct chan *c = &p->s->ch[ci];
	uint8_t *h = frame_to(tp, p, T_ACK, ci);
	put32(h + O_SEQ, c->snd_nxt);
	if (c->dup_pending) {
		h[O_FLAGS] |= F_DUP;
		put32(h + O_MSGSEQ, c->dup_seq);
		c->dup_pending = false;
	}
	frame_ack(tp, h, c);
	tp->st.acks_sent++;
	frame_send(tp, p, 0);
}

/* (Re)transmit the frame of seq on channel ci. */
static int send_slot(struct link_tp *tp, struct peer *p, unsigned ci,
		     uint32_t seq, uint8_t flags)
{
	struct chan *c = &p->s->ch[ci];
	struct sslot *s = sslot(tp, c, seq);
	uint8_t *h = frame_to(tp, p, T_DATA, ci);
	frame_ack(tp, h, c);
	h[O_FLAGS] = flags | ((s->flags & SS_LAST) ? F_LAST : 0);
	put32(h + O_SEQ, seq);
	put32(h + O_MSGSEQ, s->msg->first_seq);
	put32(h + O_OFFSET, s->off);
	put32(h + O_TOTAL, s->msg->len);
	if (s->len)
		memcpy(h + LINK_HDR_LEN, s->msg->buf + s->off, s->len);
	s->xmit = c->xmits++;
	tp->st.data_sent++;
	return frame_send(tp, p, s->len);
}

static void retransmit(struct link_tp *tp, struct peer *p, unsigned ci,
		       uint32_t seq, uint8_t flags, uint64_t now)
{
	struct sslot *s = sslot(tp, &p->s->ch[ci], seq);
	s->sent_ns = now;
	s->flags |= SS_RETX;
	tp->st.retransmits++;
	p->retransmits++;
	send_slot(tp, p, ci, seq, flags);
}

/* Send new frames while the window allows. */
static void chan_push(struct link_tp *tp, struct peer *p, unsigned ci,
		      uint64_t now)
{
	struct chan *c = &p->s->ch[ci];
	uint32_t win = c->peer_win < tp->cfg.window ? c->peer_win
						    : tp->cfg.window;
	size_t maxpay = payload_max(tp);
	while (c->cur && c->snd_nxt - c->snd_una < win) {
		struct link_tp_msg *m = c->cur;
		uint32_t n = m->len - m->next_off;
		if (n > maxpay)
			n = (uint32_t)maxpay;
		uint32_t seq = c->snd_nxt++;
		struct sslot *s = sslot(tp, c, seq);
		if (m->next_off == 0)
			m->first_seq = seq;
		s->msg = m;
		s->off = m->next_off;
		s->len = (uint16_t)n;
		s->sent_ns = now;
		s->flags = 0;
		m->next_off += n;
		if (m->next_off == m->len) {
			s->flags = SS_LAST;
			c->cur = m->next;
		}
		uint32_t inflight = c->snd_nxt - c->snd_una;
		if (inflight > c->inflight_max)
			c->inflight_max = inflight;
		if (!c->rto_at)
			c->rto_at = now + rto_now(tp, p, c);
		/* The last frame queued asks for an ack at once, so a short
		 * one-way message completes quickly — except on RPC, where the
		 * reply carries the ack (a standalone ack would double the
		 * frames of every call). A full window does not ask: the
		 * receiver acks every ack_every frames anyway, and asking
		 * there made a window-limited sender draw an ack per refill. */
		bool tail = !c->cur && ci != LINK_CHAN_RPC;
		if (send_slot(tp, p, ci, seq, tail ? F_ACKNOW : 0) < 0)
			break; /* the NIC is full: the rest waits */
	}
}

/* ---------------------------------------------------------------- sessions */

static void complete_head(struct link_tp *tp, struct chan *c, int status)
{
	struct link_tp_msg *m = c->head;
	c->head = m->next;
	if (!c->head)
		c->tail = NULL;
	if (c->cur == m)
		c->cur = m->next;
	c->queued--;
	void *cookie = m->cookie;
	if (m->owned)
		tp->env.free(tp->env.ctx, m);
	if (status)
		tp->st.msgs_failed++;
	else
		tp->st.msgs_sent++;
	tp->env.sent(tp->env.ctx, cookie, status);
}

static void reasm_free(struct link_tp *tp, struct peer *p, uint8_t *buf,
		       uint32_t total)
{
	tp->env.free(tp->env.ctx, buf);
	p->reasm_bytes -= total;
	tp->st.reasm_bytes -= total;
}

static void chan_init(struct link_tp *tp, struct peer *p, struct chan *c)
{
	struct sslot *ss = c->ss;
	struct rslot *rs = c->rs;
	memset(c, 0, sizeof *c);
	memset(ss, 0, sizeof *ss * tp->cfg.window);
	memset(rs, 0, sizeof *rs * tp->cfg.window);
	c->ss = ss;
	c->rs = rs;
	c->peer_win = p->window;
	c->reorder = LOSS_XMITS;
}

/* Fail every message and free every reassembly with p; the channels start
 * over at seq 0. */
static void session_clear(struct link_tp *tp, struct peer *p, int status)
{
	struct session *s = p->s;
	if (!s)
		return;
	tp->st.resets++;
	p->resets++;
	for (unsigned ci = 0; ci < LINK_CHANNELS; ci++) {
		struct chan *c = &s->ch[ci];
		while (c->head)
			complete_head(tp, c, status);
		if (c->rx.active)
			reasm_free(tp, p, c->rx.buf, c->rx.total);
		for (uint32_t i = 0; i < tp->cfg.window; i++)
			if (c->rs[i].buf)
				reasm_free(tp, p, c->rs[i].buf, c->rs[i].total);
		chan_init(tp, p, c);
	}
}

static size_t session_size(const struct link_tp *tp)
{
	return sizeof(struct session) +
	       LINK_CHANNELS * tp->cfg.window *
		       (sizeof(struct sslot) + sizeof(struct rslot));
}

/* Attach a session allocated by the caller (size session_size). */
static void session_attach(struct link_tp *tp, struct peer *p, void *mem)
{
	struct session *s = mem;
	uint8_t *q = (uint8_t *)(s + 1);
	memset(s, 0, sizeof *s);
	for (unsigned ci = 0; ci < LINK_CHANNELS; ci++) {
		s->ch[ci].ss = (struct sslot *)q;
		q += sizeof(struct sslot) * tp->cfg.window;
	}
	for (unsigned ci = 0; ci < LINK_CHANNELS; ci++) {
		s->ch[ci].rs = (struct rslot *)q;
		q += sizeof(struct rslot) * tp->cfg.window;
	}
	p->s = s;
	for (unsigned ci = 0; ci < LINK_CHANNELS; ci++)
		chan_init(tp, p, &s->ch[ci]);
	tp->active |= 1ull << peer_node(tp, p);
}

static void session_free(struct link_tp *tp, struct peer *p, int status)
{
	if (!p->s)
		return;
	session_clear(tp, p, status);
	tp->env.free(tp->env.ctx, p->s);
	p->s = NULL;
	tp->active &= ~(1ull << peer_node(tp, p));
}

static void peer_down(struct link_tp *tp, struct peer *p)
{
	session_free(tp, p, -EHOSTDOWN);
	p->state = LINK_PEER_DOWN;
	p->session++; /* the peer must reset too when it hears from us */
	tp->env.peer_event(tp->env.ctx, peer_node(tp, p), false, p->epoch);
}

/* ---------------------------------------------------------------- acks */

static void rtt_sample(struct link_tp *tp, struct peer *p, uint64_t rtt)
{
	if (!rtt)
		rtt = 1;
	if (!p->min_rtt || rtt < p->min_rtt)
		p->min_rtt = rtt;
	if (!p->srtt) {
		p->srtt = rtt;
		p->rttvar = rtt / 2;
	} else {
		uint64_t d = p->srtt > rtt ? p->srtt - rtt : rtt - p->srtt;
		p->rttvar = (3 * p->rttvar + d) / 4;
		p->srtt = (7 * p->srtt + rtt) / 8;
	}
	uint64_t rto = p->srtt + 4 * p->rttvar;
	if (rto < tp->cfg.rto_min_ns)
		rto = tp->cfg.rto_min_ns;
	p->rto = min64(rto, tp->cfg.rto_max_ns);
}

struct ack_note {
	uint64_t newest_ns, sample_from;
	uint32_t newest_xmit;
	bool have_newest, have_sample;
	bool ambiguous; /* covers a retransmitted frame: no RTT sample */
};

static void grow_reorder(const struct link_tp *tp, struct chan *c,
			 uint32_t dist)
{
	if (dist > tp->cfg.window)
		dist = tp->cfg.window;
	if (dist > c->reorder)
		c->reorder = dist;
}

/* The peer received seq twice: if we had resent it by fast retransmit,
 * the original was only late. */
static void dup_reported(const struct link_tp *tp, struct chan *c, uint32_t seq)
{
	for (unsigned i = 0; i < FAST_LOG; i++) {
		if (c->fast_dist[i] && c->fast_seq[i] == seq) {
			grow_reorder(tp, c, c->fast_dist[i] + 1);
			c->fast_dist[i] = 0;
		}
	}
}

/* A frame in flight is known delivered (acked or SACKed). */
static void note_delivered(const struct link_tp *tp, const struct peer *p,
			   struct chan *c, const struct sslot *s, uint64_t now,
			   struct ack_note *n)
{
	/* An original overtaken by later frames: the path reorders. */
	if (c->rack_valid && !(s->flags & SS_RETX) &&
	    seq_lt(s->xmit, c->rack_xmit))
		grow_reorder(tp, c, c->rack_xmit - s->xmit + 1);
	/* A retransmission acked sooner than any round trip is the original
	 * arriving: its time says nothing. */
	bool spurious = (s->flags & SS_RETX) && now - s->sent_ns < p->min_rtt;
	if (!(s->flags & SS_RETX)) {
		if (!n->have_sample || s->sent_ns > n->sample_from)
			n->sample_from = s->sent_ns;
		n->have_sample = true;
	} else {
		/* Karn: which transmission is acked is unknown, and a frame
		 * acked with it may have waited for this resend */
		n->ambiguous = true;
		if (spurious)
			return; /* not a time mark */
	}
	if (!n->have_newest || seq_lt(n->newest_xmit, s->xmit)) {
		n->newest_xmit = s->xmit;
		n->newest_ns = s->sent_ns;
	}
	n->have_newest = true;
}

/* A frame transmitted before one known delivered is lost if it went out a
 * reordering window (srtt/4) earlier, or `reorder` transmissions earlier
 * (a burst shares one timestamp; starts at 3, grows with the reordering
 * seen): resend it. */
static void detect_losses(struct link_tp *tp, struct peer *p, unsigned ci,
			  uint64_t now)
{
	struct chan *c = &p->s->ch[ci];
	uint64_t reo = p->srtt ? p->srtt / 4 : tp->cfg.rto_min_ns / 4;
	for (uint32_t seq = c->snd_una; seq != c->snd_nxt; seq++) {
		struct sslot *s = sslot(tp, c, seq);
		if ((s->flags & SS_SACKED) || !seq_lt(s->xmit, c->rack_xmit))
			continue;
		uint32_t dist = c->rack_xmit - s->xmit;
		if (s->sent_ns + reo <= c->rack_ns || dist >= c->reorder) {
			unsigned i = c->fast_next++ % FAST_LOG;
			c->fast_seq[i] = seq;
			c->fast_dist[i] = dist;
			tp->st.fast_retransmits++;
			retransmit(tp, p, ci, seq, 0, now);
		}
	}
}

/* Apply a validated ack (snd_una <= ack <= snd_nxt, sack bits below
 * snd_nxt). Returns true if it acknowledged anything new. */
static bool chan_acked(struct link_tp *tp, struct peer *p, unsigned ci,
		       uint32_t ack, uint64_t sack, uint16_t window,
		       uint64_t now)
{
	struct chan *c = &p->s->ch[ci];
	struct ack_note n = {0};
	bool advanced = false, progress = false;
	c->peer_win = window;
	while (c->snd_una != ack) {
		struct sslot *s = sslot(tp, c, c->snd_una);
		if (!(s->flags & SS_SACKED))
			note_delivered(tp, p, c, s, now, &n);
		if (s->flags & SS_LAST)
			complete_head(tp, c, 0);
		memset(s, 0, sizeof *s);
		c->snd_una++;
		advanced = true;
	}
	for (uint64_t b = sack; b; b &= b - 1) {
		struct sslot *s = sslot(tp, c, ack + 1 + __builtin_ctzll(b));
		if (s->flags & SS_SACKED)
			continue;
		s->flags |= SS_SACKED;
		note_delivered(tp, p, c, s, now, &n);
		progress = true;
	}
	if (n.have_sample && !n.ambiguous)
		rtt_sample(tp, p, now - n.sample_from);
	if (advanced) {
		c->backoff = 0;
		c->rto_at = c->snd_una != c->snd_nxt ? now + rto_now(tp, p, c)
						     : 0;
	}
	if (n.have_newest &&
	    (!c->rack_valid || seq_lt(c->rack_xmit, n.newest_xmit))) {
		c->rack_xmit = n.newest_xmit;
		c->rack_ns = n.newest_ns;
		c->rack_valid = true;
		if (sack)
			detect_losses(tp, p, ci, now);
	}
	return advanced || progress;
}

static void chan_rto(struct link_tp *tp, struct peer *p, unsigned ci,
		     uint64_t now)
{
	struct chan *c = &p->s->ch[ci];
	if (c->snd_una == c->snd_nxt) {
		c->rto_at = 0;
		return;
	}
	if (c->backoff < BACKOFF_MAX)
		c->backoff++;
	c->rto_at = now + rto_now(tp, p, c);
	tp->st.rto_fired++;
	retransmit(tp, p, ci, c->snd_una, F_ACKNOW, now);
}

/* ---------------------------------------------------------------- input */

/* Structure, tag and addressing: everything that needs no peer state. */
static int parse(const struct link_tp *tp, const uint8_t *f, size_t len,
		 struct hdr *h)
{
	if (!f || len < LINK_ETH_HLEN + LINK_HDR_LEN)
		return LINK_DROP_RUNT;
	const uint8_t *l = f + LINK_ETH_HLEN;
	if (get16(l + O_MAGIC) != LINK_MAGIC || l[O_VERSION] != LINK_VERSION ||
	    (l[O_FLAGS] & ~F_KNOWN))
		return LINK_DROP_BAD_MAGIC;
	h->type = l[O_TYPE];
	if (h->type < T_HELLO || h->type > T_RAW)
		return LINK_DROP_BAD_TYPE;
	h->flags = l[O_FLAGS];
	if ((h->flags & F_DUP) && h->type != T_ACK)
		return LINK_DROP_BAD_MAGIC;
	if ((h->flags & (F_ECHO | F_ECHOED)) &&
	    (h->type != T_RAW ||
	     (h->flags & (F_ECHO | F_ECHOED)) == (F_ECHO | F_ECHOED)))
		return LINK_DROP_BAD_MAGIC;
	h->plen = get16(l + O_PLEN);
	bool tagged = h->flags & F_TAG;
	if (len != LINK_ETH_HLEN + LINK_HDR_LEN + (size_t)h->plen +
			   (tagged ? LINK_TAG_LEN : 0))
		return LINK_DROP_BAD_LENGTH;
	if (tagged != tp->keyed)
		return LINK_DROP_BAD_TAG;
	if (tagged && siphash24(&tp->key, f + 6, len - 6 - LINK_TAG_LEN) !=
			      get64(f + len - LINK_TAG_LEN))
		return LINK_DROP_BAD_TAG;
	h->src = l[O_SRC];
	h->dst = l[O_DST];
	h->chan = l[O_CHAN];
	h->src_epoch = get64(l + O_SEPOCH);
	h->dst_epoch = get64(l + O_DEPOCH);
	h->session = get32(l + O_SESSION);
	h->seq = get32(l + O_SEQ);
	h->ack = get32(l + O_ACK);
	h->window = get16(l + O_WINDOW);
	h->sack = get64(l + O_SACK);
	h->msg_seq = get32(l + O_MSGSEQ);
	h->offset = get32(l + O_OFFSET);
	h->total = get32(l + O_TOTAL);
	h->eth = f;
	h->payload = l + LINK_HDR_LEN;
	if (h->src >= LINK_MAX_NODES)
		return LINK_DROP_BAD_NODE;
	if (h->src == tp->self)
		return LINK_DROP_SELF;
	if (f[6] & 1)
		return LINK_DROP_BAD_SRC; /* a group address as source */
	if (h->type == T_HELLO) {
		if (h->dst != LINK_NODE_ALL ||
		    (memcmp(f, bcast_mac, 6) && memcmp(f, tp->mac, 6)))
			return LINK_DROP_NOT_FOR_US;
		if (h->plen != HELLO_LEN)
			return LINK_DROP_BAD_LENGTH;
		return 0;
	}
	if (h->dst != tp->self || memcmp(f, tp->mac, 6))
		return LINK_DROP_NOT_FOR_US;
	if (h->type == T_RAW)
		return 0;
	if (h->chan >= LINK_CHANNELS)
		return LINK_DROP_BAD_CHANNEL;
	if (h->type == T_ACK && h->plen)
		return LINK_DROP_BAD_LENGTH;
	if (h->window == 0)
		return LINK_DROP_BAD_ACK;
	return 0;
}

static int input_hello(struct link_tp *tp, const struct hdr *h, uint64_t now)
{
	struct peer *p = &tp->peer[h->src];
	const uint8_t *src_mac = h->eth + 6;
	uint64_t ctr = get64(h->payload);
	uint32_t window = get32(h->payload + 16);
	if (window == 0)
		return LINK_DROP_BAD_ACK;
	if (p->known) {
		if (h->src_epoch < p->epoch)
			return LINK_DROP_BAD_EPOCH;
		if (h->src_epoch == p->epoch && ctr <= p->hello_ctr)
			return LINK_DROP_REPLAY;
		if (h->src_epoch == p->epoch && p->state == LINK_PEER_UP &&
		    memcmp(src_mac, p->mac, 6))
			return LINK_DROP_BAD_SRC;
	}
	bool reboot = p->known && h->src_epoch > p->epoch;
	bool comes_up = !p->known || reboot || p->state != LINK_PEER_UP;
	void *mem = NULL;
	if (comes_up && !p->s) {
		mem = tp->env.alloc(tp->env.ctx, session_size(tp));
		if (!mem)
			return LINK_DROP_NO_MEMORY;
	}
	/* accepted: act (the window first: channels reset below take it) */
	p->window = window > 0xFFFF ? 0xFFFF : window;
	if (reboot && p->state == LINK_PEER_UP) {
		session_clear(tp, p, -ECONNRESET);
		tp->env.peer_event(tp->env.ctx, h->src, false, p->epoch);
	}
	if (!p->known || reboot) {
		p->epoch = h->src_epoch;
		p->session = 0;
		p->known = true;
	}
	p->hello_ctr = ctr;
	p->hellos++;
	p->speed = get32(h->payload + 8);
	p->load = get32(h->payload + 12);
	p->last_heard = now;
	if (comes_up) {
		memcpy(p->mac, src_mac, 6);
		if (mem)
			session_attach(tp, p, mem);
		p->state = LINK_PEER_UP;
		tp->env.peer_event(tp->env.ctx, h->src, true, p->epoch);
		/* back after being down: it may not know we reset */
		if (p->session)
			send_ack(tp, p, 0);
	}
	return 0;
}

/* The ack fields against the sender state c: 0 (*stale set if the ack is
 * behind snd_una: old news, ignored) or LINK_DROP_BAD_ACK. */
static int check_ack(const struct chan *c, const struct hdr *h, bool *stale)
{
	*stale = false;
	if (seq_lt(c->snd_nxt, h->ack))
		return LINK_DROP_BAD_ACK; /* acknowledges what was never sent */
	if (seq_lt(h->ack, c->snd_una)) {
		*stale = true;
		return 0;
	}
	if (h->sack) {
		uint32_t top = h->ack + 1 + (63 - __builtin_clzll(h->sack));
		if (!seq_lt(top, c->snd_nxt))
			return LINK_DROP_BAD_ACK;
	}
	return 0;
}

/* Does a valid, not stale ack tell anything not yet known (new data
 * acknowledged, or a duplicate of one of our fast retransmissions)? */
static bool ack_news(const struct link_tp *tp, const struct chan *c,
		     const struct hdr *h)
{
	if (h->ack != c->snd_una)
		return true;
	if (h->flags & F_DUP)
		for (unsigned i = 0; i < FAST_LOG; i++)
			if (c->fast_dist[i] && c->fast_seq[i] == h->msg_seq)
				return true;
	for (uint64_t b = h->sack; b; b &= b - 1)
		if (!(sslot(tp, c, h->ack + 1 + __builtin_ctzll(b))->flags &
		      SS_SACKED))
			return true;
	return false;
}

/* The data fields against the receiver state c (rs may be NULL: a fresh
 * session). *alloc_len: bytes to allocate for a new reassembly. */
static int check_data(const struct link_tp *tp, const struct chan *c,
		      uint64_t reasm_bytes, const struct hdr *h,
		      uint32_t *alloc_len)
{
	*alloc_len = 0;
	if (h->total > LINK_MSG_MAX || h->offset > h->total ||
	    h->plen > h->total - h->offset || (h->total && !h->plen))
		return LINK_DROP_BAD_FRAGMENT;
	bool last = h->offset + h->plen == h->total;
	if (last != !!(h->flags & F_LAST))
		return LINK_DROP_BAD_FRAGMENT;
	/* every earlier fragment carries at least one byte */
	if (h->seq - h->msg_seq > h->offset)
		return LINK_DROP_BAD_FRAGMENT;
	uint32_t rel = h->seq - c->rcv_nxt;
	if (rel >= tp->cfg.window)
		return (int32_t)rel < 0 ? LINK_DROP_DUPLICATE
					: LINK_DROP_OUTSIDE_WINDOW;
	if (c->rs && (rslot(tp, c, h->seq)->flags & RS_HAVE))
		return LINK_DROP_DUPLICATE;
	if (!h->total)
		return 0;
	if (seq_lt(h->msg_seq, c->rcv_nxt)) {
		if (!c->rx.active || c->rx.msg_seq != h->msg_seq ||
		    c->rx.total != h->total)
			return LINK_DROP_BAD_FRAGMENT;
		return 0;
	}
	const struct rslot *e = c->rs ? rslot(tp, c, h->msg_seq) : NULL;
	if (e && e->buf)
		return e->total == h->total ? 0 : LINK_DROP_BAD_FRAGMENT;
	if (reasm_bytes + h->total > tp->cfg.reasm_max)
		return LINK_DROP_REASM_LIMIT;
	*alloc_len = h->total;
	return 0;
}

static void deliver(struct link_tp *tp, struct peer *p, unsigned ci, void *msg,
		    uint32_t len)
{
	tp->st.msgs_delivered++;
	tp->st.bytes_delivered += len;
	tp->env.deliver(tp->env.ctx, peer_node(tp, p), ci, msg, len);
}

/* A received message turned out malformed (only a broken or hostile
 * sender does that): drop it. */
static void rx_abort(struct link_tp *tp, struct peer *p, struct chan *c)
{
	tp->st.reasm_errors++;
	reasm_free(tp, p, c->rx.buf, c->rx.total);
	c->rx.active = false;
}

/* Move rcv_nxt over every received frame, delivering finished messages. */
static void rx_advance(struct link_tp *tp, struct peer *p, unsigned ci)
{
	struct chan *c = &p->s->ch[ci];
	for (;;) {
		struct rslot *r = rslot(tp, c, c->rcv_nxt);
		if (!(r->flags & RS_HAVE))
			break;
		if (r->buf) { /* a message starts here */
			if (c->rx.active)
				rx_abort(tp, p, c);
			c->rx = (struct reasm){r->buf, r->total, r->got,
					       c->rcv_nxt, true};
		}
		uint8_t flags = r->flags;
		memset(r, 0, sizeof *r);
		c->rcv_nxt++;
		c->sack >>= 1;
		if (tp->cfg.window > 64 &&
		    (rslot(tp, c, c->rcv_nxt + 64)->flags & RS_HAVE))
			c->sack |= 1ull << 63;
		if (!(flags & RS_LAST))
			continue;
		if (flags & RS_EMPTY) {
			if (c->rx.active)
				rx_abort(tp, p, c);
			deliver(tp, p, ci, NULL, 0);
		} else if (c->rx.active && c->rx.got == c->rx.total) {
			c->rx.active = false;
			p->reasm_bytes -= c->rx.total;
			tp->st.reasm_bytes -= c->rx.total;
			deliver(tp, p, ci, c->rx.buf, c->rx.total);
		} else if (c->rx.active) {
			rx_abort(tp, p, c);
		}
	}
}

/* Copy a validated fragment into place. */
static void rx_place(struct link_tp *tp, struct peer *p, struct chan *c,
		     const struct hdr *h, uint8_t *newbuf)
{
	struct rslot *r = rslot(tp, c, h->seq);
	if (h->total) {
		uint8_t *buf;
		uint32_t *got;
		if (seq_lt(h->msg_seq, c->rcv_nxt)) {
			buf = c->rx.buf;
			got = &c->rx.got;
		} else {
			struct rslot *e = rslot(tp, c, h->msg_seq);
			if (!e->buf) {
				e->buf = newbuf;
				e->total = h->total;
				e->got = 0;
				p->reasm_bytes += h->total;
				tp->st.reasm_bytes += h->total;
				if (tp->st.reasm_bytes > tp->st.reasm_bytes_max)
					tp->st.reasm_bytes_max =
						tp->st.reasm_bytes;
			}
			buf = e->buf;
			got = &e->got;
		}
		memcpy(buf + h->offset, h->payload, h->plen);
		*got += h->plen;
		r->flags = RS_HAVE | ((h->flags & F_LAST) ? RS_LAST : 0);
	} else {
		r->flags = RS_HAVE | RS_LAST | RS_EMPTY;
	}
	uint32_t above = h->seq - c->rcv_nxt;
	if (above && above - 1 < 64)
		c->sack |= 1ull << (above - 1);
}

/* An ACK that answers a frame from another session: at most one per peer
 * per ack_delay, so that frames from the past (or forged ones) can never
 * make the two ends answer each other without end, nor make us reflect a
 * flood. */
static void control_ack(struct link_tp *tp, struct peer *p, unsigned ci,
			uint64_t now)
{
	if (now < p->ctl_at)
		return;
	p->ctl_at = now + tp->cfg.ack_delay_ns;
	send_ack(tp, p, ci);
}

static int input_unicast(struct link_tp *tp, const struct hdr *h, uint64_t now)
{
	struct peer *p = &tp->peer[h->src];
	if (p->state != LINK_PEER_UP)
		return LINK_DROP_PEER_DOWN;
	if (memcmp(h->eth + 6, p->mac, 6))
		return LINK_DROP_BAD_SRC;
	if (h->src_epoch != p->epoch || h->dst_epoch != tp->epoch)
		return LINK_DROP_BAD_EPOCH;
	if (h->type == T_RAW) {
		p->raw_rx_frames++;
		p->raw_rx_bytes += h->plen;
		p->raw_last_seq = h->seq;
		tp->st.raw_rx_frames++;
		tp->st.raw_rx_bytes += h->plen;
		if (h->flags & F_ECHO)
			raw_frame(tp, p, h->plen, h->seq, F_ECHOED);
		else if ((h->flags & F_ECHOED) && tp->env.raw_echo)
			tp->env.raw_echo(tp->env.ctx, h->src, h->seq);
		return 0;
	}
	unsigned ci = h->chan;
	if (session_newer(p->session, h->session)) {
		control_ack(tp, p, ci, now); /* tell the peer about our reset */
		return LINK_DROP_STALE_SESSION;
	}
	/* A newer session: the peer reset. Validate against a fresh
	 * channel; reset only if the frame is acceptable. */
	bool adopt = h->session != p->session;
	struct chan fresh;
	const struct chan *view = &p->s->ch[ci];
	if (adopt) {
		memset(&fresh, 0, sizeof fresh);
		view = &fresh;
	}
	bool stale;
	int why = check_ack(view, h, &stale);
	if (why == LINK_DROP_BAD_ACK && adopt) {
		/* A newer session that acknowledges data we never sent in it:
		 * no honest peer does that (a new session starts empty), but
		 * numbers that wrapped or forged frames can cross sessions.
		 * Start one newer than both and say so. */
		session_clear(tp, p, -ECONNRESET);
		p->session = h->session + 1;
		control_ack(tp, p, 0, now);
		return why;
	}
	if (why)
		return why;
	uint32_t alloc_len = 0;
	if (h->type == T_DATA) {
		why = check_data(tp, view, adopt ? 0 : p->reasm_bytes, h,
				 &alloc_len);
		if (why && why != LINK_DROP_DUPLICATE)
			return why;
	} else if (stale || (!adopt && !ack_news(tp, view, h))) {
		return LINK_DROP_DUPLICATE; /* an old or repeated ack */
	}
	if (why && adopt)
		return why;
	uint8_t *newbuf = NULL;
	if (alloc_len) {
		newbuf = tp->env.alloc(tp->env.ctx, alloc_len);
		if (!newbuf)
			return LINK_DROP_NO_MEMORY;
	}
	/* accepted (or a duplicate whose ack still counts): act */
	if (adopt) {
		session_clear(tp, p, -ECONNRESET);
		p->session = h->session;
	}
	struct chan *c = &p->s->ch[ci];
	p->rx_frames++;
	p->rx_bytes += LINK_ETH_HLEN + LINK_HDR_LEN + h->plen;
	bool progress = false;
	if (h->type == T_DATA && !why) {
		uint32_t before = c->rcv_nxt;
		bool had_hole = c->sack != 0;
		rx_place(tp, p, c, h, newbuf);
		rx_advance(tp, p, ci);
		progress = true;
		c->unacked++;
		if ((h->flags & F_ACKNOW) || c->unacked >= tp->cfg.ack_every ||
		    (h->seq != before && !had_hole) || c->rcv_nxt - before > 1)
			c->ack_now = true;
		else if (!c->ack_at)
			c->ack_at = now + tp->cfg.ack_delay_ns;
	} else if (why == LINK_DROP_DUPLICATE && h->type == T_DATA) {
		c->ack_now = true; /* our ack was lost, or a resend was early */
		c->dup_pending = true;
		c->dup_seq = h->seq;
	}
	if (h->type == T_ACK && (h->flags & F_DUP))
		dup_reported(tp, c, h->msg_seq);
	if (!stale)
		progress |=
			chan_acked(tp, p, ci, h->ack, h->sack, h->window, now);
	if (progress)
		p->last_heard = now;
	chan_push(tp, p, ci, now);
	if (c->ack_now)
		send_ack(tp, p, ci);
	return why;
}

int link_tp_input(struct link_tp *tp, const void *frame, size_t len,
		  uint64_t now_ns)
{
	struct hdr h;
	tp->st.rx_frames++;
	int why = parse(tp, frame, len, &h);
	if (!why)
		why = h.type == T_HELLO ? input_hello(tp, &h, now_ns)
					: input_unicast(tp, &h, now_ns);
	if (why) {
		tp->st.rx_dropped++;
		tp->st.drop[why]++;
	}
	return why;
}

/* ---------------------------------------------------------------- API */

size_t link_tp_size(void)
{
	return sizeof(struct link_tp);
}

static uint32_t pick(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

void link_tp_init(struct link_tp *tp, const struct link_env *env,
		  const struct link_config *cfg, unsigned self_node,
		  uint64_t epoch, const uint8_t mac[6], uint64_t now_ns)
{
	static const struct link_config none;
	if (!cfg)
		cfg = &none;
	memset(tp, 0, sizeof *tp);
	tp->env = *env;
	struct cfg *c = &tp->cfg;
	c->hello_ns = (uint64_t)pick(cfg->hello_ms, 500) * 1000000;
	c->dead_ns = (uint64_t)pick(cfg->dead_hellos, 3) * c->hello_ns;
	uint32_t w = pick(cfg->window, 64);
	if (w > LINK_WINDOW_MAX)
		w = LINK_WINDOW_MAX;
	c->window = 1;
	while (c->window * 2 <= w)
		c->window *= 2;
	c->wmask = c->window - 1;
	c->mtu = pick(cfg->mtu, 1500);
	if (c->mtu < LINK_MTU_MIN)
		c->mtu = LINK_MTU_MIN;
	if (c->mtu > LINK_MTU_MAX)
		c->mtu = LINK_MTU_MAX;
	c->rto_min_ns = (uint64_t)pick(cfg->rto_min_us, 5000) * 1000;
	c->rto_max_ns = (uint64_t)pick(cfg->rto_max_ms, 1000) * 1000000;
	if (c->rto_max_ns < c->rto_min_ns)
		c->rto_max_ns = c->rto_min_ns;
	c->rto_init_ns = (uint64_t)pick(cfg->rto_init_ms, 50) * 1000000;
	c->ack_delay_ns = (uint64_t)pick(cfg->ack_delay_us, 1000) * 1000;
	c->ack_every = pick(cfg->ack_every, 4);
	c->queue_max = pick(cfg->queue_max, 4096);
	c->reasm_max = pick(cfg->reasm_max, 48u << 20);
	if (c->reasm_max < LINK_MSG_MAX)
		c->reasm_max = LINK_MSG_MAX;
	tp->self = self_node;
	tp->epoch = epoch;
	memcpy(tp->mac, mac, 6);
	for (unsigned n = 0; n < LINK_MAX_NODES; n++) {
		tp->peer[n].rto = c->rto_init_ns;
		tp->peer[n].window = c->window;
	}
	if (self_node < LINK_MAX_NODES) {
		struct peer *me = &tp->peer[self_node];
		me->state = LINK_PEER_SELF;
		me->epoch = epoch;
		memcpy(me->mac, mac, 6);
		me->last_heard = now_ns;
	}
}

void link_tp_fini(struct link_tp *tp)
{
	for (unsigned n = 0; n < LINK_MAX_NODES; n++)
		session_free(tp, &tp->peer[n], -ESHUTDOWN);
}

void link_tp_set_key(struct link_tp *tp, const uint8_t key[16])
{
	tp->keyed = key != NULL;
	if (key)
		siphash_key_init(&tp->key, key);
	else
		memset(&tp->key, 0, sizeof tp->key);
}

void link_tp_set_load(struct link_tp *tp, uint32_t speed, uint32_t load)
{
	tp->speed = speed;
	tp->load = load;
}

uint64_t link_tp_poll(struct link_tp *tp, uint64_t now_ns)
{
	if (!tp->hello_started || now_ns >= tp->next_hello) {
		tp->hello_started = true;
		tp->next_hello = now_ns + tp->cfg.hello_ns;
		send_hello(tp);
	}
	/* The glue polls at the deadlines we return, never more than a hello
	 * period apart. A poll much later than that means this node did not
	 * run the engine meanwhile (busy elsewhere), and frames may be
	 * waiting unread: the time it could not listen is not the peers'
	 * silence. */
	if (tp->last_poll && now_ns > tp->last_poll + 2 * tp->cfg.hello_ns) {
		uint64_t gap = now_ns - tp->last_poll - tp->cfg.hello_ns;
		for (uint64_t m = tp->active; m; m &= m - 1) {
			struct peer *p = &tp->peer[__builtin_ctzll(m)];
			p->last_heard = min64(p->last_heard + gap, now_ns);
		}
		tp->st.stalls++;
	}
	tp->last_poll = now_ns;
	uint64_t next = tp->next_hello;
	for (uint64_t m = tp->active; m; m &= m - 1) {
		struct peer *p = &tp->peer[__builtin_ctzll(m)];
		uint64_t dead = p->last_heard + tp->cfg.dead_ns;
		if (now_ns >= dead) {
			peer_down(tp, p);
			continue;
		}
		next = min64(next, dead);
		for (unsigned ci = 0; ci < LINK_CHANNELS; ci++) {
			struct chan *c = &p->s->ch[ci];
			/* No timer armed, nothing queued: nothing to do (the
			 * glue polls after every input and send). */
			if (!c->rto_at && !c->ack_at && !c->cur)
				continue;
			if (c->rto_at && now_ns >= c->rto_at)
				chan_rto(tp, p, ci, now_ns);
			chan_push(tp, p, ci, now_ns);
			if (c->ack_at && now_ns >= c->ack_at)
				send_ack(tp, p, ci);
			if (c->rto_at)
				next = min64(next, c->rto_at);
			if (c->ack_at)
				next = min64(next, c->ack_at);
		}
	}
	return next;
}

/* Check a send; 0 or its error. */
static int send_check(struct link_tp *tp, unsigned node, unsigned chan,
		      const void *buf, size_t len)
{
	if (node >= LINK_MAX_NODES || chan >= LINK_CHANNELS ||
	    node == tp->self || (!buf && len))
		return -EINVAL;
	if (len > LINK_MSG_MAX)
		return -EMSGSIZE;
	const struct peer *p = &tp->peer[node];
	if (p->state != LINK_PEER_UP)
		return -EHOSTDOWN;
	if (p->s->ch[chan].queued >= tp->cfg.queue_max)
		return -ENOBUFS;
	return 0;
}

/* Queue checked message m and send what the window allows. */
static void send_queue(struct link_tp *tp, unsigned node, unsigned chan,
		       struct link_tp_msg *m, uint64_t now)
{
	struct peer *p = &tp->peer[node];
	struct chan *c = &p->s->ch[chan];
	if (c->tail)
		c->tail->next = m;
	else
		c->head = m;
	c->tail = m;
	if (!c->cur)
		c->cur = m;
	c->queued++;
	chan_push(tp, p, chan, now);
}

int link_tp_send(struct link_tp *tp, unsigned node, unsigned chan,
		 const void *buf, size_t len, void *cookie, uint64_t now_ns)
{
	int r = send_check(tp, node, chan, buf, len);
	if (r)
		return r;
	struct link_tp_msg *m = tp->env.alloc(tp->env.ctx, sizeof *m);
	if (!m)
		return -ENOBUFS;
	*m = (struct link_tp_msg){.buf = buf,
				  .cookie = cookie,
				  .len = (uint32_t)len,
				  .owned = true};
	send_queue(tp, node, chan, m, now_ns);
	return 0;
}

int link_tp_send_msg(struct link_tp *tp, unsigned node, unsigned chan,
		     struct link_tp_msg *m, const void *buf, size_t len,
		     void *cookie, uint64_t now_ns)
{
	int r = send_check(tp, node, chan, buf, len);
	if (r)
		return r;
	*m = (struct link_tp_msg){
		.buf = buf, .cookie = cookie, .len = (uint32_t)len};
	send_queue(tp, node, chan, m, now_ns);
	return 0;
}

size_t link_tp_raw_max(const struct link_tp *tp)
{
	return payload_max(tp);
}

static int send_raw(struct link_tp *tp, unsigned node, size_t len, uint32_t seq,
		    unsigned flags)
{
	if (node >= LINK_MAX_NODES || node == tp->self)
		return -EINVAL;
	if (len > payload_max(tp))
		return -EMSGSIZE;
	struct peer *p = &tp->peer[node];
	if (p->state != LINK_PEER_UP)
		return -EHOSTDOWN;
	return raw_frame(tp, p, len, seq, flags);
}

int link_tp_send_raw(struct link_tp *tp, unsigned node, size_t len,
		     uint32_t seq)
{
	return send_raw(tp, node, len, seq, 0);
}

int link_tp_send_raw_echo(struct link_tp *tp, unsigned node, size_t len,
			  uint32_t seq)
{
	return send_raw(tp, node, len, seq, F_ECHO);
}

void link_tp_peer_info(const struct link_tp *tp, unsigned node,
		       struct link_peer_info *out)
{
	memset(out, 0, sizeof *out);
	if (node >= LINK_MAX_NODES)
		return;
	const struct peer *p = &tp->peer[node];
	out->state = p->state;
	memcpy(out->mac, p->mac, 6);
	out->epoch = p->epoch;
	out->last_heard_ns = p->last_heard;
	out->rtt_ns = p->srtt;
	out->rto_ns = p->rto;
	out->speed = p->speed;
	out->load = p->load;
	if (p->state == LINK_PEER_SELF) {
		out->speed = tp->speed;
		out->load = tp->load;
	}
	out->tx_frames = p->tx_frames;
	out->tx_bytes = p->tx_bytes;
	out->rx_frames = p->rx_frames;
	out->rx_bytes = p->rx_bytes;
	out->retransmits = p->retransmits;
	out->hellos = p->hellos;
	out->session = p->session;
	out->resets = p->resets;
	out->window = p->window;
	out->raw_rx_frames = p->raw_rx_frames;
	out->raw_rx_bytes = p->raw_rx_bytes;
	out->raw_last_seq = p->raw_last_seq;
	out->reasm_bytes = p->reasm_bytes;
	if (p->s) {
		for (unsigned ci = 0; ci < LINK_CHANNELS; ci++) {
			const struct chan *c = &p->s->ch[ci];
			out->inflight += c->snd_nxt - c->snd_una;
			out->queued += c->queued;
		}
	}
}

int link_tp_chan_info(const struct link_tp *tp, unsigned node, unsigned chan,
		      struct link_chan_info *out)
{
	memset(out, 0, sizeof *out);
	if (node >= LINK_MAX_NODES || chan >= LINK_CHANNELS)
		return -EINVAL;
	const struct peer *p = &tp->peer[node];
	if (!p->s)
		return -ENOTCONN;
	const struct chan *c = &p->s->ch[chan];
	out->snd_una = c->snd_una;
	out->snd_nxt = c->snd_nxt;
	out->inflight = c->snd_nxt - c->snd_una;
	out->inflight_max = c->inflight_max;
	out->queued = c->queued;
	out->rcv_nxt = c->rcv_nxt;
	out->backoff = c->backoff;
	out->reorder = c->reorder;
	out->rto_at_ns = c->rto_at;
	out->ack_at_ns = c->ack_at;
	return 0;
}

const struct link_stats *link_tp_stats(const struct link_tp *tp)
{
	return &tp->st;
}

unsigned link_tp_self(const struct link_tp *tp)
{
	return tp->self;
}

void link_tp_peer_reset(struct link_tp *tp, unsigned node)
{
	if (node >= LINK_MAX_NODES || !tp->peer[node].s)
		return;
	struct peer *p = &tp->peer[node];
	session_clear(tp, p, -ESHUTDOWN);
	p->session++;
	send_ack(tp, p, 0); /* the peer resets too */
}
