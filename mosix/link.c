/*
 * link.c — the Linker in the kernel: the protocol engine (mosix/link_tp.c)
 * on NIC1, its timer thread, and the interface layer of mosix/link.h
 * (one-way messages, calls with replies, handlers, worker threads).
 *
 * Threads:
 *   ethN-rx       NIC1's receive thread calls link_rx for every 0x88B5
 *                 frame: engine input under L.lock.
 *   linkd         sleeps until the engine's next deadline (its timer moved
 *                 by thread_wake_at when an input or a send changes it)
 *                 and runs link_tp_poll: hellos, retransmissions, delayed
 *                 acks, down detection.
 *   link-wN       workers: run handlers for requests and one-way messages
 *                 (requests for a quick handler are served by the receive
 *                 thread itself, after it has let go of the engine).
 *                 At least LINK_WORKERS_MIN; one more is started when a
 *                 message waits and no worker is idle, up to
 *                 LINK_WORKERS_MAX (nested calls each hold one).
 *   callers       any thread in link_send / link_call.
 *
 * Locks, in order (take a later one only while holding an earlier one or
 * none):
 *   L.lock   (sleeplock) the engine and everything reached from it; every
 *            link_tp_* call holds it, so the engine's callbacks
 *            (link_xmit, link_deliver, link_sent, link_peer_event) run under
 *            it. xmit may sleep (a full ring waits up to 20 ms).
 *   L.wlock  (spinlock) the work queues (workers' and quick requests'), the
 *            worker counts, linkd's deadline.
 *   L.clock  (spinlock) the table of pending calls and every call's fields.
 *
 * A message on the wire is a struct link_msg header (16 bytes, little
 * endian, written byte by byte) and the payload:
 *
 *   0  u8  type      enum link_type
 *   1  u8  kind      LINK_K_ONEWAY, LINK_K_REQUEST, LINK_K_REPLY
 *   2  u16 reserved  0
 *   4  i32 status    a reply's result (0 or -errno); 0 otherwise
 *   8  u64 id        a request's id, echoed by its reply; 0 for one-way
 *
 * Messages longer than LINK_BULK_MIN bytes go on the BULK channel, the rest
 * on RPC (or what link_send's caller chose), so a page train never holds
 * up a short request. A reply travels on the channel that suits its own
 * size; replies are matched by id, so nesting and reordering between
 * channels are harmless.
 *
 * Failure: when a node goes down or reboots, the engine fails every queued
 * message (sent() with the error) and link_peer_event fails every call
 * waiting for that node's reply. A call whose caller gave up (timeout,
 * signal) stays in memory until the engine is done with its request
 * buffer (sent()), then is freed.
 */
#include "mosix/link.h"

#include "arch/x86/arch.h"
#include "fs/vfs.h"
#include "kern/errno.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "kern/syscall.h"
#include "mosix/link_tp.h"
#include "mosix/siphash.h"
#include "net/net.h"
#include "vm/vm.h"

#define LINK_HDR 16
#define LINK_BULK_MIN (64u * 1024)

enum { LINK_K_ONEWAY = 1, LINK_K_REQUEST = 2, LINK_K_REPLY = 3 };

struct link_msg {
	uint8_t type, kind;
	int32_t status;
	uint64_t id;
};

/* A message out, in one allocation with its bytes (header and payload
 * right behind it, or behind the struct link_call_st that holds it): the
 * engine's record of it and the cookie of its sent(). All of it stays
 * alive until then. */
struct link_out {
	struct link_tp_msg tm;
	struct link_call_st *call; /* NULL for one-way messages and replies */
	struct link_track *track; /* a tracked one-way message, or NULL */
};

/* A call waiting for its reply; its request follows it in memory. */
struct link_call_st {
	struct link_call_st *next; /* L.calls */
	uint64_t id;
	unsigned node;
	struct waitq wq;
	bool done; /* replied or failed: status, reply set */
	bool gone; /* the caller returned; free at sent() */
	bool sent; /* the engine is done with the request buffer */
	int status;
	void *reply; /* the reply's allocation (rx_base), when done */
	size_t reply_len; /* of the message at reply + LINK_ROOM */
	struct link_out out;
};

/* A received request or one-way message for the workers: it lives in the
 * LINK_ROOM bytes in front of the message (work_of). */
struct link_work {
	struct link_work *next;
	unsigned node;
	struct link_msg m;
	size_t len; /* of the message, header included */
};

/* Every buffer the engine allocates (env->alloc: reassembly buffers, its
 * sessions) has LINK_ROOM bytes in front of it, so a received message
 * carries room for its work item: a request costs one allocation. A
 * multiple of 16 keeps kmalloc's alignment. */
#define LINK_ROOM ((sizeof(struct link_work) + 15) & ~(size_t)15)

static struct {
	bool enabled;
	unsigned self;
	uint32_t speed, load; /* in our hellos (hello_words) */
	struct netdev *dev;
	struct link_tp *tp;
	struct sleeplock lock;

