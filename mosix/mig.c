/*
 * mig.c — preemptive process migration, the deputy and remote paging
 * (issue 7; design §4; docs/migration.md has the whole story).
 *
 * Moving (mig_go, on the process's own thread, frozen at a return to user
 * mode or inside its own migrate call): the user context and region map go
 * in MIG_BEGIN (a call: the target checks memory, builds the space, answers
 * a transfer id); every present dirty page follows in MIG_PAGES trains of
 * ≤ 256 pages on the BULK channel (tracked one-way sends, a few in
 * flight); MIG_COMMIT (a call) makes the target wait for every page and
 * start the process — only its 0 answer commits. Before that, any failure
 * leaves the process untouched where it was and the caller gets the error
 * (the target drops what it built on an abort or a timeout).
 *
 * After commit, at home, the same thread becomes the deputy (deputy_run):
 * it sleeps until a forwarded call (MIG_SYSCALL, one-way: the link worker
 * only queues it), a signal for the process, its exit (MIG_EXIT), its
 * return (MIG_BEGIN/COMMIT aimed at home) or the loss of its node. A call
 * runs through the ordinary handler with this thread's process being the
 * process, so every HOME call works unchanged; only user memory is away:
 * user_in/user_out/user_path/user_range_ok (kern/syscall.c) become
 * MIG_UCOPY calls back to the node that asked — nested requests on the
 * same link while that node's thread waits. Signals the deputy receives
 * are sent on (MIG_SIGNAL, a call) before the call's result (MIG_SYSRET,
 * one-way), so an interrupted call meets its signal on the remote.
 *
 * The remote (a struct proc with only the user context; mig->role REMOTE)
 * runs LOCAL calls itself; HOME calls go to the deputy, except exit (ends
 * here, MIG_EXIT tells home) and fork/vfork/clone/execve, for which the
 * process first comes home and then makes the call there (see
 * docs/migration.md, "fork and exec"). rt_sigaction runs at home and here
 * (the handlers run here). Its file-backed pages are fetched from home on
 * first touch (MIG_PAGE, the rpager below), by the backing's index in the
 * table the deputy holds.
 *
 * Failures: the Linker's peer watcher hands node-down events to the migd
 * thread, which marks the deputies of processes on that node lost (each
 * ends its process as killed by SIGKILL, with one console line) and kills
 * the remotes whose home it was; transfers from it are dropped.
 *
 * Locks: proc_lock guards every proc's `mig` and `goreq` pointers and a
 * mig_proc's queue and flags; M.lock the incoming transfers and the
 * counters. Handlers that use another process's memory or backings count
 * themselves in mig->users; the process's exit waits for them.
 */
#include "mosix/mig.h"

#include "arch/x86/arch.h"
#include "fs/vfs.h"
#include "kern/errno.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "mosix/balance.h"
#include "mosix/link.h"
#include "mosix/link_tp.h"
#include "mosix/mig_msg.h"
#include "vm/vm.h"

#define SIGKILL 9
#define MS 1000000ull
#define SEC 1000000000ull
#define STEP_TIMEOUT (20 * SEC) /* a transfer step; a page train window */
#define CALL_TIMEOUT (10 * SEC) /* copy-in/out, page fetch, signal */
#define TRAIN_WINDOW 4 /* page messages in flight */
#define MEM_RESERVE (8ull << 20) /* free memory a target keeps */
#define GIVEN_UP_MAX 64 /* processes remembered to kill on a node's return */
#define FLAP_GRACE (2 * SEC) /* a silent node's first judgement (failures) */
#define RESEND_LOOK (500 * MS) /* a forwarded call checks its session */
#define SILENT_MAX (30 * SEC) /* the longest a node heard by others is kept */

_Static_assert(sizeof(struct trapframe) == 8 * MIG_NREGS, "frame layout");
_Static_assert(ARCH_FPU_SIZE == MIG_FPU_SIZE, "fpu size");

/* An incoming transfer on the target. */
struct mig_in {
	struct mig_in *next;
	uint64_t id;
	unsigned from;
	int64_t clock_off; /* home's time base minus ours, at its arrival */
	uint64_t deadline_ns;
	struct mig_image *im;
	struct vm_space *space;
	uint64_t pages; /* installed so far */
	int err; /* the first page that failed */
	bool dead; /* its sender went down */
};

/* A forwarded call waiting for the deputy. */
struct mig_req {
	struct mig_req *next;
	unsigned node;
	int nr;
	uint64_t a[6], sigmask, seq;
	uint64_t in_addr, out_addr, out_len; /* eager buffers */
	size_t in_len;
	uint8_t in[]; /* in_len bytes */
};

static struct {
	struct spinlock lock;
	struct mig_in *ins;
	uint64_t next_id;
	struct thread *migd;
	struct waitq migd_wq;
	struct waitq in_wq; /* a commit waiting for its last pages */
	/* Nodes for migd: whose processes are lost (`down`: those running
	 * there for us and here for them), whose silence is to be judged
	 * (`due`), and which to tell about processes given up (`tell`). */
	uint64_t down, due, tell;
	uint64_t flapping; /* silent, not judged lost yet */
	/* Of each flapping node: its epoch, when it fell silent, when its
	 * silence is judged next. */
	uint64_t down_epoch[64], down_ns[64], check_ns[64];
	struct {
		unsigned node;
		int pid; /* 0: a free slot */
		uint64_t ns;
	} given_up[GIVEN_UP_MAX]; /* processes lost on a silent node */
	/* /proc/cluster/migrations */
	uint64_t out, in, out_bytes, in_bytes, out_ns, last_commit_ns,
		last_total_ns, failed, fetched, calls, ucopies, lost, bad,
		resent, repeats;
} M = {.lock = {.name = "mig"}};

static void count(uint64_t *c, uint64_t n)
{
	spin_lock(&M.lock);
	*c += n;
	spin_unlock(&M.lock);
}

/* ------------------------------------------------------------ lookups */

void mig_free(struct mig_proc *m)
{
	if (m)
		kfree(m->answer);
	kfree(m);
}

/* The deputy of home pid `pid` (caller holds proc_lock). */
static struct proc *find_deputy(int pid)
{
	struct proc *p = proc_find(pid);
	return p && mig_is_deputy(p->mig) && p->sys.state != P_ZOMBIE ? p
								      : NULL;
}

/* The remote here whose home is (node, pid) (caller holds proc_lock). */
static struct proc *find_remote(unsigned node, int pid)
{
	for (struct proc *p = proc_first(); p; p = p->next)
		if (p->mig && p->mig->role == MIG_REMOTE &&
		    p->mig->node == node && p->mig->home_pid == pid &&
		    p->sys.state != P_ZOMBIE && !p->mig->gone)
			return p;
	return NULL;
}

/* Take a user of p's mig state (caller holds proc_lock). */
static void hold(struct proc *p)
{
	p->mig->users++;
}

static void unhold(struct proc *p)
{
	spin_lock(&proc_lock);
	if (--p->mig->users == 0)
		waitq_wakeup_all(&p->mig->wq);
	spin_unlock(&proc_lock);
}

/* A small message of type t, encoded into a kmalloc'ed buffer with room
 * for `tail` more bytes. */
static uint8_t *ctl_build(enum mig_ctl_type t, const struct mig_ctl *c,
			  const void *tail, size_t tail_len, size_t *len)
{
	size_t fixed = mig_ctl_size(t);
	uint8_t *buf = kmalloc(fixed + tail_len);
	if (!buf)
		return NULL;
	mig_ctl_encode(t, c, buf);
	if (tail_len)
		memcpy(buf + fixed, tail, tail_len);
	*len = fixed + tail_len;
	return buf;
}

static int ctl_call(unsigned node, enum link_type lt, enum mig_ctl_type t,
		    const struct mig_ctl *c, const void *tail, size_t tail_len,
		    void **reply, size_t *reply_len, uint64_t timeout)
{
	size_t len;
	uint8_t *buf = ctl_build(t, c, tail, tail_len, &len);
	if (!buf)
		return -ENOMEM;
	void *r = NULL;
	size_t rl = 0;
	int rc = link_call_opt(node, lt, buf, len, &r, &rl, timeout,
			       LINK_NOINTR);
	kfree(buf);
	if (reply) {
		*reply = r;
		*reply_len = rl;
	} else {
		kfree(r);
	}
	return rc;
}

static int ctl_send(unsigned node, enum link_type lt, enum mig_ctl_type t,
		    const struct mig_ctl *c)
{
	size_t len;
	uint8_t *buf = ctl_build(t, c, NULL, 0, &len);
	if (!buf)
		return -ENOMEM;
	int rc = link_send(node, LINK_CHAN_RPC, lt, buf, len);
	kfree(buf);
	return rc;
}

/* A down or rebooted node, or one that does not answer: the peer is
 * gone for good as far as this process is concerned. */
static bool peer_gone(int rc)
{
	return rc == -EHOSTDOWN || rc == -ECONNRESET || rc == -ETIMEDOUT;
}

/* ------------------------------------------------------------ remote paging */

/* The backing of a file region on a remote: page `index` of the table its
 * deputy holds at home. Reference-counted by the regions (hold/release). */
struct rback {
	unsigned refs;
	unsigned home;
	int pid, index;
};

static struct rback *rback_new(unsigned home, int pid, int index)
{
	struct rback *rb = kzalloc(sizeof *rb);
	if (rb)
		*rb = (struct rback){1, home, pid, index};
	return rb;
}

static void rb_hold(void *b)
{
	__atomic_add_fetch(&((struct rback *)b)->refs, 1, __ATOMIC_RELAXED);
}

static void rb_release(void *b)
{
	if (__atomic_sub_fetch(&((struct rback *)b)->refs, 1,
			       __ATOMIC_RELAXED) == 0)
		kfree(b);
}

static int rb_fill(void *b, uint64_t off, void *page)
{
	struct rback *rb = b;
	struct mig_ctl c = {.home_node = rb->home,
			    .home_pid = (uint32_t)rb->pid,
			    .i = {rb->index},
			    .u = {off}};
	void *rep;
	size_t rl;
	balance_hold(1); /* waiting for home: still load here */
	/* Home silent but not given up (see failures): wait for it, up to
	 * SILENT_MAX, rather than fail the fault (SIGSEGV). */
	uint64_t until = time_ns() + SILENT_MAX;
	int rc;
	for (;;) {
		rc = ctl_call(rb->home, LINK_T_MIG_PAGE, MIG_C_PAGE, &c, NULL,
			      0, &rep, &rl, CALL_TIMEOUT);
		if (!peer_gone(rc) || time_ns() >= until)
			break;
		spin_lock(&proc_lock);
		struct proc *p = find_remote(rb->home, rb->pid);
		bool lost = !p || p->mig->lost;
		spin_unlock(&proc_lock);
		if (lost)
			break;
		thread_sleep_ns(100 * MS);
	}
	balance_hold(-1);
	if (rc < 0) {
		printk(KERN_WARN "mig: pid %d of node %u: page %#lx of its "
				 "file %d not fetched: %s\n",
		       rb->pid, rb->home, (unsigned long)off, rb->index,
		       errno_text(rc));
		return rc;
	}
	if (rl != PAGE_SIZE) {
		kfree(rep);
		return -EIO;
	}
	memcpy(page, rep, PAGE_SIZE);
	kfree(rep);
	count(&M.fetched, 1);
	return 0;
}

