/*
 * proc.c — processes: creation from an ELF file, entry to ring 3, the
 * machine-state switch, exit and wait (issue 4; fork/execve/signals come
 * next). See kern/proc.h for the user/system split.
 *
 * proc_exec_first checks and loads everything before a thread exists: the
 * file is read whole into a kernel buffer, elf_parse validates it, the
 * space gets one region per PT_LOAD (segments sharing a page are merged
 * into one region with the union of their permissions), the file bytes are
 * copied in with copy_to_user (the rest of each segment is demand-zero),
 * then an 8 MiB stack region and the psABI start-up stack (ustack_build).
 * Only then is the thread created; it loads the user context and leaves
 * with arch_enter_user.
 */
#include "kern/proc.h"

#include "fs/vfs.h"
#include "kern/elf.h"
#include "kern/kern.h"
#include "vm/vm.h"

#define IMAGE_MAX (64u << 20) /* largest executable loaded */
#define USTACK_BUF (USTACK_ARG_MAX + 16384)
#define DYN_BIAS 0x400000ull /* where a static-pie is placed */

static int next_pid = 1;

struct proc *proc_current(void)
{
	return thread_proc(thread_current());
}

/* Interrupts off: save the outgoing process's registers the kernel does
 * not save itself, load the incoming one's. */
static void proc_switch(struct thread *prev, struct thread *next)
{
	struct proc *pp = thread_proc(prev), *np = thread_proc(next);
	if (pp) {
		arch_fpu_save(pp->user.fpu);
		pp->user.fs_base = arch_fs_base_get();
	}
	if (np) {
		arch_fpu_restore(np->user.fpu);
		arch_fs_base_set(np->user.fs_base);
		vm_space_switch(np->user.space);
		arch_set_user_kstack(thread_stack_top(next));
	}
}

static const char *const sig_names[32] = {
	[4] = "SIGILL", [5] = "SIGTRAP",  [7] = "SIGBUS",
	[8] = "SIGFPE", [11] = "SIGSEGV",
};

/* The signal Linux sends for an exception vector. */
static int vector_signal(unsigned vector)
{
	switch (vector) {
	case 0: /* #DE */
	case 16: /* #MF */
	case 19: /* #XM */
		return 8;
	case 1: /* #DB */
	case 3: /* #BP */
		return 5;
	case 6: /* #UD */
		return 4;
	case 17: /* #AC */
		return 7;
	default:
		return 11;
	}
}

static void user_fault(unsigned vector, const char *name, uintptr_t rip,
		       uintptr_t addr)
{
	struct proc *p = proc_current();
	if (!p)
		return; /* not ours: trap.c reports it as a kernel fault */
	int sig = vector_signal(vector);
	printk("shoal: pid %d (%s) killed by %s: %s at rip %#lx addr %#lx\n",
	       p->pid, p->name, sig_names[sig], name, (unsigned long)rip,
	       (unsigned long)addr);
	irq_enable(); /* we are on the process's own stack, from ring 3 */
	proc_exit(sig);
}

void proc_init(void)
{
	thread_set_switch_hook(proc_switch);
	arch_syscall_set_handler(syscall_dispatch);
	arch_set_user_fault_hook(user_fault);
}

static void proc_free(struct proc *p)
{
	for (int i = 0; i < PROC_MAX_FD; i++)
		if (p->sys.fd[i])
			file_close(p->sys.fd[i]);
	vnode_put(p->sys.cwd);
	if (p->user.space)
		vm_space_destroy(p->user.space);
	kfree(p);
}

void proc_exit(int wstatus)
{
	struct proc *p = proc_current();
	KASSERT(p);
	if (!(wstatus & 0x7f)) /* a killer has said why */
		printk("shoal: pid %d (%s) exited with status %d\n", p->pid,
		       p->name, (wstatus >> 8) & 0xff);
	/* The space goes now (vm_space_destroy switches away from it); the
	 * rest when the waiter frees p. */
	struct vm_space *s = p->user.space;
	p->user.space = NULL;
	vm_space_destroy(s);
	irq_disable();
	thread_set_proc(thread_current(), NULL);
	p->sys.wstatus = wstatus;
	p->sys.exited = true;
	waitq_wakeup_all(&p->sys.exit_wq);
	thread_exit();
}