	struct spinlock wlock;
	struct waitq wq_work; /* workers */
	struct link_workq {
		struct link_work *head, *tail;
	} req, oneway;
	bool oneway_busy; /* a worker runs a one-way handler */
	unsigned workers, idle, queued, req_queued;
	struct thread *linkd;
	uint64_t deadline; /* linkd sleeps until then */

	struct spinlock clock;
	struct link_call_st *calls;
	uint64_t next_id;

	/* Raw pings: ping_lock serializes them; plock guards the rest. */
	struct sleeplock ping_lock;
	struct spinlock plock;
	struct waitq ping_wq;
	uint32_t ping_seq;
	unsigned ping_node;
	bool ping_got;

	link_handler_fn handlers[LINK_T_COUNT];
	bool quick[LINK_T_COUNT]; /* link_register_quick */
	void (*watch)(unsigned node, bool up,
		      uint64_t epoch); /* link_set_peer_watch */
	struct link_work *quick_head, *quick_tail; /* L.wlock */
	/* /proc/cluster/deaf: nodes whose frames link_rx drops. */
	uint64_t deaf, deaf_dropped;
	bool quick_new; /* L.lock: this input queued a quick request */
	uint64_t no_handler, bad_msgs, worker_fail;
} L;

/* ------------------------------------------------------------ encoding */

static void msg_encode(uint8_t *p, const struct link_msg *m)
{
	p[0] = m->type;
	p[1] = m->kind;
	link_put_le(p + 2, 0, 2);
	link_put_le(p + 4, (uint32_t)m->status, 4);
	link_put_le(p + 8, m->id, 8);
}

/* Check, then use: false for anything this layer cannot act on. */
static bool msg_decode(const void *buf, size_t len, struct link_msg *m)
{
	const uint8_t *p = buf;
	if (len < LINK_HDR)
		return false;
	m->type = p[0];
	m->kind = p[1];
	m->status = (int32_t)(uint32_t)link_get_le(p + 4, 4);
	m->id = link_get_le(p + 8, 8);
	if (m->type == LINK_T_NONE || m->type >= LINK_T_COUNT)
		return false;
	if (m->kind < LINK_K_ONEWAY || m->kind > LINK_K_REPLY)
		return false;
	if (link_get_le(p + 2, 2) != 0)
		return false;
	if (m->kind == LINK_K_REPLY ? m->status > 0 || m->status < -4095
				    : m->status != 0)
		return false;
	return (m->kind == LINK_K_ONEWAY) == (m->id == 0);
}

/* ----------------------------------------------------- engine callbacks */

static int link_xmit(void *ctx, const void *frame, size_t len)
{
	return netdev_xmit(L.dev, frame, len);
}

static void *link_alloc(void *ctx, size_t size)
{
	uint8_t *p = kmalloc(LINK_ROOM + size);
	return p ? p + LINK_ROOM : NULL;
}

/* The allocation an engine buffer (a delivered message) lives in. */
static void *rx_base(void *msg)
{
	return (uint8_t *)msg - LINK_ROOM;
}

static void rx_free(void *msg)
{
	if (msg)
		kfree(rx_base(msg));
}

static void link_free(void *ctx, void *p)
{
	rx_free(p);
}

static struct link_work *work_of(void *msg)
{
	return rx_base(msg);
}

static void *work_msg(struct link_work *w)
{
	return (uint8_t *)w + LINK_ROOM;
}

static void call_finish(struct link_call_st *c, int status, void *reply,
			size_t reply_len)
{
	c->done = true;
	c->status = status;
	c->reply = reply;
	c->reply_len = reply_len;
	waitq_wakeup_all(&c->wq);
}

/* Caller holds L.clock. */
static struct link_call_st *call_unlink(uint64_t id)
{
	for (struct link_call_st **pp = &L.calls; *pp; pp = &(*pp)->next) {
		struct link_call_st *c = *pp;
		if (c->id == id) {
			*pp = c->next;
			c->next = NULL;
			return c;
		}
	}
	return NULL;
}

static void call_free(struct link_call_st *c)
{
	kfree(c->reply);
	kfree(c);
}

static void link_sent(void *ctx, void *cookie, int status)
{
	struct link_out *o = cookie;
	struct link_call_st *c = o->call;
	if (!c) {
		struct link_track *t = o->track;
		kfree(o);
		if (t) {
			spin_lock(&t->lock);
			t->pending--;
			if (status < 0 && !t->error)
				t->error = status;
			waitq_wakeup_all(&t->wq);
			spin_unlock(&t->lock);
		}
		return;
	}
	spin_lock(&L.clock);
	c->sent = true;
	if (status < 0 && !c->done) {
		/* The request never fully arrived: no reply will come. */
		call_unlink(c->id);
		call_finish(c, status, NULL, 0);
	}
	bool free_it = c->gone;
	spin_unlock(&L.clock);
	if (free_it)
		call_free(c);
}

static void work_push(struct link_work *w);