static const struct vm_pager rpager = {
	.fill = rb_fill,
	.hold = rb_hold,
	.release = rb_release,
};

/* Home: a clean file page for a process that is away. */
static int h_page(unsigned node, const void *req, size_t len, void **reply,
		  size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_PAGE, req, len, &c);
	if (rc < 0 || c.home_node != link_self()) {
		count(&M.bad, 1);
		return rc < 0 ? rc : -EINVAL;
	}
	spin_lock(&proc_lock);
	struct proc *p = find_deputy((int)c.home_pid);
	if (p && (unsigned)c.i[0] < p->mig->nbackings)
		hold(p);
	else
		p = NULL;
	spin_unlock(&proc_lock);
	if (!p)
		return -ESRCH;
	struct mig_backing bk = p->mig->backings[c.i[0]];
	void *page = kmalloc(PAGE_SIZE);
	rc = page ? bk.pager->fill(bk.backing, c.u[0], page) : -ENOMEM;
	unhold(p);
	if (rc < 0) {
		kfree(page);
		return rc;
	}
	*reply = page;
	*reply_len = PAGE_SIZE;
	return 0;
}

/* ------------------------------------------------------------ the image */

/* The index of r's backing in the table being built (added if new). */
static int backing_index(struct mig_backing *tab, unsigned *n,
			 const struct vm_region *r)
{
	for (unsigned i = 0; i < *n; i++)
		if (tab[i].pager == r->pager && tab[i].backing == r->backing)
			return (int)i;
	tab[*n] = (struct mig_backing){r->pager, r->backing};
	r->pager->hold(r->backing);
	return (int)(*n)++;
}

static void backings_release(struct mig_backing *tab, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		tab[i].pager->release(tab[i].backing);
	kfree(tab);
}

/*
 * p's user context (registers from tf, whose rax becomes `rax`) and
 * region map. A process at home gets a new table of its file backings in
 * *tab (held; the caller releases it if the move fails); a remote's regions
 * already name the home's indexes. -EBUSY for a map that cannot travel.
 */
static int image_build(struct proc *p, const struct trapframe *tf, uint64_t rax,
		       int reason, struct mig_image *im,
		       struct mig_backing **tab, unsigned *ntab)
{
	struct user_ctx *u = &p->user;
	struct mig_proc *m = p->mig;
	memset(im, 0, sizeof *im);
	im->home_node = m ? m->node : link_self();
	im->home_pid = (uint32_t)(m ? m->home_pid : p->pid);
	memcpy(im->regs, tf, sizeof im->regs);
	im->regs[MIG_R_RAX] = rax;
	arch_fpu_save(u->fpu);
	memcpy(im->fpu, u->fpu, MIG_FPU_SIZE);
	u->fs_base = arch_fs_base_get();
	im->fs_base = u->fs_base;
	spin_lock(&proc_lock);
	im->sigmask = u->sigmask;
	im->sigpending = u->sigpending;
	for (int i = 0; i < MIG_NSIG; i++) {
		const struct siginfo_k *s = &u->siginfo[i];
		im->siginfo[i] = (struct mig_siginfo){s->code, s->pid,
						      s->status, s->addr};
		const struct k_sigaction *a = &p->sys.action[i];
		im->action[i] = (struct mig_action){a->handler, a->flags,
						    a->restorer, a->mask};
	}
	im->lock = p->sys.lock;
	spin_unlock(&proc_lock);
	im->saved_mask = u->saved_mask;
	im->has_saved_mask = u->has_saved_mask;
	im->ss_sp = u->ss_sp;
	im->ss_size = u->ss_size;
	im->ss_flags = u->ss_flags;
	im->brk_start = u->brk_start;
	im->brk = u->brk;
	im->mmap_next = u->mmap_next;
	im->cpu_ns = proc_cpu_ns(p);
	im->clear_tid = p->sys.clear_tid;
	im->home_now = time_ns() + (uint64_t)u->clock_off;
	im->lb_reason = (uint32_t)reason;
	im->lb_load = balance_proc_load(p);
	balance_self(&im->lb_sender_load, &im->lb_sender_speed);
	memcpy(im->name, p->name, MIG_NAME_LEN);
	im->name[MIG_NAME_LEN - 1] = 0;

	struct vm_space *s = u->space;
	unsigned n = 0;
	for (struct vm_region *r = s->regions; r; r = r->next)
		n++;
	if (n > MIG_MAX_REGIONS)
		return -EBUSY;
	*tab = NULL;
	*ntab = 0;
	if (!m) {
		*tab = kzalloc(sizeof **tab * (n ? n : 1));
		if (!*tab)
			return -ENOMEM;
	}
	im->nregions = n;
	im->npages = s->dirty_pages;
	im->nbackings = m ? m->nbackings : 0;
	unsigned i = 0;
	for (struct vm_region *r = s->regions; r; r = r->next, i++) {
		struct mig_region *g = &im->region[i];
		*g = (struct mig_region){r->start, r->end,   0,
					 r->prot,  r->flags, -1};
		if (r->flags != VM_REGION_FILE)
			continue;
		g->offset = r->offset;
		if (m && r->pager == &rpager)
			g->index = ((struct rback *)r->backing)->index;
		else if (!m && r->pager && r->pager != &rpager)
			g->index = backing_index(*tab, ntab, r);
		else
			return -EBUSY; /* no pager: nothing could fill it */
	}
	if (!m)
		im->nbackings = *ntab;
	return 0;
}

/* The trapframe and user context of an image, into p (a new remote, or the
 * deputy taking its process back). */
static void image_apply(struct proc *p, const struct mig_image *im,
			struct trapframe *tf)
{
	struct user_ctx *u = &p->user;
	memcpy(tf, im->regs, sizeof *tf);
	arch_frame_sanitize_user(tf);
	memcpy(u->fpu, im->fpu, MIG_FPU_SIZE);
	arch_fpu_sanitize(u->fpu);
	u->fs_base = im->fs_base;
	u->saved_mask = im->saved_mask;
	u->has_saved_mask = im->has_saved_mask;
	u->ss_sp = im->ss_sp;
	u->ss_size = im->ss_size;
	u->ss_flags = im->ss_flags;
	u->brk_start = im->brk_start;
	u->brk = im->brk;
	u->mmap_next = im->mmap_next;
	p->sys.clear_tid = im->clear_tid;
	spin_lock(&proc_lock);
	u->sigmask = im->sigmask & ~(1ull << 8 | 1ull << 18); /* KILL, STOP */
	for (int i = 0; i < MIG_NSIG; i++) {
		if (!(im->sigpending >> i & 1) || (u->sigpending >> i & 1))
			continue;
		const struct mig_siginfo *s = &im->siginfo[i];
		u->siginfo[i] =
			(struct siginfo_k){s->code, s->pid, s->status, s->addr};
		u->sigpending |= 1ull << i;
	}
	spin_unlock(&proc_lock);
}

/* ------------------------------------------------------------ sending */

struct train {
	unsigned node;
	uint64_t id;
	uint8_t *buf;
	unsigned n; /* pages in buf */
	uint64_t sent;
	struct link_track t;
};

#define PAGE_ENTRY (8 + PAGE_SIZE)

static int train_flush(struct train *tr)
{
	if (!tr->n)
		return 0;
	struct mig_ctl c = {
		.home_node = 0, .i = {(int32_t)tr->n}, .u = {tr->id}};
	mig_ctl_encode(MIG_C_PAGES, &c, tr->buf);
	size_t len = mig_ctl_size(MIG_C_PAGES) + tr->n * PAGE_ENTRY;
	int rc = link_send_tracked(tr->node, LINK_CHAN_BULK, LINK_T_MIG_PAGES,
				   tr->buf, len, &tr->t);
	tr->n = 0;
	if (rc < 0)
		return rc;
	if (link_track_wait(&tr->t, TRAIN_WINDOW, time_ns() + STEP_TIMEOUT))
		return -ETIMEDOUT;
	return tr->t.error;
}

static int train_page(uintptr_t va, const void *page, void *ctx)
{
	struct train *tr = ctx;
	uint8_t *e = tr->buf + mig_ctl_size(MIG_C_PAGES) + tr->n * PAGE_ENTRY;
	link_put_le(e, va, 8);
	memcpy(e + 8, page, PAGE_SIZE);
	tr->sent++;
	if (++tr->n == MIG_PAGES_PER_MSG)
		return train_flush(tr);
	return 0;
}

static __attribute__((noreturn)) void deputy_run(struct proc *p);

/* Complete a migrate request (caller holds proc_lock). */
static void goreq_done(struct mig_goreq *g, int result)
{
	if (g) {
		g->result = result;
		waitq_wakeup_all(&g->wq);
	}
}

/*
 * Move the calling process p to `node` (-1: home). tf holds its user
 * registers; rax is what it finds in rax on the other side. Returns an
 * error with p untouched; on success a process from home becomes its
 * deputy and a remote ends here: neither returns. g (may be NULL) hears
 * the outcome first.
 */
static int mig_go(struct proc *p, struct trapframe *tf, int node, uint64_t rax,
		  struct mig_goreq *g)
{
	struct mig_proc *m = p->mig;
	unsigned home = m ? m->node : link_self();
	unsigned target = node < 0 ? home : (unsigned)node;
	if (target == link_self())
		return 0; /* it is there */
	if (!link_enabled() || target >= LINK_MAX_NODES)
		return -EINVAL;
	spin_lock(&proc_lock);
	const char *why = proc_cantmove(p);
	spin_unlock(&proc_lock);
	if (why)
		return -EBUSY;
	if (!link_node_up(target))
		return -EHOSTDOWN;

