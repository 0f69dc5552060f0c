/*
 * proc_procfs.c — the per-process files of /proc (issue 4):
 *
 *   /proc/<pid>/stat     one line in Linux's proc(5) format (fields 1-24:
 *                        pid (comm) state ppid pgrp session tty tpgid
 *                        flags minflt cminflt majflt cmajflt utime stime
 *                        cutime cstime priority nice threads itreal
 *                        starttime vsize rss), times in 1/100 s
 *   /proc/<pid>/status   "Key:\tvalue" lines: Name, State, Pid, PPid,
 *                        Pgid, Sid, Node (where it runs), Home (its home
 *                        node), HomePid (its pid there: a migrated
 *                        process's cluster-wide name, with Home), VmSize,
 *                        VmRSS, Threads, SigPnd, SigBlk,
 *                        SigIgn, SigCgt, CpuTime (seconds), Load (the
 *                        balancer's figure for it here: its share of
 *                        the last second's ticks running or ready, 100 =
 *                        always; `-` where it does not run here)
 *   /proc/<pid>/cmdline  argv, NUL-separated
 *   /proc/<pid>/maps     "start-end perms offset 00:00 0 [what]" per region
 *   /proc/<pid>/lock     "0\n" or "1\n"; writable: "0" or "1" (an optional
 *                        newline), anything else -EINVAL. 1 = the process
 *                        is never moved automatically (issue 7)
 *   /proc/<pid>/where    "N\n": the node its user context runs on
 *   /proc/<pid>/cantmove why it cannot migrate ("init\n", ...), or empty
 *                        when it can (proc_cantmove, kern/proc.c)
 *   /proc/<pid>/goto     empty; writing "N" or "home" migrates it there
 *                        and the write returns the outcome (mosix/mig.c)
 *   /proc/self           a symlink to the reader's own directory
 *
 * Every file is a snapshot taken at open (procfs); writes follow procfs's
 * rules (one whole value at offset 0). The generators and write handlers
 * reach another process's fields under proc_lock, so they never sleep.
 */
#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "mosix/balance.h"
#include "mosix/mig.h"
#include "vm/vm.h"

#define HZ_USER 100

/* The console's foreground process group (fs/: the tty), -1 without one;
 * this default serves until the tty provides it. */
__attribute__((weak)) int tty_fg_pgrp(void)
{
	return -1;
}

static char state_char(const struct proc *p)
{
	switch (p->sys.state) {
	case P_ZOMBIE:
		return 'Z';
	case P_STOPPED:
		return 'T';
	default:
		return thread_is_runnable(p->thread) ? 'R'
						     : 'S'; /* running too */
	}
}

static const char *state_name(char c)
{
	switch (c) {
	case 'R':
		return "R (running)";
	case 'T':
		return "T (stopped)";
	case 'Z':
		return "Z (zombie)";
	default:
		return "S (sleeping)";
	}
}

static uint64_t vsize(const struct proc *p)
{
	uint64_t n = 0;
	if (p->user.space)
		for (struct vm_region *r = p->user.space->regions; r;
		     r = r->next)
			n += r->end - r->start;
	return n;
}

static uint64_t rss_pages(const struct proc *p)
{
	return p->user.space ? p->user.space->pages : 0;
}

static uint64_t ticks(uint64_t ns)
{
	return ns / (1000000000ull / HZ_USER);
}

/* fmt(p) for the process named by key, under proc_lock: -ENOENT when
 * it is gone. */
static int with_proc(uint64_t key, int (*fmt)(struct proc *, char *, size_t),
		     char *buf, size_t size)
{
	spin_lock(&proc_lock);
	struct proc *p = proc_find((int)key);
	int rc = p ? fmt(p, buf, size) : -ENOENT;
	spin_unlock(&proc_lock);
	return rc;
}

static int fmt_stat(struct proc *p, char *buf, size_t size)
{
	int ppid = p->sys.parent ? p->sys.parent->pid : 0;
	return snprintf(buf, size,
			"%d (%s) %c %d %d %d %d %d %u %lu %lu %lu %lu %lu %lu "
			"%lu %lu %d %d %d %d %lu %lu %lu\n",
			p->pid, p->name, state_char(p), ppid, p->sys.pgid,
			p->sys.sid, 0x440 /* ttyS0 */, tty_fg_pgrp(), 0u,
			(unsigned long)(p->user.space ? p->user.space->faults
						      : 0),
			0ul, 0ul, 0ul, (unsigned long)ticks(proc_cpu_ns(p)),
			0ul, (unsigned long)ticks(p->sys.child_cpu_ns), 0ul, 20,
			0, 1, 0, (unsigned long)ticks(p->sys.start_ns),
			(unsigned long)vsize(p), (unsigned long)rss_pages(p));
}

