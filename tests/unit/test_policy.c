// SOURCES: mosix/policy.c
/*
 * test_policy.c — the balancing policy (mosix/policy.c, the file the kernel
 * and tools/lbsim run) on crafted windows: the load arithmetic, the window's
 * merge, ageing and choice of what to send, and every rule of policy_decide
 * (residency, recent moves, lock and cantmove, hysteresis, speeds, memory
 * ushering, no ping-pong), policy_accept and round-robin placement.
 */
#include "mosix/policy.h"
#include "tests/unit/unit.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define MIB (1ull << 20)
#define NOW (100 * SEC)

static struct policy_params params(void)
{
	struct policy_params p;
	policy_params_default(&p);
	return p;
}

/* A fresh entry (measured now) about node with load and speed. */
static void add(struct policy_window *w, uint32_t node, uint32_t load,
		uint32_t speed, uint64_t free_mem)
{
	w->e[w->n++] = (struct policy_entry){.node = node,
					     .load = load,
					     .speed = speed,
					     .free_mem = free_mem,
					     .stamp_ns = NOW};
}

static struct policy_proc proc(uint32_t id)
{
	return (struct policy_proc){.id = id,
				    .age_ns = 10 * SEC,
				    .load = POLICY_LOAD_UNIT,
				    .mem_bytes = MIB};
}

static struct policy_self self(uint32_t load)
{
	return (struct policy_self){0, load, POLICY_STD_SPEED, 512 * MIB};
}

/* pr[0..n) plus, when me->load is more than they add up to, a locked
 * process of long standing carrying the rest: the node's other work, so
 * that its load is what the test says (policy_decision_load caps the
 * local value at the processes' sum). */
static size_t with_rest(const struct policy_self *me,
			const struct policy_proc *pr, size_t n,
			struct policy_proc *all)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		all[i] = pr[i];
		sum += pr[i].load;
	}
	if (me->load > sum) {
		all[n] = proc(999);
		all[n].load = me->load - (uint32_t)sum;
		all[n].locked = true;
		n++;
	}
	return n;
}

static bool decide(const struct policy_self *me, const struct policy_window *w,
		   const struct policy_proc *pr, size_t n,
		   struct policy_decision *d)
{
	struct policy_params p = params();
	struct policy_proc all[16];
	uint64_t rng = 1;
	n = with_rest(me, pr, n, all);
	return policy_decide(&p, POLICY_MOSIX, me, w, all, n, NOW, &rng, d);
}

/* ------------------------------------------------------------ load */

TEST(load_average_of_run_queue)
{
	struct policy_params p = params();
	struct policy_load l = {0};
	/* half a second with 2 runnable, half with 4: 3 processes */
	for (int i = 0; i < 50; i++)
		policy_load_sample(&l, 2, 1);
	for (int i = 0; i < 50; i++)
		policy_load_sample(&l, 4, 1);
	policy_load_second(&l, &p, 4);
	CHECK_EQ(l.raw, 300);
	CHECK_EQ(l.acc, 0);
	CHECK_EQ(l.weight, 0);
	policy_load_second(&l, &p, 0); /* no samples: load 0 */
	CHECK_EQ(l.raw, 0);
}

TEST(export_rises_at_once_decays_slowly)
{
	struct policy_params p = params();
	struct policy_load l = {0};
	policy_load_sample(&l, 8, 100);
	policy_load_second(&l, &p, 8);
	CHECK_EQ(l.exported, 800);
	policy_load_sample(&l, 0, 100);
	policy_load_second(&l, &p, 0);
	CHECK_EQ(l.exported, 700); /* (7·800 + 0)/8 */
	policy_load_sample(&l, 0, 100);
	policy_load_second(&l, &p, 0);
	CHECK_EQ(l.exported, 612); /* (7·700)/8 */
	policy_load_sample(&l, 9, 100);
	policy_load_second(&l, &p, 9);
	CHECK_EQ(l.exported, 900);
	/* it gets to 0 in the end */
	for (int i = 0; i < 200; i++) {
		policy_load_sample(&l, 0, 1);
		policy_load_second(&l, &p, 0);
	}
	CHECK_EQ(l.exported, 0);
}

