/*
 * balance.h — the load balancer in the kernel (issue 8, design §6,
 * docs/loadbalancing.md): this node's load and speed, the window of what
 * it heard from others, and the decisions, all through the pure policy of
 * mosix/policy.c.
 *
 *   balance_init()              at boot, after mig_init
 *   balance_note_move(...)      mig.c: a process left this node
 *   balance_proc_exit(p)        proc_exit: a process ended here
 *   balance_hold(±1)            mig.c: a process waits for home or moves
 *   /proc/cluster/policy        mosix | static | off (lb= at boot)
 *   /proc/cluster/node/N/{load,speed,mem,procs,status}
 *   /proc/cluster/balance       counters and the last moves
 */
#ifndef MOSIX_BALANCE_H
#define MOSIX_BALANCE_H

#include <stdbool.h>
#include <stdint.h>

/* Why a process moved (mig_goreq.reason). */
enum balance_reason {
	BALANCE_MANUAL = 0, /* migrate, /proc/<pid>/goto, fork/exec home */
	BALANCE_LOAD = 1,
	BALANCE_MEMORY = 2,
};

void balance_init(void);
/* This node's local load and speed (what a move's target weighs). */
void balance_self(uint32_t *load, uint32_t *speed);
/* May a process (its load, bytes to receive) moved here automatically
 * for reason (not MANUAL), from a node of sender_load and sender_speed,
 * come? Counts it in this node's load at once if so (a known step). */
bool balance_accept(enum balance_reason reason, uint32_t load, uint64_t bytes,
		    uint32_t sender_load, uint32_t sender_speed);
/* A process running here ends (not a deputy: its load left with it): its
 * load leaves this node's at once, the exported value included, so others
 * hear of the idle CPU in the next load message, not after the slow decay
 * meant for fluctuations. */
struct proc;
void balance_proc_exit(const struct proc *p);
/* The load process p (the caller, or with proc_lock) brings to a node, as
 * the decisions weigh it: what its migration image carries to the target,
 * whose consent and load step use it. */
uint32_t balance_proc_load(const struct proc *p);
/* A process here leaves (+1) or rejoins (-1) the run queue while it still
 * counts in this node's load: a remote waiting for a page from its home
 * (mig.c's remote pager), as a page-in from disk counts in Linux's load
 * average, and a process frozen while it moves (boosted, it is not counted
 * as a user thread). Copies that waited out a second for their busy home,
 * or for a refusal from a congested target, made their node look idle. */
void balance_hold(int delta);
/* pid (its home pid) left this node for `to` for `reason`. */
void balance_note_move(int pid, const char *name, unsigned to,
		       enum balance_reason reason);

#endif