static int fmt_status(struct proc *p, char *buf, size_t size)
{
	uint64_t ign = 0, cgt = 0;
	for (int i = 0; i < NSIG; i++) {
		if (p->sys.action[i].handler == 1)
			ign |= 1ull << i;
		else if (p->sys.action[i].handler > 1)
			cgt |= 1ull << i;
	}
	uint64_t cpu = proc_cpu_ns(p);
	bool remote = p->mig && p->mig->role == MIG_REMOTE;
	char load[12] = "-";
	if (p->thread && p->user.space && !mig_is_deputy(p->mig) &&
	    p->sys.state != P_ZOMBIE)
		snprintf(load, sizeof load, "%u", balance_proc_load(p));
	return snprintf(
		buf, size,
		"Name:\t%s\nState:\t%s\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\n"
		"Pgid:\t%d\nSid:\t%d\nNode:\t%d\nHome:\t%d\nHomePid:\t%d\n"
		"VmSize:\t%lu kB\nVmRSS:\t%lu kB\nThreads:\t1\n"
		"SigPnd:\t%016lx\nSigBlk:\t%016lx\nSigIgn:\t%016lx\n"
		"SigCgt:\t%016lx\nCpuTime:\t%lu.%03lu\nLoad:\t%s\n",
		p->name, state_name(state_char(p)), p->pid, p->pid,
		p->sys.parent ? p->sys.parent->pid : 0, p->sys.pgid, p->sys.sid,
		p->sys.where_node, remote ? (int)p->mig->node : kconfig.node,
		remote ? p->mig->home_pid : p->pid,
		(unsigned long)(vsize(p) / 1024),
		(unsigned long)(rss_pages(p) * 4),
		(unsigned long)p->user.sigpending,
		(unsigned long)p->user.sigmask, (unsigned long)ign,
		(unsigned long)cgt, (unsigned long)(cpu / 1000000000ull),
		(unsigned long)(cpu % 1000000000ull / 1000000), load);
}

static int fmt_cmdline(struct proc *p, char *buf, size_t size)
{
	size_t n = p->sys.cmdline ? p->sys.cmdline_len : 0;
	memcpy(buf, p->sys.cmdline, MIN(n, size));
	return (int)n;
}

static int fmt_maps(struct proc *p, char *buf, size_t size)
{
	size_t at = 0;
	struct vm_region *r = p->user.space ? p->user.space->regions : NULL;
	for (; r; r = r->next) {
		const char *what = "";
		if (r->start >= PROC_STACK_TOP - PROC_STACK_SIZE &&
		    r->end <= PROC_STACK_TOP)
			what = "[stack]";
		else if (r->start >= p->user.brk_start &&
			 r->end <= ALIGN_UP(p->user.brk, PAGE_SIZE) &&
			 p->user.brk > p->user.brk_start)
			what = "[heap]";
		else if (r->flags == VM_REGION_FILE)
			what = "[file]";
		int n = snprintf(buf + MIN(at, size), size - MIN(at, size),
				 "%012lx-%012lx %c%c%c%c %08lx 00:00 0 %s\n",
				 (unsigned long)r->start, (unsigned long)r->end,
				 r->prot & VM_PROT_READ ? 'r' : '-',
				 r->prot & VM_PROT_WRITE ? 'w' : '-',
				 r->prot & VM_PROT_EXEC ? 'x' : '-', 'p',
				 (unsigned long)r->offset, what);
		at += (size_t)n;
	}
	return (int)at;
}

static int fmt_lock(struct proc *p, char *buf, size_t size)
{
	return snprintf(buf, size, "%d\n", p->sys.lock ? 1 : 0);
}

static int fmt_where(struct proc *p, char *buf, size_t size)
{
	return snprintf(buf, size, "%d\n", p->sys.where_node);
}

static int fmt_cantmove(struct proc *p, char *buf, size_t size)
{
	const char *why = proc_cantmove(p);
	return why ? snprintf(buf, size, "%s\n", why) : 0;
}