TEST(local_rises_slowly_drops_at_once)
{
	struct policy_params p = params();
	struct policy_load l = {0};
	uint32_t prev = 0;
	p.local_rise = 3; /* the design's (5·old + 3·new)/8 */
	policy_load_sample(&l, 8, 100);
	policy_load_second(&l, &p, 8);
	CHECK_EQ(l.local, 300); /* (5·0 + 3·800)/8 */
	policy_load_sample(&l, 8, 100);
	policy_load_second(&l, &p, 8);
	CHECK_EQ(l.local, 488); /* (5·300 + 3·800 + 7)/8 */
	for (int i = 0; i < 100; i++) {
		policy_load_sample(&l, 8, 1);
		policy_load_second(&l, &p, 8);
		CHECK(l.local >= prev && l.local <= 800);
		prev = l.local;
	}
	CHECK_EQ(l.local, 800); /* reaches the load in the end */
	policy_load_sample(&l, 1, 100);
	policy_load_second(&l, &p, 1);
	CHECK_EQ(l.local, 100); /* drops at once */
	/* the average says 2, but only 1 is runnable now: local says 1 */
	policy_load_sample(&l, 3, 50);
	policy_load_sample(&l, 1, 50);
	policy_load_second(&l, &p, 1);
	CHECK_EQ(l.raw, 200);
	CHECK_EQ(l.local, 100);
	CHECK_EQ(l.exported, 648); /* still decaying from 800 */
}

TEST(load_adjust_and_norm)
{
	struct policy_load l = {.exported = 250, .local = 150};
	policy_load_adjust(&l, -200);
	CHECK_EQ(l.exported, 50);
	CHECK_EQ(l.local, 0); /* clamped */
	policy_load_adjust(&l, 100);
	CHECK_EQ(l.local, 100);
	CHECK_EQ(policy_load_norm(300, POLICY_STD_SPEED), 300);
	CHECK_EQ(policy_load_norm(100, POLICY_STD_SPEED / 3), 300);
	CHECK_EQ(policy_load_norm(300, 3 * POLICY_STD_SPEED), 100);
	CHECK_EQ(policy_load_norm(300, 0), 300);
}

/* ---------------------------------------------------------- window */

TEST(window_merge_newest_wins)
{
	struct policy_params p = params();
	struct policy_window w = {0};
	struct policy_info in[] = {
		{1, 100, 1000, 64 * MIB, 2 * SEC, 10 * SEC},
		{2, 200, 1000, 64 * MIB, 1 * SEC, 10 * SEC},
		{0, 900, 1000, 64 * MIB, 0, 0}, /* about ourselves: ignored */
	};
	policy_window_merge(&w, &p, 0, 2, in, 3, NOW);
	CHECK_EQ(w.n, 2);
	CHECK_EQ(w.e[0].stamp_ns, NOW - 2 * SEC);
	/* older news about node 1 is ignored, newer replaces */
	struct policy_info old = {1, 999, 1000, 0, 5 * SEC, 5 * SEC};
	policy_window_merge(&w, &p, 0, 2, &old, 1, NOW);
	CHECK_EQ(w.e[0].load, 100);
	struct policy_info newer = {1, 300, 1000, 0, 0, 12 * SEC};
	policy_window_merge(&w, &p, 0, 2, &newer, 1, NOW + SEC);
	CHECK_EQ(w.n, 2);
	CHECK_EQ(w.e[0].load, 300);
	CHECK_EQ(w.e[0].stamp_ns, NOW + SEC);
	/* what orders news about a node is its own clock, not the age: an
	 * entry that a lagging node relays late looks fresh but is not */
	struct policy_info relayed = {1, 7, 1000, 0, 0, 11 * SEC};
	policy_window_merge(&w, &p, 0, 2, &relayed, 1, NOW + 2 * SEC);
	CHECK_EQ(w.e[0].load, 300);
	/* the node's own word always counts (a rebooted node's clock starts
	 * again) */
	struct policy_info own = {1, 50, 1000, 0, 0, 1 * SEC};
	policy_window_merge(&w, &p, 0, 1, &own, 1, NOW + 3 * SEC);
	CHECK_EQ(w.e[0].load, 50);
	CHECK_EQ(w.e[0].origin_ns, 1 * SEC);
}

