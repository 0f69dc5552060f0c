/*
 * link_tp.h — the Linker's protocol engine: network layer (hellos, node
 * table, liveness) and transport layer (reliable ordered channels) as a pure
 * state machine. Frames and timer ticks go in, frames (env->xmit), whole
 * messages (env->deliver), completions (env->sent) and membership changes
 * (env->peer_event) come out. The wire format and the state machines are
 * described at the top of link_tp.c and in docs/linker.md.
 *
 * Interface: link_tp_init, then link_tp_input for every received frame,
 * link_tp_poll at (or after) the deadline it returned, link_tp_send (or
 * link_tp_send_msg, with the caller's record) to queue messages. Time only comes in as now_ns (monotonic nanoseconds).
 *
 * Not thread-safe: the caller holds one lock around every link_tp_* call;
 * callbacks run under it and must not call back into link_tp_*. No static
 * mutable state: several engines may live in one process (host tests).
 *
 * The same file compiles in the kernel and on the host: it uses only
 * <stdint.h>, <stddef.h>, <stdbool.h>, <string.h> and kern/errno.h.
 */
#ifndef MOSIX_LINK_TP_H
#define MOSIX_LINK_TP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/errno.h" /* the -errno values below, EHOSTDOWN, ESHUTDOWN */

#define LINK_ETHERTYPE 0x88B5
#define LINK_MAX_NODES 64 /* node numbers 0..63 */
#define LINK_CHANNELS 4 /* per peer; independent sequence spaces */
#define LINK_CHAN_RPC 0 /* short requests/replies */
#define LINK_CHAN_BULK 1 /* pages, migration images */
#define LINK_CHAN_INFO 2 /* load information */
#define LINK_CHAN_TEST 3 /* linkperf */
#define LINK_MSG_MAX (32u << 20) /* largest message (>= 16 MB required) */

#define LINK_ETH_HLEN 14 /* dst MAC, src MAC, EtherType */
#define LINK_HDR_LEN 60 /* the Linker header after the Ethernet header */
#define LINK_TAG_LEN 8 /* SipHash-2-4 tag, with a cluster key */
#define LINK_MTU_MIN 576
#define LINK_MTU_MAX 9000
#define LINK_WINDOW_MAX 256 /* frames in flight per channel */
#define LINK_NODE_ALL 0xFF /* dst node of a hello */

enum link_state {
	LINK_PEER_UNKNOWN,
	LINK_PEER_UP,
	LINK_PEER_DOWN,
	LINK_PEER_SELF
};

/* Why link_tp_input refused a frame (0 = accepted). */
enum link_drop {
	LINK_DROP_NONE,
	LINK_DROP_RUNT, /* shorter than both headers */
	LINK_DROP_BAD_MAGIC, /* magic, version or unknown flags */
	LINK_DROP_BAD_TYPE,
	LINK_DROP_BAD_LENGTH, /* frame length vs payload length, type */
	LINK_DROP_BAD_TAG, /* cluster key: tag missing, wrong or unexpected */
	LINK_DROP_NOT_FOR_US, /* dst node / dst MAC */
	LINK_DROP_BAD_NODE, /* src node out of range */
	LINK_DROP_SELF, /* src node is our own number */
	LINK_DROP_PEER_DOWN, /* data/ack/raw from a peer not up */
	LINK_DROP_BAD_SRC, /* src MAC differs from the peer's */
	LINK_DROP_BAD_EPOCH, /* src/dst epoch mismatch, older hello epoch */
	LINK_DROP_STALE_SESSION, /* session number older than ours */
	LINK_DROP_REPLAY, /* hello counter not increasing */
	LINK_DROP_BAD_CHANNEL,
	LINK_DROP_BAD_ACK, /* ack/sack/window impossible */
	LINK_DROP_OUTSIDE_WINDOW,
	LINK_DROP_DUPLICATE, /* data already received (its ack still counts) */
	LINK_DROP_BAD_FRAGMENT, /* offset/length/message fields inconsistent */
	LINK_DROP_REASM_LIMIT, /* per-peer reassembly memory bound */
	LINK_DROP_NO_MEMORY, /* env->alloc failed */
	LINK_DROP_COUNT
};

