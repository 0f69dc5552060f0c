/*
 * balance.c — the load balancer in the kernel (issue 8, design §6,
 * docs/loadbalancing.md). The policy itself — load arithmetic, window,
 * decisions — is mosix/policy.c, pure and shared with the host tests and
 * tools/lbsim; this file feeds it and acts on it:
 *
 *   every tick    the number of user processes' threads running or ready
 *                 (thread_set_tick_sampler; a tickless-idle gap counts as
 *                 that many ticks with none), and of those held out of it
 *                 (balance_hold: waiting for a page from home, moving)
 *   every second  (the lbd thread) the load and its two smoothed values,
 *                 each local process's CPU share, the window's ageing
 *   every 250 ms  in `mosix` mode decisions, one after the other while
 *                 each moves a process, carried out with migrate requests
 *                 (mosix/mig.c)
 *   every info_ms this node's entry and a few of the freshest in its window
 *                 to one random node that is up (LINK_T_LB_INFO, one-way, on
 *                 the Linker's INFO channel); nothing is broadcast
 *
 * Speed: a fixed integer loop timed at boot, its best 2 ms slice (SPEED_REF
 * makes the reference node 1000), or `speed=` on the command line.
 *
 * INFO message (little-endian): u8 version (2), u8 count (1..POLICY_SEND_MAX),
 * u16 0, then count × {u32 node, u32 load, u32 speed, u32 procs, u64 free
 * bytes, u64 age ns, u64 origin ns (the node's own clock when it first sent
 * the entry)}. Anything else is counted in info_bad and dropped.
 *
 * Locking: B.lock (a spinlock: interrupts off) guards everything in B; the
 * tick sampler touches only B.load's accumulators, with interrupts off.
 */
#include "mosix/balance.h"

#include "arch/x86/arch.h"
#include "fs/vfs.h"
#include "kern/errno.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "mosix/link.h"
#include "mosix/link_tp.h"
#include "mosix/mig.h"
#include "mosix/policy.h"
#include "vm/vm.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define INFO_HDR 4
#define INFO_ENTRY 40
#define INFO_VERSION 2
#define MOVES_KEPT 16
/* Decisions in a row each round, each made when the previous move is over
 * (as lbsim does): a bound, not a rate. */
#define DECISIONS_MAX 16
/* A round of decisions every DECIDE_NS (the load itself is computed once
 * a second): a process that has just lived its residency period waits at
 * most this long for its move, not up to a second. */
#define DECIDE_NS (250 * MS)
/* Loads taken in count for a target's consent this long after the last
 * (balance_accept). */
#define ARRIVED_NS (2 * SEC)
/* A young process's load counts from its exec once this long has passed
 * (proc_load_now). */
#define EXEC_SPAN (200 * MS)
#define CAL_NS (50 * MS) /* the speed loop's length ... */
#define CAL_SLICES 25 /* ... in slices of 2 ms */
/* Loop iterations per ms of the reference node (speed 1000), in the best
 * slice: a TCG node under `--icount 5` (tools/cluster) measured 5,118 on
 * every node of a cluster (the 50 ms average had read 4,660-5,180);
 * `--icount 7` gives a quarter. A plain TCG node is far faster (and varies
 * with the host); speed= on the command line fixes it. */
#define SPEED_REF 5118

struct move_rec {
	uint64_t ms; /* uptime */
	int pid;
	char name[16];
	unsigned from, to;
	enum balance_reason reason;
};

static struct {
	struct spinlock lock;
	struct policy_params params;
	enum policy_mode mode;
	struct policy_load load;
	uint64_t last_tick;
	uint32_t last_nrun; /* at the last tick */
	uint32_t decision_load; /* policy_decision_load at the last decision,
				 * less what left since */
	uint32_t arrived; /* loads taken in by balance_accept ... */
	uint64_t arrived_ns; /* ... the last of them at this time */
	struct policy_window win;
	uint32_t procs_of[LINK_MAX_NODES]; /* from their INFO entries */
	uint64_t rng;
	uint32_t speed;
	uint32_t nprocs; /* processes running here, at the last second */
	uint64_t info_sent, info_rx, info_bad, decisions, moves_load,
		moves_memory, move_failed, refused;
	struct move_rec moves[MOVES_KEPT];
	unsigned nmoves; /* ever recorded */
} B = {.lock = {.name = "balance"}};