TEST(window_full_evicts_oldest)
{
	struct policy_params p = params();
	struct policy_window w = {0};
	p.window_size = 4;
	for (uint32_t i = 1; i <= 4; i++) {
		struct policy_info in = {i, 0, 1000, 0, (10 - i) * SEC, 0};
		policy_window_merge(&w, &p, 0, 9, &in, 1, NOW);
	}
	CHECK_EQ(w.n, 4);
	/* older than all: not taken */
	struct policy_info stale = {9, 0, 1000, 0, 20 * SEC, 0};
	policy_window_merge(&w, &p, 0, 9, &stale, 1, NOW);
	for (uint32_t j = 0; j < w.n; j++)
		CHECK(w.e[j].node != 9);
	/* fresh: replaces node 1 (the oldest, 9 s) */
	struct policy_info fresh = {7, 0, 1000, 0, 0, 0};
	policy_window_merge(&w, &p, 0, 9, &fresh, 1, NOW);
	CHECK_EQ(w.n, 4);
	for (uint32_t j = 0; j < w.n; j++)
		CHECK(w.e[j].node != 1);
}

TEST(window_ages_out)
{
	struct policy_params p = params();
	struct policy_window w = {0};
	uint64_t dead = p.dead_periods * p.info_ns;
	struct policy_info in[] = {{1, 0, 1000, 0, dead - SEC, 0},
				   {2, 0, 1000, 0, dead + SEC, 0},
				   {3, 0, 1000, 0, 0, 0}};
	policy_window_merge(&w, &p, 0, 9, in, 3, NOW);
	CHECK_EQ(w.n, 3);
	/* a dead entry is never a target even before expire runs */
	struct policy_proc pr[] = {proc(1)};
	struct policy_self me = self(400);
	struct policy_decision d;
	w.e[0].load = w.e[2].load = 900;
	CHECK(!decide(&me, &w, pr, 1, &d));
	policy_window_expire(&w, &p, NOW);
	CHECK_EQ(w.n, 2);
	CHECK_EQ(w.e[0].node, 1);
	CHECK_EQ(w.e[1].node, 3);
	policy_window_expire(&w, &p, NOW + 2 * SEC);
	CHECK_EQ(w.n, 1);
	CHECK_EQ(w.e[0].node, 3);
}

TEST(window_pick_own_then_freshest)
{
	struct policy_params p = params();
	struct policy_window w = {0};
	struct policy_info out[POLICY_SEND_MAX + 1];
	struct policy_info own = {0, 100, 1000, 8 * MIB, 123, NOW};
	p.send_entries = 2;
	for (uint32_t i = 1; i <= 5; i++) {
		struct policy_info in = {
			i, i, 1000, 0, (uint64_t)(i % 5) * SEC, 40 + i};
		policy_window_merge(&w, &p, 0, 9, &in, 1, NOW);
	}
	size_t n = policy_window_pick(&w, &p, &own, NOW, out, 9);
	CHECK_EQ(n, 3);
	CHECK_EQ(out[0].node, 0);
	CHECK_EQ(out[0].age_ns, 0);
	CHECK_EQ(out[0].origin_ns, NOW);
	CHECK_EQ(out[1].node, 5); /* age 0 */
	CHECK_EQ(out[1].origin_ns, 45); /* passed on as it came */
	CHECK_EQ(out[2].node, 1); /* age 1 s */
	CHECK_EQ(out[2].age_ns, SEC);
	CHECK_EQ(policy_window_pick(&w, &p, &own, NOW, out, 1), 1);
}