	uint64_t t0 = time_ns();
	/* Frozen (and boosted) until the move is over: still load here. */
	balance_hold(1);
	struct mig_image *im = kmalloc(sizeof *im);
	struct train tr = {.node = target};
	tr.buf = kmalloc(mig_ctl_size(MIG_C_PAGES) +
			 MIG_PAGES_PER_MSG * PAGE_ENTRY);
	link_track_init(&tr.t);
	struct mig_backing *tab = NULL;
	unsigned ntab = 0;
	uint8_t *enc = NULL;
	int rc = im && tr.buf ? 0 : -ENOMEM;
	if (!rc)
		rc = image_build(p, tf, rax, g ? g->reason : BALANCE_MANUAL, im,
				 &tab, &ntab);
	size_t elen = rc ? 0 : mig_image_size(im);
	if (!rc && !(enc = kmalloc(elen)))
		rc = -ENOMEM;
	void *rep = NULL;
	size_t rl = 0;
	if (!rc) {
		mig_image_encode(im, enc);
		rc = link_call_opt(target, LINK_T_MIG_BEGIN, enc, elen, &rep,
				   &rl, STEP_TIMEOUT, LINK_NOINTR);
		if (!rc && rl != 8)
			rc = -EPROTO;
		if (!rc)
			tr.id = link_get_le(rep, 8);
		kfree(rep);
	}
	bool begun = !rc;
	uint64_t t_begun = time_ns();
	if (!rc)
		rc = vm_for_each_dirty(p->user.space, train_page, &tr);
	if (!rc)
		rc = train_flush(&tr);
	if (!rc)
		rc = tr.t.error;
	/* The commit goes now, behind the last pages (not after their
	 * acknowledgements): the target waits for them itself. */
	uint64_t commit_start = time_ns();
	/* From home, the deputy exists before the commit: the process may
	 * fetch a page or make a call the moment it starts over there. */
	struct mig_proc *d = NULL;
	if (!rc && !m) {
		d = kzalloc(sizeof *d);
		if (d) {
			d->role = MIG_DEPUTY;
			d->node = target;
			d->backings = tab;
			d->nbackings = ntab;
			waitq_init(&d->wq);
			spin_lock(&proc_lock);
			p->mig = d;
			spin_unlock(&proc_lock);
		} else {
			rc = -ENOMEM;
		}
	}
	if (begun) {
		/* No timeout on the commit itself: once the target has it,
		 * only the target's answer (or its death) says whether the
		 * process runs there. */
		struct mig_ctl c = {.i = {rc ? 1 : 0}, .u = {tr.id, tr.sent}};
		int crc = ctl_call(target, LINK_T_MIG_COMMIT, MIG_C_COMMIT, &c,
				   NULL, 0, NULL, NULL, 0);
		if (!rc)
			rc = crc;
	}
	/* Every page message must be done with before the tracker goes
	 * (after a commit they were all delivered; otherwise the engine
	 * delivers or fails each, at worst when the node is declared down):
	 * no deadline, and the outcome is already decided. */
	link_track_wait(&tr.t, 0, 0);
	if (rc && d) {
		/* Not committed: nothing over there can have used it. */
		spin_lock(&proc_lock);
		p->mig = NULL;
		while (d->users)
			waitq_sleep(&d->wq, &proc_lock);
		spin_unlock(&proc_lock);
		for (struct mig_req *r = d->reqs; r;) {
			struct mig_req *next = r->next;
			kfree(r);
			r = next;
		}
		kfree(d);
	}
	uint64_t sigsent = im ? im->sigpending : 0;
	kfree(enc);
	kfree(tr.buf);
	kfree(im);
	balance_hold(-1);
	if (rc) {
		if (tab)
			backings_release(tab, ntab);
		count(&M.failed, 1);
		printk(KERN_DEBUG "mig: pid %d (%s) to node %u failed (%s%s)\n",
		       p->pid, p->name, target, errno_text(rc),
		       begun ? "" : ", at the start");
		return rc;
	}
	/* Committed: it runs on target now. */
	spin_lock(&M.lock);
	M.out++;
	M.out_bytes += tr.sent * PAGE_SIZE;
	M.last_total_ns = time_ns() - t0;
	M.last_commit_ns = time_ns() - commit_start;
	M.out_ns += M.last_total_ns;
	spin_unlock(&M.lock);
	printk(KERN_DEBUG "mig: pid %d (%s) to node %u: %lu pages in %lu us "
			  "(begin %lu, pages %lu, commit %lu)\n",
	       p->pid, p->name, target, (unsigned long)tr.sent,
	       (unsigned long)((time_ns() - t0) / 1000),
	       (unsigned long)((t_begun - t0) / 1000),
	       (unsigned long)((commit_start - t_begun) / 1000),
	       (unsigned long)((time_ns() - commit_start) / 1000));
	balance_note_move(m ? m->home_pid : p->pid, p->name, target,
			  g ? (enum balance_reason)g->reason : BALANCE_MANUAL);
	spin_lock(&proc_lock);
	goreq_done(g, 0);
	if (m) {
		/* A remote moving on, or home: it ends here quietly. */
		m->gone = true;
		spin_unlock(&proc_lock);
		if (target != home) {
			struct mig_ctl c = {.home_node = home,
					    .home_pid = (uint32_t)m->home_pid,
					    .i = {(int32_t)target}};
			ctl_call(home, LINK_T_MIG_WHERE, MIG_C_WHERE, &c, NULL,
				 0, NULL, NULL, CALL_TIMEOUT);
		}
		proc_exit(0);
	}
	p->sys.where_node = (int)target;
	p->user.sigpending &= ~sigsent; /* they travelled with it */
	spin_unlock(&proc_lock);
	struct vm_space *s = p->user.space;
	p->user.space = NULL;
	vm_space_destroy(s); /* switches to the kernel's tables */
	deputy_run(p);
}

void mig_user_return(struct trapframe *tf)
{
	struct proc *p = proc_current();
	spin_lock(&proc_lock);
	struct mig_goreq *g = p->goreq;
	p->goreq = NULL;
	spin_unlock(&proc_lock);
	if (!g)
		return;
	int rc = mig_go(p, tf, g->node, tf->rax, g);
	/* Still here (failed, or it was there): an ordinary process again. */
	thread_boost(thread_current(), false);
	spin_lock(&proc_lock);
	goreq_done(g, rc);
	spin_unlock(&proc_lock);
}

/* ------------------------------------------------------------ receiving */

static void in_free(struct mig_in *in)
{
	if (in->space)
		vm_space_destroy(in->space);
	kfree(in->im);
	kfree(in);
}

/* Unlink and free transfers past their deadline or from a dead sender. */
static void ins_purge(void)
{
	struct mig_in *dead = NULL;
	spin_lock(&M.lock);
	uint64_t now = time_ns();
	for (struct mig_in **pp = &M.ins; *pp;) {
		struct mig_in *in = *pp;
		if (in->dead || now > in->deadline_ns) {
			*pp = in->next;
			in->next = dead;
			dead = in;
		} else {
			pp = &in->next;
		}
	}
	spin_unlock(&M.lock);
	while (dead) {
		struct mig_in *next = dead->next;
		in_free(dead);
		dead = next;
	}
}

/* The transfer id from node (caller holds M.lock); unlink: take it off. */
static struct mig_in *in_find(unsigned node, uint64_t id, bool unlink)
{
	for (struct mig_in **pp = &M.ins; *pp; pp = &(*pp)->next) {
		struct mig_in *in = *pp;
		if (in->id == id && in->from == node) {
			if (unlink)
				*pp = in->next;
			return in;
		}
	}
	return NULL;
}

/* Build the space an image describes; file regions read through home (the
 * deputy's own backings when it is coming home). */