static const char *const mode_names[] = {
	[POLICY_OFF] = "off",
	[POLICY_MOSIX] = "mosix",
	[POLICY_STATIC] = "static",
};

static const char *const reason_names[] = {
	[BALANCE_MANUAL] = "manual",
	[BALANCE_LOAD] = "load",
	[BALANCE_MEMORY] = "memory",
};

/* ------------------------------------------------------------ sampling */

/* Processes out of the run queue that are load (balance_hold). */
static int held;

void balance_hold(int delta)
{
	__atomic_add_fetch(&held, delta, __ATOMIC_RELAXED);
}

static void sample(unsigned nproc, uint64_t ticks)
{
	int w = __atomic_load_n(&held, __ATOMIC_RELAXED);
	unsigned nheld = w > 0 ? (unsigned)w : 0;
	uint64_t gap = ticks - B.last_tick;
	B.last_tick = ticks;
	B.last_nrun = nproc + nheld;
	/* ticks skipped while idle: nothing ready, the held ones held */
	if (gap > 1 && gap < (1u << 20))
		policy_load_sample(&B.load, nheld, (uint32_t)(gap - 1));
	policy_load_sample(&B.load, nproc + nheld, 1);
}

/* The loop's rate in its fastest slice: a slice that an interrupt or
 * another thread cut into counts fewer iterations, so the best of many
 * short slices is the CPU's own speed, the same on identical nodes. */
static uint32_t measure_speed(void)
{
	volatile uint64_t x = 1;
	uint64_t best = 0;
	for (int k = 0; k < CAL_SLICES; k++) {
		uint64_t iters = 0, t0 = time_ns(), t;
		do {
			for (int i = 0; i < 200; i++)
				x = x * 6364136223846793005ull +
				    1442695040888963407ull;
			iters += 200;
			t = time_ns();
		} while (t - t0 < CAL_NS / CAL_SLICES);
		best = MAX(best, iters * MS / (t - t0));
	}
	uint64_t s = best * POLICY_STD_SPEED / SPEED_REF;
	return s < 1 ? 1 : s > 1000000 ? 1000000 : (uint32_t)s;
}

static uint64_t free_bytes(void)
{
	struct mem_stats st;
	mem_get_stats(&st);
	return st.free_bytes;
}

/* ------------------------------------------------------------ moves */

void balance_self(uint32_t *load, uint32_t *speed)
{
	spin_lock(&B.lock);
	*load = B.decision_load ? B.decision_load : B.load.local;
	*speed = B.speed;
	spin_unlock(&B.lock);
}

bool balance_accept(enum balance_reason reason, uint32_t load, uint64_t bytes,
		    uint32_t sender_load, uint32_t sender_speed)
{
	spin_lock(&B.lock);
	/* At least the processes ready to run now (as lbsim): the local
	 * value drops at once to the last second's average, which counts a
	 * process that arrived halfway through it as half a process, and a
	 * node that took two in a second would take a third. And at least
	 * what it tells others (each arrival raises it at once), and what
	 * it took in over the last ARRIVED_NS: a process that arrived a
	 * moment ago may be waiting for its pages from home, not ready to
	 * run (a node whose two new copies waited out a second for their
	 * home took a third: local 0, exported 73, none ready). */
	uint64_t t = time_ns();
	if (t - B.arrived_ns > ARRIVED_NS)
		B.arrived = 0;
	uint32_t local = B.load.local, exported = B.load.exported,
		 nrun = B.last_nrun;
	uint32_t now = MAX(MAX(local, exported),
			   MAX(nrun * POLICY_LOAD_UNIT, B.arrived));
	struct policy_self me = {link_self(), now, B.speed, free_bytes()};
	bool ok = policy_accept(&B.params, B.mode, &me,
				reason == BALANCE_MEMORY ? POLICY_REASON_MEMORY
							 : POLICY_REASON_LOAD,
				load, bytes, sender_load, sender_speed);
	if (ok) {
		policy_load_adjust(&B.load, (int32_t)load);
		B.arrived += load;
		B.arrived_ns = t;
	} else {
		B.refused++;
	}
	spin_unlock(&B.lock);
	/* what the consent weighed, before this move's own step */
	printk(KERN_DEBUG "balance: %s %s move of load %u from load %u "
			  "(here local %u, exported %u, ready %u)\n",
	       ok ? "took" : "refused", reason_names[reason], load, sender_load,
	       local, exported, nrun);
	return ok;
}