struct link_env { /* provided by the glue; called from inside link_tp_* */
	void *ctx;
	/* Send one whole Ethernet frame (dst MAC, src MAC, 0x88B5, body); 0 or
	 * -errno (then the frame counts as lost and is retransmitted in time).
	 * The frame buffer is only valid during the call. */
	int (*xmit)(void *ctx, const void *frame, size_t len);
	/* A whole message arrived in order on (node, chan); msg came from alloc
	 * and now belongs to the callee (len may be 0: then msg is NULL). */
	void (*deliver)(void *ctx, unsigned node, unsigned chan, void *msg,
			size_t len);
	/* A message given to link_tp_send is finished: 0 = every byte
	 * acknowledged by the peer; -EHOSTDOWN (peer went down), -ECONNRESET
	 * (peer rebooted or reset the session), -ESHUTDOWN (link_tp_peer_reset,
	 * link_tp_fini). The caller's buffer may be reused after this call. */
	void (*sent)(void *ctx, void *cookie, int status);
	/* A peer came up (new epoch, or back after being down with the same
	 * epoch), or went down (up == false). A reboot seen through a hello
	 * with a greater epoch gives down (old epoch) then up (new epoch). */
	void (*peer_event)(void *ctx, unsigned node, bool up, uint64_t epoch);
	/* Optional (may be NULL): the answer to link_tp_send_raw_echo's
	 * frame seq arrived from node. */
	void (*raw_echo)(void *ctx, unsigned node, uint32_t seq);
	void *(*alloc)(void *ctx, size_t size); /* NULL: no memory */
	void (*free)(void *ctx, void *p);
};

/* Any field left 0 takes its default. */
struct link_config {
	uint32_t hello_ms; /* default 500 */
	uint32_t dead_hellos; /* default 3: missing this many hellos = down */
	uint32_t window; /* frames in flight per channel, default 64; rounded
			    down to a power of two, at most LINK_WINDOW_MAX */
	uint32_t mtu; /* Ethernet payload bytes, default 1500 */
	uint32_t rto_min_us; /* default 5000 */
	uint32_t rto_max_ms; /* default 1000 */
	uint32_t rto_init_ms; /* before any RTT sample, default 50 */
	uint32_t ack_delay_us; /* delayed ack, default 1000 */
	uint32_t ack_every; /* ack at once after this many frames, default 4 */
	uint32_t queue_max; /* queued messages per channel, default 4096 */
	uint32_t reasm_max; /* reassembly bytes per peer, default 48 MiB
			       (at least LINK_MSG_MAX) */
};

struct link_peer_info { /* for /proc/cluster/nodes */
	enum link_state state;
	uint8_t mac[6];
	uint64_t epoch;
	uint64_t last_heard_ns; /* 0 = never */
	uint64_t rtt_ns; /* smoothed RTT estimate, 0 = none yet */
	uint32_t speed, load; /* from the peer's last hello */
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes, retransmits;
	uint64_t rto_ns; /* current retransmission timeout */
	uint64_t hellos; /* hellos accepted from the peer */
	uint32_t session; /* session number (bumped on every reset) */
	uint64_t resets; /* sessions cleared: a message sent before may be lost */
	uint32_t window; /* the peer's advertised window */
	uint64_t raw_rx_frames, raw_rx_bytes;
	uint32_t raw_last_seq;
	uint32_t inflight; /* frames sent, not yet acknowledged, all channels */
	uint32_t queued; /* messages not yet completed, all channels */
	uint64_t reasm_bytes; /* reassembly memory held for this peer */
};

/* One channel with one peer (tests, debugging). */
struct link_chan_info {
	uint32_t snd_una, snd_nxt; /* oldest unacknowledged, next new seq */
	uint32_t inflight; /* frames in flight */
	uint32_t inflight_max; /* the most since the session began */
	uint32_t queued; /* messages not yet completed */
	uint32_t rcv_nxt; /* next seq expected from the peer */
	uint32_t backoff; /* consecutive retransmission timeouts */
	uint32_t reorder; /* reordering tolerated, in transmissions */
	uint64_t rto_at_ns, ack_at_ns; /* armed timers, 0 = none */
};

struct link_stats { /* engine-wide counters */
	uint64_t rx_frames, rx_dropped, drop[LINK_DROP_COUNT];
	uint64_t tx_frames, tx_errors, retransmits, msgs_sent, msgs_delivered;
	uint64_t msgs_failed; /* sent() with an error */
	uint64_t bytes_delivered;
	uint64_t hellos_sent, acks_sent, data_sent;
	uint64_t rto_fired, fast_retransmits;
	uint64_t resets; /* sessions reset (reboot, peer reset, down) */
	uint64_t reasm_errors; /* malformed message found at delivery */
	uint64_t raw_rx_frames, raw_rx_bytes;
	uint64_t reasm_bytes, reasm_bytes_max; /* all peers; now, highest */
	uint64_t stalls; /* polls that came late: the gap not held against
			  * the peers (link_tp_poll) */
};
const char *link_drop_name(enum link_drop d);