TEST(random_node_never_self)
{
	uint32_t nodes[] = {4, 5, 6};
	int seen[7] = {0};
	uint64_t rng = 42;
	for (int i = 0; i < 300; i++) {
		uint32_t n = policy_random_node(nodes, 3, 5, &rng);
		CHECK(n == 4 || n == 6);
		seen[n]++;
	}
	CHECK(seen[4] > 100 && seen[6] > 100);
	CHECK_EQ(policy_random_node(nodes, 1, 4, &rng), POLICY_NODE_NONE);
}

/* -------------------------------------------------------- decisions */

TEST(moves_to_idle_node)
{
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11), proc(12)};
	struct policy_self me = self(200);
	struct policy_decision d;
	add(&w, 1, 100, 1000, 512 * MIB);
	add(&w, 2, 0, 1000, 512 * MIB);
	CHECK(decide(&me, &w, pr, 2, &d));
	CHECK_EQ(d.target, 2);
	CHECK_EQ(d.reason, POLICY_REASON_LOAD);
	CHECK(d.id == 11 || d.id == 12);
}

TEST(residency_respected)
{
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11), proc(12)};
	struct policy_self me = self(200);
	struct policy_decision d;
	add(&w, 1, 0, 1000, 512 * MIB);
	pr[0].age_ns = pr[1].age_ns = 999 * MS;
	CHECK(!decide(&me, &w, pr, 2, &d));
	pr[1].age_ns = SEC;
	CHECK(decide(&me, &w, pr, 2, &d));
	CHECK_EQ(d.id, 12);
}

/* 8 processes that have all lived the residency period are 800, however
 * little the slowly rising local load has caught up; younger ones, or
 * processes that are mostly asleep, do not raise it. */
TEST(decision_load_counts_settled_processes)
{
	struct policy_params p = params();
	struct policy_proc pr[8];
	for (uint32_t i = 0; i < 8; i++)
		pr[i] = proc(11 + i);
	CHECK_EQ(policy_decision_load(&p, 500, pr, 8, NOW), 800);
	/* never above what the processes add up to: a home whose local
	 * value still holds the second before its moves */
	CHECK_EQ(policy_decision_load(&p, 900, pr, 8, NOW), 800);
	for (int i = 0; i < 4; i++)
		pr[i].age_ns = 500 * MS;
	CHECK_EQ(policy_decision_load(&p, 300, pr, 8, NOW), 400);
	pr[4].load = 5;
	CHECK_EQ(policy_decision_load(&p, 300, pr, 8, NOW), 305);
	CHECK_EQ(policy_decision_load(&p, 300, pr, 0, NOW), 0);
	pr[0].age_ns = pr[1].age_ns = 500 * MS;
	pr[2].load = pr[3].load = 0;
	CHECK_EQ(policy_decision_load(&p, 400, pr, 4, NOW), 200);
	/* The decisions follow: local 300 against a node at 200 is no
	 * reason to move, five settled processes here are. */
	struct policy_window w = {0};
	struct policy_self me = self(300);
	struct policy_decision d;
	for (uint32_t i = 0; i < 8; i++)
		pr[i] = proc(11 + i);
	add(&w, 1, 200, 1000, 512 * MIB);
	CHECK(!decide(&me, &w, pr, 2, &d)); /* 2 settled: 300 stands */
	CHECK(decide(&me, &w, pr, 5, &d)); /* 5 settled: 500 */
}

TEST(recent_move_respected)
{
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11), proc(12)};
	struct policy_self me = self(200);
	struct policy_decision d;
	add(&w, 1, 0, 1000, 512 * MIB);
	pr[0].last_move_ns = NOW - 2 * SEC; /* within move_gap (3 s) */
	pr[1].last_move_ns = NOW - 1;
	CHECK(!decide(&me, &w, pr, 2, &d));
	pr[0].last_move_ns = NOW - 3 * SEC;
	CHECK(decide(&me, &w, pr, 2, &d));
	CHECK_EQ(d.id, 11);
}

TEST(locked_and_cantmove_skipped)
{
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11), proc(12), proc(13)};
	struct policy_self me = self(300);
	struct policy_decision d;
	add(&w, 1, 0, 1000, 512 * MIB);
	pr[0].locked = true;
	pr[1].cantmove = true;
	pr[2].locked = true;
	CHECK(!decide(&me, &w, pr, 3, &d));
	pr[2].locked = false;
	CHECK(decide(&me, &w, pr, 3, &d));
	CHECK_EQ(d.id, 13);
}