void balance_proc_exit(const struct proc *p)
{
	if (!p->user.space || mig_is_deputy(p->mig) || !p->lb_load)
		return;
	spin_lock(&B.lock);
	policy_load_adjust(&B.load, -(int32_t)p->lb_load);
	spin_unlock(&B.lock);
}

void balance_note_move(int pid, const char *name, unsigned to,
		       enum balance_reason reason)
{
	spin_lock(&B.lock);
	struct move_rec *m = &B.moves[B.nmoves++ % MOVES_KEPT];
	m->ms = time_ns() / MS;
	m->pid = pid;
	strlcpy(m->name, name, sizeof m->name);
	m->from = link_self();
	m->to = to;
	m->reason = reason;
	spin_unlock(&B.lock);
}

/* ------------------------------------------------------------ every second */

/* Run ticks over span_ns as a load: 100 = runnable at every tick. */
static uint32_t share_of(uint64_t run_ticks, uint64_t span_ns)
{
	uint64_t ticks = span_ns * time_hz() / SEC;
	uint64_t share = run_ticks * POLICY_LOAD_UNIT / (ticks ? ticks : 1);
	return share > POLICY_LOAD_UNIT ? POLICY_LOAD_UNIT : (uint32_t)share;
}

/* Each process running here: the share of the last second's ticks at
 * which it was running or ready (a CPU-bound process is 100 however many
 * share the CPU with it: the load it brings to any node); for one that
 * started or arrived during the second, the share of the ticks since. */
static void proc_loads(uint64_t now, uint64_t elapsed_ns)
{
	unsigned n = 0;
	spin_lock(&proc_lock);
	for (struct proc *p = proc_first(); p; p = p->next) {
		if (!p->thread || !p->user.space || mig_is_deputy(p->mig) ||
		    p->sys.state == P_ZOMBIE)
			continue;
		uint64_t rt = thread_run_ticks(p->thread);
		uint64_t d = rt > p->lb_run_prev ? rt - p->lb_run_prev : 0;
		p->lb_run_prev = rt;
		uint64_t span = MIN(now - p->lb_since_ns, elapsed_ns);
		p->lb_load = share_of(d, span); /* the last second's, as is */
		n++;
	}
	spin_unlock(&proc_lock);
	spin_lock(&B.lock);
	B.nprocs = n;
	spin_unlock(&B.lock);
}

/* A process's load for a decision: for one that started or arrived in the
 * last 2 s, its share of the ticks since (the last second's figure was
 * taken over a few ticks of its life at most, or none), or since its exec
 * when that came later and at least EXEC_SPAN ago: the time a new copy
 * spends forked, waiting for its exec to read the program, is no measure
 * of what the program asks (the last of 32 CPU-bound copies spawned
 * together counted 49-73 and drew one copy too many to a node); else the
 * last second's. proc_lock held, or p is the caller. */
static uint32_t proc_load_now(const struct proc *p, uint64_t now)
{
	uint64_t age = now - p->lb_since_ns;
	uint64_t rt = thread_run_ticks(p->thread);
	if (age >= 2 * SEC)
		return p->lb_load;
	if (p->lb_exec_ns > p->lb_since_ns && now - p->lb_exec_ns >= EXEC_SPAN)
		return share_of(rt - p->lb_run_exec, now - p->lb_exec_ns);
	return share_of(rt - p->lb_run_base, age);
}

uint32_t balance_proc_load(const struct proc *p)
{
	return proc_load_now(p, time_ns());
}

/* decide()'s copies of the processes and the window: only the lbd thread
 * decides, so one static set serves every round (nothing is allocated
 * four times a second on a node with nothing to move). */
static struct policy_proc decide_procs[PROC_LIMIT];
static struct policy_window decide_win;