/* The engine's record of one queued message. link_tp_send allocates it
 * (env->alloc); link_tp_send_msg takes the caller's, which must stay valid
 * and untouched until env->sent(cookie) (a glue can keep it beside the
 * message buffer: one allocation per message instead of two). Its fields
 * belong to the engine. */
struct link_tp_msg {
	struct link_tp_msg *next;
	const uint8_t *buf;
	void *cookie;
	uint32_t len;
	uint32_t next_off; /* first byte not yet put in a frame */
	uint32_t first_seq; /* seq of its first fragment, once sent */
	bool owned; /* from env->alloc: the engine frees it */
};

struct link_tp; /* opaque; the glue allocates link_tp_size() bytes */
size_t link_tp_size(void);
/* self_node < LINK_MAX_NODES; epoch identifies this boot (grows from boot to
 * boot); mac is self's NIC1 MAC. cfg NULL = defaults. */
void link_tp_init(struct link_tp *tp, const struct link_env *env,
		  const struct link_config *cfg, unsigned self_node,
		  uint64_t epoch, const uint8_t mac[6], uint64_t now_ns);
/* Release every session (pending sends get -ESHUTDOWN) and all memory. */
void link_tp_fini(struct link_tp *tp);
/* Optional 16-byte cluster key: every frame then carries an 8-byte
 * SipHash-2-4 tag and frames without a valid one are dropped. NULL = off.
 * Called before traffic. */
void link_tp_set_key(struct link_tp *tp, const uint8_t key[16]);
/* Self's speed and load word, carried in the next hellos. */
void link_tp_set_load(struct link_tp *tp, uint32_t speed, uint32_t load);
/* Every frame with EtherType 0x88B5 (whole frame including the 14-byte
 * Ethernet header). Fully validated before it touches any state; returns 0
 * if accepted or the (positive) enum link_drop reason it was counted under.
 * A refused frame changes nothing, except that a duplicate's ack fields
 * still count and a frame from another session may be answered with an
 * ACK (or, if the sessions crossed, start a new one): docs/linker.md. */
int link_tp_input(struct link_tp *tp, const void *frame, size_t len,
		  uint64_t now_ns);
/* Run timers (hellos, retransmissions, delayed acks, down detection);
 * returns the absolute time of the next deadline. */
uint64_t link_tp_poll(struct link_tp *tp, uint64_t now_ns);
/* Queue a message (buf is NOT copied: it must stay valid until
 * env->sent(cookie)). 0, -EHOSTDOWN (peer not up), -EMSGSIZE, -EINVAL (bad
 * node/chan, self), -ENOBUFS (queue limit or no memory). Length 0 is
 * allowed. On 0, sent() is always called exactly once later. */
int link_tp_send(struct link_tp *tp, unsigned node, unsigned chan,
		 const void *buf, size_t len, void *cookie, uint64_t now_ns);
/* link_tp_send with the caller's record m (see struct link_tp_msg): the
 * same results, and no allocation, so no -ENOBUFS for lack of memory. */
int link_tp_send_msg(struct link_tp *tp, unsigned node, unsigned chan,
		     struct link_tp_msg *m, const void *buf, size_t len,
		     void *cookie, uint64_t now_ns);
/* One unacknowledged frame of len payload bytes (type RAW) to node, for
 * linkperf's raw mode; counted at the receiver, never delivered. 0,
 * -EHOSTDOWN, -EINVAL, -EMSGSIZE (len > link_tp_raw_max), or xmit's error. */
int link_tp_send_raw(struct link_tp *tp, unsigned node, size_t len,
		     uint32_t seq);
/* The same, asking node's engine to send it straight back (env->raw_echo
 * reports the answer): the round trip below the transport. */
int link_tp_send_raw_echo(struct link_tp *tp, unsigned node, size_t len,
			  uint32_t seq);
/* Largest payload of one frame: a message fragment, a raw frame. */
size_t link_tp_raw_max(const struct link_tp *tp);
void link_tp_peer_info(const struct link_tp *tp, unsigned node,
		       struct link_peer_info *out);
/* 0, or -EINVAL (bad node/chan), -ENOTCONN (no session with the peer). */
int link_tp_chan_info(const struct link_tp *tp, unsigned node, unsigned chan,
		      struct link_chan_info *out);
const struct link_stats *link_tp_stats(const struct link_tp *tp);
unsigned link_tp_self(const struct link_tp *tp);
/* Drop every session and queued message with a peer (sent() gets
 * -ESHUTDOWN) and send it one ACK announcing the new session number (its
 * pending messages fail with -ECONNRESET); the peer stays up and later
 * sends go into the new session. */
void link_tp_peer_reset(struct link_tp *tp, unsigned node);

#endif