TEST(hysteresis_one_process)
{
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11), proc(12), proc(13)};
	struct policy_decision d;
	/* 2 here, 1 there: lighter by exactly one process, no move */
	struct policy_self me = self(200);
	add(&w, 1, 100, 1000, 512 * MIB);
	CHECK(!decide(&me, &w, pr, 2, &d));
	/* lighter by 1.25 processes: still within the 1.3 hysteresis */
	me.load = 225;
	CHECK(!decide(&me, &w, pr, 2, &d));
	/* by 1.35: move */
	me.load = 235;
	CHECK(decide(&me, &w, pr, 2, &d));
	/* 3 against 1: move (2 and 2 after) */
	me.load = 300;
	CHECK(decide(&me, &w, pr, 3, &d));
	CHECK_EQ(d.target, 1);
}

TEST(no_ping_pong_between_equal_nodes)
{
	/* two nodes with 2 processes each, each seeing the other: neither
	 * moves, whatever the rng */
	struct policy_params p = params();
	struct policy_proc pr[] = {proc(11), proc(12)};
	struct policy_decision d;
	for (uint64_t seed = 0; seed < 50; seed++) {
		struct policy_window wa = {0}, wb = {0};
		struct policy_self a = {0, 200, 1000, 512 * MIB};
		struct policy_self b = {1, 200, 1000, 512 * MIB};
		uint64_t rng = seed;
		wa.e[wa.n++] = (struct policy_entry){
			1, 200, 1000, 512 * MIB, NOW, 0, 0, 0, 0};
		wb.e[wb.n++] = (struct policy_entry){
			0, 200, 1000, 512 * MIB, NOW, 0, 0, 0, 0};
		CHECK(!policy_decide(&p, POLICY_MOSIX, &a, &wa, pr, 2, NOW,
				     &rng, &d));
		CHECK(!policy_decide(&p, POLICY_MOSIX, &b, &wb, pr, 2, NOW,
				     &rng, &d));
	}
	/* 3 and 1: one moves from the busy node; after the move (2 and 2,
	 * the moved process inside its move gap) nothing moves back */
	struct policy_window wa = {0};
	struct policy_self a = {0, 300, 1000, 512 * MIB};
	struct policy_proc three[] = {proc(11), proc(12), proc(13)};
	uint64_t rng = 3;
	wa.e[wa.n++] =
		(struct policy_entry){1, 100, 1000, 512 * MIB, NOW, 0, 0, 0, 0};
	CHECK(policy_decide(&p, POLICY_MOSIX, &a, &wa, three, 3, NOW, &rng,
			    &d));
	policy_window_note(&wa, &p, 1, POLICY_LOAD_UNIT, NOW);
	a.load = 200;
	CHECK(!policy_decide(&p, POLICY_MOSIX, &a, &wa, three, 2, NOW, &rng,
			     &d));
	struct policy_window wb = {0};
	struct policy_self b = {1, 200, 1000, 512 * MIB};
	struct policy_proc moved[] = {proc(11), proc(13)};
	moved[1].age_ns = 0;
	moved[1].last_move_ns = NOW;
	wb.e[wb.n++] =
		(struct policy_entry){0, 200, 1000, 512 * MIB, NOW, 0, 0, 0, 0};
	CHECK(!policy_decide(&p, POLICY_MOSIX, &b, &wb, moved, 2, NOW + SEC,
			     &rng, &d));
}