/* One decision; true when a process moved. */
static bool decide(uint64_t now)
{
	spin_lock(&B.lock);
	enum policy_mode mode = B.mode;
	spin_unlock(&B.lock);
	if (mode != POLICY_MOSIX || !link_enabled())
		return false;
	struct policy_proc *procs = decide_procs;
	struct policy_window *win = &decide_win;
	size_t n = 0;
	spin_lock(&proc_lock);
	for (struct proc *p = proc_first(); p && n < PROC_LIMIT; p = p->next) {
		/* Not a remote that has moved on (it ends here once its
		 * move commits) nor one on its way out. */
		if (!p->thread || !p->user.space || mig_is_deputy(p->mig) ||
		    p->sys.state != P_RUN || p->exiting ||
		    (p->mig && p->mig->gone))
			continue;
		procs[n++] = (struct policy_proc){
			.id = (uint32_t)p->pid,
			.age_ns = now - p->lb_since_ns,
			.last_move_ns = p->lb_moved_ns,
			.load = proc_load_now(p, now),
			.mem_bytes = p->user.space->dirty_pages * PAGE_SIZE,
			/* A session leader (the console's shell, a daemon)
			 * is not moved automatically: its commands would
			 * come home for every fork and exec. */
			.locked = p->sys.lock || p->sys.sid == p->pid,
			.cantmove = proc_cantmove(p) != NULL,
		};
	}
	spin_unlock(&proc_lock);
	spin_lock(&B.lock);
	*win = B.win;
	struct policy_self me = {link_self(), B.load.local, B.speed,
				 free_bytes()};
	/* What the target compares with (balance_self, in the image). */
	B.decision_load =
		policy_decision_load(&B.params, me.load, procs, n, now);
	struct policy_decision d;
	bool go = policy_decide(&B.params, mode, &me, win, procs, n, now,
				&B.rng, &d);
	if (go) {
		char wl[192];
		int at = 0;
		for (uint32_t i = 0; i < win->n && at < (int)sizeof wl - 16;
		     i++)
			at += snprintf(wl + at, sizeof wl - (size_t)at,
				       " %u:%u", win->e[i].node,
				       policy_entry_load(&B.params, &win->e[i],
							 now));
		printk(KERN_DEBUG "balance: load %u (local %u, raw %u), %zu "
				  "procs, window%s: pid %u to %u\n",
		       B.decision_load, me.load, B.load.raw, n, wl, d.id,
		       d.target);
	}
	spin_unlock(&B.lock);
	uint32_t load = 0;
	for (size_t i = 0; go && i < n; i++)
		if (procs[i].id == d.id)
			load = procs[i].load;
	if (!go)
		return false;
	enum balance_reason why = d.reason == POLICY_REASON_MEMORY
					  ? BALANCE_MEMORY
					  : BALANCE_LOAD;
	int rc = mig_request((int)d.id, (int)d.target, why);
	spin_lock(&B.lock);
	B.decisions++;
	if (rc == 0) {
		*(why == BALANCE_MEMORY ? &B.moves_memory : &B.moves_load) += 1;
		policy_window_note(&B.win, &B.params, d.target, load, now);
		policy_load_adjust(&B.load, -(int32_t)load);
		B.decision_load -= MIN(B.decision_load, load);
	} else {
		B.move_failed++;
		/* Refused: the target is busier than our window says. Count
		 * the process there until fresh news of it arrives, so the
		 * next rounds do not knock on the same door (lbsim merges
		 * the refusal's answer the same way). */
		if (rc == -EAGAIN)
			policy_window_note(&B.win, &B.params, d.target, load,
					   now);
	}
	spin_unlock(&B.lock);
	if (rc)
		printk(KERN_DEBUG "balance: pid %u to node %u (%s): %s\n", d.id,
		       d.target, reason_names[why], errno_text(rc));
	return rc == 0;
}

/* ------------------------------------------------------------ dissemination */

static void put_entry(uint8_t *e, const struct policy_info *in, uint32_t procs)
{
	link_put_le(e, in->node, 4);
	link_put_le(e + 4, in->load, 4);
	link_put_le(e + 8, in->speed, 4);
	link_put_le(e + 12, procs, 4);
	link_put_le(e + 16, in->free_mem, 8);
	link_put_le(e + 24, in->age_ns, 8);
	link_put_le(e + 32, in->origin_ns, 8);
}