int proc_wait(struct proc *p)
{
	unsigned long f = irq_save();
	while (!p->sys.exited)
		waitq_sleep(&p->sys.exit_wq, NULL);
	irq_restore(f);
	int st = p->sys.wstatus;
	proc_free(p);
	return st;
}

static void proc_run(void *arg)
{
	struct proc *p = arg;
	irq_disable();
	thread_set_proc(thread_current(), p);
	arch_fpu_restore(p->user.fpu);
	arch_fs_base_set(0);
	vm_space_switch(p->user.space);
	arch_set_user_kstack(thread_stack_top(thread_current()));
	arch_enter_user(p->user.entry, p->user.start_rsp);
}

/* Read all of path into a new kernel buffer. */
static int read_file(const char *path, void **out, size_t *size)
{
	struct file *f;
	int rc = vfs_open(NULL, path, O_RDONLY, 0, &f);
	if (rc < 0)
		return rc;
	struct linux_stat st;
	rc = file_stat(f, &st);
	if (rc == 0 && ((st.st_mode & 0170000) != 0100000 || st.st_size <= 0 ||
			st.st_size > IMAGE_MAX))
		rc = -ENOEXEC;
	char *buf = rc ? NULL : kmalloc((size_t)st.st_size);
	if (!rc && !buf)
		rc = -ENOMEM;
	size_t done = 0;
	while (!rc && done < (size_t)st.st_size) {
		int64_t n = file_read(f, buf + done, (size_t)st.st_size - done);
		if (n <= 0)
			rc = n < 0 ? (int)n : -EIO;
		else
			done += (size_t)n;
	}
	file_close(f);
	if (rc) {
		kfree(buf);
		return rc;
	}
	*out = buf;
	*size = done;
	return 0;
}

static unsigned vm_prot(unsigned elf_prot)
{
	return (elf_prot & ELF_PROT_R ? VM_PROT_READ : 0) |
	       (elf_prot & ELF_PROT_W ? VM_PROT_WRITE : 0) |
	       (elf_prot & ELF_PROT_X ? VM_PROT_EXEC : 0);
}

/* Map and fill the loadable segments of a parsed image into s. */
static int load_segments(struct vm_space *s, const struct elf_info *in,
			 const char *image)
{
	uintptr_t start[ELF_MAX_SEGMENTS], end[ELF_MAX_SEGMENTS];
	unsigned prot[ELF_MAX_SEGMENTS], n = 0;
	for (unsigned i = 0; i < in->nseg; i++) {
		const struct elf_segment *sg = &in->seg[i];
		uintptr_t a = ALIGN_DOWN(sg->vaddr, PAGE_SIZE);
		uintptr_t b = ALIGN_UP(sg->vaddr + sg->memsz, PAGE_SIZE);
		if (n && a < end[n - 1]) { /* shares a page with the last */
			end[n - 1] = MAX(end[n - 1], b);
			prot[n - 1] |= vm_prot(sg->prot);
			continue;
		}
		start[n] = a;
		end[n] = b;
		prot[n++] = vm_prot(sg->prot);
	}
	/* Writable while the bytes are copied in, then as the file says. */
	for (unsigned i = 0; i < n; i++) {
		int rc = vm_region_add(s, start[i], end[i] - start[i],
				       prot[i] | VM_PROT_WRITE, VM_REGION_ANON,
				       NULL, 0);
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < in->nseg; i++) {
		const struct elf_segment *sg = &in->seg[i];
		int rc = copy_to_user(s, sg->vaddr, image + sg->offset,
				      sg->filesz);
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < n; i++)
		vm_region_find(s, start[i])->prot = prot[i];
	return 0;
}