TEST(sent_load_counts_until_target_shows_it)
{
	struct policy_params p = params();
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11)};
	struct policy_self me = self(300);
	struct policy_decision d;
	add(&w, 1, 0, 1000, 512 * MIB);
	policy_window_note(&w, &p, 1, 200, NOW);
	CHECK_EQ(policy_entry_load(&p, &w.e[0], NOW), 200);
	CHECK(!decide(&me, &w, pr, 1, &d)); /* 200 + 130 >= 300 */
	/* an entry measured before the processes got there keeps the note */
	struct policy_info early = {1, 0, 1000, 512 * MIB, 0, 1};
	policy_window_merge(&w, &p, 0, 9, &early, 1, NOW + 500 * MS);
	CHECK_EQ(policy_entry_load(&p, &w.e[0], NOW + 500 * MS), 200);
	/* one measured a full period later shows them, or the notes do:
	 * the larger counts for two periods (the entry's age leaves out its
	 * time in transit and relays), then the entry alone */
	struct policy_info later = {1, 180, 1000, 512 * MIB, 0, 2};
	policy_window_merge(&w, &p, 0, 9, &later, 1, NOW + 1500 * MS);
	CHECK_EQ(policy_entry_load(&p, &w.e[0], NOW + 1500 * MS), 200);
	CHECK_EQ(policy_entry_load(&p, &w.e[0], NOW + 2 * SEC), 180);
	struct policy_info more = {1, 260, 1000, 512 * MIB, 0, 3};
	policy_window_merge(&w, &p, 0, 9, &more, 1, NOW + 1600 * MS);
	CHECK_EQ(policy_entry_load(&p, &w.e[0], NOW + 1600 * MS), 260);
}

/* Seen on 4 nodes (issue 8): node 0 sends 5 of its 8 processes off in a
 * second; the targets count each arrival in the load they export at once,
 * so their next entries hold what node 0's notes count too. Counting both
 * made node 3 (one process) look like it had two and node 0 sent a third
 * process to a node that had two. */
TEST(sent_load_not_counted_twice)
{
	struct policy_params p = params();
	struct policy_window w = {0};
	struct policy_decision d;
	add(&w, 1, 2, 1000, 512 * MIB);
	add(&w, 2, 3, 1000, 512 * MIB);
	add(&w, 3, 1, 1000, 512 * MIB);
	policy_window_note(&w, &p, 1, 100, NOW);
	policy_window_note(&w, &p, 3, 100, NOW);
	policy_window_note(&w, &p, 2, 100, NOW + 10 * MS);
	policy_window_note(&w, &p, 2, 100, NOW + 20 * MS);
	policy_window_note(&w, &p, 1, 100, NOW + 30 * MS);
	/* node 3's entry just after its arrival, node 1's after the first of
	 * its two, node 2's between its second's start and its end */
	struct policy_info after[] = {{3, 99, 1000, 512 * MIB, 0, 1},
				      {1, 94, 1000, 512 * MIB, 0, 1},
				      {2, 79, 1000, 512 * MIB, 0, 1}};
	policy_window_merge(&w, &p, 0, 9, after, 3, NOW + 40 * MS);
	CHECK_EQ(policy_entry_load(&p, &w.e[2], NOW + 50 * MS), 101);
	CHECK_EQ(policy_entry_load(&p, &w.e[1], NOW + 50 * MS), 203);
	CHECK_EQ(policy_entry_load(&p, &w.e[0], NOW + 50 * MS), 202);
	/* three left here: the next goes to node 3, the one with one */
	struct policy_proc pr[] = {proc(11), proc(12), proc(13)};
	struct policy_self me = self(300);
	uint64_t rng = 1;
	CHECK(policy_decide(&p, POLICY_MOSIX, &me, &w, pr, 3, NOW + 50 * MS,
			    &rng, &d));
	CHECK_EQ(d.target, 3);
	/* an entry that shows more than the notes (other work arrived) is
	 * taken as it is */
	struct policy_info more = {3, 250, 1000, 512 * MIB, 0, 2};
	policy_window_merge(&w, &p, 0, 9, &more, 1, NOW + 60 * MS);
	CHECK_EQ(policy_entry_load(&p, &w.e[2], NOW + 60 * MS), 250);
}

