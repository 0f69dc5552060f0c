/*
 * lbsim.c — a discrete-event simulator of a Shoal cluster that runs the
 * balancing policy (mosix/policy.c, unchanged) on 1-1024 simulated nodes and
 * reproduces the experiments of the MOSIX/PVM paper (shared/seeds/002_...):
 * Table 1, random execution times (§4.2), background load (§4.3), a
 * heterogeneous cluster, and larger clusters. docs/loadbalancing.md has the
 * model and the figures; `lbsim --help` the usage.
 *
 * MODEL. Each node is a uniprocessor that time-shares its k runnable
 * processes: each gets speed/k (speed 1.0 = POLICY_STD_SPEED). A process
 * has a CPU demand (seconds on a speed-1.0 node) and a memory size. Time is
 * continuous: between events every node's share is constant, so progress is
 * computed exactly and a completion is an event. Each node, at its own
 * random phase:
 *   - every second feeds its run-queue length (weighted by the time it held)
 *     to policy_load_sample/_second, expires its window and decides;
 *   - every info period sends its own entry and a few fresh ones
 *     (policy_window_pick) to one random node (policy_random_node); the
 *     message is lost with probability `loss` or arrives after `delay` plus a
 *     uniform jitter of the same size, and is merged there.
 * A decision is checked at once by the target (policy_accept, with the
 * target's current load plus what is on its way; the request's round trip
 * is added to the move). A refused move updates the sender's window with
 * the target's answer. An accepted move freezes the process for
 * 2·delay + fixed + memory/bandwidth; its node sends one process at a time
 * and decides again when the move ends. Background processes (cantmove)
 * alternate between running and sleeping for random periods.
 *
 * The "optimal" time is the paper's formula generalised: a fluid schedule
 * with free, instant migration that, at every completion, spreads the
 * remaining processes as evenly as the speeds allow (the fastest slots to
 * the longest remaining work) and otherwise time-shares. For 16 identical
 * nodes and equal 300 s jobs it gives the paper's column (except 31
 * processes: 581.25 s here, 563 in the paper, which stops one step early).
 */
#include "mosix/policy.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS 1e9
#define MAXNODES 1024

/* ------------------------------------------------------------- options */

struct simcfg {
	int nodes;
	double delay; /* one-way message delay, s */
	double loss; /* message loss probability */
	double bw; /* migration throughput, bytes/s */
	double fixed; /* fixed cost of a migration, s */
	double mem; /* each job's memory, bytes */
	double node_mem; /* each node's memory, bytes */
	double warmup; /* cluster runs this long before the jobs start, s */
	struct policy_params pp;
};

static void cfg_default(struct simcfg *c)
{
	memset(c, 0, sizeof(*c));
	c->nodes = 16;
	c->delay = 0.0005;
	c->loss = 0.01;
	c->bw = 100e6;
	c->fixed = 0.005;
	c->mem = 4 << 20;
	c->node_mem = 256 << 20;
	c->warmup = 20;
	policy_params_default(&c->pp);
}

/* The placement and balancing of one run. */
enum sched {
	S_MOSIX, /* all jobs start on node 0, policy mosix */
	S_STATIC, /* round-robin placement, never migrate (PVM) */
	S_RR_MOSIX, /* round-robin placement, then mosix (PVM on MOSIX) */
	S_MOSIX_RND, /* jobs start on random nodes, policy mosix */
};

/* ------------------------------------------------------------- the sim */

enum { EV_DONE, EV_TICK, EV_INFO, EV_MSG, EV_MIG, EV_BG };

struct ev {
	double t;
	uint64_t seq;
	int type, a;
	uint64_t b;
};

struct proc {
	double work; /* remaining CPU demand, s at speed 1.0 */
	double start, arrive, end;
	uint64_t last_move_ns;
	uint64_t mem;
	int node, target;
	int bg, running, done, frozen;
	int moves;
};

struct node {
	double speed;
	uint32_t speed_u;
	int *run, nrun, caprun; /* runnable processes */
	double last; /* progress computed up to here */
	uint64_t gen; /* invalidates stale EV_DONE */
	struct policy_load load;
	struct policy_window win;
	uint64_t mem_used, in_mem;
	uint32_t in_load; /* load on its way here */
	int out_busy;
};

struct msg {
	int from, n;
	struct policy_info e[POLICY_SEND_MAX + 1];
};

struct sim {
	const struct simcfg *c;
	enum policy_mode mode;
	struct node *nd;
	int nn;
	uint32_t *ids;
	struct proc *pr;
	int np, capp, jobs_left;
	struct ev *h;
	size_t nh, caph;
	uint64_t seq, rng;
	double now, t0;
	long migrations, refused, msgs;
	struct policy_proc *cand; /* decide()'s scratch list */
	int ccap;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		perror("lbsim");
		exit(1);
	}
	return p;
}

static double urand(uint64_t *rng)
{
	return (double)(policy_rand(rng) >> 11) / 9007199254740992.0;
}

static void push(struct sim *s, double t, int type, int a, uint64_t b)
{
	size_t i;
	if (s->nh == s->caph) {
		s->caph = s->caph ? 2 * s->caph : 1024;
		s->h = xrealloc(s->h, s->caph * sizeof(*s->h));
	}
	i = s->nh++;
	struct ev e = {t, s->seq++, type, a, b};
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (s->h[up].t < e.t ||
		    (s->h[up].t == e.t && s->h[up].seq < e.seq))
			break;
		s->h[i] = s->h[up];
		i = up;
	}
	s->h[i] = e;
}