static void link_deliver(void *ctx, unsigned node, unsigned chan, void *msg,
			 size_t len)
{
	struct link_msg m;
	if (!msg_decode(msg, len, &m)) {
		L.bad_msgs++;
		rx_free(msg);
		return;
	}
	if (m.kind == LINK_K_REPLY) {
		spin_lock(&L.clock);
		struct link_call_st *c = call_unlink(m.id);
		if (c && c->node == node) {
			/* Keep the whole buffer; the payload starts past the
			 * room and the header (link_call moves it down). */
			call_finish(c, m.status, rx_base(msg), len);
			msg = NULL;
		} else if (c) {
			/* An id from the wrong node: put it back. */
			c->next = L.calls;
			L.calls = c;
			L.bad_msgs++;
		}
		spin_unlock(&L.clock);
		rx_free(msg); /* late reply of an abandoned call */
		return;
	}
	struct link_work *w = work_of(msg);
	w->node = node;
	w->m = m;
	w->len = len;
	w->next = NULL;
	if (m.kind == LINK_K_REQUEST && L.quick[m.type]) {
		/* Served by the thread that called the engine, once it has
		 * let go of it (serve_quick): no worker handoff. */
		spin_lock(&L.wlock);
		if (L.quick_tail)
			L.quick_tail->next = w;
		else
			L.quick_head = w;
		L.quick_tail = w;
		spin_unlock(&L.wlock);
		L.quick_new = true;
		return;
	}
	work_push(w);
}

static void link_peer_event(void *ctx, unsigned node, bool up, uint64_t epoch)
{
	int err = up ? -ECONNRESET : -EHOSTDOWN;
	/* Not on the console (it would land inside a user's output):
	 * dmesg has it. */
	printk(KERN_DEBUG "link: node %u %s (epoch %lu)\n", node,
	       up ? "up" : "down", (unsigned long)epoch);
	/* Calls to that node whose request arrived but whose reply has
	 * not: the reply will never come. */
	spin_lock(&L.clock);
	for (struct link_call_st **pp = &L.calls; *pp;) {
		struct link_call_st *c = *pp;
		if (c->node != node) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		c->next = NULL;
		call_finish(c, err, NULL, 0);
	}
	spin_unlock(&L.clock);
	if (L.watch)
		L.watch(node, up, epoch);
}

void link_set_peer_watch(void (*fn)(unsigned node, bool up, uint64_t epoch))
{
	L.watch = fn;
}

static void link_raw_echo(void *ctx, unsigned node, uint32_t seq);

static const struct link_env link_env = {
	.ctx = NULL,
	.xmit = link_xmit,
	.deliver = link_deliver,
	.sent = link_sent,
	.peer_event = link_peer_event,
	.raw_echo = link_raw_echo,
	.alloc = link_alloc,
	.free = link_free,
};

/* --------------------------------------------------- engine entry points */

/* Caller holds L.lock: run the due timers and tell linkd the next one. */
static void engine_poll_locked(void)
{
	uint64_t d = link_tp_poll(L.tp, time_ns());
	spin_lock(&L.wlock);
	if (d != L.deadline) {
		/* linkd sleeps until L.deadline: move its timer rather than
		 * wake it (a switch per frame otherwise), and move it back
		 * too when a timer was cancelled (an ack that went out with
		 * a reply, a retransmission no longer needed): it would wake
		 * for nothing to do. */
		L.deadline = d;
		thread_wake_at(L.linkd, d);
	}
	spin_unlock(&L.wlock);
}

static void serve(struct link_work *w);

/* Requests for quick handlers that arrived during the last engine call.
 * Called without L.lock by the threads that feed the engine (receive
 * thread, linkd). */
static void serve_quick(void)
{
	for (;;) {
		spin_lock(&L.wlock);
		struct link_work *w = L.quick_head;
		if (w) {
			L.quick_head = w->next;
			if (!L.quick_head)
				L.quick_tail = NULL;
		}
		spin_unlock(&L.wlock);
		if (!w)
			return;
		serve(w);
		kfree(w);
	}
}

static void link_rx(struct netdev *dev, const void *frame, size_t len)
{
	if (dev != L.dev)
		return; /* the Linker lives on NIC1 only */
	sleeplock_acquire(&L.lock);
	/* Deaf to its sender (byte 5 of the Linker header): dropped. */
	if (L.deaf && len > LINK_ETH_HLEN + 5 &&
	    L.deaf >> (((const uint8_t *)frame)[LINK_ETH_HLEN + 5] & 63) & 1) {
		L.deaf_dropped++;
		sleeplock_release(&L.lock);
		return;
	}
	L.quick_new = false;
	link_tp_input(L.tp, frame, len, time_ns());
	/* A quick request's reply is sent next, and that send polls (so
	 * does a failure to send it, in serve): a poll here would only
	 * arm linkd for the request's delayed ack, which the reply
	 * carries. */
	if (!L.quick_new)
		engine_poll_locked();
	sleeplock_release(&L.lock);
	serve_quick();
}

/* The speed and load word of this node's hellos. Until the load balancer
 * (issue 8) measures them properly: speed = the TSC's MHz, load = the
 * threads ready to run besides linkd, 100 each. */
static void hello_words(void)
{
	unsigned r = sched_runnable();
	L.speed = (uint32_t)(tsc_hz() / 1000000);
	L.load = (r > 1 ? r - 1 : 0) * 100;
}