static void disseminate(uint64_t now)
{
	uint32_t up[LINK_MAX_NODES];
	size_t nup = 0;
	for (unsigned n = 0; n < LINK_MAX_NODES; n++)
		if (n != link_self() && link_node_up(n))
			up[nup++] = n;
	struct policy_info out[POLICY_SEND_MAX];
	uint32_t procs[POLICY_SEND_MAX];
	spin_lock(&B.lock);
	uint32_t to = policy_random_node(up, nup, link_self(), &B.rng);
	/* Age 0 (the exported load follows every arrival and departure at
	 * once), and this node's clock, which orders it among the entries
	 * others hold about this node. */
	struct policy_info own = {
		link_self(), B.load.exported, B.speed, free_bytes(), 0, now};
	size_t k = policy_window_pick(&B.win, &B.params, &own, now, out,
				      POLICY_SEND_MAX);
	for (size_t i = 0; i < k; i++)
		procs[i] = out[i].node == link_self()
				   ? B.nprocs
				   : B.procs_of[out[i].node % LINK_MAX_NODES];
	spin_unlock(&B.lock);
	if (to == POLICY_NODE_NONE || !k)
		return;
	uint8_t buf[INFO_HDR + POLICY_SEND_MAX * INFO_ENTRY];
	buf[0] = INFO_VERSION;
	buf[1] = (uint8_t)k;
	buf[2] = buf[3] = 0;
	for (size_t i = 0; i < k; i++)
		put_entry(buf + INFO_HDR + i * INFO_ENTRY, &out[i], procs[i]);
	if (link_send(to, LINK_CHAN_INFO, LINK_T_LB_INFO, buf,
		      INFO_HDR + k * INFO_ENTRY) == 0) {
		spin_lock(&B.lock);
		B.info_sent++;
		spin_unlock(&B.lock);
	}
}

/* A node's INFO: checked whole before anything is merged. */
static int h_info(unsigned node, const void *req, size_t len, void **reply,
		  size_t *reply_len)
{
	const uint8_t *b = req;
	struct policy_info in[POLICY_SEND_MAX];
	uint32_t procs[POLICY_SEND_MAX];
	size_t k = len >= INFO_HDR ? b[1] : 0;
	bool ok = len >= INFO_HDR && b[0] == INFO_VERSION && k >= 1 &&
		  k <= POLICY_SEND_MAX && !b[2] && !b[3] &&
		  len == INFO_HDR + k * INFO_ENTRY;
	for (size_t i = 0; ok && i < k; i++) {
		const uint8_t *e = b + INFO_HDR + i * INFO_ENTRY;
		in[i] = (struct policy_info){
			.node = (uint32_t)link_get_le(e, 4),
			.load = (uint32_t)link_get_le(e + 4, 4),
			.speed = (uint32_t)link_get_le(e + 8, 4),
			.free_mem = link_get_le(e + 16, 8),
			.age_ns = link_get_le(e + 24, 8),
			.origin_ns = link_get_le(e + 32, 8),
		};
		procs[i] = (uint32_t)link_get_le(e + 12, 4);
		ok = in[i].node < LINK_MAX_NODES && in[i].speed >= 1 &&
		     in[i].speed <= 1000000 && in[i].load <= 1000000 &&
		     procs[i] <= 100000 && in[i].age_ns < 3600 * SEC;
	}
	spin_lock(&B.lock);
	if (!ok) {
		B.info_bad++;
	} else {
		B.info_rx++;
		policy_window_merge(&B.win, &B.params, link_self(), node, in, k,
				    time_ns());
		for (size_t i = 0; i < k; i++)
			if (in[i].node == node)
				B.procs_of[node] = procs[i];
	}
	spin_unlock(&B.lock);
	return ok ? 0 : -EPROTO;
}

/* ------------------------------------------------------------ lbd */

static void lbd(void *arg)
{
	uint32_t measured = measure_speed();
	spin_lock(&B.lock);
	B.speed = kconfig.speed ? kconfig.speed : measured;
	spin_unlock(&B.lock);
	printk(KERN_DEBUG "balance: speed %u (loop %u), policy %s\n", B.speed,
	       measured, mode_names[B.mode]);
	uint64_t last = time_ns(), next_info = last + B.params.info_ns;
	uint64_t next_decide = last + DECIDE_NS;
	for (;;) {
		uint64_t now = time_ns();
		uint64_t next = MIN(MIN(last + SEC, next_info), next_decide);
		if (next > now)
			thread_sleep_ns(next - now);
		now = time_ns();
		if (now >= last + SEC) {
			spin_lock(&B.lock);
			policy_load_second(&B.load, &B.params, B.last_nrun);
			policy_window_expire(&B.win, &B.params, now);
			spin_unlock(&B.lock);
			proc_loads(now, now - last);
			last = now;
			next_decide = now;
		}
		if (now >= next_decide) {
			/* Several moves in a row when one node holds many
			 * processes: each counts at its target in the window
			 * (policy_window_note), so the next sees it there. */
			for (int i = 0; i < DECISIONS_MAX && decide(time_ns());
			     i++)
				;
			next_decide = time_ns() + DECIDE_NS;
		}
		if (now >= next_info) {
			disseminate(now);
			/* ±10% so that nodes booted together drift apart. */
			uint64_t p = B.params.info_ns;
			next_info = now + p - p / 10 +
				    policy_rand(&B.rng) % (p / 5 + 1);
		}
	}
}