static struct ev pop(struct sim *s)
{
	struct ev top = s->h[0], last = s->h[--s->nh];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		const struct ev *best = &last;
		if (l < s->nh &&
		    (s->h[l].t < best->t ||
		     (s->h[l].t == best->t && s->h[l].seq < best->seq))) {
			m = l;
			best = &s->h[l];
		}
		if (l + 1 < s->nh &&
		    (s->h[l + 1].t < best->t ||
		     (s->h[l + 1].t == best->t && s->h[l + 1].seq < best->seq)))
			m = l + 1;
		if (m == i)
			break;
		s->h[i] = s->h[m];
		i = m;
	}
	if (s->nh)
		s->h[i] = last;
	return top;
}

static uint64_t ns(double t)
{
	return (uint64_t)(t * NS);
}

/* Progress of every runnable process of node n up to now. */
static void advance(struct sim *s, int n)
{
	struct node *d = &s->nd[n];
	double dt = s->now - d->last;
	if (dt <= 0)
		return;
	for (int i = 0; i < d->nrun; i++)
		s->pr[d->run[i]].work -= dt * d->speed / d->nrun;
	policy_load_sample(&d->load, (uint32_t)d->nrun,
			   (uint32_t)(dt * 1e6 + 0.5));
	d->last = s->now;
}

static void resched(struct sim *s, int n)
{
	struct node *d = &s->nd[n];
	double minw = INFINITY;
	d->gen++;
	for (int i = 0; i < d->nrun; i++)
		if (!s->pr[d->run[i]].bg && s->pr[d->run[i]].work < minw)
			minw = s->pr[d->run[i]].work;
	if (minw < INFINITY)
		push(s, s->now + fmax(minw, 0) * d->nrun / d->speed, EV_DONE, n,
		     d->gen);
}

static void run_add(struct sim *s, int n, int p)
{
	struct node *d = &s->nd[n];
	if (d->nrun == d->caprun) {
		d->caprun = d->caprun ? 2 * d->caprun : 8;
		d->run = xrealloc(d->run, d->caprun * sizeof(int));
	}
	d->run[d->nrun++] = p;
}

static void run_del(struct sim *s, int n, int p)
{
	struct node *d = &s->nd[n];
	for (int i = 0; i < d->nrun; i++)
		if (d->run[i] == p) {
			d->run[i] = d->run[--d->nrun];
			return;
		}
}

static int new_proc(struct sim *s, int node, double work, uint64_t mem, int bg)
{
	if (s->np == s->capp) {
		s->capp = s->capp ? 2 * s->capp : 64;
		s->pr = xrealloc(s->pr, s->capp * sizeof(*s->pr));
	}
	struct proc *p = &s->pr[s->np];
	memset(p, 0, sizeof(*p));
	p->work = work;
	p->start = p->arrive = s->now;
	p->mem = mem;
	p->node = node;
	p->bg = bg;
	p->running = 1;
	advance(s, node);
	run_add(s, node, s->np);
	s->nd[node].mem_used += mem;
	resched(s, node);
	return s->np++;
}

static void decide(struct sim *s, int n);

static void on_done(struct sim *s, int n)
{
	struct node *d = &s->nd[n];
	advance(s, n);
	for (int i = 0; i < d->nrun;) {
		struct proc *p = &s->pr[d->run[i]];
		if (!p->bg && p->work <= 1e-7) {
			p->done = 1;
			p->end = s->now;
			d->mem_used -= p->mem;
			policy_load_adjust(&d->load, -POLICY_LOAD_UNIT);
			d->run[i] = d->run[--d->nrun];
			s->jobs_left--;
		} else {
			i++;
		}
	}
	resched(s, n);
}

static struct policy_self self_of(const struct sim *s, int n)
{
	const struct node *d = &s->nd[n];
	uint64_t total = (uint64_t)s->c->node_mem;
	uint64_t used = d->mem_used + d->in_mem;
	return (struct policy_self){
		.node = (uint32_t)n,
		.load = d->load.local,
		.speed = d->speed_u,
		.free_mem = used < total ? total - used : 0,
	};
}

static void decide(struct sim *s, int n)
{
	struct node *d = &s->nd[n];
	struct policy_decision dec;
	int nc = 0;

	if (s->mode != POLICY_MOSIX || d->out_busy || d->nrun == 0)
		return;
	if (d->nrun > s->ccap) {
		s->ccap = 2 * d->nrun;
		s->cand = xrealloc(s->cand, (size_t)s->ccap * sizeof(*s->cand));
	}
	struct policy_proc *cand = s->cand;
	for (int i = 0; i < d->nrun; i++) {
		const struct proc *p = &s->pr[d->run[i]];
		cand[nc++] = (struct policy_proc){
			.id = (uint32_t)d->run[i],
			.age_ns = ns(s->now - p->arrive),
			.last_move_ns = p->last_move_ns,
			.load = POLICY_LOAD_UNIT,
			.mem_bytes = p->mem,
			.cantmove = p->bg,
		};
	}
	for (int tries = 0; tries < 3; tries++) {
		struct policy_self me = self_of(s, n);
		if (!policy_decide(&s->c->pp, s->mode, &me, &d->win, cand,
				   (size_t)nc, ns(s->now), &s->rng, &dec))
			return;
		int t = (int)dec.target, p = (int)dec.id;
		struct node *td = &s->nd[t];
		struct policy_self them = self_of(s, t);
		uint32_t cur = (uint32_t)td->nrun * POLICY_LOAD_UNIT;
		if (td->load.exported > cur) /* as balance_accept */
			cur = td->load.exported;
		them.load = (td->load.local > cur ? td->load.local : cur) +
			    td->in_load;
		if (!policy_accept(&s->c->pp, s->mode, &them, dec.reason,
				   POLICY_LOAD_UNIT, s->pr[p].mem,
				   policy_decision_load(&s->c->pp, me.load,
							cand, (size_t)nc,
							ns(s->now)),
				   me.speed)) {
			/* the refusal carries the target's state */
			struct policy_info ans = {.node = (uint32_t)t,
						  .load = them.load,
						  .speed = td->speed_u,
						  .free_mem = them.free_mem,
						  .origin_ns = ns(s->now)};
			policy_window_merge(&d->win, &s->c->pp, (uint32_t)n,
					    (uint32_t)t, &ans, 1, ns(s->now));
			s->refused++;
			if (getenv("LBSIM_TRACE"))
				fprintf(stderr, "%.3f: %d -> %d refused\n",
					s->now - s->t0, n, t);
			continue;
		}
		advance(s, n);
		run_del(s, n, p);
		resched(s, n);
		policy_load_adjust(&d->load, -POLICY_LOAD_UNIT);
		policy_window_note(&d->win, &s->c->pp, (uint32_t)t,
				   POLICY_LOAD_UNIT, ns(s->now));
		td->in_load += POLICY_LOAD_UNIT;
		td->in_mem += s->pr[p].mem;
		d->out_busy = 1;
		s->pr[p].frozen = 1;
		s->pr[p].target = t;
		s->migrations++;
		if (getenv("LBSIM_TRACE"))
			fprintf(stderr, "%.3f: %d -> %d proc %d local %u\n",
				s->now - s->t0, n, t, p, d->load.local);
		push(s,
		     s->now + 2 * s->c->delay + s->c->fixed +
			     (double)s->pr[p].mem / s->c->bw,
		     EV_MIG, p, 0);
		return;
	}
}