static int space_build(struct mig_in *in, struct proc *dep)
{
	const struct mig_image *im = in->im;
	struct vm_space *s = vm_space_create();
	if (!s)
		return -ENOMEM;
	in->space = s;
	for (uint32_t i = 0; i < im->nregions; i++) {
		const struct mig_region *r = &im->region[i];
		size_t len = r->end - r->start;
		int rc;
		if (r->flags != VM_REGION_FILE) {
			rc = vm_region_add(s, r->start, len, r->prot,
					   VM_REGION_ANON, NULL, 0);
		} else if (dep) {
			if ((unsigned)r->index >= dep->mig->nbackings)
				return -EINVAL;
			struct mig_backing *b = &dep->mig->backings[r->index];
			rc = vm_region_add_file(s, r->start, len, r->prot,
						b->pager, b->backing,
						r->offset);
		} else {
			struct rback *rb = rback_new(
				im->home_node, (int)im->home_pid, r->index);
			if (!rb)
				return -ENOMEM;
			rc = vm_region_add_file(s, r->start, len, r->prot,
						&rpager, rb, r->offset);
			rb_release(rb);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int h_begin(unsigned node, const void *req, size_t len, void **reply,
		   size_t *reply_len)
{
	ins_purge();
	struct mig_in *in = kzalloc(sizeof *in);
	struct mig_image *im = kmalloc(sizeof *im);
	if (!in || !im) {
		kfree(in);
		kfree(im);
		return -ENOMEM;
	}
	in->im = im;
	in->from = node;
	int rc = mig_image_decode(req, len, im);
	in->clock_off = (int64_t)(im->home_now - time_ns());
	if (rc < 0)
		count(&M.bad, 1);
	bool home = im->home_node == link_self();
	struct proc *dep = NULL;
	/* A process here must reach its home (calls, pages, its exit): a
	 * node that has not heard the home yet (just booted) refuses it. */
	if (!rc && !home && !link_node_up(im->home_node))
		rc = -EHOSTDOWN;
	if (!rc && home) {
		spin_lock(&proc_lock);
		dep = find_deputy((int)im->home_pid);
		if (dep && !dep->mig->coming_home)
			hold(dep);
		else
			dep = NULL;
		spin_unlock(&proc_lock);
		if (!dep)
			rc = -ESRCH;
	}
	if (!rc) {
		struct mem_stats st;
		mem_get_stats(&st);
		if (im->npages * PAGE_SIZE + MEM_RESERVE > st.free_bytes)
			rc = -ENOMEM;
	}
	/* A move the balancer chose needs this node's consent (a manual
	 * one does not): it may have become busier than the sender knew. */
	if (!rc && im->lb_reason != BALANCE_MANUAL &&
	    !balance_accept((enum balance_reason)im->lb_reason, im->lb_load,
			    im->npages * PAGE_SIZE, im->lb_sender_load,
			    im->lb_sender_speed))
		rc = -EAGAIN;
	if (!rc)
		rc = space_build(in, dep);
	if (dep)
		unhold(dep);
	uint8_t *r = rc ? NULL : kmalloc(8);
	if (!rc && !r)
		rc = -ENOMEM;
	if (rc) {
		in_free(in);
		return rc;
	}
	spin_lock(&M.lock);
	in->id = ++M.next_id;
	in->deadline_ns = time_ns() + 2 * STEP_TIMEOUT;
	in->next = M.ins;
	M.ins = in;
	spin_unlock(&M.lock);
	link_put_le(r, in->id, 8);
	*reply = r;
	*reply_len = 8;
	return 0;
}

static int h_pages(unsigned node, const void *req, size_t len, void **reply,
		   size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_PAGES, req, len, &c);
	if (rc < 0) {
		count(&M.bad, 1);
		return rc;
	}
	/* One-way messages are served one at a time, in order, and the
	 * transfer is only freed by its commit or the purge, which wait
	 * for nothing here: the record stays valid during this message. */
	spin_lock(&M.lock);
	struct mig_in *in = in_find(node, c.u[0], false);
	spin_unlock(&M.lock);
	if (!in)
		return -ESRCH;
	for (int32_t i = 0; i < c.i[0] && !in->err; i++) {
		uint64_t va;
		const uint8_t *page = mig_pages_entry(&c, (unsigned)i, &va);
		int e = vm_page_install(in->space, va, page);
		if (e)
			in->err = e;
	}
	spin_lock(&M.lock);
	in->pages += (uint64_t)c.i[0];
	waitq_wakeup_all(&M.in_wq);
	spin_unlock(&M.lock);
	return 0;
}

/* Start a remote from a complete transfer. */
static int remote_start(struct mig_in *in)
{
	const struct mig_image *im = in->im;
	int err;
	struct proc *p = proc_new(&err);
	if (!p)
		return err;
	struct mig_proc *m = kzalloc(sizeof *m);
	struct trapframe *tf = kmalloc(sizeof *tf);
	if (!m || !tf) {
		kfree(m);
		kfree(tf);
		proc_discard(p);
		return -ENOMEM;
	}
	m->role = MIG_REMOTE;
	m->node = im->home_node;
	m->home_pid = (int)im->home_pid;
	/* Calls are numbered from a value of this arrival's own, so that
	 * the deputy tells a repeat from a call of the next stay. */
	uint64_t t = time_ns();
	m->seq =
		(uint64_t)((uint32_t)(t ^ t >> 29 ^ link_self() * 0x9e3779b9u) |
			   1u)
		<< 32;
	m->nbackings = im->nbackings;
	waitq_init(&m->wq);
	strlcpy(p->name, im->name, sizeof p->name);
	proc_rlimit_defaults(p); /* the home's apply to its HOME calls */
	p->user.space = in->space;
	in->space = NULL;
	image_apply(p, im, tf);
	p->user.clock_off = in->clock_off;
	for (int i = 0; i < MIG_NSIG; i++) {
		const struct mig_action *a = &im->action[i];
		p->sys.action[i] = (struct k_sigaction){a->handler, a->flags,
							a->restorer, a->mask};
	}
	p->user.fork_tf = tf;
	p->thread = thread_create_suspended(p->name, proc_user_start, p);
	if (!p->thread) {
		proc_discard(p); /* frees the space */
		kfree(m);
		kfree(tf);
		return -ENOMEM;
	}
	spin_lock(&proc_lock);
	p->mig = m;
	p->lb_moved_ns = p->lb_since_ns; /* arrived now (proc_new) */
	p->sys.lock = im->lock;
	p->sys.cont_reported = true;
	spin_unlock(&proc_lock);
	thread_start_suspended(p->thread);
	return 0;
}

static int h_commit(unsigned node, const void *req, size_t len, void **reply,
		    size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_COMMIT, req, len, &c);
	if (rc < 0) {
		count(&M.bad, 1);
		return rc;
	}
	/* Every page was acknowledged by the transport before the sender
	 * asked, but the last ones may still be on their way through the
	 * one-way queue: wait for them (a commit only; an abort is at
	 * once). */
	uint64_t deadline = time_ns() + STEP_TIMEOUT;
	spin_lock(&M.lock);
	struct mig_in *in = in_find(node, c.u[0], false);
	while (in && !c.i[0] && !in->err && in->pages < c.u[1] &&
	       waitq_sleep_timed(&M.in_wq, &M.lock, deadline) == 0)
		in = in_find(node, c.u[0], false);
	if (in)
		in_find(node, c.u[0], true);
	spin_unlock(&M.lock);
	if (!in)
		return -ESRCH;
	if (c.i[0] || in->err || in->pages != c.u[1]) {
		rc = c.i[0] ? 0 : in->err ? in->err : -EIO;
		in_free(in);
		return rc;
	}
	if (in->im->home_node != link_self()) {
		rc = remote_start(in);
		if (!rc) {
			count(&M.in, 1);
			count(&M.in_bytes, in->pages * PAGE_SIZE);
		}
		in_free(in);
		return rc;
	}
	/* Home again: the deputy takes its process back. */
	spin_lock(&proc_lock);
	struct proc *dep = find_deputy((int)in->im->home_pid);
	if (dep && !dep->mig->coming_home && !dep->mig->lost &&
	    !dep->mig->exited) {
		dep->mig->coming_home = in;
		waitq_wakeup_all(&dep->mig->wq);
	} else {
		dep = NULL;
	}
	spin_unlock(&proc_lock);
	if (!dep) {
		in_free(in);
		return -ESRCH;
	}
	count(&M.in, 1);
	count(&M.in_bytes, in->pages * PAGE_SIZE);
	return 0;
}

/* ------------------------------------------------------------ the deputy */

static void give_up_remote(unsigned node, int pid); /* failures, below */

/* Send every signal pending at home on to the process. */
static void forward_signals(struct proc *p)
{
	struct mig_proc *m = p->mig;
	for (int tries = 0;;) {
		spin_lock(&proc_lock);
		uint64_t pend = p->user.sigpending;
		if (!pend || m->lost) {
			spin_unlock(&proc_lock);
			return;
		}
		int sig = (pend >> 8 & 1) ? 9 : __builtin_ctzll(pend) + 1;
		p->user.sigpending &= ~(1ull << (sig - 1));
		struct siginfo_k si = p->user.siginfo[sig - 1];
		unsigned node = m->node;
		spin_unlock(&proc_lock);
		struct mig_ctl c = {.home_node = link_self(),
				    .home_pid = (uint32_t)p->pid,
				    .i = {sig, si.code, si.pid},
				    .u = {(uint64_t)(uint32_t)si.status,
					  si.addr}};
		int rc = ctl_call(node, LINK_T_MIG_SIGNAL, MIG_C_SIGNAL, &c,
				  NULL, 0, NULL, NULL, CALL_TIMEOUT);
		if (rc == 0 &&
		    (sig == 19 || sig == 20 || sig == 21 || sig == 22)) {
			/* A stop signal the remote will act on by default:
			 * it stops there, and its parent here hears of it as
			 * of a local child (SIGCONT here resumes both). */
			spin_lock(&proc_lock);
			if (p->sys.action[sig - 1].handler == 0 &&
			    p->sys.state == P_RUN) {
				p->sys.state = P_STOPPED;
				p->sys.stop_sig = sig;
				p->sys.stop_reported = false;
				proc_notify_parent_locked(
					p, 5 /* CLD_STOPPED */, sig);
			}
			spin_unlock(&proc_lock);
		}
		if ((rc == -ESRCH && ++tries < 100) || peer_gone(rc)) {
			/* Between nodes (its new place is not known yet),
			 * or its node silent or its session reset: keep it
			 * and try again shortly. A node that stays down
			 * makes the process lost (node_lost), which ends
			 * this. */
			spin_lock(&proc_lock);
			p->user.sigpending |= 1ull << (sig - 1);
			spin_unlock(&proc_lock);
			thread_sleep_ns(20 * MS);
		}
	}
}

/* Calls the deputy refuses: they need the user context here. The remote
 * never sends them (exit ends there; fork and exec come home first). */
static bool deputy_refuses(int nr)
{
	if (nr == 501) /* migrate, for a pid other than its own */
		return false;
	return nr == 56 || nr == 57 || nr == 58 || nr == 59 || nr == 60 ||
	       nr == 231 || !syscall_class((unsigned long)nr) ||
	       syscall_class((unsigned long)nr)[0] != 'H';
}

static void serve(struct proc *p, struct mig_req *r)
{
	struct mig_proc *m = p->mig;
	m->req_node = r->node;
	m->in_addr = r->in_addr;
	m->in = r->in;
	m->in_len = r->in_len;
	m->out_addr = r->out_addr;
	m->out_len = r->out_len;
	m->out_extent = 0;
	m->out = r->out_len ? kmalloc(r->out_len) : NULL;
	long res;
	if (deputy_refuses(r->nr)) {
		count(&M.bad, 1);
		res = -ENOSYS;
	} else {
		spin_lock(&proc_lock);
		p->user.sigmask = r->sigmask & ~(1ull << 8 | 1ull << 18);
		spin_unlock(&proc_lock);
		res = syscall_run_local((unsigned long)r->nr, r->a);
		spin_lock(&proc_lock);
		p->user.sigmask = 0;
		spin_unlock(&proc_lock);
	}
	count(&M.calls, 1);
	forward_signals(p);
	struct mig_ctl c = {.home_node = link_self(),
			    .home_pid = (uint32_t)p->pid,
			    .i = {m->out && m->out_extent ? MIG_RET_OUT : 0},
			    .u = {(uint64_t)res, r->seq}};
	size_t len;
	uint8_t *buf = ctl_build(MIG_C_SYSRET, &c, m->out,
				 c.i[0] ? m->out_extent : 0, &len);
	/* Kept until the next call: a repeat of this one (its remote lost
	 * the answer in a reset session) gets it again (h_syscall). */
	spin_lock(&proc_lock);
	uint8_t *old = m->answer;
	m->answer = buf;
	m->answer_len = buf ? len : 0;
	m->answer_seq = r->seq;
	m->answer_node = r->node;
	spin_unlock(&proc_lock);
	kfree(old);
	if (buf)
		link_send(r->node, LINK_CHAN_RPC, LINK_T_MIG_SYSRET, buf, len);
	kfree(m->out);
	m->out = NULL;
	m->in = NULL;
	m->in_len = m->out_len = 0;
}

/* The process comes back: its image becomes the user context again and
 * this thread returns to user mode with its registers. */
static __attribute__((noreturn)) void deputy_home(struct proc *p)
{
	struct mig_proc *m = p->mig;
	struct mig_in *in = m->coming_home;
	struct trapframe tf;
	p->user.space = in->space;
	in->space = NULL;
	image_apply(p, in->im, &tf);
	p->user.clock_off = 0; /* its own clock again */
	in_free(in);
	spin_lock(&proc_lock);
	while (m->users)
		waitq_sleep(&m->wq, &proc_lock);
	p->mig = NULL;
	p->sys.where_node = (int)link_self();
	p->lb_since_ns = p->lb_moved_ns = time_ns(); /* arrived */
	p->lb_run_prev = p->lb_run_base = thread_run_ticks(p->thread);
	spin_unlock(&proc_lock);
	backings_release(m->backings,
			 m->nbackings); /* the space holds its own */
	for (struct mig_req *r = m->reqs; r;) { /* none: it was frozen */
		struct mig_req *next = r->next;
		kfree(r);
		r = next;
	}
	mig_free(m);
	printk(KERN_DEBUG "mig: pid %d (%s) is home\n", p->pid, p->name);
	thread_boost(thread_current(), false);
	irq_disable();
	arch_fpu_restore(p->user.fpu);
	arch_fs_base_set(p->user.fs_base);
	vm_space_switch(p->user.space);
	irq_enable();
	signal_user_return(&tf);
	arch_resume_user(&tf);
}

/* After PROBE_IDLE without a word from the process, ask its node whether
 * it is still there: a remote that vanished without its MIG_EXIT (its
 * node never went down) must not leave its parent waiting forever. */
#define PROBE_IDLE (10 * SEC)
#define EXIT_GRACE (4 * SEC) /* longer than mig_exit's 3 s of tries */

static void probe(struct proc *p)
{
	struct mig_proc *m = p->mig;
	struct mig_ctl c = {.home_node = link_self(),
			    .home_pid = (uint32_t)p->pid};
	spin_lock(&proc_lock);
	unsigned asked = m->node;
	spin_unlock(&proc_lock);
	int rc = ctl_call(asked, LINK_T_MIG_SIGNAL, MIG_C_SIGNAL, &c, NULL, 0,
			  NULL, NULL, CALL_TIMEOUT);
	spin_lock(&proc_lock);
	/* Not there: it may have just ended or moved on, its MIG_EXIT (tried
	 * while we are silent for its node) or MIG_WHERE on the way. Their time first: a process
	 * whose exit crossed the probe was reported killed (16 copies of
	 * `cpuhog 10` that had moved at 1 s, probed at 11 s, half of them). */
	uint64_t until = time_ns() + EXIT_GRACE;
	while (rc == -ESRCH && !m->exited && !m->lost && !m->coming_home &&
	       !m->reqs && m->node == asked &&
	       waitq_sleep_timed(&m->wq, &proc_lock, until) != -ETIMEDOUT)
		;
	/* A silent node or a reset session proves nothing: the peer watch
	 * gives the process up if its node stays down (node_lost). */
	if (rc == -ESRCH && !m->exited && !m->lost && !m->coming_home &&
	    !m->reqs && m->node == asked) {
		m->lost = true;
		printk(KERN_WARN "mig: pid %d (%s) is no longer on node %u\n",
		       p->pid, p->name, m->node);
	}
	spin_unlock(&proc_lock);
}

static __attribute__((noreturn)) void deputy_run(struct proc *p)
{
	struct mig_proc *m = p->mig;
	/* It serves its process's calls: with the kernel's threads, ahead of
	 * the CPU-bound processes here. */
	thread_boost(thread_current(), true);
	for (;;) {
		spin_lock(&proc_lock);
		int w = 0;
		while (!m->reqs && !m->exited && !m->lost && !m->coming_home &&
		       !p->user.sigpending && !m->answer_again && w == 0)
			w = waitq_sleep_intr(&m->wq, &proc_lock,
					     time_ns() + PROBE_IDLE);
		if (m->answer_again) {
			m->answer_again = false;
			spin_unlock(&proc_lock);
			/* Only this thread replaces or frees the answer. */
			link_send(m->answer_node, LINK_CHAN_RPC,
				  LINK_T_MIG_SYSRET, m->answer, m->answer_len);
			continue;
		}
		if (w == -ETIMEDOUT && !m->reqs && !m->exited && !m->lost &&
		    !m->coming_home && !p->user.sigpending) {
			spin_unlock(&proc_lock);
			probe(p);
			continue;
		}
		struct mig_req *r = NULL;
		bool end = m->exited || m->lost;
		if (!end && !m->coming_home && m->reqs) {
			r = m->reqs;
			m->reqs = r->next;
			if (!m->reqs)
				m->reqs_tail = NULL;
		}
		spin_unlock(&proc_lock);
		if (m->exited)
			proc_exit(m->exit_status);
		if (m->lost) {
			printk("mig: pid %d (%s) lost on node %u\n", p->pid,
			       p->name, m->node);
			count(&M.lost, 1);
			give_up_remote(m->node, p->pid);
			proc_exit(SIGKILL);
		}
		if (m->coming_home)
			deputy_home(p);
		forward_signals(p);
		if (r) {
			serve(p, r);
			kfree(r);
		}
	}
}

static int h_syscall(unsigned node, const void *req, size_t len, void **reply,
		     size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_SYSCALL, req, len, &c);
	if (rc < 0 || c.home_node != link_self()) {
		count(&M.bad, 1);
		return rc < 0 ? rc : -EINVAL;
	}
	struct mig_req *r = kzalloc(sizeof *r + c.tail_len);
	if (r) {
		r->node = node;
		r->nr = c.i[0];
		memcpy(r->a, c.u, sizeof r->a);
		r->sigmask = c.u[6];
		r->seq = c.u[7];
		r->in_addr = c.u[8];
		r->in_len = c.tail_len;
		memcpy(r->in, c.tail, c.tail_len);
		r->out_addr = c.u[9];
		r->out_len = c.u[10];
	}
	spin_lock(&proc_lock);
	struct proc *p = find_deputy((int)c.home_pid);
	uint64_t seq = c.u[7];
	if (p && r && !p->mig->exited && !p->mig->lost &&
	    seq >> 32 == p->mig->call_seq >> 32 && seq <= p->mig->call_seq) {
		/* A repeat (mig_syscall): served once; the answer again if
		 * it is this call's and ready, else it is on its way. */
		struct mig_proc *m = p->mig;
		if (m->answer && m->answer_seq == seq &&
		    m->answer_node == node) {
			m->answer_again = true;
			waitq_wakeup_all(&m->wq);
		}
		spin_unlock(&proc_lock);
		count(&M.repeats, 1);
		kfree(r);
		return 0;
	}
	if (p && r && !p->mig->exited && !p->mig->lost) {
		struct mig_proc *m = p->mig;
		m->call_seq = seq;
		m->node = node; /* a call from there: that is where it runs */
		p->sys.where_node = (int)node;
		if (m->reqs_tail)
			m->reqs_tail->next = r;
		else
			m->reqs = r;
		m->reqs_tail = r;
		waitq_wakeup_all(&m->wq);
		r = NULL;
	} else {
		p = NULL;
	}
	spin_unlock(&proc_lock);
	if (!p) {
		/* No deputy to serve it: the process is gone. */
		kfree(r);
		struct mig_ctl ret = {.home_node = c.home_node,
				      .home_pid = c.home_pid,
				      .i = {MIG_RET_GONE},
				      .u = {(uint64_t)-ESRCH, c.u[7]}};
		ctl_send(node, LINK_T_MIG_SYSRET, MIG_C_SYSRET, &ret);
	}
	return 0;
}

