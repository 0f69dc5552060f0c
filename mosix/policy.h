/*
 * policy.h — Shoal's load-balancing policy (design §6, docs/loadbalancing.md):
 * the load arithmetic, the load window and the migration decisions, as pure
 * functions of plain inputs. The kernel, the host unit tests
 * (tests/unit/test_policy.c) and the simulator (tools/lbsim) compile the same
 * mosix/policy.c.
 *
 * Interface, in the order a node uses it:
 *   policy_load_sample / policy_load_second / policy_load_adjust
 *       the run-queue length accumulated every tick, turned into a load once
 *       a second (100 = one always-running process) and smoothed twice;
 *   policy_window_merge / _expire / _pick / _note / policy_random_node
 *       the newest entries about other nodes, what to send and to whom;
 *   policy_decide
 *       at most one migration (process, target, reason) for this node;
 *   policy_accept
 *       the target's check of an incoming migration;
 *   policy_place_rr
 *       round-robin placement at spawn (the `static` mode).
 *
 * Invariants: no global or static mutable state; randomness comes from the
 * caller's state (policy_rand); times are the caller's nanoseconds, loads
 * are integers (100 = one process), speeds are relative to POLICY_STD_SPEED.
 * Only <stdint.h>, <stddef.h>, <stdbool.h> and <string.h> are used.
 */
#ifndef MOSIX_POLICY_H
#define MOSIX_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_LOAD_UNIT 100 /* one always-running process */
#define POLICY_STD_SPEED 1000 /* speed of the reference node */
#define POLICY_WINDOW_MAX 20 /* entries a window can hold */
#define POLICY_SEND_MAX 8 /* entries one message can carry */
#define POLICY_NODE_NONE 0xFFFFFFFFu

enum policy_mode {
	POLICY_OFF, /* never migrate */
	POLICY_MOSIX, /* dynamic load balancing and memory ushering */
	POLICY_STATIC, /* round-robin placement at spawn, never migrate */
};

enum policy_reason {
	POLICY_REASON_NONE,
	POLICY_REASON_LOAD, /* a node in the window finishes it sooner */
	POLICY_REASON_MEMORY, /* this node is short of free memory */
};

/*
 * Every tunable, with its default in policy_params_default (in brackets).
 * docs/loadbalancing.md says why each default is what it is.
 */
struct policy_params {
	/* load arithmetic */
	uint32_t export_decay; /* falling export: (d·old + (8-d)·new)/8 [7] */
	uint32_t local_rise; /* rising local: ((8-r)·old + r·new)/8 [5] */
	/* window and dissemination */
	uint32_t window_size; /* entries kept, <= POLICY_WINDOW_MAX [16] */
	uint32_t send_entries; /* fresh entries sent besides our own [5] */
	uint64_t info_ns; /* dissemination period [1 s] */
	uint32_t dead_periods; /* entries older than this many periods die
				 * [16: 4·N with N = 4 entries per message] */
	/* load decisions */
	uint64_t residency_ns; /* a process stays this long after start or
				 * arrival before it may move [1 s] */
	uint64_t move_gap_ns; /* ... and never moves twice within [3 s] */
	uint32_t hysteresis; /* percent of one process's load a target
				 * must be lighter by, beyond that load [130] */
	uint32_t min_proc_load; /* processes with less load are not moved for
				 * load [10] */
	uint64_t mig_fixed_ns; /* fixed cost of one migration [5 ms] */
	uint64_t link_bps; /* link throughput, bytes/s, for the cost of
				 * sending memory [100 MB/s] */
	/* memory ushering */
	uint64_t mem_low; /* usher when free memory is below [16 MiB] */
	uint64_t mem_target; /* a target must keep this much free after
				 * receiving the process [2·mem_low] */
};

/* Fill *p with the defaults above. */
void policy_params_default(struct policy_params *p);

/* The next number from the caller's random state (splitmix64: any seed,
 * 0 included, gives a good sequence). */
uint64_t policy_rand(uint64_t *state);

/* ---- load arithmetic ---- */

struct policy_load {
	uint64_t acc; /* sum of run-queue length · weight this second */
	uint64_t weight; /* sum of weights (ticks) this second */
	uint32_t raw; /* last second's average, 100 = one process */
	uint32_t exported; /* rises at once, decays slowly: told to others */
	uint32_t local; /* rises slowly, drops at once: used to decide */
};

/* Add a sample: the run queue held nrun processes for weight ticks (the
 * kernel passes 1 every tick, lbsim the elapsed microseconds). */
void policy_load_sample(struct policy_load *l, uint32_t nrun, uint32_t weight);
/* Once a second: turn the samples into raw, update exported and local.
 * nrun is the run queue now: local drops at once to min(raw, nrun·100), so
 * processes that left during the second no longer count. */
void policy_load_second(struct policy_load *l, const struct policy_params *p,
			uint32_t nrun);
/* A process left (delta < 0) or arrived (delta > 0): a known step, so both
 * smoothed values follow it at once (clamped at 0). */
void policy_load_adjust(struct policy_load *l, int32_t delta);
/* load · POLICY_STD_SPEED / speed (speed 0 counts as POLICY_STD_SPEED). */
uint32_t policy_load_norm(uint32_t load, uint32_t speed);

/* ---- the load window ---- */

/* What a node knows about another: in the window stamp_ns is this node's
 * time when the load was measured at its origin. sent is load this node
 * sent there itself (policy_window_note), the last at sent_ns, and
 * sent_base the entry's load when the first of those sends was noted: until
 * an entry measured one info period after sent_ns arrives (the target's own
 * average shows them by then), and for two info periods at least, the node
 * counts as the larger of its entry's load and sent_base + sent. Not
 * load + sent: a target counts an arrival in the load it exports at once
 * (policy_load_adjust), so an entry it sends just after may already hold
 * the process that the note counts too. */