/* A process arrives at its target; placed = it was placed at spawn. */
static void on_mig(struct sim *s, int p, int placed)
{
	struct proc *pr = &s->pr[p];
	int from = pr->node, t = pr->target;
	struct node *td = &s->nd[t];

	advance(s, t);
	td->in_load -= POLICY_LOAD_UNIT;
	td->in_mem -= pr->mem;
	s->nd[from].mem_used -= pr->mem;
	td->mem_used += pr->mem;
	pr->node = t;
	pr->frozen = 0;
	pr->arrive = s->now;
	if (!placed) {
		pr->last_move_ns = ns(s->now);
		pr->moves++;
	}
	run_add(s, t, p);
	policy_load_adjust(&td->load, POLICY_LOAD_UNIT);
	resched(s, t);
	if (!placed) {
		s->nd[from].out_busy = 0;
		decide(s, from);
	}
}

static void on_tick(struct sim *s, int n)
{
	struct node *d = &s->nd[n];
	advance(s, n);
	policy_load_second(&d->load, &s->c->pp, (uint32_t)d->nrun);
	policy_window_expire(&d->win, &s->c->pp, ns(s->now));
	decide(s, n);
	push(s, s->now + 1.0, EV_TICK, n, 0);
}

static void on_info(struct sim *s, int n)
{
	struct node *d = &s->nd[n];
	struct policy_self me = self_of(s, n);
	struct policy_info own = {.node = (uint32_t)n,
				  .load = d->load.exported,
				  .speed = d->speed_u,
				  .free_mem = me.free_mem,
				  .origin_ns = ns(s->now)};
	struct msg *m = xrealloc(NULL, sizeof(*m));
	uint32_t to =
		policy_random_node(s->ids, (size_t)s->nn, (uint32_t)n, &s->rng);

	push(s, s->now + (double)s->c->pp.info_ns / NS, EV_INFO, n, 0);
	m->from = n;
	m->n = (int)policy_window_pick(&d->win, &s->c->pp, &own, ns(s->now),
				       m->e, POLICY_SEND_MAX + 1);
	if (to == POLICY_NODE_NONE || urand(&s->rng) < s->c->loss) {
		free(m);
		return;
	}
	s->msgs++;
	push(s, s->now + s->c->delay * (1 + urand(&s->rng)), EV_MSG, (int)to,
	     (uint64_t)(uintptr_t)m);
}

static void on_msg(struct sim *s, int n, struct msg *m)
{
	policy_window_merge(&s->nd[n].win, &s->c->pp, (uint32_t)n,
			    (uint32_t)m->from, m->e, (size_t)m->n, ns(s->now));
	free(m);
}

/* Background process: runs for U(0, 30) s, sleeps for U(0, 30) s. */
static void on_bg(struct sim *s, int p)
{
	struct proc *pr = &s->pr[p];
	advance(s, pr->node);
	if (pr->running)
		run_del(s, pr->node, p);
	else
		run_add(s, pr->node, p);
	pr->running = !pr->running;
	resched(s, pr->node);
	push(s, s->now + 30 * urand(&s->rng), EV_BG, p, 0);
}

struct workload {
	int njobs;
	const double *work; /* CPU demand of each job, s at speed 1.0 */
	const double *speed; /* per node, NULL = all 1.0 */
	int nbg; /* background processes on distinct nodes */
	enum sched sched;
	uint64_t seed;
};

struct result {
	double makespan;
	long migrations, refused, msgs;
};