static void linkd(void *arg)
{
	for (;;) {
		hello_words();
		sleeplock_acquire(&L.lock);
		link_tp_set_load(L.tp, L.speed, L.load);
		uint64_t d = link_tp_poll(L.tp, time_ns());
		/* Set the deadline before others may lower it again. */
		spin_lock(&L.wlock);
		L.deadline = d ? d : UINT64_MAX;
		spin_unlock(&L.wlock);
		sleeplock_release(&L.lock);
		serve_quick();
		/* Until the deadline, which engine_poll_locked may move
		 * (thread_wake_at) while we sleep. */
		spin_lock(&L.wlock);
		while (time_ns() < L.deadline)
			waitq_sleep_intr(NULL, &L.wlock, L.deadline);
		spin_unlock(&L.wlock);
	}
}

static int engine_send(unsigned node, unsigned chan, const void *buf,
		       size_t len, struct link_out *out)
{
	sleeplock_acquire(&L.lock);
	int r = link_tp_send_msg(L.tp, node, chan, &out->tm, buf, len, out,
				 time_ns());
	engine_poll_locked();
	sleeplock_release(&L.lock);
	return r;
}

static unsigned chan_for(size_t len)
{
	return len > LINK_BULK_MIN ? LINK_CHAN_BULK : LINK_CHAN_RPC;
}

static int check_target(unsigned node, enum link_type type, size_t len)
{
	if (!L.enabled)
		return -ENETDOWN;
	if (node >= LINK_MAX_NODES || node == L.self || type == LINK_T_NONE ||
	    type >= LINK_T_COUNT)
		return -EINVAL;
	if (len > LINK_MSG_MAX - LINK_HDR)
		return -EMSGSIZE;
	return 0;
}

/* Header m and a copy of payload at buf. */
static void msg_fill(uint8_t *buf, const struct link_msg *m,
		     const void *payload, size_t len)
{
	msg_encode(buf, m);
	if (len)
		memcpy(buf + LINK_HDR, payload, len);
}

/* Send message m with len bytes of payload, one-way or a reply; t (may be
 * NULL) counts it. */
static int send_msg(unsigned node, unsigned chan, const struct link_msg *m,
		    const void *payload, size_t len, struct link_track *t)
{
	struct link_out *o = kmalloc(sizeof *o + LINK_HDR + len);
	if (!o)
		return -ENOMEM;
	uint8_t *buf = (uint8_t *)(o + 1);
	msg_fill(buf, m, payload, len);
	o->call = NULL;
	o->track = t;
	if (t) {
		spin_lock(&t->lock);
		t->pending++;
		spin_unlock(&t->lock);
	}
	int r = engine_send(node, chan, buf, LINK_HDR + len, o);
	if (r < 0) {
		kfree(o);
		if (t) {
			spin_lock(&t->lock);
			t->pending--;
			spin_unlock(&t->lock);
		}
	}
	return r;
}

/* ------------------------------------------------------- the interface */

bool link_enabled(void)
{
	return L.enabled;
}

unsigned link_self(void)
{
	return L.self;
}

bool link_node_up(unsigned node)
{
	if (!L.enabled || node >= LINK_MAX_NODES)
		return false;
	struct link_peer_info pi;
	sleeplock_acquire(&L.lock);
	link_tp_peer_info(L.tp, node, &pi);
	sleeplock_release(&L.lock);
	return pi.state == LINK_PEER_UP;
}

uint64_t link_node_resets(unsigned node, bool *up)
{
	*up = false;
	if (!L.enabled || node >= LINK_MAX_NODES)
		return 0;
	struct link_peer_info pi;
	sleeplock_acquire(&L.lock);
	link_tp_peer_info(L.tp, node, &pi);
	sleeplock_release(&L.lock);
	*up = pi.state == LINK_PEER_UP;
	return pi.resets;
}

int link_register(enum link_type type, link_handler_fn fn)
{
	if (type == LINK_T_NONE || type >= LINK_T_COUNT)
		return -EINVAL;
	if (L.handlers[type])
		return -EEXIST;
	L.handlers[type] = fn;
	return 0;
}

int link_register_quick(enum link_type type, link_handler_fn fn)
{
	int r = link_register(type, fn);
	if (r == 0)
		L.quick[type] = true;
	return r;
}

static int send_oneway(unsigned node, unsigned chan, enum link_type type,
		       const void *payload, size_t len, struct link_track *t)
{
	int r = check_target(node, type, len);
	if (r < 0)
		return r;
	if (chan >= LINK_CHANNELS)
		return -EINVAL;
	struct link_msg m = {.type = (uint8_t)type, .kind = LINK_K_ONEWAY};
	return send_msg(node, chan, &m, payload, len, t);
}

int link_send(unsigned node, unsigned chan, enum link_type type,
	      const void *payload, size_t len)
{
	return send_oneway(node, chan, type, payload, len, NULL);
}

void link_track_init(struct link_track *t)
{
	spin_init(&t->lock, "link-track");
	waitq_init(&t->wq);
	t->pending = 0;
	t->error = 0;
}

int link_send_tracked(unsigned node, unsigned chan, enum link_type type,
		      const void *payload, size_t len, struct link_track *t)
{
	return send_oneway(node, chan, type, payload, len, t);
}