/* ------------------------------------------------------------ /proc */

static int gen_policy(char *buf, size_t size, void *arg, uint64_t key)
{
	return snprintf(buf, size, "%s\n", mode_names[B.mode]);
}

static int write_policy(void *arg, uint64_t key, const char *buf, size_t len)
{
	for (unsigned m = 0; m < ARRAY_SIZE(mode_names); m++) {
		if (strlen(mode_names[m]) == len &&
		    !memcmp(mode_names[m], buf, len)) {
			spin_lock(&B.lock);
			B.mode = (enum policy_mode)m;
			spin_unlock(&B.lock);
			return 0;
		}
	}
	return -EINVAL;
}

/* /proc/cluster/mem_low: the free memory (MiB) below which this node
 * ushers its largest process away; mem_target (what a target must keep
 * free) stays as it is. */
static int gen_mem_low(char *buf, size_t size, void *arg, uint64_t key)
{
	spin_lock(&B.lock);
	uint64_t v = B.params.mem_low >> 20;
	spin_unlock(&B.lock);
	return snprintf(buf, size, "%lu\n", (unsigned long)v);
}

static int write_mem_low(void *arg, uint64_t key, const char *buf, size_t len)
{
	uint64_t v = 0;
	if (!len || len > 7)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	spin_lock(&B.lock);
	B.params.mem_low = v << 20;
	spin_unlock(&B.lock);
	return 0;
}

static int gen_balance(char *buf, size_t size, void *arg, uint64_t key)
{
	spin_lock(&B.lock);
	int n = snprintf(buf, size,
			 "policy %s\nspeed %u\nload_raw %u\nload_export %u\n"
			 "load_local %u\nprocs %u\nwindow %u\ninfo_sent %lu\n"
			 "info_received %lu\ninfo_bad %lu\ndecisions %lu\n"
			 "moves_load %lu\nmoves_memory %lu\nmove_failed %lu\n"
			 "refused %lu\n",
			 mode_names[B.mode], B.speed, B.load.raw,
			 B.load.exported, B.load.local, B.nprocs, B.win.n,
			 (unsigned long)B.info_sent, (unsigned long)B.info_rx,
			 (unsigned long)B.info_bad, (unsigned long)B.decisions,
			 (unsigned long)B.moves_load,
			 (unsigned long)B.moves_memory,
			 (unsigned long)B.move_failed,
			 (unsigned long)B.refused);
	/* The last moves from this node, oldest first. */
	unsigned first = B.nmoves > MOVES_KEPT ? B.nmoves - MOVES_KEPT : 0;
	for (unsigned i = first; i < B.nmoves && n >= 0 && (size_t)n < size;
	     i++) {
		const struct move_rec *m = &B.moves[i % MOVES_KEPT];
		n += snprintf(buf + n, size - (size_t)n,
			      "move %lu %d %s %u %u %s\n", (unsigned long)m->ms,
			      m->pid, m->name, m->from, m->to,
			      reason_names[m->reason]);
	}
	spin_unlock(&B.lock);
	return n;
}

/* /proc/cluster/node/N: self, every node up, and every node in the
 * window. */
static bool node_known(unsigned n)
{
	if (n == link_self() || link_node_up(n))
		return true;
	for (uint32_t i = 0; i < B.win.n; i++)
		if (B.win.e[i].node == n)
			return true;
	return false;
}

static int node_list(void *arg, uint64_t *keys, int max)
{
	int k = 0;
	spin_lock(&B.lock);
	for (unsigned n = 0; n < LINK_MAX_NODES && k < max; n++)
		if (node_known(n))
			keys[k++] = n;
	spin_unlock(&B.lock);
	return k;
}

static int node_lookup(void *arg, const char *name, size_t len, uint64_t *key)
{
	unsigned n = 0;
	if (!len || len > 2)
		return -ENOENT;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -ENOENT;
		n = n * 10 + (unsigned)(name[i] - '0');
	}
	if (n >= LINK_MAX_NODES)
		return -ENOENT;
	spin_lock(&B.lock);
	bool ok = node_known(n);
	spin_unlock(&B.lock);
	if (!ok)
		return -ENOENT;
	*key = n;
	return 0;
}