static struct result simulate(const struct simcfg *c, const struct workload *w)
{
	struct sim s;
	struct result r;
	uint32_t rr = 0;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.mode = w->sched == S_STATIC ? POLICY_STATIC : POLICY_MOSIX;
	s.nn = c->nodes;
	s.rng = w->seed * 0x2545F4914F6CDD1Dull + 1;
	s.nd = xrealloc(NULL, (size_t)s.nn * sizeof(*s.nd));
	s.ids = xrealloc(NULL, (size_t)s.nn * sizeof(*s.ids));
	memset(s.nd, 0, (size_t)s.nn * sizeof(*s.nd));
	for (int n = 0; n < s.nn; n++) {
		s.ids[n] = (uint32_t)n;
		s.nd[n].speed = w->speed ? w->speed[n] : 1.0;
		s.nd[n].speed_u =
			(uint32_t)(s.nd[n].speed * POLICY_STD_SPEED + 0.5);
		push(&s, urand(&s.rng), EV_TICK, n, 0);
		push(&s, urand(&s.rng) * (double)c->pp.info_ns / NS, EV_INFO, n,
		     0);
	}
	if (w->nbg) {
		/* distinct random nodes other than node 0 (the jobs' home) */
		int *perm = xrealloc(NULL, (size_t)s.nn * sizeof(int));
		for (int i = 0; i < s.nn; i++)
			perm[i] = i;
		for (int i = s.nn - 1; i > 1; i--) {
			int j = 1 + (int)(policy_rand(&s.rng) % (uint64_t)i);
			int t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		for (int i = 0; i < w->nbg && i + 1 < s.nn; i++) {
			int p = new_proc(&s, perm[i + 1], INFINITY, 1 << 20, 1);
			s.pr[p].running = 1;
			push(&s, 30 * urand(&s.rng), EV_BG, p, 0);
		}
		free(perm);
	}
	/* the cluster runs a while so that windows are full */
	while (s.nh && s.h[0].t < c->warmup) {
		struct ev e = pop(&s);
		s.now = e.t;
		switch (e.type) {
		case EV_TICK:
			on_tick(&s, e.a);
			break;
		case EV_INFO:
			on_info(&s, e.a);
			break;
		case EV_MSG:
			on_msg(&s, e.a, (struct msg *)(uintptr_t)e.b);
			break;
		case EV_BG:
			on_bg(&s, e.a);
			break;
		case EV_DONE:
			if (e.b == s.nd[e.a].gen)
				on_done(&s, e.a);
			break;
		}
	}
	s.now = s.t0 = c->warmup;
	/*
	 * Jobs start on node 0 (the home). Round-robin placement sends each
	 * job to its node at once, one after the other like a migration of
	 * the fresh process (frozen meanwhile); random placement is free.
	 */
	double sent = 0;
	for (int i = 0; i < w->njobs; i++) {
		int node = 0, p;
		if (w->sched == S_STATIC || w->sched == S_RR_MOSIX)
			node = (int)policy_place_rr(&rr, s.ids, (size_t)s.nn);
		else if (w->sched == S_MOSIX_RND)
			node = (int)(policy_rand(&s.rng) % (uint64_t)s.nn);
		p = new_proc(&s, w->sched == S_MOSIX_RND ? node : 0, w->work[i],
			     (uint64_t)c->mem, 0);
		s.jobs_left++;
		if (w->sched == S_MOSIX_RND || node == 0)
			continue;
		run_del(&s, 0, p);
		s.nd[node].in_load += POLICY_LOAD_UNIT;
		s.nd[node].in_mem += s.pr[p].mem;
		s.pr[p].frozen = 1;
		s.pr[p].target = node;
		sent += 2 * c->delay + c->fixed + c->mem / c->bw;
		push(&s, s.now + sent, EV_MIG, p, 1);
	}
	resched(&s, 0);
	while (s.jobs_left > 0 && s.nh) {
		struct ev e = pop(&s);
		s.now = e.t;
		switch (e.type) {
		case EV_DONE:
			if (e.b == s.nd[e.a].gen)
				on_done(&s, e.a);
			break;
		case EV_TICK:
			on_tick(&s, e.a);
			break;
		case EV_INFO:
			on_info(&s, e.a);
			break;
		case EV_MSG:
			on_msg(&s, e.a, (struct msg *)(uintptr_t)e.b);
			break;
		case EV_MIG:
			on_mig(&s, e.a, e.b);
			break;
		case EV_BG:
			on_bg(&s, e.a);
			break;
		}
	}
	r.makespan = 0;
	for (int i = 0; i < s.np; i++)
		if (!s.pr[i].bg && s.pr[i].end - s.t0 > r.makespan)
			r.makespan = s.pr[i].end - s.t0;
	r.migrations = s.migrations;
	r.refused = s.refused;
	r.msgs = s.msgs;
	while (s.nh) {
		struct ev e = pop(&s);
		if (e.type == EV_MSG)
			free((void *)(uintptr_t)e.b);
	}
	for (int n = 0; n < s.nn; n++)
		free(s.nd[n].run);
	free(s.nd);
	free(s.ids);
	free(s.pr);
	free(s.h);
	free(s.cand);
	return r;
}

/* ------------------------------------------------------------- optimal */

static int cmp_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x < y) - (x > y);
}

/*
 * The generalised optimal formula (see the top): repeatedly give each of m
 * processes a slot (the next slot goes to the node whose per-process rate
 * with it is highest), the longest remaining work to the fastest slot, run
 * to the next completion.
 */