struct policy_entry {
	uint32_t node;
	uint32_t load; /* exported load, not normalised */
	uint32_t speed;
	uint64_t free_mem; /* bytes */
	uint64_t stamp_ns;
	uint32_t sent;
	uint64_t sent_ns;
	uint32_t sent_base;
	uint64_t origin_ns; /* the node's own clock when it sent it */
};

/* The same on the wire: an age instead of a stamp, so clocks need not
 * agree (transit time is not counted; it is small against a period), and
 * the time on the node's own clock when it sent the entry first (what
 * orders two entries about the same node: ages leave out the time an entry
 * spent in transit and in relays, so a stale entry relayed by a node whose
 * clock lagged can look newer than a fresh one). */
struct policy_info {
	uint32_t node;
	uint32_t load;
	uint32_t speed;
	uint64_t free_mem;
	uint64_t age_ns;
	uint64_t origin_ns;
};

struct policy_window {
	uint32_t n;
	struct policy_entry e[POLICY_WINDOW_MAX];
};

/* Merge n entries received from node `from`: entries about self are
 * ignored; an entry replaces the one about the same node when its origin_ns
 * is later, or when it is from's own (a node's word about itself is its
 * newest, and after a reboot its clock starts again); when the window is
 * full the oldest entry gives way to a newer one. */
void policy_window_merge(struct policy_window *w, const struct policy_params *p,
			 uint32_t self, uint32_t from,
			 const struct policy_info *in, size_t n,
			 uint64_t now_ns);
/* Drop entries older than dead_periods · info_ns. */
void policy_window_expire(struct policy_window *w,
			  const struct policy_params *p, uint64_t now_ns);
/* Fill out[] with what to send: own entry (age 0; its origin_ns the
 * caller's now) first, then up to send_entries of the freshest entries;
 * returns the count (<= max). */
size_t policy_window_pick(const struct policy_window *w,
			  const struct policy_params *p,
			  const struct policy_info *own, uint64_t now_ns,
			  struct policy_info *out, size_t max);
/* We sent a process of load `load` to node: count it there (see sent
 * above) so the next decisions do not pick the node again blindly. */
void policy_window_note(struct policy_window *w, const struct policy_params *p,
			uint32_t node, uint32_t load, uint64_t now_ns);
/* The load the decisions see for an entry: load, or sent_base + sent if
 * larger while the sends are recent. */
uint32_t policy_entry_load(const struct policy_params *p,
			   const struct policy_entry *e, uint64_t now_ns);
/* A random node of nodes[0..n) other than self, or POLICY_NODE_NONE. */
uint32_t policy_random_node(const uint32_t *nodes, size_t n, uint32_t self,
			    uint64_t *rng);

/* ---- decisions ---- */

/* This node as the decision sees it. */
struct policy_self {
	uint32_t node;
	uint32_t load; /* the local smoothed load (policy_load.local) */
	uint32_t speed;
	uint64_t free_mem; /* bytes */
};

/* A local process that could move. */
struct policy_proc {
	uint32_t id;
	uint64_t age_ns; /* since start or last arrival here */
	uint64_t last_move_ns; /* caller's time of its last migration, 0 never */
	uint32_t load; /* its share: 100 = always runnable */
	uint64_t mem_bytes; /* what moving it sends and frees here */
	bool locked; /* /proc/<pid>/lock */
	bool cantmove; /* pinned by what it uses (devices, ...) */
};

struct policy_decision {
	uint32_t id; /* policy_proc.id */
	uint32_t target; /* node */
	enum policy_reason reason;
};

/*
 * The load a decision uses for this node: the local smoothed load, but no
 * more than all its processes' loads add up to (after moves out the local
 * value is recomputed from a second's average that still holds them), and
 * no less than the processes that have lived the residency period.
 * The local value rises slowly so that a burst of short processes does not
 * send work away; a process older than the residency period is no burst,
 * so 8 processes started together count as 800 once they have lived it,
 * not the 500 or so the local value has reached by then.
 */
uint32_t policy_decision_load(const struct policy_params *p, uint32_t local,
			      const struct policy_proc *procs, size_t nprocs,
			      uint64_t now_ns);

/*
 * At most one migration for this node: returns true and fills *out, or
 * false. Memory ushering comes first (when free memory is below mem_low),
 * then load. rng breaks ties between equally good targets, so that nodes
 * that see the same idle node do not all pick it. Modes other than
 * POLICY_MOSIX never migrate. self->load is the local smoothed load; the
 * load decisions use policy_decision_load of it and procs.
 */
bool policy_decide(const struct policy_params *p, enum policy_mode mode,
		   const struct policy_self *self,
		   const struct policy_window *w,
		   const struct policy_proc *procs, size_t nprocs,
		   uint64_t now_ns, uint64_t *rng, struct policy_decision *out);

/*
 * The target's check of an incoming process (load, mem_bytes) for reason,
 * sent by a node whose local load and speed were sender_load, sender_speed.
 * self->load here is the target's current load including processes already
 * on their way to it. A load move is accepted while the target, with the
 * process, would still be less loaded (normalised) than the sender was; a
 * memory move while the target keeps mem_target free.
 */
bool policy_accept(const struct policy_params *p, enum policy_mode mode,
		   const struct policy_self *self, enum policy_reason reason,
		   uint32_t load, uint64_t mem_bytes, uint32_t sender_load,
		   uint32_t sender_speed);

/* Round-robin placement at spawn: nodes[*next % n], then advances *next.
 * Returns POLICY_NODE_NONE when n == 0. */
uint32_t policy_place_rr(uint32_t *next, const uint32_t *nodes, size_t n);

#endif