int link_track_wait(struct link_track *t, unsigned max, uint64_t deadline_ns)
{
	int r = 0;
	spin_lock(&t->lock);
	while (t->pending > max) {
		if (deadline_ns && time_ns() >= deadline_ns) {
			r = -ETIMEDOUT;
			break;
		}
		/* A signal does not end it: the engine still holds the
		 * tracker's messages. */
		waitq_sleep_timed(&t->wq, &t->lock, deadline_ns);
	}
	spin_unlock(&t->lock);
	return r;
}

int link_call(unsigned node, enum link_type type, const void *req, size_t len,
	      void **reply, size_t *reply_len, uint64_t timeout_ns)
{
	return link_call_opt(node, type, req, len, reply, reply_len, timeout_ns,
			     0);
}

int link_call_opt(unsigned node, enum link_type type, const void *req,
		  size_t len, void **reply, size_t *reply_len,
		  uint64_t timeout_ns, unsigned flags)
{
	*reply = NULL;
	*reply_len = 0;
	int r = check_target(node, type, len);
	if (r < 0)
		return r;
	/* The call and its request in one allocation. */
	struct link_call_st *c = kmalloc(sizeof *c + LINK_HDR + len);
	if (!c)
		return -ENOMEM;
	memset(c, 0, sizeof *c);
	waitq_init(&c->wq);
	c->node = node;
	c->out.call = c;
	/* Listed before the request exists: no reply can come before it. */
	spin_lock(&L.clock);
	c->id = ++L.next_id;
	c->next = L.calls;
	L.calls = c;
	spin_unlock(&L.clock);
	struct link_msg m = {
		.type = (uint8_t)type, .kind = LINK_K_REQUEST, .id = c->id};
	uint8_t *msg = (uint8_t *)(c + 1);
	msg_fill(msg, &m, req, len);

	r = engine_send(node, chan_for(len), msg, LINK_HDR + len, &c->out);
	spin_lock(&L.clock);
	if (r < 0) {
		/* The engine refused it: sent() will never come. */
		call_unlink(c->id);
		spin_unlock(&L.clock);
		call_free(c);
		return r;
	}
	uint64_t deadline = timeout_ns ? time_ns() + timeout_ns : 0;
	int w = 0;
	while (!c->done && w == 0)
		w = (flags & LINK_NOINTR)
			    ? waitq_sleep_timed(&c->wq, &L.clock, deadline)
			    : waitq_sleep_intr(&c->wq, &L.clock, deadline);
	if (!c->done) {
		call_unlink(c->id);
		r = w == -ETIMEDOUT ? -ETIMEDOUT : -EINTR;
	} else {
		r = c->status;
	}
	void *buf = c->reply;
	size_t blen = c->reply_len;
	c->reply = NULL;
	c->gone = true;
	bool free_it = c->sent;
	spin_unlock(&L.clock);
	if (free_it)
		call_free(c);
	if (r < 0 || !buf) {
		kfree(buf);
		return r;
	}
	/* The payload past the room and the header, moved to the start of
	 * the allocation. */
	*reply_len = blen - LINK_HDR;
	memmove(buf, (uint8_t *)buf + LINK_ROOM + LINK_HDR, *reply_len);
	*reply = buf;
	return r;
}

/* -------------------------------------------------------- raw frames */

int link_raw_blast(unsigned node, size_t size, unsigned count, uint64_t *ns,
		   unsigned *sent)
{
	*sent = 0;
	int r = check_target(node, LINK_T_PING, 0);
	if (r < 0)
		return r;
	uint64_t t0 = time_ns();
	for (unsigned i = 0; i < count; i++) {
		sleeplock_acquire(&L.lock);
		r = link_tp_send_raw(L.tp, node, size, i);
		sleeplock_release(&L.lock);
		if (r == -ENOBUFS) /* the ring stayed full: a frame lost */
			continue;
		if (r < 0)
			break;
		(*sent)++;
	}
	*ns = time_ns() - t0;
	return r == -ENOBUFS ? 0 : r;
}

void link_raw_counts(unsigned node, uint64_t *frames, uint64_t *bytes)
{
	struct link_peer_info pi;
	*frames = *bytes = 0;
	if (!L.enabled || node >= LINK_MAX_NODES)
		return;
	sleeplock_acquire(&L.lock);
	link_tp_peer_info(L.tp, node, &pi);
	sleeplock_release(&L.lock);
	*frames = pi.raw_rx_frames;
	*bytes = pi.raw_rx_bytes;
}

uint64_t link_retransmits(void)
{
	if (!L.enabled)
		return 0;
	sleeplock_acquire(&L.lock);
	uint64_t n = link_tp_stats(L.tp)->retransmits;
	sleeplock_release(&L.lock);
	return n;
}

/* One raw ping at a time (L.ping_lock); the engine's raw_echo callback
 * ends the wait when the answer with the current seq comes back. */
