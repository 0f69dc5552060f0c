/*
 * mig.h — process migration, the deputy and remote paging (issue 7,
 * docs/migration.md). The kernel's hooks into mosix/mig.c:
 *
 *   mig_init()                 at boot, after link_init
 *   sys_migrate                syscall 501: migrate(pid, node)
 *   mig_user_return(tf)        from the user-return hook when a migrate
 *                              request waits for the calling process
 *   mig_syscall(nr, a)         a HOME call of a remote process
 *   mig_user_*                 user memory of a process whose deputy is
 *                              the calling thread (copy-in/copy-out)
 *   mig_exit(p, wstatus)       from proc_exit
 *
 * A process is one of: ordinary (p->mig == NULL), a deputy at home (its
 * system context; the user context runs on mig->node), or a remote (the
 * user context, here; its home is mig->node, its pid there home_pid).
 */
#ifndef MOSIX_MIG_H
#define MOSIX_MIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/sync.h"

struct proc;
struct trapframe;
struct vm_pager;
struct mig_in;
struct mig_req;

enum mig_role { MIG_DEPUTY = 1, MIG_REMOTE = 2 };

/* A file backing the home holds for a process that is away (remote
 * paging serves its clean pages by index). */
struct mig_backing {
	const struct vm_pager *pager;
	void *backing;
};

struct mig_proc {
	enum mig_role role;
	unsigned node; /* deputy: where the process runs; remote: its home */
	int home_pid; /* remote: the pid at home (getpid) */
	unsigned nbackings; /* remote: the home's count (index bound) */
	/* Remote: the forwarded call in flight (MIG_SYSCALL/SYSRET) and the
	 * bytes its answer brought for the out window. */
	uint64_t seq; /* high 32 bits: of this arrival (remote_start) */
	long ret;
	bool ret_ready, ret_gone;
	void *ret_data;
	size_t ret_len;
	/* Deputy: the eager buffers of the call being served: bytes the
	 * remote sent (in) and a window to fill for its answer (out). */
	uintptr_t in_addr, out_addr;
	const uint8_t *in;
	size_t in_len, out_len, out_extent;
	uint8_t *out; /* NULL: no window (or given up on) */
	/* Deputy only; proc_lock guards the queue and the flags. */
	struct mig_backing *backings;
	struct mig_req *reqs, *reqs_tail; /* forwarded calls to serve */
	unsigned req_node; /* the node of the call being served */
	uint64_t call_seq; /* the last call taken (repeats are not) */
	uint8_t *answer; /* its MIG_SYSRET, kept for a repeat; the deputy's */
	size_t answer_len;
	uint64_t answer_seq;
	unsigned answer_node;
	bool answer_again; /* a repeat came: send the answer again */
	bool exited, lost, gone;
	int exit_status;
	struct mig_in *coming_home; /* the image of a process back home */
	unsigned users; /* handlers reading `backings` */
	struct waitq wq; /* the deputy sleeps here */
};

/* A pending migrate request (sys_migrate, /proc/<pid>/goto, MIG_GOTO),
 * owned by the requester; the process completes it. */
struct mig_goreq {
	int node; /* target; -1: home */
	int reason; /* enum balance_reason (mosix/balance.h) */
	int result; /* 1 while under way */
	struct waitq wq;
};

void mig_init(void);
long sys_migrate(const uint64_t a[6]);
/* Migrate process `pid` (not the caller) to node (-1: home), waiting
 * for the outcome: 0 or -errno. /proc/<pid>/goto and sys_migrate. */
int mig_request_pid(int pid, int node);
/* The same, for a reason (enum balance_reason): the load balancer. */
int mig_request(int pid, int node, int reason);
void mig_user_return(struct trapframe *tf);
long mig_syscall(unsigned long nr, const uint64_t a[6]);
bool mig_user_check(uintptr_t addr, size_t len, bool write);
int mig_user_in(void *dst, uintptr_t src, size_t n);
int mig_user_out(uintptr_t dst, const void *src, size_t n);
long mig_user_str(char *dst, uintptr_t src, size_t n);
void mig_exit(struct proc *p, int wstatus);
/* Free a process's migration state (proc.c, when the process goes). */
void mig_free(struct mig_proc *m);

/* Is the calling thread a deputy serving a call (user memory is away)? */
static inline bool mig_is_deputy(const struct mig_proc *m)
{
	return m && m->role == MIG_DEPUTY;
}

#endif