static int h_exit(unsigned node, const void *req, size_t len, void **reply,
		  size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_EXIT, req, len, &c);
	if (rc < 0 || c.home_node != link_self()) {
		count(&M.bad, 1);
		return rc < 0 ? rc : -EINVAL;
	}
	spin_lock(&proc_lock);
	struct proc *p = find_deputy((int)c.home_pid);
	if (p && !p->mig->exited) {
		p->mig->exit_status = c.i[0];
		p->mig->exited = true;
		waitq_wakeup_all(&p->mig->wq);
	}
	spin_unlock(&proc_lock);
	return p ? 0 : -ESRCH;
}

static int h_where(unsigned node, const void *req, size_t len, void **reply,
		   size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_WHERE, req, len, &c);
	if (rc < 0 || c.home_node != link_self()) {
		count(&M.bad, 1);
		return rc < 0 ? rc : -EINVAL;
	}
	spin_lock(&proc_lock);
	struct proc *p = find_deputy((int)c.home_pid);
	if (p) {
		p->mig->node = (unsigned)c.i[0];
		p->sys.where_node = c.i[0];
		waitq_wakeup_all(&p->mig->wq);
	}
	spin_unlock(&proc_lock);
	return p ? 0 : -ESRCH;
}

/* ------------------------------------------------------------ user memory */

/* The deputy's copy-in/copy-out: requests to the node whose call it
 * serves, in chunks of at most MIG_UCOPY_MAX bytes. */
static int ucopy(int op, uintptr_t addr, size_t len, const void *out, void **in,
		 size_t *in_len)
{
	struct proc *p = proc_current();
	struct mig_ctl c = {.home_node = link_self(),
			    .home_pid = (uint32_t)p->pid,
			    .i = {op, (int32_t)len},
			    .u = {addr}};
	count(&M.ucopies, 1);
	/* Its node silent but not given up (failures): the copy is asked
	 * again once it is heard, up to SILENT_MAX (the process waits in
	 * the call there; copying the same bytes twice is harmless). */
	uint64_t until = time_ns() + SILENT_MAX;
	int rc;
	for (;;) {
		rc = ctl_call(p->mig->req_node, LINK_T_MIG_UCOPY, MIG_C_UCOPY,
			      &c, out, op == MIG_UC_OUT ? len : 0, in, in_len,
			      CALL_TIMEOUT);
		if (!peer_gone(rc) || time_ns() >= until)
			break;
		spin_lock(&proc_lock);
		bool lost = p->mig->lost || p->mig->exited;
		spin_unlock(&proc_lock);
		if (lost)
			break;
		thread_sleep_ns(100 * MS);
	}
	if (peer_gone(rc)) {
		spin_lock(&proc_lock);
		p->mig->lost = true;
		spin_unlock(&proc_lock);
	}
	return rc;
}

static bool range_sane(uintptr_t addr, size_t len)
{
	return addr < VM_USER_TOP && len <= VM_USER_TOP - addr;
}

/* Is [addr, addr + len) inside [base, base + size)? */
static bool inside(uintptr_t addr, size_t len, uintptr_t base, size_t size)
{
	return addr >= base && len <= size && addr - base <= size - len;
}

/* Give up the out window: what it holds goes over now, and from here on
 * every write is a MIG_UCOPY (a write that would leave a gap, or a read of
 * bytes the window holds). */
static int window_flush(struct mig_proc *m)
{
	uint8_t *buf = m->out;
	size_t n = m->out_extent;
	m->out = NULL;
	m->out_extent = 0;
	int rc = n ? mig_user_out(m->out_addr, buf, n) : 0;
	kfree(buf);
	return rc;
}

/* Does [addr, addr + len) touch the filled part of the out window? */
static bool window_overlaps(const struct mig_proc *m, uintptr_t addr,
			    size_t len)
{
	return m->out && m->out_extent && addr < m->out_addr + m->out_extent &&
	       addr + len > m->out_addr;
}