TEST(slower_node_gets_fewer)
{
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11), proc(12), proc(13)};
	struct policy_decision d;
	struct policy_self me = self(200);
	/* an idle node 3x slower: the process runs at 1/2 here, 1/3 there */
	add(&w, 1, 0, POLICY_STD_SPEED / 3, 512 * MIB);
	CHECK(!decide(&me, &w, pr, 2, &d));
	/* with 4 here it is worth it: 1/4 here, 1/3 there */
	me.load = 400;
	CHECK(decide(&me, &w, pr, 3, &d));
	CHECK_EQ(d.target, 1);
	/* a fast idle node is preferred to a slow idle one */
	add(&w, 2, 0, POLICY_STD_SPEED, 512 * MIB);
	CHECK(decide(&me, &w, pr, 3, &d));
	CHECK_EQ(d.target, 2);
	/* and a process alone on a slow node goes to a fast node that has
	 * one process (1/3 here, 1/2 there) */
	struct policy_window w2 = {0};
	struct policy_self slow = {0, 100, POLICY_STD_SPEED / 3, 512 * MIB};
	add(&w2, 1, 100, POLICY_STD_SPEED, 512 * MIB);
	CHECK(decide(&slow, &w2, pr, 1, &d));
	CHECK_EQ(d.target, 1);
}

TEST(target_that_finishes_soonest)
{
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11)};
	struct policy_decision d;
	struct policy_self me = self(600);
	add(&w, 1, 200, POLICY_STD_SPEED, 512 * MIB); /* 1/3 */
	add(&w, 2, 100, 2 * POLICY_STD_SPEED, 512 * MIB); /* 2/2 */
	add(&w, 3, 0, POLICY_STD_SPEED / 2, 512 * MIB); /* 1/2 */
	CHECK(decide(&me, &w, pr, 1, &d));
	CHECK_EQ(d.target, 2);
}

TEST(prefers_older_and_smaller_process)
{
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11), proc(12), proc(13)};
	struct policy_decision d;
	struct policy_self me = self(300);
	add(&w, 1, 0, 1000, 512 * MIB);
	pr[1].age_ns = 60 * SEC; /* expected to run longest */
	CHECK(decide(&me, &w, pr, 3, &d));
	CHECK_EQ(d.id, 12);
	/* same age: the one with less memory to send */
	pr[1].age_ns = 10 * SEC;
	pr[0].mem_bytes = 200 * MIB;
	pr[1].mem_bytes = 100 * MIB;
	pr[2].mem_bytes = 300 * MIB;
	CHECK(decide(&me, &w, pr, 3, &d));
	CHECK_EQ(d.id, 12);
	/* a move that costs more than it can save is not made */
	pr[0].mem_bytes = pr[1].mem_bytes = pr[2].mem_bytes = 4096 * MIB;
	pr[0].age_ns = pr[1].age_ns = pr[2].age_ns = 2 * SEC;
	CHECK(!decide(&me, &w, pr, 3, &d));
}

TEST(memory_ushering)
{
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11), proc(12), proc(13)};
	struct policy_decision d;
	/* short of memory; no node light enough for a load move (the three
	 * add up to this node's 100) */
	struct policy_self me = {0, 100, POLICY_STD_SPEED, 8 * MIB};
	for (int i = 0; i < 3; i++)
		pr[i].load = 33;
	pr[0].mem_bytes = 20 * MIB;
	pr[1].mem_bytes = 90 * MIB; /* the largest */
	pr[2].mem_bytes = 40 * MIB;
	add(&w, 1, 300, 1000, 200 * MIB);
	add(&w, 2, 500, 1000, 400 * MIB); /* most free, busier */
	add(&w, 3, 100, 1000, 100 * MIB);
	CHECK(decide(&me, &w, pr, 3, &d));
	CHECK_EQ(d.reason, POLICY_REASON_MEMORY);
	CHECK_EQ(d.id, 12);
	CHECK_EQ(d.target, 2);
	/* the largest is locked: the next largest goes */
	pr[1].locked = true;
	CHECK(decide(&me, &w, pr, 3, &d));
	CHECK_EQ(d.id, 13);
	pr[1].locked = false;
	/* no node would keep mem_target (32 MiB) free after taking it */
	struct policy_window tight = {0};
	add(&tight, 1, 0, 1000, 100 * MIB);
	add(&tight, 2, 0, 1000, 110 * MIB);
	pr[0].mem_bytes = pr[2].mem_bytes = 85 * MIB;
	CHECK(!decide(&me, &tight, pr, 3, &d) ||
	      d.reason != POLICY_REASON_MEMORY);
	/* enough memory: no ushering */
	me.free_mem = 64 * MIB;
	CHECK(!decide(&me, &w, pr, 3, &d));
	/* never within the move gap: no thrash */
	me.free_mem = 8 * MIB;
	for (int i = 0; i < 3; i++)
		pr[i].last_move_ns = NOW - SEC;
	CHECK(!decide(&me, &w, pr, 3, &d));
}

