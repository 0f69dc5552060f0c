/*
 * policy.c — the load-balancing policy of design §6 as pure functions; see
 * policy.h for the interface and docs/loadbalancing.md for the reasoning and
 * the simulator's figures. Integer arithmetic only (the kernel has no FPU
 * state in kernel mode); no static mutable state.
 *
 * LOAD. The caller adds the run-queue length every tick; once a second the
 * average becomes raw (100 = one always-running process). Others are told
 * `exported`, which rises at once and decays as (7·old + new)/8, so a node
 * that just got work does not look idle to anyone, and a burst of work seen
 * once keeps others away for a few seconds. Decisions use `local`, which
 * rises as (3·old + 5·new)/8 (design §6 says 5·old + 3·new; lbsim chose
 * local_rise 5, docs/loadbalancing.md) and drops at once to the smaller of
 * the average and the run queue now, so a short burst does not push
 * processes away and processes that left stop counting. Departures and
 * arrivals are known steps and move both values at once
 * (policy_load_adjust).
 *
 * DECISION (policy_decide). A process is a candidate when it is neither
 * locked nor cantmove, has lived residency_ns here and did not move in the
 * last move_gap_ns. Memory first: below mem_low free bytes the candidate
 * with the most memory goes to the node of the window with the most free
 * memory, if that node keeps mem_target free after receiving it (a node
 * near its own threshold is never a target, so memory does not thrash).
 * Then load: a target T qualifies for a process of load pl when
 *
 *     norm(T.load + hysteresis% · pl, T.speed) < norm(local, speed)
 *
 * i.e. T with the process still is lighter than here by 0.3 of a process
 * (hysteresis 130): two equally loaded nodes never trade, a node with one
 * process more than another keeps it. Among qualifying targets the one that
 * gives the process the highest rate speed/max(load + pl, 100) finishes it
 * soonest; ties are broken with the caller's rng. The process moved is the
 * one with the largest net gain: its expected remaining time (its age, the
 * usual estimate for CPU-bound work) times the fraction saved by the faster
 * rate, minus the time it is frozen while its memory is sent.
 */
#include "mosix/policy.h"

#include <string.h>

#define NS_PER_S 1000000000ull

void policy_params_default(struct policy_params *p)
{
	memset(p, 0, sizeof(*p));
	p->export_decay = 7;
	p->local_rise = 3;
	p->window_size = 16;
	p->send_entries = 5;
	p->info_ns = NS_PER_S;
	p->dead_periods = 16;
	p->residency_ns = NS_PER_S;
	p->move_gap_ns = 3 * NS_PER_S;
	p->hysteresis = 130;
	p->min_proc_load = 10;
	p->mig_fixed_ns = 5000000;
	p->link_bps = 100000000;
	p->mem_low = 16ull << 20;
	p->mem_target = 32ull << 20;
}

uint64_t policy_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* ---------------------------------------------------------------- load */

void policy_load_sample(struct policy_load *l, uint32_t nrun, uint32_t weight)
{
	l->acc += (uint64_t)nrun * weight;
	l->weight += weight;
}

void policy_load_second(struct policy_load *l, const struct policy_params *p,
			uint32_t nrun)
{
	uint64_t now = (uint64_t)nrun * POLICY_LOAD_UNIT;
	uint32_t floor;
	uint32_t d = p->export_decay > 8 ? 8 : p->export_decay;
	uint32_t r = p->local_rise > 8 ? 8 : p->local_rise;
	uint64_t raw = l->weight ? l->acc * POLICY_LOAD_UNIT / l->weight : 0;

	l->raw = raw > UINT32_MAX ? UINT32_MAX : (uint32_t)raw;
	l->acc = 0;
	l->weight = 0;
	if (l->raw >= l->exported)
		l->exported = l->raw;
	else
		l->exported = (uint32_t)(((uint64_t)d * l->exported +
					  (uint64_t)(8 - d) * l->raw) /
					 8);
	/* Never above what is runnable now (processes that left during the
	 * second no longer count); rounded up when rising so that local
	 * reaches its target in the end. */
	floor = now < l->raw ? (uint32_t)now : l->raw;
	if (floor <= l->local)
		l->local = floor;
	else
		l->local = (uint32_t)(((uint64_t)(8 - r) * l->local +
				       (uint64_t)r * floor + 7) /
				      8);
}