int link_raw_ping(unsigned node, size_t size, uint64_t timeout_ns, uint64_t *ns)
{
	int r = check_target(node, LINK_T_PING, 0);
	if (r < 0)
		return r;
	sleeplock_acquire(&L.ping_lock);
	spin_lock(&L.plock);
	uint32_t seq = ++L.ping_seq;
	L.ping_node = node;
	L.ping_got = false;
	spin_unlock(&L.plock);
	uint64_t t0 = time_ns();
	sleeplock_acquire(&L.lock);
	r = link_tp_send_raw_echo(L.tp, node, size, seq);
	sleeplock_release(&L.lock);
	spin_lock(&L.plock);
	while (r == 0 && !L.ping_got)
		r = waitq_sleep_timed(&L.ping_wq, &L.plock, t0 + timeout_ns);
	*ns = time_ns() - t0;
	spin_unlock(&L.plock);
	sleeplock_release(&L.ping_lock);
	return r;
}

static void link_raw_echo(void *ctx, unsigned node, uint32_t seq)
{
	spin_lock(&L.plock);
	if (node == L.ping_node && seq == L.ping_seq) {
		L.ping_got = true;
		waitq_wakeup_all(&L.ping_wq);
	}
	spin_unlock(&L.plock);
}

size_t link_raw_max(void)
{
	return L.enabled ? link_tp_raw_max(L.tp) : 0;
}

/* ------------------------------------------------------------- workers */

static void link_worker(void *arg);

/* Caller holds L.wlock. */
static void start_worker(void)
{
	char name[16];
	snprintf(name, sizeof name, "link-w%u", L.workers);
	if (thread_create(name, link_worker, NULL)) {
		L.workers++;
		L.idle++; /* counted idle until it picks work */
	}
}

/* Caller holds L.wlock: one more worker when work a worker could take
 * waits for none (one-way messages need only one). */
static void maybe_grow(void)
{
	unsigned want = L.req_queued + (L.oneway.head && !L.oneway_busy);
	if (L.idle < want && L.workers < LINK_WORKERS_MAX)
		start_worker();
}

/* Requests go to any worker; one-way messages to one worker at a time,
 * so they are handled in the order they arrived (per node and channel the
 * engine delivers in order). */
static void work_push(struct link_work *w)
{
	struct link_workq *q = w->m.kind == LINK_K_REQUEST ? &L.req : &L.oneway;
	spin_lock(&L.wlock);
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	L.queued++;
	L.req_queued += q == &L.req;
	maybe_grow();
	waitq_wakeup_all(&L.wq_work);
	spin_unlock(&L.wlock);
}

/* Caller holds L.wlock: the next item this worker may take, or NULL. */
static struct link_work *work_pop(void)
{
	struct link_workq *q = &L.req;
	if (!q->head) {
		if (L.oneway_busy || !L.oneway.head)
			return NULL;
		q = &L.oneway;
		L.oneway_busy = true;
	}
	struct link_work *w = q->head;
	q->head = w->next;
	if (!q->head)
		q->tail = NULL;
	L.queued--;
	L.req_queued -= q == &L.req;
	return w;
}

static void serve(struct link_work *w)
{
	const uint8_t *payload = (const uint8_t *)work_msg(w) + LINK_HDR;
	size_t plen = w->len - LINK_HDR;
	link_handler_fn fn = L.handlers[w->m.type];
	void *reply = NULL;
	size_t reply_len = 0;
	int status;
	if (fn) {
		status = fn(w->node, payload, plen, &reply, &reply_len);
	} else {
		L.no_handler++;
		status = -EPROTO;
	}
	if (status > 0 || status < -4095)
		status =
			-EPROTO; /* a handler's bug must not break the format */
	if (w->m.kind != LINK_K_REQUEST) {
		kfree(reply);
		return;
	}
	struct link_msg m = {.type = w->m.type,
			     .kind = LINK_K_REPLY,
			     .status = status,
			     .id = w->m.id};
	size_t n = status < 0 ? 0 : reply_len;
	int r = send_msg(w->node, chan_for(n), &m, reply, n, NULL);
	kfree(reply);
	if (r < 0) {
		L.worker_fail++; /* the caller times out or sees the node go */
		/* A quick request's input left its poll to this send. */
		sleeplock_acquire(&L.lock);
		engine_poll_locked();
		sleeplock_release(&L.lock);
	}
}

static void link_worker(void *arg)
{
	for (;;) {
		spin_lock(&L.wlock);
		struct link_work *w;
		while (!(w = work_pop()))
			waitq_sleep(&L.wq_work, &L.wlock);
		L.idle--;
		spin_unlock(&L.wlock);

		bool oneway = w->m.kind != LINK_K_REQUEST;
		serve(w);
		kfree(w);

		spin_lock(&L.wlock);
		L.idle++;
		if (oneway) {
			L.oneway_busy = false;
			if (L.oneway.head)
				waitq_wakeup_all(&L.wq_work);
		}
		spin_unlock(&L.wlock);
	}
}

/* ------------------------------------------------------------ built-ins */

static int h_ping(unsigned node, const void *req, size_t len, void **reply,
		  size_t *reply_len)
{
	return 0;
}

/* --------------------------------------------------------------- /proc */