bool mig_user_check(uintptr_t addr, size_t len, bool write)
{
	struct mig_proc *m = proc_current()->mig;
	if (!range_sane(addr, len))
		return false;
	/* The remote checked its eager buffers before it sent the call. */
	if (write ? m->out && inside(addr, len, m->out_addr, m->out_len)
		  : inside(addr, len, m->in_addr, m->in_len))
		return true;
	while (len) {
		size_t n = MIN(len, (size_t)MIG_UCOPY_MAX);
		if (ucopy(write ? MIG_UC_CHECKW : MIG_UC_CHECK, addr, n, NULL,
			  NULL, NULL))
			return false;
		addr += n;
		len -= n;
	}
	return true;
}

int mig_user_in(void *dst, uintptr_t src, size_t n)
{
	struct mig_proc *m = proc_current()->mig;
	if (!range_sane(src, n))
		return -EFAULT;
	if (window_overlaps(m, src, n) && window_flush(m))
		return -EFAULT;
	if (n && inside(src, n, m->in_addr, m->in_len)) {
		memcpy(dst, m->in + (src - m->in_addr), n);
		return 0;
	}
	char *d = dst;
	while (n) {
		size_t k = MIN(n, (size_t)MIG_UCOPY_MAX);
		void *buf;
		size_t got;
		if (ucopy(MIG_UC_IN, src, k, NULL, &buf, &got))
			return -EFAULT;
		if (got != k) {
			kfree(buf);
			return -EFAULT;
		}
		memcpy(d, buf, k);
		kfree(buf);
		d += k;
		src += k;
		n -= k;
	}
	return 0;
}

int mig_user_out(uintptr_t dst, const void *src, size_t n)
{
	struct mig_proc *m = proc_current()->mig;
	if (!range_sane(dst, n))
		return -EFAULT;
	if (m->out && n && inside(dst, n, m->out_addr, m->out_len)) {
		/* Into the window, if it keeps it one run from its start. */
		size_t at = dst - m->out_addr;
		if (at <= m->out_extent) {
			memcpy(m->out + at, src, n);
			m->out_extent = MAX(m->out_extent, at + n);
			return 0;
		}
	}
	if (m->out && window_flush(m))
		return -EFAULT;
	const char *s = src;
	while (n) {
		size_t k = MIN(n, (size_t)MIG_UCOPY_MAX);
		if (ucopy(MIG_UC_OUT, dst, k, s, NULL, NULL))
			return -EFAULT;
		s += k;
		dst += k;
		n -= k;
	}
	return 0;
}

long mig_user_str(char *dst, uintptr_t src, size_t n)
{
	struct mig_proc *m = proc_current()->mig;
	if (src >= VM_USER_TOP || n == 0 || n > MIG_UCOPY_MAX)
		return -EFAULT;
	if (window_overlaps(m, src, 1) && window_flush(m))
		return -EFAULT;
	if (inside(src, 1, m->in_addr, m->in_len)) {
		/* A string the remote sent with the call (NUL included). */
		size_t off = src - m->in_addr, room = MIN(m->in_len - off, n);
		for (size_t k = 0; k < room; k++) {
			if (m->in[off + k] == 0) {
				memcpy(dst, m->in + off, k + 1);
				return (long)k;
			}
		}
	}
	n = MIN(n, (size_t)(VM_USER_TOP - src));
	void *buf;
	size_t got;
	int rc = ucopy(MIG_UC_STR, src, n, NULL, &buf, &got);
	if (rc)
		return rc == -ENAMETOOLONG ? rc : -EFAULT;
	if (got >= n) {
		kfree(buf);
		return -ENAMETOOLONG;
	}
	memcpy(dst, buf, got);
	dst[got] = 0;
	kfree(buf);
	return (long)got;
}

/* The remote's side: the deputy reads or writes its memory while its
 * thread waits for the call's result. */
static int h_ucopy(unsigned node, const void *req, size_t len, void **reply,
		   size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_UCOPY, req, len, &c);
	if (rc < 0 || c.home_node != node) {
		count(&M.bad, 1);
		return rc < 0 ? rc : -EINVAL;
	}
	spin_lock(&proc_lock);
	struct proc *p = find_remote(node, (int)c.home_pid);
	if (p)
		hold(p);
	spin_unlock(&proc_lock);
	if (!p)
		return -ESRCH;
	struct vm_space *s = p->user.space;
	uintptr_t addr = c.u[0];
	size_t n = (size_t)c.i[1];
	void *buf = NULL;
	switch (c.i[0]) {
	case MIG_UC_IN:
		buf = kmalloc(n);
		rc = !buf ? -ENOMEM : copy_from_user(s, buf, addr, n);
		*reply_len = n;
		break;
	case MIG_UC_OUT:
		rc = copy_to_user(s, addr, c.tail, n);
		break;
	case MIG_UC_CHECK:
	case MIG_UC_CHECKW:
		rc = vm_range_mapped(s, addr, n) ? 0 : -EFAULT;
		for (uintptr_t a = addr; !rc && a < addr + n;) {
			struct vm_region *r = vm_region_find(s, a);
			unsigned need = c.i[0] == MIG_UC_CHECKW ? VM_PROT_WRITE
								: VM_PROT_READ;
			if (!r || !(r->prot & need))
				rc = -EFAULT;
			else
				a = r->end;
		}
		break;
	case MIG_UC_STR: {
		buf = kmalloc(n);
		long k = buf ? strncpy_from_user(s, buf, addr, n) : -ENOMEM;
		rc = k < 0 ? (int)k : 0;
		*reply_len = k < 0 ? 0 : (size_t)k;
		break;
	}
	}
	unhold(p);
	if (rc < 0) {
		kfree(buf);
		*reply_len = 0;
		return rc;
	}
	*reply = buf;
	if (!buf)
		*reply_len = 0;
	return 0;
}

/* ------------------------------------------------------------ the remote */

/* Come home, then make the call there (fork, vfork, clone, execve): the
 * registers go home pointing at the `syscall` instruction again, with the
 * call's number in rax. Returns only if it could not move. */
static long come_home_for(unsigned long nr)
{
	struct proc *p = proc_current();
	struct trapframe *tf =
		arch_user_frame(thread_stack_top(thread_current()));
	struct trapframe again = *tf;
	again.rip -= 2;
	return mig_go(p, &again, -1, nr, NULL);
}

/*
 * The calls whose buffers travel with them (design §4): the argument that
 * holds the address of bytes the call reads (a path: a string; write's
 * data: with its length argument) and of a buffer it fills (with its
 * length argument, or a fixed size). -1: none.
 */
#define STAT_SIZE 144
static const struct eager {
	int16_t nr;
	int8_t in, in_len; /* in_len -1 with in >= 0: a string */
	int8_t out, out_len;
	uint16_t out_size; /* out_len -1: this many bytes */
} eager_calls[] = {
	{0, -1, -1, 1, 2, 0}, /* read */
	{1, 1, 2, -1, -1, 0}, /* write */
	{2, 0, -1, -1, -1, 0}, /* open */
	{4, 0, -1, 1, -1, STAT_SIZE}, /* stat */
	{5, -1, -1, 1, -1, STAT_SIZE}, /* fstat */
	{6, 0, -1, 1, -1, STAT_SIZE}, /* lstat */
	{17, -1, -1, 1, 2, 0}, /* pread64 */
	{18, 1, 2, -1, -1, 0}, /* pwrite64 */
	{21, 0, -1, -1, -1, 0}, /* access */
	{79, -1, -1, 0, 1, 0}, /* getcwd */
	{80, 0, -1, -1, -1, 0}, /* chdir */
	{83, 0, -1, -1, -1, 0}, /* mkdir */
	{84, 0, -1, -1, -1, 0}, /* rmdir */
	{87, 0, -1, -1, -1, 0}, /* unlink */
	{217, -1, -1, 1, 2, 0}, /* getdents64 */
	{257, 1, -1, -1, -1, 0}, /* openat */
	{262, 1, -1, 2, -1, STAT_SIZE}, /* newfstatat */
};

/* Fill c's eager words (and *in, a kmalloc'ed copy of the in bytes) for
 * call nr: only buffers that fit MIG_EAGER_MAX and that this process may
 * read or write; anything else is left to MIG_UCOPY. */
static void eager_buffers(unsigned long nr, const uint64_t a[6],
			  struct mig_ctl *c, void **in, size_t *in_len)
{
	const struct eager *e = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(eager_calls); i++)
		if (eager_calls[i].nr == (int)nr)
			e = &eager_calls[i];
	if (!e)
		return;
	if (e->in >= 0) {
		uintptr_t addr = a[e->in];
		size_t len = e->in_len >= 0 ? a[e->in_len] : 0;
		uint8_t *buf = NULL;
		if (e->in_len < 0) { /* a path: up to its NUL */
			char *path;
			if (user_path(addr, &path) == 0) {
				len = strlen(path) + 1;
				buf = (uint8_t *)path;
			}
		} else if (len && len <= MIG_EAGER_MAX &&
			   (buf = kmalloc(len)) && user_in(buf, addr, len)) {
			kfree(buf);
			buf = NULL;
		}
		if (buf && len <= MIG_EAGER_MAX) {
			c->i[1] |= MIG_SC_IN;
			c->u[8] = addr;
			*in = buf;
			*in_len = len;
		} else {
			kfree(buf);
		}
	}
	if (e->out >= 0) {
		uintptr_t addr = a[e->out];
		size_t len = e->out_len >= 0 ? a[e->out_len] : e->out_size;
		if (len && len <= MIG_EAGER_MAX &&
		    user_range_ok(addr, len, true)) {
			c->i[1] |= MIG_SC_OUT;
			c->u[9] = addr;
			c->u[10] = len;
		}
	}
}