static double optimal(int nodes, const double *speed, const double *work, int n)
{
	double *rem = xrealloc(NULL, (size_t)n * sizeof(double));
	double *slot = xrealloc(NULL, (size_t)n * sizeof(double));
	int *cnt = xrealloc(NULL, (size_t)nodes * sizeof(int));
	double t = 0;
	int m = n;

	memcpy(rem, work, (size_t)n * sizeof(double));
	while (m > 0) {
		double dt = INFINITY;
		int k = 0;
		qsort(rem, (size_t)m, sizeof(double), cmp_desc);
		memset(cnt, 0, (size_t)nodes * sizeof(int));
		if (!speed) {
			for (int i = 0; i < nodes; i++)
				cnt[i] = m / nodes + (i < m % nodes);
		} else {
			for (int j = 0; j < m; j++) {
				int best = 0;
				for (int i = 1; i < nodes; i++)
					if (speed[i] / (cnt[i] + 1) >
					    speed[best] / (cnt[best] + 1))
						best = i;
				cnt[best]++;
			}
		}
		for (int i = 0; i < nodes; i++)
			for (int j = 0; j < cnt[i]; j++)
				slot[k++] = (speed ? speed[i] : 1.0) / cnt[i];
		qsort(slot, (size_t)m, sizeof(double), cmp_desc);
		for (int j = 0; j < m; j++)
			dt = fmin(dt, rem[j] / slot[j]);
		t += dt;
		k = 0;
		for (int j = 0; j < m; j++) {
			rem[j] -= dt * slot[j];
			if (rem[j] > 1e-9)
				rem[k++] = rem[j];
		}
		m = k;
	}
	free(rem);
	free(slot);
	free(cnt);
	return t;
}

/* ------------------------------------------------------------- output */

static const char *outdir = "build/lbsim";
static int quick, plots = 1;

static FILE *csv_open(const char *name, const char *header)
{
	char path[512];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s.csv", outdir, name);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "lbsim: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fprintf(f, "%s\n", header);
	return f;
}

/* gnuplot, if the machine has it (tools/deps lbsim installs gnuplot-nox). */
static void plot(const char *name, const char *title, const char *ylabel,
		 const char *series)
{
	char path[512], cmd[600];
	FILE *f;
	if (!plots)
		return;
	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		fprintf(stderr,
			"lbsim: no gnuplot, %s.png not drawn "
			"(tools/deps lbsim installs it)\n",
			name);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.gp", outdir, name);
	f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f,
		"set terminal pngcairo size 900,560 noenhanced\n"
		"cd '%s'\nset output '%s.png'\nset datafile separator ','\n"
		"set key top left\nset grid\nset title '%s'\n"
		"set xlabel 'processes'\nset ylabel '%s'\n"
		"plot %s\n",
		outdir, name, title, ylabel, series);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "gnuplot '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "lbsim: gnuplot failed on %s\n", path);
}

/* ------------------------------------------------------------ experiments */

/* Table 1 of the paper: processes, optimal, MOSIX, PVM, PVM on MOSIX. */
static const struct {
	int n;
	double opt, mosix, pvm, pvm_mosix;
} paper1[] = {
	{1, 300, 301.91, 301.83, 304.54},  {2, 300, 302.92, 303.78, 304.70},
	{4, 300, 304.57, 305.60, 306.59},  {8, 300, 305.73, 308.57, 301.88},
	{16, 300, 310.83, 317.12, 303.40}, {17, 450, 456.91, 604.36, 452.84},
	{20, 450, 462.07, 602.40, 454.07}, {24, 450, 471.87, 603.25, 454.67},
	{25, 525, 533.15, 603.83, 530.15}, {27, 525, 549.07, 603.86, 559.81},
	{31, 563, 574.03, 604.63, 595.17}, {32, 600, 603.17, 603.14, 604.64},
	{33, 700, 705.93, 906.31, 707.39}, {36, 700, 715.35, 905.27, 708.41},
	{38, 750, 759.90, 905.34, 755.53}, {40, 750, 767.67, 905.39, 771.71},
	{43, 833, 833.33, 908.96, 839.61}, {47, 883, 901.81, 907.79, 893.65},
	{48, 900, 916.11, 908.51, 907.71},
};
#define NPAPER1 (int)(sizeof(paper1) / sizeof(paper1[0]))
static const int quick_rows[] = {1, 8, 16, 17, 24, 33, 48};

static double seeds_mean(const struct simcfg *c, struct workload *w, int seeds,
			 long *migs)
{
	double sum = 0;
	*migs = 0;
	for (int k = 0; k < seeds; k++) {
		w->seed = (uint64_t)k + 1;
		struct result r = simulate(c, w);
		sum += r.makespan;
		*migs += r.migrations;
	}
	*migs /= seeds;
	return sum / seeds;
}