/* gen_X: /proc/<pid>/X, fmt_X on the process under proc_lock. */
#define PROC_GEN(name)                                                         \
	static int gen_##name(char *buf, size_t size, void *arg, uint64_t key) \
	{                                                                      \
		return with_proc(key, fmt_##name, buf, size);                  \
	}
PROC_GEN(stat)
PROC_GEN(status)
PROC_GEN(cmdline)
PROC_GEN(maps)
PROC_GEN(lock)
PROC_GEN(where)
PROC_GEN(cantmove)

/* "0" or "1" (procfs removed one newline). -ESRCH once the process is
 * gone or a zombie, -EPERM for a writer that may not control it. */
static int write_lock(void *arg, uint64_t key, const char *buf, size_t len)
{
	if (len != 1 || (buf[0] != '0' && buf[0] != '1'))
		return -EINVAL;
	struct proc *me = proc_current();
	int rc = 0;
	spin_lock(&proc_lock);
	struct proc *p = proc_find((int)key);
	if (!p || p->sys.state == P_ZOMBIE)
		rc = -ESRCH;
	else if (!proc_may_control(me, p))
		rc = -EPERM;
	else
		p->sys.lock = buf[0] == '1';
	spin_unlock(&proc_lock);
	return rc;
}

/* /proc/<pid>/goto: reads empty; "N" or "home" migrates the process
 * there (mig_request_pid), and the write fails with its error. */
static int gen_goto(char *buf, size_t size, void *arg, uint64_t key)
{
	return 0;
}

static int write_goto(void *arg, uint64_t key, const char *buf, size_t len)
{
	int node = 0;
	if (len == 4 && !memcmp(buf, "home", 4)) {
		node = -1;
	} else {
		if (!len || len > 2)
			return -EINVAL;
		for (size_t i = 0; i < len; i++) {
			if (buf[i] < '0' || buf[i] > '9')
				return -EINVAL;
			node = node * 10 + (buf[i] - '0');
		}
	}
	struct proc *me = proc_current();
	if (me && (int)key == me->pid)
		return -EINVAL; /* itself: use the migrate call */
	return mig_request_pid((int)key, node);
}

static int gen_self(char *buf, size_t size, void *arg, uint64_t key)
{
	struct proc *p = proc_current();
	if (!p)
		return -ENOENT;
	return snprintf(buf, size, "%d", p->pid);
}

static int pid_list(void *arg, uint64_t *keys, int max)
{
	int n = 0;
	spin_lock(&proc_lock);
	for (struct proc *p = proc_first(); p && n < max; p = p->next)
		keys[n++] = (uint64_t)p->pid;
	spin_unlock(&proc_lock);
	/* Oldest first, as ls expects of numbers. */
	for (int i = 0; i < n / 2; i++) {
		uint64_t t = keys[i];
		keys[i] = keys[n - 1 - i];
		keys[n - 1 - i] = t;
	}
	return n;
}

static int pid_lookup(void *arg, const char *name, size_t len, uint64_t *key)
{
	int pid = 0;
	if (!len || len > 6)
		return -ENOENT;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -ENOENT;
		pid = pid * 10 + (name[i] - '0');
	}
	spin_lock(&proc_lock);
	bool ok = proc_find(pid) != NULL;
	spin_unlock(&proc_lock);
	if (!ok)
		return -ENOENT;
	*key = (uint64_t)pid;
	return 0;
}

static void pid_name(void *arg, uint64_t key, char *buf, size_t size)
{
	snprintf(buf, size, "%lu", (unsigned long)key);
}

static const struct procfs_dynfile pid_files[] = {
	{"stat", gen_stat, false, NULL},
	{"status", gen_status, false, NULL},
	{"cmdline", gen_cmdline, false, NULL},
	{"maps", gen_maps, false, NULL},
	{"lock", gen_lock, false, write_lock},
	{"where", gen_where, false, NULL},
	{"cantmove", gen_cantmove, false, NULL},
	{"goto", gen_goto, false, write_goto},
};

static const struct procfs_dynset pid_set = {
	.list = pid_list,
	.lookup = pid_lookup,
	.name = pid_name,
	.files = pid_files,
	.nfiles = ARRAY_SIZE(pid_files),
};

void proc_procfs_init(void)
{
	procfs_register_dynset("", &pid_set);
	procfs_register_link("self", gen_self, NULL);
}