static const char *state_name(enum link_state s)
{
	switch (s) {
	case LINK_PEER_UP:
		return "up";
	case LINK_PEER_DOWN:
		return "down";
	case LINK_PEER_SELF:
		return "self";
	default:
		return "unknown";
	}
}

static int gen_nodes(char *buf, size_t size, void *arg, uint64_t key)
{
	size_t n = 0;
	EMIT("node mac               state   epoch          heard_ms  rtt_us"
	     "  tx_frames   tx_bytes  rx_frames   rx_bytes  retrans speed  load\n");
	if (!L.enabled)
		return (int)n;
	uint64_t now = time_ns();
	for (unsigned i = 0; i < LINK_MAX_NODES; i++) {
		struct link_peer_info pi;
		sleeplock_acquire(&L.lock);
		link_tp_peer_info(L.tp, i, &pi);
		sleeplock_release(&L.lock);
		if (pi.state == LINK_PEER_UNKNOWN)
			continue;
		char heard[24] = "-", rtt[24] = "-";
		if (pi.state != LINK_PEER_SELF && pi.last_heard_ns)
			snprintf(heard, sizeof heard, "%lu",
				 (unsigned long)((now - pi.last_heard_ns) /
						 1000000));
		if (pi.rtt_ns)
			snprintf(rtt, sizeof rtt, "%lu",
				 (unsigned long)(pi.rtt_ns / 1000));
		if (pi.state == LINK_PEER_SELF) {
			pi.speed = L.speed;
			pi.load = L.load;
		}
		EMIT("%-4u %02x:%02x:%02x:%02x:%02x:%02x %-7s %-14lu %8s %7s "
		     "%10lu %10lu %10lu %10lu %8lu %5u %5u\n",
		     i, pi.mac[0], pi.mac[1], pi.mac[2], pi.mac[3], pi.mac[4],
		     pi.mac[5], state_name(pi.state), (unsigned long)pi.epoch,
		     heard, rtt, (unsigned long)pi.tx_frames,
		     (unsigned long)pi.tx_bytes, (unsigned long)pi.rx_frames,
		     (unsigned long)pi.rx_bytes, (unsigned long)pi.retransmits,
		     pi.speed, pi.load);
	}
	return (int)n;
}

static int gen_link(char *buf, size_t size, void *arg, uint64_t key)
{
	size_t n = 0;
	if (!L.enabled) {
		EMIT("disabled\n");
		return (int)n;
	}
	struct link_stats st;
	sleeplock_acquire(&L.lock);
	st = *link_tp_stats(L.tp);
	sleeplock_release(&L.lock);
	EMIT("self %u dev %s\n", L.self, L.dev->name);
	EMIT("rx_frames %lu\nrx_dropped %lu\ntx_frames %lu\ntx_errors %lu\n"
	     "retransmits %lu\nmsgs_sent %lu\nmsgs_delivered %lu\n",
	     (unsigned long)st.rx_frames, (unsigned long)st.rx_dropped,
	     (unsigned long)st.tx_frames, (unsigned long)st.tx_errors,
	     (unsigned long)st.retransmits, (unsigned long)st.msgs_sent,
	     (unsigned long)st.msgs_delivered);
	EMIT("rto_fired %lu\nfast_retransmits %lu\nmsgs_failed %lu\n"
	     "hellos_sent %lu\nacks_sent %lu\ndata_sent %lu\nresets %lu\n"
	     "raw_rx_frames %lu\nreasm_bytes %lu\nreasm_bytes_max %lu\n"
	     "stalls %lu\n",
	     (unsigned long)st.rto_fired, (unsigned long)st.fast_retransmits,
	     (unsigned long)st.msgs_failed, (unsigned long)st.hellos_sent,
	     (unsigned long)st.acks_sent, (unsigned long)st.data_sent,
	     (unsigned long)st.resets, (unsigned long)st.raw_rx_frames,
	     (unsigned long)st.reasm_bytes, (unsigned long)st.reasm_bytes_max,
	     (unsigned long)st.stalls);
	for (unsigned d = 1; d < LINK_DROP_COUNT; d++) {
		/* "bad ack/window" -> drop_bad_ack_window: one word. */
		char name[32];
		strlcpy(name, link_drop_name(d), sizeof name);
		for (char *c = name; *c; c++) {
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
			else if (!(*c >= 'a' && *c <= 'z'))
				*c = '_';
		}
		EMIT("drop_%s %lu\n", name, (unsigned long)st.drop[d]);
	}
	spin_lock(&L.wlock);
	unsigned workers = L.workers, idle = L.idle, queued = L.queued;
	spin_unlock(&L.wlock);
	EMIT("workers %u\nworkers_idle %u\nwork_queued %u\n", workers, idle,
	     queued);
	EMIT("msg_bad %lu\nmsg_no_handler %lu\nworker_fail %lu\n",
	     (unsigned long)L.bad_msgs, (unsigned long)L.no_handler,
	     (unsigned long)L.worker_fail);
	return (int)n;
}

/* ---------------------------------------------------------------- init */

/* The cluster key from the passphrase on the command line: two SipHash
 * values of it under fixed, distinct keys. */