TEST(modes_static_and_off_never_migrate)
{
	struct policy_params p = params();
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11), proc(12), proc(13)};
	struct policy_self me = {0, 900, POLICY_STD_SPEED, 1 * MIB};
	struct policy_decision d;
	uint64_t rng = 1;
	add(&w, 1, 0, 1000, 512 * MIB);
	CHECK(policy_decide(&p, POLICY_MOSIX, &me, &w, pr, 3, NOW, &rng, &d));
	CHECK(!policy_decide(&p, POLICY_STATIC, &me, &w, pr, 3, NOW, &rng, &d));
	CHECK(!policy_decide(&p, POLICY_OFF, &me, &w, pr, 3, NOW, &rng, &d));
	CHECK(!policy_accept(&p, POLICY_OFF, &me, POLICY_REASON_LOAD, 100, 0,
			     900, 1000));
}

TEST(accept_checks_current_state)
{
	struct policy_params p = params();
	struct policy_self t = {1, 0, POLICY_STD_SPEED, 512 * MIB};
	/* idle target, sender with 3: yes */
	CHECK(policy_accept(&p, POLICY_MOSIX, &t, POLICY_REASON_LOAD, 100, 0,
			    300, 1000));
	/* target already has 2 (what is on its way included): no */
	t.load = 200;
	CHECK(!policy_accept(&p, POLICY_MOSIX, &t, POLICY_REASON_LOAD, 100, 0,
			     300, 1000));
	/* memory: only while the target keeps mem_target free */
	t.free_mem = 60 * MIB;
	CHECK(policy_accept(&p, POLICY_MOSIX, &t, POLICY_REASON_MEMORY, 100,
			    20 * MIB, 0, 1000));
	CHECK(!policy_accept(&p, POLICY_MOSIX, &t, POLICY_REASON_MEMORY, 100,
			     40 * MIB, 0, 1000));
}

TEST(place_round_robin)
{
	uint32_t nodes[] = {0, 3, 7};
	uint32_t next = 0;
	CHECK_EQ(policy_place_rr(&next, nodes, 3), 0);
	CHECK_EQ(policy_place_rr(&next, nodes, 3), 3);
	CHECK_EQ(policy_place_rr(&next, nodes, 3), 7);
	CHECK_EQ(policy_place_rr(&next, nodes, 3), 0);
	CHECK_EQ(policy_place_rr(&next, nodes, 0), POLICY_NODE_NONE);
}

TEST(ties_spread_over_targets)
{
	/* many idle nodes: different rng states pick different targets */
	struct policy_params p = params();
	struct policy_window w = {0};
	struct policy_proc pr[] = {proc(11)};
	struct policy_self me = self(500);
	struct policy_decision d;
	int seen[8] = {0}, distinct = 0;
	for (uint32_t i = 1; i < 8; i++)
		add(&w, i, 0, 1000, 512 * MIB);
	struct policy_proc all[2];
	size_t n = with_rest(&me, pr, 1, all);
	for (uint64_t seed = 0; seed < 200; seed++) {
		uint64_t rng = seed;
		CHECK(policy_decide(&p, POLICY_MOSIX, &me, &w, all, n, NOW,
				    &rng, &d));
		seen[d.target]++;
	}
	for (int i = 1; i < 8; i++)
		distinct += seen[i] > 0;
	CHECK_EQ(distinct, 7);
}

UNIT_MAIN()