long mig_syscall(unsigned long nr, const uint64_t a[6])
{
	struct proc *p = proc_current();
	struct mig_proc *m = p->mig;
	switch (nr) {
	case 60: /* exit, exit_group: end here (proc_exit tells home) */
	case 231:
		return syscall_run_local(nr, a);
	case 56: /* clone, fork, vfork, execve */
	case 57:
	case 58:
	case 59: {
		long rc = come_home_for(nr);
		return rc == -EBUSY || rc == -EINVAL ? -ENOSYS : rc;
	}
	}
	struct mig_ctl c = {.home_node = m->node,
			    .home_pid = (uint32_t)m->home_pid,
			    .i = {(int32_t)nr}};
	memcpy(c.u, a, 6 * sizeof *a);
	void *in = NULL;
	size_t in_len = 0;
	eager_buffers(nr, a, &c, &in, &in_len);
	spin_lock(&proc_lock);
	c.u[6] = p->user.sigmask;
	c.u[7] = ++m->seq;
	m->ret_ready = false;
	spin_unlock(&proc_lock);
	size_t len;
	uint8_t *buf = ctl_build(MIG_C_SYSCALL, &c, in, in_len, &len);
	kfree(in);
	if (!buf)
		return -ENOMEM;
	unsigned home = m->node;
	bool up;
	uint64_t resets = link_node_resets(home, &up);
	int rc = link_send(home, LINK_CHAN_RPC, LINK_T_MIG_SYSCALL, buf, len);
	/* Until the answer comes or home is given up (node_lost): a session
	 * with home cleared since the call went (home fell silent for us,
	 * or we for it) may have dropped the call or its answer, so once
	 * home is up it goes again, with the same number; the deputy
	 * serves it once and sends a repeat the answer it kept. */
	for (;;) {
		spin_lock(&proc_lock);
		uint64_t look = time_ns() + RESEND_LOOK;
		while (!m->ret_ready && !m->lost &&
		       waitq_sleep_timed(&m->wq, &proc_lock, look) !=
			       -ETIMEDOUT)
			;
		bool done = m->ret_ready || m->lost;
		spin_unlock(&proc_lock);
		if (done || (rc && !peer_gone(rc) && rc != -ENOBUFS))
			break; /* ENOBUFS: its queue is full, for now */
		uint64_t now_resets = link_node_resets(home, &up);
		if (!up || (!rc && now_resets == resets))
			continue;
		resets = now_resets;
		rc = link_send(home, LINK_CHAN_RPC, LINK_T_MIG_SYSCALL, buf,
			       len);
		count(&M.resent, 1);
	}
	kfree(buf);
	spin_lock(&proc_lock);
	bool gone = !m->ret_ready || m->lost || m->ret_gone;
	long res = m->ret;
	void *data = m->ret_data;
	size_t data_len = m->ret_len;
	m->ret_data = NULL;
	m->ret_len = 0;
	spin_unlock(&proc_lock);
	/* The answer's bytes for the out window (checked writable before
	 * the call; nothing of the process ran since). */
	if (data && !gone && data_len <= c.u[10])
		user_out(c.u[9], data, data_len);
	kfree(data);
	if (nr == 13 && !gone && res == 0) /* rt_sigaction: the handlers run
					      here: keep the table too */
		syscall_run_local(nr, a);
	if (gone) {
		/* No home to answer for it: the process cannot go on. */
		proc_signal(p, SIGKILL);
		return -EINTR;
	}
	return res;
}

static int h_sysret(unsigned node, const void *req, size_t len, void **reply,
		    size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_SYSRET, req, len, &c);
	if (rc < 0 || c.home_node != node) {
		count(&M.bad, 1);
		return rc < 0 ? rc : -EINVAL;
	}
	void *data = NULL;
	if (c.tail_len && !(data = kmalloc(c.tail_len)))
		c.i[0] |=
			MIG_RET_GONE; /* its answer is lost: it cannot go on */
	if (data)
		memcpy(data, c.tail, c.tail_len);
	spin_lock(&proc_lock);
	struct proc *p = find_remote(node, (int)c.home_pid);
	if (p && c.u[1] == p->mig->seq && !p->mig->ret_ready) {
		p->mig->ret = (long)c.u[0];
		p->mig->ret_gone = c.i[0] & MIG_RET_GONE;
		p->mig->ret_data = data;
		p->mig->ret_len = c.tail_len;
		p->mig->ret_ready = true;
		waitq_wakeup_all(&p->mig->wq);
		data = NULL;
	}
	spin_unlock(&proc_lock);
	kfree(data);
	return 0;
}

static int h_signal(unsigned node, const void *req, size_t len, void **reply,
		    size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_SIGNAL, req, len, &c);
	if (rc < 0 || c.home_node != node) {
		count(&M.bad, 1);
		return rc < 0 ? rc : -EINVAL;
	}
	struct siginfo_k si = {.code = c.i[1],
			       .pid = c.i[2],
			       .status = (int)c.u[0],
			       .addr = c.u[1]};
	spin_lock(&proc_lock);
	struct proc *p = find_remote(node, (int)c.home_pid);
	if (p && c.i[0])
		proc_signal_info_locked(p, c.i[0], &si);
	spin_unlock(&proc_lock);
	return p ? 0 : -ESRCH;
}

static int h_goto(unsigned node, const void *req, size_t len, void **reply,
		  size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_GOTO, req, len, &c);
	if (rc < 0 || c.home_node != node) {
		count(&M.bad, 1);
		return rc < 0 ? rc : -EINVAL;
	}
	spin_lock(&proc_lock);
	struct proc *p = find_remote(node, (int)c.home_pid);
	int pid = p ? p->pid : 0;
	spin_unlock(&proc_lock);
	return p ? mig_request_pid(pid, c.i[0]) : -ESRCH;
}

/* ------------------------------------------------------------ exit */

void mig_exit(struct proc *p, int wstatus)
{
	spin_lock(&proc_lock);
	struct mig_goreq *g = p->goreq;
	p->goreq = NULL;
	p->exiting = true; /* no new requests */
	goreq_done(g, -ESRCH);
	struct mig_proc *m = p->mig;
	if (!m) {
		spin_unlock(&proc_lock);
		return;
	}
	bool tell = m->role == MIG_REMOTE && !m->gone && !m->lost;
	m->exited = true;
	spin_unlock(&proc_lock);
	if (tell) {
		struct mig_ctl c = {.home_node = m->node,
				    .home_pid = (uint32_t)m->home_pid,
				    .i = {wstatus & 0xffff},
				    .u = {proc_cpu_ns(p)}};
		/* The parent waits for this: while home is silent but not
		 * given up (migd asks the others, see failures) it is tried
		 * again, for up to SILENT_MAX. */
		uint64_t until = time_ns() + SILENT_MAX;
		for (;;) {
			int rc = ctl_call(m->node, LINK_T_MIG_EXIT, MIG_C_EXIT,
					  &c, NULL, 0, NULL, NULL,
					  CALL_TIMEOUT);
			if (!peer_gone(rc) || m->lost || time_ns() >= until)
				break;
			thread_sleep_ns(100 * MS);
		}
	}
	spin_lock(&proc_lock);
	while (m->users)
		waitq_sleep(&m->wq, &proc_lock);
	struct mig_req *reqs = m->reqs;
	m->reqs = m->reqs_tail = NULL;
	void *ret_data = m->ret_data; /* an answer it never took */
	m->ret_data = NULL;
	spin_unlock(&proc_lock);
	kfree(ret_data);
	if (m->role == MIG_DEPUTY) {
		p->sys.clear_tid = 0; /* the remote cleared its own */
		backings_release(m->backings, m->nbackings);
		m->backings = NULL;
		m->nbackings = 0;
		while (reqs) {
			struct mig_req *next = reqs->next;
			kfree(reqs);
			reqs = next;
		}
		if (m->coming_home) {
			in_free(m->coming_home);
			m->coming_home = NULL;
		}
		/* Its exit is the deputy's: proc_exit reports it to the
		 * parent; the deputy's CPU time is not the process's. */
	}
	/* p->mig stays (flags read by lookups) until proc_free. */
}

/* ------------------------------------------------------------ requests */

int mig_request_pid(int pid, int node)
{
	return mig_request(pid, node, BALANCE_MANUAL);
}

int mig_request(int pid, int node, int reason)
{
	struct mig_goreq g = {.node = node, .result = 1, .reason = reason};
	waitq_init(&g.wq);
	spin_lock(&proc_lock);
	struct proc *p = proc_find(pid);
	int rc = 0;
	if (!p || p->sys.state == P_ZOMBIE || p->exiting)
		rc = -ESRCH;
	else if (!proc_may_control(proc_current(), p))
		rc = -EPERM;
	else if (p->goreq)
		rc = -EAGAIN;
	else if (mig_is_deputy(p->mig))
		rc = 2; /* it runs elsewhere: ask there */
	else if (proc_cantmove(p))
		rc = -EBUSY;
	if (rc == 2) {
		unsigned where = p->mig->node;
		spin_unlock(&proc_lock);
		if (node >= 0 && (unsigned)node == where)
			return 0;
		struct mig_ctl c = {.home_node = link_self(),
				    .home_pid = (uint32_t)pid,
				    .i = {node}};
		return ctl_call(where, LINK_T_MIG_GOTO, MIG_C_GOTO, &c, NULL, 0,
				NULL, NULL, 3 * STEP_TIMEOUT);
	}
	if (rc) {
		spin_unlock(&proc_lock);
		return rc;
	}
	p->goreq = &g;
	/* It moves at its next return to user mode: a running process at
	 * the next tick, a sleeping one when its call ends (a signal-free
	 * wake: the call goes on normally). Boosted until then and during
	 * the move: behind seven CPU-bound processes, each step of the move
	 * would wait a round of their time slices. */
	if (p->thread) {
		thread_boost(p->thread, true);
		thread_interrupt(p->thread);
	}
	uint64_t deadline = time_ns() + 3 * STEP_TIMEOUT;
	int w = 0;
	while (g.result == 1 && w != -ETIMEDOUT)
		w = waitq_sleep_timed(&g.wq, &proc_lock, deadline);
	if (g.result == 1) {
		/* Gave up: withdraw the request if it is still ours. */
		struct proc *q = proc_find(pid);
		if (q && q->goreq == &g) {
			q->goreq = NULL;
			if (q->thread)
				thread_boost(q->thread, false);
		}
		g.result = -ETIMEDOUT;
	}
	rc = g.result;
	spin_unlock(&proc_lock);
	return rc;
}

long sys_migrate(const uint64_t a[6])
{
	int pid = (int)a[0], node = (int)a[1];
	struct proc *self = proc_current();
	if (node < -1 || node >= LINK_MAX_NODES)
		return -EINVAL;
	if (!link_enabled())
		return -EINVAL;
	bool remote = self->mig && self->mig->role == MIG_REMOTE;
	if (pid == 0 || (!remote && pid == self->pid) ||
	    (remote && pid == self->mig->home_pid)) {
		/* Itself: move now; it finds 0 in rax on the other side. */
		if (mig_is_deputy(self->mig))
			return -EINVAL;
		struct trapframe *tf =
			arch_user_frame(thread_stack_top(thread_current()));
		return mig_go(self, tf, node, 0, NULL);
	}
	if (remote) /* pids are the home's: ask there */
		return mig_syscall(501, a);
	return mig_request_pid(pid, node);
}

/* ------------------------------------------------------------ failures */