static int table1(const struct simcfg *c)
{
	double jobs[64], sum_sd = 0, sum_paper = 0, sum_pvm_slow = 0;
	int rows = 0, worse = 0, seeds = quick ? 2 : 3;
	FILE *f = csv_open("table1",
			   "processes,opt_paper,opt,mosix_paper,"
			   "shoal_mosix,slowdown_pct,pvm_paper,"
			   "shoal_static,pvm_mosix_paper,shoal_rr_mosix,"
			   "migrations");

	for (int i = 0; i < 64; i++)
		jobs[i] = 300;
	printf("Table 1: %d nodes, N processes of 300 s started on node 0 "
	       "(static: round-robin); seconds, mean of %d seeds\n",
	       c->nodes, seeds);
	printf("%4s %8s %8s | %8s %8s %6s | %8s %8s | %8s %8s | %5s\n", "N",
	       "opt(p)", "opt", "MOSIX(p)", "mosix", "sd%", "PVM(p)", "static",
	       "PvM(p)", "rr+mos", "migs");
	for (int i = 0; i < NPAPER1; i++) {
		int n = paper1[i].n, in_quick = 0;
		long migs, m2;
		for (size_t q = 0; q < sizeof(quick_rows) / sizeof(int); q++)
			in_quick |= quick_rows[q] == n;
		if (quick && !in_quick)
			continue;
		struct workload w = {.njobs = n, .work = jobs};
		double opt = optimal(c->nodes, NULL, jobs, n);
		w.sched = S_MOSIX;
		double mos = seeds_mean(c, &w, seeds, &migs);
		w.sched = S_STATIC;
		double st = seeds_mean(c, &w, 1, &m2);
		w.sched = S_RR_MOSIX;
		double rrm = seeds_mean(c, &w, seeds, &m2);
		double sd = 100 * (mos / opt - 1);
		printf("%4d %8.2f %8.2f | %8.2f %8.2f %6.2f | %8.2f %8.2f | "
		       "%8.2f %8.2f | %5ld\n",
		       n, paper1[i].opt, opt, paper1[i].mosix, mos, sd,
		       paper1[i].pvm, st, paper1[i].pvm_mosix, rrm, migs);
		fprintf(f,
			"%d,%.2f,%.2f,%.2f,%.2f,%.3f,%.2f,%.2f,%.2f,%.2f,%ld\n",
			n, paper1[i].opt, opt, paper1[i].mosix, mos, sd,
			paper1[i].pvm, st, paper1[i].pvm_mosix, rrm, migs);
		sum_sd += sd;
		sum_paper += 100 * (paper1[i].mosix / paper1[i].opt - 1);
		if (n > c->nodes)
			sum_pvm_slow += 100 * (st / mos - 1);
		/* where the paper's MOSIX beat PVM, Shoal must beat static */
		if (paper1[i].mosix < paper1[i].pvm && !(mos < st))
			worse++;
		rows++;
	}
	fclose(f);
	printf("average slowdown vs optimal: Shoal %.2f%%, paper's MOSIX "
	       "%.2f%% (paper says 1.95%%)\n",
	       sum_sd / rows, sum_paper / rows);
	printf("rows where the paper's MOSIX beat PVM but Shoal's mosix did "
	       "not beat static: %d\n",
	       worse);
	(void)sum_pvm_slow;
	plot("table1", "Table 1: 16 nodes, N x 300 s", "seconds",
	     "'table1.csv' every ::1 using 1:3 with linespoints "
	     "title 'optimal', '' every ::1 using 1:5 with linespoints title "
	     "'Shoal mosix', '' every ::1 using 1:8 with linespoints title "
	     "'static (round-robin)', '' every ::1 using 1:4 with points "
	     "title 'paper MOSIX', '' every ::1 using 1:7 with points title "
	     "'paper PVM'");
	return 0;
}

static const int sweep[] = {1,	2,  4,	8,  12, 16, 17, 20,
			    24, 28, 32, 33, 36, 40, 44, 48};
#define NSWEEP (int)(sizeof(sweep) / sizeof(sweep[0]))

/* §4.2: random durations in [0, 600) s, 5 seeds; same draws for both. */
static int random_exp(const struct simcfg *c)
{
	int seeds = quick ? 2 : 5;
	double sum_slow = 0, sum_sd = 0, max_slow = 0;
	int rows = 0;
	FILE *f = csv_open("random", "processes,opt,shoal_mosix,shoal_static,"
				     "static_vs_mosix_pct,mosix_vs_opt_pct");
	printf("Random execution times (paper 4.2): %d nodes, N processes of "
	       "U(0,600) s, mean of %d seeds\n",
	       c->nodes, seeds);
	printf("%4s %8s %8s %8s %9s %9s\n", "N", "opt", "mosix", "static",
	       "st/mos%", "mos/opt%");
	for (int i = 0; i < NSWEEP; i++) {
		int n = sweep[i];
		double o = 0, m = 0, st = 0;
		if (getenv("LBSIM_N") && atoi(getenv("LBSIM_N")) != n)
			continue;
		for (int k = 0; k < seeds; k++) {
			double jobs[64];
			uint64_t r = 1000 + (uint64_t)k * 7919 + (uint64_t)n;
			for (int j = 0; j < n; j++)
				jobs[j] = 600 * urand(&r);
			struct workload w = {.njobs = n,
					     .work = jobs,
					     .seed = (uint64_t)k + 1};
			o += optimal(c->nodes, NULL, jobs, n);
			w.sched = S_MOSIX;
			m += simulate(c, &w).makespan;
			w.sched = S_STATIC;
			st += simulate(c, &w).makespan;
		}
		o /= seeds;
		m /= seeds;
		st /= seeds;
		double slow = 100 * (st / m - 1), sd = 100 * (m / o - 1);
		printf("%4d %8.1f %8.1f %8.1f %9.1f %9.2f\n", n, o, m, st, slow,
		       sd);
		fprintf(f, "%d,%.2f,%.2f,%.2f,%.2f,%.3f\n", n, o, m, st, slow,
			sd);
		sum_slow += slow;
		sum_sd += sd;
		max_slow = fmax(max_slow, slow);
		rows++;
	}
	fclose(f);
	printf("static vs mosix: average %.1f%%, max %.1f%% (paper: PVM vs "
	       "MOSIX over 52%% average, 75%% max); mosix vs optimal %.2f%%\n",
	       sum_slow / rows, max_slow, sum_sd / rows);
	plot("random", "Random execution times U(0,600) s, 16 nodes", "seconds",
	     "'random.csv' every ::1 using 1:2 with linespoints "
	     "title 'optimal', '' every ::1 using 1:3 with linespoints title "
	     "'Shoal mosix', '' every ::1 using 1:4 with linespoints title "
	     "'static (round-robin)'");
	return 0;
}