static void key_from_phrase(const char *phrase, uint8_t key[16])
{
	static const uint8_t b0[16] = "shoal-clusterk-0";
	static const uint8_t b1[16] = "shoal-clusterk-1";
	struct siphash_key k0, k1;
	siphash_key_init(&k0, b0);
	siphash_key_init(&k1, b1);
	size_t n = strlen(phrase);
	link_put_le(key, siphash24(&k0, phrase, n), 8);
	link_put_le(key + 8, siphash24(&k1, phrase, n), 8);
}

/* /proc/cluster/deaf: a fault to inject for tests, a one-sided
 * partition. This node drops every Linker frame from the nodes listed
 * (its peers still hear it). Reads "N N ...\n" (empty: none) then
 * "dropped D\n"; takes node numbers separated by spaces, or "none". */
static int gen_deaf(char *buf, size_t size, void *arg, uint64_t key)
{
	size_t n = 0;
	if (!L.enabled) {
		EMIT("disabled\n");
		return (int)n;
	}
	sleeplock_acquire(&L.lock);
	uint64_t deaf = L.deaf, dropped = L.deaf_dropped;
	sleeplock_release(&L.lock);
	for (unsigned i = 0; i < LINK_MAX_NODES; i++)
		if (deaf >> i & 1)
			EMIT(n ? " %u" : "%u", i);
	EMIT("\ndropped %lu\n", (unsigned long)dropped);
	return (int)n;
}

static int write_deaf(void *arg, uint64_t key, const char *buf, size_t len)
{
	uint64_t mask = 0;
	if (!(len == 4 && !memcmp(buf, "none", 4))) {
		size_t i = 0;
		while (i < len) {
			if (buf[i] == ' ') {
				i++;
				continue;
			}
			unsigned v = 0, digits = 0;
			while (i < len && buf[i] >= '0' && buf[i] <= '9' &&
			       digits < 3) {
				v = v * 10 + (unsigned)(buf[i++] - '0');
				digits++;
			}
			if (!digits || v >= LINK_MAX_NODES ||
			    (i < len && buf[i] != ' '))
				return -EINVAL;
			mask |= 1ull << v;
		}
	}
	if (!L.enabled)
		return -ENODEV;
	sleeplock_acquire(&L.lock);
	L.deaf = mask;
	sleeplock_release(&L.lock);
	return 0;
}

void link_init(void)
{
	procfs_register("cluster/nodes", gen_nodes, NULL);
	procfs_register("cluster/link", gen_link, NULL);
	procfs_register_rw("cluster/deaf", gen_deaf, write_deaf, NULL);
	L.dev = netdev_find("eth1");
	if (!L.dev) {
		printk(KERN_WARN "link: no eth1 (NIC1): the Linker is off\n");
		return;
	}
	if ((unsigned)kconfig.node >= LINK_MAX_NODES) {
		printk(KERN_WARN "link: node %d is past the Linker's %u "
				 "nodes: the Linker is off\n",
		       kconfig.node, LINK_MAX_NODES);
		return;
	}
	L.tp = kzalloc(link_tp_size());
	if (!L.tp) {
		printk(KERN_ERR "link: no memory: the Linker is off\n");
		return;
	}
	L.self = (unsigned)kconfig.node;
	sleeplock_init(&L.lock, "link");
	spin_init(&L.wlock, "link-work");
	spin_init(&L.clock, "link-calls");
	sleeplock_init(&L.ping_lock, "link-ping");
	spin_init(&L.plock, "link-ping");
	waitq_init(&L.ping_wq);
	waitq_init(&L.wq_work);
	L.deadline = UINT64_MAX;

	/* The epoch grows from boot to boot: wall-clock milliseconds now (a
	 * reboot takes longer than a second). */
	uint64_t epoch = arch_wall_seconds() * 1000 + time_ns() / 1000000;
	struct link_config cfg; /* zero fields take the engine's defaults */
	memset(&cfg, 0, sizeof cfg);
	cfg.hello_ms = kconfig.hello_ms;
	cfg.mtu = L.dev->mtu;
	link_tp_init(L.tp, &link_env, &cfg, L.self, epoch, L.dev->mac,
		     time_ns());
	if (kconfig.clusterkey[0]) {
		uint8_t key[16];
		key_from_phrase(kconfig.clusterkey, key);
		link_tp_set_key(L.tp, key);
		memset(key, 0, sizeof key);
	}
	link_register_quick(LINK_T_PING, h_ping);
	L.enabled = true;
	spin_lock(&L.wlock);
	while (L.workers < LINK_WORKERS_MIN)
		start_worker();
	spin_unlock(&L.wlock);
	L.linkd = thread_create("linkd", linkd, NULL);
	if (!L.linkd) {
		L.enabled = false;
		printk(KERN_ERR "link: no linkd thread: the Linker is off\n");
		return;
	}
	netdev_set_linker_input(link_rx);
	printk("link: node %u on %s, epoch %lu, hello every %u ms%s\n", L.self,
	       L.dev->name, (unsigned long)epoch,
	       cfg.hello_ms ? cfg.hello_ms : 500,
	       kconfig.clusterkey[0] ? ", frames keyed" : "");
}