static void node_name(void *arg, uint64_t key, char *buf, size_t size)
{
	snprintf(buf, size, "%lu", (unsigned long)key);
}

/* What this node knows of node n (caller holds B.lock): false if nothing
 * beyond its being up. */
static bool node_entry(unsigned n, struct policy_entry *e)
{
	if (n == link_self()) {
		*e = (struct policy_entry){.node = n,
					   .load = B.load.exported,
					   .speed = B.speed,
					   .free_mem = free_bytes(),
					   .stamp_ns = time_ns()};
		return true;
	}
	for (uint32_t i = 0; i < B.win.n; i++) {
		if (B.win.e[i].node == n) {
			*e = B.win.e[i];
			return true;
		}
	}
	return false;
}

enum node_field { NF_LOAD, NF_SPEED, NF_MEM, NF_PROCS, NF_STATUS };

static int node_field(char *buf, size_t size, unsigned n, enum node_field f)
{
	struct policy_entry e;
	spin_lock(&B.lock);
	bool have = node_entry(n, &e);
	uint32_t procs = n == link_self() ? B.nprocs : B.procs_of[n];
	spin_unlock(&B.lock);
	const char *status = n == link_self()  ? "self"
			     : link_node_up(n) ? "up"
					       : "down";
	switch (f) {
	case NF_STATUS:
		return snprintf(buf, size, "%s\n", status);
	case NF_LOAD:
		return have ? snprintf(buf, size, "%u\n", e.load)
			    : snprintf(buf, size, "-\n");
	case NF_SPEED:
		return have ? snprintf(buf, size, "%u\n", e.speed)
			    : snprintf(buf, size, "-\n");
	case NF_MEM:
		return have ? snprintf(buf, size, "%lu\n",
				       (unsigned long)e.free_mem)
			    : snprintf(buf, size, "-\n");
	case NF_PROCS:
		return have ? snprintf(buf, size, "%u\n", procs)
			    : snprintf(buf, size, "-\n");
	}
	return -EINVAL;
}

#define NODE_GEN(name, f)                                             \
	static int gen_node_##name(char *buf, size_t size, void *arg, \
				   uint64_t key)                      \
	{                                                             \
		return node_field(buf, size, (unsigned)key, f);       \
	}
NODE_GEN(load, NF_LOAD)
NODE_GEN(speed, NF_SPEED)
NODE_GEN(mem, NF_MEM)
NODE_GEN(procs, NF_PROCS)
NODE_GEN(status, NF_STATUS)

static const struct procfs_dynfile node_files[] = {
	{"load", gen_node_load, false, NULL},
	{"speed", gen_node_speed, false, NULL},
	{"mem", gen_node_mem, false, NULL},
	{"procs", gen_node_procs, false, NULL},
	{"status", gen_node_status, false, NULL},
};

static const struct procfs_dynset node_set = {
	.list = node_list,
	.lookup = node_lookup,
	.name = node_name,
	.files = node_files,
	.nfiles = ARRAY_SIZE(node_files),
};

void balance_init(void)
{
	policy_params_default(&B.params);
	if (kconfig.info_ms)
		B.params.info_ns = (uint64_t)kconfig.info_ms * MS;
	B.mode = !strcmp(kconfig.lb, "off")	 ? POLICY_OFF
		 : !strcmp(kconfig.lb, "static") ? POLICY_STATIC
						 : POLICY_MOSIX;
	B.rng = time_ns() ^ ((uint64_t)link_self() << 32) ^ 0x5107a1u;
	B.speed = kconfig.speed ? kconfig.speed : POLICY_STD_SPEED;
	B.last_tick = time_ticks();
	procfs_register_rw("cluster/policy", gen_policy, write_policy, NULL);
	procfs_register("cluster/balance", gen_balance, NULL);
	procfs_register_rw("cluster/mem_low", gen_mem_low, write_mem_low, NULL);
	procfs_register_dynset("cluster/node", &node_set);
	thread_set_tick_sampler(sample);
	if (link_enabled())
		link_register(LINK_T_LB_INFO, h_info); /* one-way */
	thread_create("lbd", lbd, NULL);
}