/* §4.3: 8 background processes cycling U(0,30) s running, U(0,30) idle. */
static int background(const struct simcfg *c)
{
	int seeds = quick ? 2 : 5;
	double jobs[64], sum_slow = 0, max_slow = 0;
	int rows = 0, at = 0;
	FILE *f = csv_open("background", "processes,shoal_mosix,shoal_static,"
					 "static_vs_mosix_pct");
	for (int i = 0; i < 64; i++)
		jobs[i] = 300;
	printf("Background load (paper 4.3): %d nodes, N processes of 300 s, "
	       "8 background processes, mean of %d seeds\n",
	       c->nodes, seeds);
	printf("%4s %8s %8s %9s\n", "N", "mosix", "static", "st/mos%");
	for (int i = 0; i < NSWEEP; i++) {
		int n = sweep[i];
		long migs;
		struct workload w = {.njobs = n, .work = jobs, .nbg = 8};
		w.sched = S_MOSIX;
		double m = seeds_mean(c, &w, seeds, &migs);
		w.sched = S_STATIC;
		double st = seeds_mean(c, &w, seeds, &migs);
		double slow = 100 * (st / m - 1);
		printf("%4d %8.1f %8.1f %9.1f\n", n, m, st, slow);
		fprintf(f, "%d,%.2f,%.2f,%.2f\n", n, m, st, slow);
		sum_slow += slow;
		if (slow > max_slow) {
			max_slow = slow;
			at = n;
		}
		rows++;
	}
	fclose(f);
	printf("static vs mosix: average %.1f%%, max %.1f%% at %d (paper: "
	       "PVM vs MOSIX over 35%% average, 62%% max at 20)\n",
	       sum_slow / rows, max_slow, at);
	plot("background",
	     "300 s processes with 8 background processes, 16 nodes", "seconds",
	     "'background.csv' every ::1 using 1:2 with "
	     "linespoints title 'Shoal mosix', '' every ::1 using 1:3 with "
	     "linespoints title 'static (round-robin)'");
	return 0;
}

/* The paper's Pentium-90 + i486 cluster: the last `slow` nodes 3x slower. */
static int hetero(const struct simcfg *c)
{
	int seeds = quick ? 2 : 3, slow = c->nodes / 4, rows = 0;
	double jobs[64], speed[MAXNODES], sum_slow = 0, sum_sd = 0;
	FILE *f = csv_open("hetero", "processes,opt,shoal_mosix,shoal_static,"
				     "static_vs_mosix_pct,mosix_vs_opt_pct");
	for (int i = 0; i < 64; i++)
		jobs[i] = 300;
	for (int i = 0; i < c->nodes; i++)
		speed[i] = i >= c->nodes - slow ? 1.0 / 3 : 1.0;
	printf("Heterogeneous cluster: %d nodes, %d of them 3x slower, N "
	       "processes of 300 s, mean of %d seeds\n",
	       c->nodes, slow, seeds);
	printf("%4s %8s %8s %8s %9s %9s\n", "N", "opt", "mosix", "static",
	       "st/mos%", "mos/opt%");
	for (int i = 0; i < NSWEEP; i++) {
		int n = sweep[i];
		long migs;
		struct workload w = {.njobs = n, .work = jobs, .speed = speed};
		double o = optimal(c->nodes, speed, jobs, n);
		w.sched = S_MOSIX;
		double m = seeds_mean(c, &w, seeds, &migs);
		w.sched = S_STATIC;
		double st = seeds_mean(c, &w, 1, &migs);
		double sl = 100 * (st / m - 1), sd = 100 * (m / o - 1);
		printf("%4d %8.1f %8.1f %8.1f %9.1f %9.2f\n", n, o, m, st, sl,
		       sd);
		fprintf(f, "%d,%.2f,%.2f,%.2f,%.2f,%.3f\n", n, o, m, st, sl,
			sd);
		sum_slow += sl;
		sum_sd += sd;
		rows++;
	}
	fclose(f);
	printf("static vs mosix: average %.1f%% (paper: PVM 336%% slower than "
	       "MOSIX); mosix vs optimal %.2f%%\n",
	       sum_slow / rows, sum_sd / rows);
	plot("hetero",
	     "Heterogeneous: 16 nodes, 4 of them 3x slower, N x 300 s",
	     "seconds",
	     "'hetero.csv' every ::1 using 1:2 with linespoints "
	     "title 'optimal', '' every ::1 using 1:3 with linespoints title "
	     "'Shoal mosix', '' every ::1 using 1:4 with linespoints title "
	     "'static (round-robin)'");
	return 0;
}

/* Larger clusters: random durations, jobs started on node 0 or at random. */
static int scale(const struct simcfg *base)
{
	static const int sizes[] = {256, 1024};
	static const double per[] = {1, 2};
	FILE *f = csv_open("scale", "nodes,processes,start,opt,shoal_mosix,"
				    "shoal_static,mosix_vs_opt_pct,migrations");
	printf("Scale: random durations U(0,600) s, 1 seed\n");
	printf("%5s %5s %9s %8s %8s %8s %9s %6s\n", "nodes", "N", "start",
	       "opt", "mosix", "static", "mos/opt%", "migs");
	for (size_t a = 0; a < sizeof(sizes) / sizeof(int); a++) {
		struct simcfg c = *base;
		c.nodes = sizes[a];
		if (quick && c.nodes > 256)
			break;
		for (size_t b = 0; b < sizeof(per) / sizeof(double); b++) {
			int n = (int)(per[b] * c.nodes);
			double *jobs =
				xrealloc(NULL, (size_t)n * sizeof(double));
			uint64_t r = 77 + (uint64_t)n;
			for (int j = 0; j < n; j++)
				jobs[j] = 600 * urand(&r);
			double o = optimal(c.nodes, NULL, jobs, n);
			struct workload w = {
				.njobs = n, .work = jobs, .seed = 1};
			w.sched = S_STATIC;
			double st = simulate(&c, &w).makespan;
			for (int start = 0; start < 2; start++) {
				w.sched = start ? S_MOSIX_RND : S_MOSIX;
				struct result m = simulate(&c, &w);
				double sd = 100 * (m.makespan / o - 1);
				printf("%5d %5d %9s %8.1f %8.1f %8.1f %9.2f %6ld\n",
				       c.nodes, n, start ? "random" : "node 0",
				       o, m.makespan, st, sd, m.migrations);
				fprintf(f, "%d,%d,%s,%.2f,%.2f,%.2f,%.3f,%ld\n",
					c.nodes, n, start ? "random" : "node0",
					o, m.makespan, st, sd, m.migrations);
			}
			free(jobs);
		}
	}
	fclose(f);
	return 0;
}