static uint32_t add_clamped(uint32_t v, int32_t delta)
{
	int64_t s = (int64_t)v + delta;
	if (s < 0)
		return 0;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

void policy_load_adjust(struct policy_load *l, int32_t delta)
{
	l->exported = add_clamped(l->exported, delta);
	l->local = add_clamped(l->local, delta);
}

static uint64_t norm64(uint64_t load, uint32_t speed)
{
	return load * POLICY_STD_SPEED / (speed ? speed : POLICY_STD_SPEED);
}

uint32_t policy_load_norm(uint32_t load, uint32_t speed)
{
	uint64_t n = norm64(load, speed);
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* -------------------------------------------------------------- window */

static uint32_t window_cap(const struct policy_params *p)
{
	if (p->window_size == 0 || p->window_size > POLICY_WINDOW_MAX)
		return POLICY_WINDOW_MAX;
	return p->window_size;
}

static uint64_t age_of(uint64_t stamp, uint64_t now)
{
	return now > stamp ? now - stamp : 0;
}

static bool entry_dead(const struct policy_params *p,
		       const struct policy_entry *e, uint64_t now)
{
	return age_of(e->stamp_ns, now) >
	       (uint64_t)p->dead_periods * p->info_ns;
}

void policy_window_merge(struct policy_window *w, const struct policy_params *p,
			 uint32_t self, uint32_t from,
			 const struct policy_info *in, size_t n,
			 uint64_t now_ns)
{
	uint32_t cap = window_cap(p);

	for (size_t i = 0; i < n; i++) {
		struct policy_entry e = {
			.node = in[i].node,
			.load = in[i].load,
			.speed = in[i].speed,
			.free_mem = in[i].free_mem,
			.stamp_ns = now_ns > in[i].age_ns
					    ? now_ns - in[i].age_ns
					    : 0,
			.origin_ns = in[i].origin_ns,
		};
		uint32_t j, oldest = 0;

		if (e.node == self || e.node == POLICY_NODE_NONE)
			continue;
		for (j = 0; j < w->n; j++)
			if (w->e[j].node == e.node)
				break;
		if (j < w->n) {
			if (e.node == from || e.origin_ns > w->e[j].origin_ns) {
				e.sent = w->e[j].sent;
				e.sent_ns = w->e[j].sent_ns;
				e.sent_base = w->e[j].sent_base;
				w->e[j] = e;
			}
			continue;
		}
		if (w->n < cap) {
			w->e[w->n++] = e;
			continue;
		}
		for (j = 1; j < w->n; j++)
			if (w->e[j].stamp_ns < w->e[oldest].stamp_ns)
				oldest = j;
		if (w->e[oldest].stamp_ns < e.stamp_ns)
			w->e[oldest] = e;
	}
}

void policy_window_expire(struct policy_window *w,
			  const struct policy_params *p, uint64_t now_ns)
{
	uint32_t k = 0;

	for (uint32_t j = 0; j < w->n; j++)
		if (!entry_dead(p, &w->e[j], now_ns))
			w->e[k++] = w->e[j];
	w->n = k;
}

size_t policy_window_pick(const struct policy_window *w,
			  const struct policy_params *p,
			  const struct policy_info *own, uint64_t now_ns,
			  struct policy_info *out, size_t max)
{
	bool taken[POLICY_WINDOW_MAX] = {false};
	size_t k = 0, want;

	if (max == 0)
		return 0;
	out[k] = *own;
	out[k++].age_ns = 0;
	want = p->send_entries + 1 < max ? p->send_entries + 1 : max;
	while (k < want) {
		int best = -1;
		for (uint32_t j = 0; j < w->n; j++) {
			if (taken[j] || entry_dead(p, &w->e[j], now_ns) ||
			    w->e[j].node == own->node)
				continue;
			if (best < 0 || w->e[j].stamp_ns > w->e[best].stamp_ns)
				best = (int)j;
		}
		if (best < 0)
			break;
		taken[best] = true;
		out[k] = (struct policy_info){
			.node = w->e[best].node,
			.load = w->e[best].load,
			.speed = w->e[best].speed,
			.free_mem = w->e[best].free_mem,
			.age_ns = age_of(w->e[best].stamp_ns, now_ns),
			.origin_ns = w->e[best].origin_ns,
		};
		k++;
	}
	return k;
}

/* Our own sends count until an entry measured a full period after the last
 * of them arrives (the target's one-second average shows them by then),
 * and at least two periods: an entry's age leaves out its time in transit
 * and in relays, so one that looks measured after the sends may be older
 * (16 emulated nodes on two host cores saw a node with two processes
 * shown at 37 a second after the second was sent there). As the notes
 * count as at least what the entry shows, holding them longer overstates
 * a target only when work there ended meanwhile. */
static bool sent_counts(const struct policy_params *p,
			const struct policy_entry *e, uint64_t now)
{
	return e->sent && (e->stamp_ns < e->sent_ns + p->info_ns ||
			   now < e->sent_ns + 2 * p->info_ns);
}

void policy_window_note(struct policy_window *w, const struct policy_params *p,
			uint32_t node, uint32_t load, uint64_t now_ns)
{
	for (uint32_t j = 0; j < w->n; j++) {
		struct policy_entry *e = &w->e[j];
		if (e->node != node)
			continue;
		/* an old note no longer counts: start again from this one,
		 * on top of what the entry shows now */
		if (!sent_counts(p, e, now_ns)) {
			e->sent = 0;
			e->sent_base = e->load;
		}
		e->sent = add_clamped(e->sent, (int32_t)load);
		e->sent_ns = now_ns;
	}
}

uint32_t policy_entry_load(const struct policy_params *p,
			   const struct policy_entry *e, uint64_t now_ns)
{
	uint32_t with_sent;

	if (!sent_counts(p, e, now_ns))
		return e->load;
	with_sent = add_clamped(e->sent_base, (int32_t)e->sent);
	return with_sent > e->load ? with_sent : e->load;
}

uint32_t policy_random_node(const uint32_t *nodes, size_t n, uint32_t self,
			    uint64_t *rng)
{
	size_t others = 0, pick;

	for (size_t i = 0; i < n; i++)
		others += nodes[i] != self;
	if (others == 0)
		return POLICY_NODE_NONE;
	pick = (size_t)(policy_rand(rng) % others);
	for (size_t i = 0; i < n; i++) {
		if (nodes[i] == self)
			continue;
		if (pick-- == 0)
			return nodes[i];
	}
	return POLICY_NODE_NONE;
}

/* ----------------------------------------------------------- decisions */

static bool candidate(const struct policy_params *p,
		      const struct policy_proc *pr, uint64_t now)
{
	if (pr->locked || pr->cantmove || pr->age_ns < p->residency_ns)
		return false;
	return pr->last_move_ns == 0 ||
	       age_of(pr->last_move_ns, now) >= p->move_gap_ns;
}

/* The rate a process of load pl gets on a node of this speed and load
 * (the process included), in speed units scaled by 1000. */
static uint64_t rate(uint32_t speed, uint64_t load_with)
{
	if (load_with < POLICY_LOAD_UNIT)
		load_with = POLICY_LOAD_UNIT;
	return (uint64_t)(speed ? speed : POLICY_STD_SPEED) * 1000 *
	       POLICY_LOAD_UNIT / load_with;
}

static uint64_t mig_cost_ns(const struct policy_params *p, uint64_t bytes)
{
	uint64_t bps = p->link_bps ? p->link_bps : 1;
	/* bytes / bps seconds, without overflowing for any sane size */
	return p->mig_fixed_ns + bytes / bps * NS_PER_S +
	       bytes % bps * NS_PER_S / bps;
}

/* Pick among ties uniformly: the k-th equal candidate replaces with 1/k. */
static bool tie_wins(uint32_t *ties, uint64_t *rng)
{
	++*ties;
	return policy_rand(rng) % *ties == 0;
}

static bool usher(const struct policy_params *p, const struct policy_self *self,
		  const struct policy_window *w,
		  const struct policy_proc *procs, size_t nprocs, uint64_t now,
		  uint64_t *rng, struct policy_decision *out)
{
	const struct policy_proc *big = NULL;
	const struct policy_entry *to = NULL;
	uint32_t ties = 0;

	for (size_t i = 0; i < nprocs; i++)
		if (candidate(p, &procs[i], now) && procs[i].mem_bytes &&
		    (!big || procs[i].mem_bytes > big->mem_bytes))
			big = &procs[i];
	if (!big)
		return false;
	for (uint32_t j = 0; j < w->n; j++) {
		const struct policy_entry *e = &w->e[j];
		if (e->node == self->node || entry_dead(p, e, now) ||
		    e->free_mem < big->mem_bytes + p->mem_target)
			continue;
		if (!to || e->free_mem > to->free_mem) {
			to = e;
			ties = 1;
		} else if (e->free_mem == to->free_mem &&
			   tie_wins(&ties, rng)) {
			to = e;
		}
	}
	if (!to)
		return false;
	*out = (struct policy_decision){big->id, to->node,
					POLICY_REASON_MEMORY};
	return true;
}

uint32_t policy_decision_load(const struct policy_params *p, uint32_t local,
			      const struct policy_proc *procs, size_t nprocs,
			      uint64_t now_ns)
{
	uint64_t settled = 0, total = 0, v;

	for (size_t i = 0; i < nprocs; i++) {
		total += procs[i].load;
		if (procs[i].age_ns >= p->residency_ns)
			settled += procs[i].load;
	}
	v = local < total ? local : total;
	if (settled > v)
		v = settled;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

bool policy_decide(const struct policy_params *p, enum policy_mode mode,
		   const struct policy_self *self,
		   const struct policy_window *w,
		   const struct policy_proc *procs, size_t nprocs,
		   uint64_t now_ns, uint64_t *rng, struct policy_decision *out)
{
	uint32_t here =
		policy_decision_load(p, self->load, procs, nprocs, now_ns);
	uint64_t here_norm = norm64(here, self->speed);
	int64_t best_gain = 0;
	bool found = false;

	if (mode != POLICY_MOSIX)
		return false;
	if (self->free_mem < p->mem_low &&
	    usher(p, self, w, procs, nprocs, now_ns, rng, out))
		return true;

	for (size_t i = 0; i < nprocs; i++) {
		const struct policy_proc *pr = &procs[i];
		uint64_t pl = pr->load, r_here, r_to = 0, gain;
		const struct policy_entry *to = NULL;
		uint32_t ties = 0;
		int64_t net;

		if (!candidate(p, pr, now_ns) || pl < p->min_proc_load)
			continue;
		r_here = rate(self->speed, here);
		for (uint32_t j = 0; j < w->n; j++) {
			const struct policy_entry *e = &w->e[j];
			uint64_t el = policy_entry_load(p, e, now_ns);
			uint64_t with_h = el + pl * p->hysteresis / 100;
			uint64_t r;

			if (e->node == self->node || entry_dead(p, e, now_ns) ||
			    norm64(with_h, e->speed) >= here_norm)
				continue;
			r = rate(e->speed, el + pl);
			if (r <= r_here)
				continue;
			if (r > r_to) {
				to = e;
				r_to = r;
				ties = 1;
			} else if (r == r_to && tie_wins(&ties, rng)) {
				to = e;
			}
		}
		if (!to)
			continue;
		/* time saved over the expected remaining time (the age) */
		gain = pr->age_ns / r_to * (r_to - r_here);
		net = (int64_t)(gain > INT64_MAX / 2 ? INT64_MAX / 2 : gain) -
		      (int64_t)mig_cost_ns(p, pr->mem_bytes);
		if (net > best_gain) {
			best_gain = net;
			*out = (struct policy_decision){pr->id, to->node,
							POLICY_REASON_LOAD};
			found = true;
		}
	}
	return found;
}

bool policy_accept(const struct policy_params *p, enum policy_mode mode,
		   const struct policy_self *self, enum policy_reason reason,
		   uint32_t load, uint64_t mem_bytes, uint32_t sender_load,
		   uint32_t sender_speed)
{
	if (mode != POLICY_MOSIX)
		return false;
	if (reason == POLICY_REASON_MEMORY)
		return self->free_mem >= mem_bytes + p->mem_target;
	return norm64((uint64_t)self->load + load, self->speed) <
	       norm64(sender_load, sender_speed);
}

uint32_t policy_place_rr(uint32_t *next, const uint32_t *nodes, size_t n)
{
	uint32_t node;

	if (n == 0)
		return POLICY_NODE_NONE;
	node = nodes[*next % n];
	*next = (uint32_t)((*next + 1) % n);
	return node;
}