static int build_stack(struct proc *p, const struct elf_info *in,
		       const char *path, const char *const *argv)
{
	int rc = vm_region_add(p->user.space, PROC_STACK_TOP - PROC_STACK_SIZE,
			       PROC_STACK_SIZE, VM_PROT_READ | VM_PROT_WRITE,
			       VM_REGION_ANON, NULL, 0);
	if (rc)
		return rc;
	char *buf = kmalloc(USTACK_BUF);
	if (!buf)
		return -ENOMEM;
	uint8_t rnd[16];
	uint64_t seed = time_ns() ^ ((uint64_t)p->pid << 32);
	for (int i = 0; i < 16; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		rnd[i] = (uint8_t)(seed >> 56);
	}
	const char *const envp[] = {"PATH=/bin", "HOME=/", NULL};
	const char *const deflt[] = {path, NULL};
	struct ustack_args a = {
		.buf = buf,
		.size = USTACK_BUF,
		.top = PROC_STACK_TOP,
		.argv = argv ? argv : deflt,
		.envp = envp,
		.execfn = path,
		.random = rnd,
		.phdr = in->phdr,
		.phent = in->phent,
		.phnum = in->phnum,
		.entry = in->entry,
	};
	rc = ustack_build(&a);
	if (!rc) {
		uint64_t base = PROC_STACK_TOP - USTACK_BUF;
		rc = copy_to_user(p->user.space, a.rsp, buf + (a.rsp - base),
				  PROC_STACK_TOP - a.rsp);
		p->user.start_rsp = a.rsp;
	}
	kfree(buf);
	return rc;
}

static int load_program(struct proc *p, const char *path,
			const char *const *argv)
{
	void *image;
	size_t size;
	int rc = read_file(path, &image, &size);
	if (rc)
		return rc;
	struct elf_info *in = kzalloc(sizeof *in);
	if (!in) {
		kfree(image);
		return -ENOMEM;
	}
	rc = elf_parse(image, size, in);
	if (rc)
		printk(KERN_WARN "shoal: exec %s: %s\n", path,
		       in->error ? in->error : "not an executable");
	if (!rc && in->type == ELF_ET_DYN)
		rc = elf_apply_bias(in, DYN_BIAS);
	if (!rc) {
		p->user.space = vm_space_create();
		rc = p->user.space ? load_segments(p->user.space, in, image)
				   : -ENOMEM;
	}
	if (!rc)
		rc = build_stack(p, in, path, argv);
	if (!rc) {
		p->user.entry = in->entry;
		p->user.brk_start = p->user.brk = in->brk;
		p->user.mmap_next = PROC_MMAP_BASE;
	}
	kfree(in);
	kfree(image);
	return rc;
}

struct proc *proc_exec_first(const char *path, const char *const *argv,
			     int *err)
{
	struct proc *p = kzalloc(sizeof *p);
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->pid = next_pid++;
	const char *base = path;
	for (const char *c = path; *c; c++)
		if (*c == '/')
			base = c + 1;
	strlcpy(p->name, base, sizeof p->name);
	waitq_init(&p->sys.exit_wq);
	arch_fpu_init_state(p->user.fpu);
	p->sys.cwd = vfs_root();
	struct file *con;
	int rc = vfs_open(NULL, "/dev/console", O_RDWR, 0, &con);
	if (!rc) {
		p->sys.fd[0] = con;
		p->sys.fd[1] = file_dup(con);
		p->sys.fd[2] = file_dup(con);
		rc = load_program(p, path, argv);
	}
	if (!rc) {
		p->thread = thread_create(p->name, proc_run, p);
		if (!p->thread)
			rc = -ENOMEM;
	}
	if (rc) {
		proc_free(p);
		*err = rc;
		return NULL;
	}
	*err = 0;
	return p;
}