/* A node the Linker sees down is judged after FLAP_GRACE: if it came back
 * with the same epoch meanwhile (a partition healed: on busy TCG nodes
 * whose guest clocks drift apart, a peer can miss three hellos and be
 * heard again a moment later), nothing is lost. Otherwise up to
 * HEARS_ASK other nodes we hear are asked whether they hear it
 * (MIG_C_HEARS): if one does, it is alive and only our view of it is off
 * (a guest clock catching up with the host's runs fast enough to hear a
 * quiet peer's hellos seconds apart: one copy in three of `spawn -n 4
 * cpuhog 20` on 16 TCG nodes was killed by its remote node while its home
 * still saw it), and it is judged again FLAP_GRACE later, up to
 * SILENT_MAX. So is it when we hear no node at all but other nodes
 * besides it are silent too: the fault is ours (a guest clock catching
 * up runs past every peer's hellos at once; a copy of `spawn -n 8 cpuhog
 * 20` was killed so with nobody left to ask). If the nodes asked do not
 * hear it, or it was the only other node, it is lost: the
 * processes running there for us end as killed (their deputies) and
 * those running here for it are killed. Back with a new epoch, it
 * rebooted: lost at once. Heard again after we gave up processes there
 * (however long the silence, which it may not have seen), it is told to
 * end them (MIG_C_SIGNAL, SIGKILL), so none runs on unseen. */
#define HEARS_ASK 3
#define HEARS_TIMEOUT SEC

static void peer_watch(unsigned node, bool up, uint64_t epoch)
{
	/* Under the Linker's lock: only note it and wake migd. */
	uint64_t bit = 1ull << (node % 64);
	spin_lock(&M.lock);
	if (!up) {
		if (!(M.flapping & bit)) {
			M.flapping |= bit;
			M.down_epoch[node % 64] = epoch;
			M.down_ns[node % 64] = time_ns();
			M.check_ns[node % 64] =
				M.down_ns[node % 64] + FLAP_GRACE;
		}
	} else {
		if (M.flapping & bit) {
			M.flapping &= ~bit;
			if (epoch != M.down_epoch[node % 64])
				M.down |= bit;
		}
		M.tell |= bit; /* if we gave up processes there */
	}
	spin_unlock(&M.lock);
	waitq_wakeup_all(&M.migd_wq);
}

static int h_hears(unsigned node, const void *req, size_t len, void **reply,
		   size_t *reply_len)
{
	struct mig_ctl c;
	int rc = mig_ctl_decode(MIG_C_HEARS, req, len, &c);
	if (rc < 0 || c.home_node != node) {
		count(&M.bad, 1);
		return rc < 0 ? rc : -EINVAL;
	}
	return link_node_up((unsigned)c.i[0]) ? 0 : -EHOSTDOWN;
}

/* Is silent `node` alive for all we know? True when one of up to
 * HEARS_ASK other nodes that we hear hears it, or when we hear no node
 * at all while others besides it are silent too (M.flapping): then this
 * node is the one cut off, or its clock is catching up with the host's
 * (every peer's hellos arrive seconds apart at once), and asking is no
 * use. False when the nodes asked do not hear it, or it is the only
 * other node we ever heard (a 2-node cluster: nobody to ask). */
static bool heard_elsewhere(unsigned node)
{
	unsigned self = link_self(), asked = 0;
	unsigned start = (unsigned)(time_ns() / 1000) % LINK_MAX_NODES;
	for (unsigned k = 0; k < LINK_MAX_NODES && asked < HEARS_ASK; k++) {
		unsigned n = (start + k) % LINK_MAX_NODES;
		if (n == self || n == node || !link_node_up(n))
			continue;
		asked++;
		struct mig_ctl c = {.home_node = self, .i = {(int32_t)node}};
		if (ctl_call(n, LINK_T_MIG_HEARS, MIG_C_HEARS, &c, NULL, 0,
			     NULL, NULL, HEARS_TIMEOUT) == 0) {
			printk(KERN_DEBUG "mig: node %u silent here, heard by "
					  "node %u\n",
			       node, n);
			return true;
		}
	}
	if (asked)
		return false;
	spin_lock(&M.lock);
	bool others = M.flapping & ~(1ull << (node % 64));
	spin_unlock(&M.lock);
	if (others)
		printk(KERN_DEBUG "mig: node %u silent here, and every other "
				  "node: waiting\n",
		       node);
	return others;
}

/* Its processes are lost: transfers from it dropped, the deputies of
 * those running there for us end them as killed, and those running here
 * for it are killed. */
static void node_lost(unsigned node)
{
	spin_lock(&M.lock);
	for (struct mig_in *in = M.ins; in; in = in->next)
		if (in->from == node)
			in->dead = true;
	spin_unlock(&M.lock);
	ins_purge();
	spin_lock(&proc_lock);
	for (struct proc *p = proc_first(); p; p = p->next) {
		struct mig_proc *m = p->mig;
		if (!m || m->node != node || p->sys.state == P_ZOMBIE ||
		    m->lost)
			continue;
		m->lost = true;
		waitq_wakeup_all(&m->wq);
		if (m->role == MIG_REMOTE) {
			struct siginfo_k si = {.code = 0x80};
			proc_signal_info_locked(p, SIGKILL, &si);
		}
	}
	spin_unlock(&proc_lock);
}

/* A deputy gives its process up (lost): remember it, and have migd tell
 * its node to end it there now (if it can be reached) or when it is heard
 * again. */
static void give_up_remote(unsigned node, int pid)
{
	uint64_t now = time_ns();
	spin_lock(&M.lock);
	unsigned slot = 0;
	for (unsigned i = 0; i < GIVEN_UP_MAX; i++) {
		if (!M.given_up[i].pid) {
			slot = i;
			break;
		}
		if (M.given_up[i].ns < M.given_up[slot].ns)
			slot = i; /* full: the oldest goes */
	}
	M.given_up[slot].node = node;
	M.given_up[slot].pid = pid;
	M.given_up[slot].ns = now;
	M.tell |= 1ull << (node % 64);
	spin_unlock(&M.lock);
	waitq_wakeup_all(&M.migd_wq);
}

/* End on `node` the processes given up there (a rebooted node no longer
 * has them: ESRCH). What cannot be told now (the node is silent) is
 * told when it is heard again (peer_watch). */
static void tell_given_up(unsigned node)
{
	for (unsigned i = 0; i < GIVEN_UP_MAX; i++) {
		spin_lock(&M.lock);
		int pid = M.given_up[i].node == node ? M.given_up[i].pid : 0;
		spin_unlock(&M.lock);
		if (!pid)
			continue;
		struct mig_ctl c = {.home_node = link_self(),
				    .home_pid = (uint32_t)pid,
				    .i = {SIGKILL, 0x80, 0}};
		int rc = ctl_call(node, LINK_T_MIG_SIGNAL, MIG_C_SIGNAL, &c,
				  NULL, 0, NULL, NULL, CALL_TIMEOUT);
		if (peer_gone(rc))
			return;
		spin_lock(&M.lock);
		if (M.given_up[i].pid == pid && M.given_up[i].node == node)
			M.given_up[i].pid = 0;
		spin_unlock(&M.lock);
		if (rc == 0)
			printk(KERN_WARN "mig: pid %d, given up, ended on node "
					 "%u\n",
			       pid, node);
	}
}

static void migd(void *arg)
{
	for (;;) {
		spin_lock(&M.lock);
		for (;;) {
			/* Silent nodes whose grace is over are judged. */
			uint64_t now = time_ns(), wake = now + 5 * SEC;
			for (unsigned n = 0; n < 64; n++) {
				if (!(M.flapping >> n & 1))
					continue;
				if (now >= M.check_ns[n])
					M.due |= 1ull << n;
				else if (M.check_ns[n] < wake)
					wake = M.check_ns[n];
			}
			if (M.down || M.due || M.tell)
				break;
			waitq_sleep_timed(&M.migd_wq, &M.lock, wake);
		}
		uint64_t due = M.due;
		M.due = 0;
		spin_unlock(&M.lock);
		for (unsigned n = 0; n < 64; n++) {
			if (!(due >> n & 1))
				continue;
			bool alive = time_ns() - M.down_ns[n] < SILENT_MAX &&
				     heard_elsewhere(n);
			uint64_t bit = 1ull << n;
			spin_lock(&M.lock);
			if (M.flapping & bit) { /* not back meanwhile */
				if (alive) {
					M.check_ns[n] = time_ns() + FLAP_GRACE;
				} else {
					M.flapping &= ~bit;
					M.down |= bit;
				}
			}
			spin_unlock(&M.lock);
		}
		spin_lock(&M.lock);
		uint64_t down = M.down, tell = M.tell;
		M.down = M.tell = 0;
		spin_unlock(&M.lock);
		for (unsigned n = 0; n < 64; n++) {
			if (down >> n & 1)
				node_lost(n);
			if (tell >> n & 1)
				tell_given_up(n);
		}
		ins_purge();
	}
}

/* ------------------------------------------------------------ /proc */

static int gen_migrations(char *buf, size_t size, void *arg, uint64_t key)
{
	spin_lock(&M.lock);
	int n = snprintf(
		buf, size,
		"out %lu\nin %lu\nout_bytes %lu\nin_bytes %lu\n"
		"out_ms_total %lu\nlast_total_us %lu\nlast_commit_us %lu\n"
		"failed %lu\npages_fetched %lu\ncalls_served %lu\n"
		"ucopies %lu\nlost %lu\nbad_messages %lu\ncalls_resent %lu\n"
		"calls_repeated %lu\n",
		(unsigned long)M.out, (unsigned long)M.in,
		(unsigned long)M.out_bytes, (unsigned long)M.in_bytes,
		(unsigned long)(M.out_ns / MS),
		(unsigned long)(M.last_total_ns / 1000),
		(unsigned long)(M.last_commit_ns / 1000),
		(unsigned long)M.failed, (unsigned long)M.fetched,
		(unsigned long)M.calls, (unsigned long)M.ucopies,
		(unsigned long)M.lost, (unsigned long)M.bad,
		(unsigned long)M.resent, (unsigned long)M.repeats);
	spin_unlock(&M.lock);
	return n;
}

void mig_init(void)
{
	waitq_init(&M.migd_wq);
	waitq_init(&M.in_wq);
	procfs_register("cluster/migrations", gen_migrations, NULL);
	if (!link_enabled())
		return;
	link_register(LINK_T_MIG_BEGIN, h_begin);
	link_register(LINK_T_MIG_PAGES, h_pages);
	link_register(LINK_T_MIG_COMMIT, h_commit);
	link_register(LINK_T_MIG_SYSCALL, h_syscall);
	link_register(LINK_T_MIG_SYSRET, h_sysret);
	link_register(LINK_T_MIG_UCOPY, h_ucopy);
	link_register(LINK_T_MIG_PAGE, h_page);
	link_register_quick(LINK_T_MIG_SIGNAL, h_signal);
	link_register_quick(LINK_T_MIG_EXIT, h_exit);
	link_register_quick(LINK_T_MIG_WHERE, h_where);
	link_register_quick(LINK_T_MIG_HEARS, h_hears);
	link_register(LINK_T_MIG_GOTO, h_goto);
	link_set_peer_watch(peer_watch);
	M.migd = thread_create("migd", migd, NULL);
}