/* ------------------------------------------------------------- main */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: lbsim [options] EXPERIMENT...\n"
		"Simulate a Shoal cluster running mosix/policy.c.\n\n"
		"experiments:\n"
		"  table1      the paper's Table 1: 16 nodes, 1-48 x 300 s "
		"(optimal, mosix, static, rr+mosix)\n"
		"  random      paper 4.2: random durations 0-600 s, 5 seeds\n"
		"  background  paper 4.3: 8 background processes cycling 0-30 s\n"
		"  hetero      a quarter of the nodes 3x slower\n"
		"  scale       256 and 1024 nodes\n"
		"  all         all of the above\n\n"
		"options:\n"
		"  --quick          fewer rows and seeds, no 1024 nodes, no plots\n"
		"  --out DIR        CSV and PNG files (default build/lbsim)\n"
		"  --no-plot        do not run gnuplot\n"
		"  --nodes N        cluster size for table1/random/background/"
		"hetero (default 16)\n"
		"  --delay S        one-way message delay, s (default 0.0005)\n"
		"  --loss P         message loss probability (default 0.01)\n"
		"  --bw B           migration throughput, bytes/s (default 1e8)\n"
		"  --mem B          each job's memory, bytes (default 4 MiB)\n"
		"  --set NAME=V     a policy parameter: residency_ms, "
		"move_gap_ms, hysteresis,\n"
		"                   window_size, send_entries, info_ms, "
		"dead_periods, export_decay,\n"
		"                   local_rise, min_proc_load\n"
		"  -h, --help       this text\n");
}

static int set_param(struct simcfg *c, const char *kv)
{
	const char *eq = strchr(kv, '=');
	double v;
	if (!eq)
		return -1;
	v = atof(eq + 1);
	size_t k = (size_t)(eq - kv);
#define IS(name) (k == strlen(name) && !strncmp(kv, name, k))
	if (IS("residency_ms"))
		c->pp.residency_ns = (uint64_t)(v * 1e6);
	else if (IS("move_gap_ms"))
		c->pp.move_gap_ns = (uint64_t)(v * 1e6);
	else if (IS("info_ms"))
		c->pp.info_ns = (uint64_t)(v * 1e6);
	else if (IS("hysteresis"))
		c->pp.hysteresis = (uint32_t)v;
	else if (IS("window_size"))
		c->pp.window_size = (uint32_t)v;
	else if (IS("send_entries"))
		c->pp.send_entries = (uint32_t)v;
	else if (IS("dead_periods"))
		c->pp.dead_periods = (uint32_t)v;
	else if (IS("export_decay"))
		c->pp.export_decay = (uint32_t)v;
	else if (IS("local_rise"))
		c->pp.local_rise = (uint32_t)v;
	else if (IS("min_proc_load"))
		c->pp.min_proc_load = (uint32_t)v;
	else
		return -1;
#undef IS
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"quick", no_argument, 0, 'q'},
		{"out", required_argument, 0, 'o'},
		{"no-plot", no_argument, 0, 'P'},
		{"nodes", required_argument, 0, 'n'},
		{"delay", required_argument, 0, 'd'},
		{"loss", required_argument, 0, 'l'},
		{"bw", required_argument, 0, 'b'},
		{"mem", required_argument, 0, 'm'},
		{"set", required_argument, 0, 's'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct simcfg c;
	int o;

	cfg_default(&c);
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'q':
			quick = 1;
			plots = 0;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'P':
			plots = 0;
			break;
		case 'n':
			c.nodes = atoi(optarg);
			break;
		case 'd':
			c.delay = atof(optarg);
			break;
		case 'l':
			c.loss = atof(optarg);
			break;
		case 'b':
			c.bw = atof(optarg);
			break;
		case 'm':
			c.mem = atof(optarg);
			break;
		case 's':
			if (set_param(&c, optarg)) {
				fprintf(stderr, "lbsim: unknown --set %s\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc || c.nodes < 1 || c.nodes > MAXNODES || c.bw <= 0) {
		usage(stderr);
		return 2;
	}
	mkdir("build", 0777);
	if (mkdir(outdir, 0777) && errno != EEXIST) {
		fprintf(stderr, "lbsim: %s: %s\n", outdir, strerror(errno));
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		const char *e = argv[i];
		int all = !strcmp(e, "all");
		if (all || !strcmp(e, "table1"))
			table1(&c);
		if (all || !strcmp(e, "random"))
			random_exp(&c);
		if (all || !strcmp(e, "background"))
			background(&c);
		if (all || !strcmp(e, "hetero"))
			hetero(&c);
		if (all || !strcmp(e, "scale"))
			scale(&c);
		if (!all && strcmp(e, "table1") && strcmp(e, "random") &&
		    strcmp(e, "background") && strcmp(e, "hetero") &&
		    strcmp(e, "scale")) {
			fprintf(stderr, "lbsim: unknown experiment '%s'\n", e);
			return 2;
		}
		if (i + 1 < argc || all)
			printf("\n");
	}
	return 0;
}
