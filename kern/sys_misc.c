/*
 * sys_misc.c — the small system calls: uname, sysinfo, user and group ids,
 * resource limits, getrandom, sched_yield, sched_getaffinity, prctl,
 * syslog, reboot.
 *
 * Credentials: everyone is root (uid = gid = 0, no supplementary groups);
 * setuid/setgid accept 0 only (-EPERM otherwise: there is nobody else).
 *
 * Resource limits are per process (the system context), inherited by
 * fork: RLIMIT_NOFILE 256/256 (PROC_MAX_FD; enforced by every call that
 * makes a descriptor), RLIMIT_STACK 8 MiB/unlimited, RLIMIT_NPROC the
 * node's process limit, RLIMIT_CORE 0/unlimited, the rest unlimited.
 * setrlimit validates as Linux does (-EINVAL for soft above hard, -EPERM
 * for NOFILE above 256, the most descriptors a process can have; everyone
 * is root, so hard limits may be raised). Only NOFILE is enforced; the
 * others are kept and reported.
 *
 * getrandom: ChaCha20 (RFC 8439's block function) as a generator with fast
 * key erasure (each request ends by replacing the key with fresh output).
 * The key is seeded at first use from time_ns() (the TSC) sampled around
 * work whose duration jitters, the boot configuration and addresses, and
 * every request stirs in the current time_ns(). No hardware RNG is used:
 * RDRAND needs an arch/x86 accessor (CPUID leaf 1 ECX bit 30) that does not
 * exist yet. The pool counts as initialized from the start, so
 * GRND_NONBLOCK never gives -EAGAIN.
 *
 * syslog reads printk's ring (kern/printk.c): actions 2 (read and consume,
 * waiting for new text), 3 (read all), 4 (read all, then clear), 5
 * (clear), 9 (unread bytes), 10 (ring size), 6/7/8 (console level).
 * "Clear" and "read" move this file's cursor; the ring itself is never
 * emptied, so the monitor's `log` still sees everything.
 */
#include "arch/x86/arch.h"
#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "vm/vm.h"

/* ------------------------------------------------------------ uname */

#define UTS_LEN 65
struct k_utsname {
	char sysname[UTS_LEN], nodename[UTS_LEN], release[UTS_LEN],
		version[UTS_LEN], machine[UTS_LEN], domainname[UTS_LEN];
};

long sys_uname(const uint64_t a[6])
{
	struct k_utsname u;
	memset(&u, 0, sizeof u);
	strlcpy(u.sysname, "Shoal", UTS_LEN);
	if (kconfig.node >= 0)
		snprintf(u.nodename, UTS_LEN, "node%d", kconfig.node);
	else
		strlcpy(u.nodename, "shoal", UTS_LEN);
	strlcpy(u.release, "0.4.0", UTS_LEN);
	strlcpy(u.version, "#1 " __DATE__, UTS_LEN);
	strlcpy(u.machine, "x86_64", UTS_LEN);
	strlcpy(u.domainname, "(none)", UTS_LEN);
	return user_out(a[0], &u, sizeof u);
}

/* ------------------------------------------------------------ sysinfo */

struct k_sysinfo {
	int64_t uptime;
	uint64_t loads[3];
	uint64_t totalram, freeram, sharedram, bufferram;
	uint64_t totalswap, freeswap;
	uint16_t procs, pad;
	uint64_t totalhigh, freehigh;
	uint32_t mem_unit;
};
_Static_assert(sizeof(struct k_sysinfo) == 112, "x86_64 struct sysinfo");

long sys_sysinfo(const uint64_t a[6])
{
	struct k_sysinfo si;
	memset(&si, 0, sizeof si);
	uint64_t ns = time_ns();
	si.uptime = (int64_t)(ns / 1000000000ull + (ns % 1000000000ull != 0));
	/* No load average is kept yet: loads stay 0. */
	struct mem_stats ms;
	mem_get_stats(&ms);
	si.totalram = ms.total_bytes;
	si.freeram = ms.free_bytes;
	int n = proc_count();
	si.procs = (uint16_t)(n > 0xffff ? 0xffff : n);
	si.mem_unit = 1;
	return user_out(a[0], &si, sizeof si);
}

/* ------------------------------------------------------------ ids */

long sys_getuid(const uint64_t a[6])
{
	return 0;
}

long sys_geteuid(const uint64_t a[6])
{
	return 0;
}

long sys_getgid(const uint64_t a[6])
{
	return 0;
}

long sys_getegid(const uint64_t a[6])
{
	return 0;
}

long sys_setuid(const uint64_t a[6])
{
	return (uint32_t)a[0] == 0 ? 0 : -EPERM;
}

long sys_setgid(const uint64_t a[6])
{
	return (uint32_t)a[0] == 0 ? 0 : -EPERM;
}

long sys_getgroups(const uint64_t a[6])
{
	return (int)a[0] < 0 ? -EINVAL : 0;
}

/* ------------------------------------------------------------ limits */

#define RLIMIT_STACK 3
#define RLIMIT_CORE 4
#define RLIMIT_NPROC 6
#define RLIMIT_NOFILE 7
#define RLIM_NLIMITS 16
#define RLIM_INFINITY (~0ull)

struct k_rlimit {
	uint64_t cur, max;
};

static struct k_rlimit rlimit_default(unsigned res)
{
	switch (res) {
	case RLIMIT_STACK:
		return (struct k_rlimit){PROC_STACK_SIZE, RLIM_INFINITY};
	case RLIMIT_CORE:
		return (struct k_rlimit){0, RLIM_INFINITY};
	case RLIMIT_NPROC:
		return (struct k_rlimit){PROC_LIMIT, PROC_LIMIT};
	case RLIMIT_NOFILE:
		return (struct k_rlimit){PROC_MAX_FD, PROC_MAX_FD};
	default:
		return (struct k_rlimit){RLIM_INFINITY, RLIM_INFINITY};
	}
}

void proc_rlimit_defaults(struct proc *p)
{
	for (unsigned r = 0; r < RLIM_NLIMITS; r++) {
		struct k_rlimit l = rlimit_default(r);
		p->sys.rlim[r].cur = l.cur;
		p->sys.rlim[r].max = l.max;
	}
}

static struct k_rlimit rlimit_of(struct proc *p, unsigned res)
{
	return (struct k_rlimit){p->sys.rlim[res].cur, p->sys.rlim[res].max};
}

/* Validate a new limit against the current one, then set it. */
static int rlimit_set(struct proc *p, unsigned res, const struct k_rlimit *l)
{
	if (l->cur > l->max)
		return -EINVAL;
	if (res == RLIMIT_NOFILE && l->max > PROC_MAX_FD)
		return -EPERM;
	p->sys.rlim[res].cur = l->cur;
	p->sys.rlim[res].max = l->max;
	return 0;
}

long sys_getrlimit(const uint64_t a[6])
{
	if (a[0] >= RLIM_NLIMITS)
		return -EINVAL;
	struct k_rlimit l = rlimit_of(proc_current(), (unsigned)a[0]);
	return user_out(a[1], &l, sizeof l);
}

long sys_setrlimit(const uint64_t a[6])
{
	if (a[0] >= RLIM_NLIMITS)
		return -EINVAL;
	struct k_rlimit l;
	if (user_in(&l, a[1], sizeof l))
		return -EFAULT;
	return rlimit_set(proc_current(), (unsigned)a[0], &l);
}

long sys_prlimit64(const uint64_t a[6])
{
	int pid = (int)a[0];
	unsigned res = (unsigned)a[1];
	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	/* Only the caller's own limits (another process's would need
	 * proc_lock around a sleeping copy). */
	if (pid < 0 || (pid && pid != proc_current()->pid))
		return -ESRCH;
	struct proc *p = proc_current();
	struct k_rlimit nl, old = rlimit_of(p, res);
	if (a[2] && user_in(&nl, a[2], sizeof nl))
		return -EFAULT;
	if (a[3] && !user_range_ok(a[3], sizeof old, true))
		return -EFAULT;
	if (a[2]) {
		int rc = rlimit_set(p, res, &nl);
		if (rc)
			return rc;
	}
	if (a[3] && user_out(a[3], &old, sizeof old))
		return -EFAULT;
	return 0;
}

/* ------------------------------------------------------------ getrandom */

#define GRND_NONBLOCK 1
#define GRND_RANDOM 2
#define GRND_INSECURE 4
#define RANDOM_CHUNK 256

static uint32_t rotl32(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

#define QR(a, b, c, d)                                                        \
	do {                                                                  \
		a += b, d = rotl32(d ^ a, 16), c += d, b = rotl32(b ^ c, 12); \
		a += b, d = rotl32(d ^ a, 8), c += d, b = rotl32(b ^ c, 7);   \
	} while (0)

/* One ChaCha20 block of key at (counter, nonce 0). */
static void chacha20_block(const uint32_t key[8], uint64_t counter,
			   uint32_t out[16])
{
	uint32_t in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
	memcpy(&in[4], key, 32);
	in[12] = (uint32_t)counter;
	in[13] = (uint32_t)(counter >> 32);
	in[14] = in[15] = 0;
	uint32_t x[16];
	memcpy(x, in, sizeof x);
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++)
		out[i] = x[i] + in[i];
}

/* The generator's key: guarded by disabling interrupts (one CPU). */
static uint32_t rng_key[8];
static bool rng_seeded;

/* Fold v into the key and stir it through one block. */
static void rng_stir(uint64_t v)
{
	uint32_t blk[16];
	rng_key[0] ^= (uint32_t)v;
	rng_key[1] ^= (uint32_t)(v >> 32);
	chacha20_block(rng_key, 0x5eed, blk);
	memcpy(rng_key, blk, sizeof rng_key);
	memset(blk, 0, sizeof blk);
}

/* Seed from timing jitter: the low bits of time_ns() (the TSC) across
 * blocks of work whose duration varies with caches, interrupts and the
 * emulator. Interrupts off. */
static void rng_seed(void)
{
	uint64_t prev = time_ns();
	rng_stir(prev ^ (uint64_t)(uintptr_t)&prev);
	rng_stir((uint64_t)kconfig.node << 32 ^ sched_switches());
	for (int i = 0; i < 64; i++) {
		uint32_t blk[16];
		chacha20_block(rng_key, (uint64_t)i, blk);
		uint64_t now = time_ns();
		rng_stir((now - prev) ^ now << 17 ^ blk[0]);
		prev = now;
	}
	rng_seeded = true;
}

/* n (at most RANDOM_CHUNK) random bytes into buf. */
static void rng_read(uint8_t *buf, size_t n)
{
	unsigned long f = irq_save();
	if (!rng_seeded)
		rng_seed();
	rng_stir(time_ns());
	uint32_t blk[16];
	for (uint64_t ctr = 1; n; ctr++) {
		chacha20_block(rng_key, ctr, blk);
		size_t k = MIN(n, sizeof blk);
		memcpy(buf, blk, k);
		buf += k;
		n -= k;
	}
	/* Fast key erasure: what was returned cannot be recomputed. */
	chacha20_block(rng_key, 0, blk);
	memcpy(rng_key, blk, sizeof rng_key);
	memset(blk, 0, sizeof blk);
	irq_restore(f);
}

long sys_getrandom(const uint64_t a[6])
{
	uintptr_t ubuf = a[0];
	size_t len = a[1];
	uint64_t flags = a[2];
	if (flags & ~(uint64_t)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
		return -EINVAL;
	if (len > 0x7fffffff)
		len = 0x7fffffff;
	uint8_t chunk[RANDOM_CHUNK];
	size_t done = 0;
	while (done < len) {
		size_t n = MIN(len - done, sizeof chunk);
		rng_read(chunk, n);
		if (user_out(ubuf + done, chunk, n)) {
			memset(chunk, 0, sizeof chunk);
			return done ? (long)done : -EFAULT;
		}
		done += n;
	}
	memset(chunk, 0, sizeof chunk);
	return (long)done;
}

/* ------------------------------------------------------------ scheduling */

long sys_sched_yield(const uint64_t a[6])
{
	thread_yield();
	return 0;
}

long sys_sched_getaffinity(const uint64_t a[6])
{
	int pid = (int)a[0];
	size_t len = a[1];
	if (pid < 0 || (pid && pid != proc_current()->pid))
		return -ESRCH;
	/* One CPU: the mask is one unsigned long with bit 0 set. */
	if (len < sizeof(uint64_t) || (len & (sizeof(uint64_t) - 1)))
		return -EINVAL;
	uint64_t mask = 1;
	if (user_out(a[2], &mask, sizeof mask))
		return -EFAULT;
	return sizeof mask;
}

/* ------------------------------------------------------------ prctl */

#define PR_SET_NAME 15
#define PR_GET_NAME 16

long sys_prctl(const uint64_t a[6])
{
	struct proc *p = proc_current();
	char name[sizeof p->name];
	switch (a[0]) {
	case PR_SET_NAME: {
		long n = strncpy_from_user(p->user.space, name, a[1],
					   sizeof name);
		if (n == -EFAULT || (n < 0 && n != -ENAMETOOLONG))
			return -EFAULT;
		name[sizeof name - 1] = 0; /* longer names are cut, as Linux */
		memcpy(p->name, name, sizeof name);
		return 0;
	}
	case PR_GET_NAME:
		memcpy(name, p->name, sizeof name);
		name[sizeof name - 1] = 0;
		return user_out(a[1], name, sizeof name);
	default:
		return -EINVAL;
	}
}

/* ------------------------------------------------------------ syslog */

enum {
	SYSLOG_CLOSE,
	SYSLOG_OPEN,
	SYSLOG_READ,
	SYSLOG_READ_ALL,
	SYSLOG_READ_CLEAR,
	SYSLOG_CLEAR,
	SYSLOG_CONSOLE_OFF,
	SYSLOG_CONSOLE_ON,
	SYSLOG_CONSOLE_LEVEL,
	SYSLOG_SIZE_UNREAD,
	SYSLOG_SIZE_BUFFER,
};

/* Log positions (klog_written counts) of syslog's reader and of the last
 * clear; the console level saved by CONSOLE_OFF. */
static uint64_t syslog_read_pos, syslog_clear_pos;
static int saved_loglevel = -1;

/* Copy the log text from position from (clamped to what the ring still
 * holds) to the end, at most len bytes, to ubuf; the bytes copied, and in
 * *end the position after them. */
static long syslog_copy(uintptr_t ubuf, size_t len, uint64_t from,
			uint64_t *end)
{
	char *buf = kmalloc(KLOG_SIZE);
	if (!buf)
		return -ENOMEM;
	/* printk fills the ring with interrupts off: this snapshot is whole. */
	unsigned long f = irq_save();
	uint64_t head = klog_written();
	size_t have = klog_read(buf, KLOG_SIZE);
	irq_restore(f);
	uint64_t oldest = head - have;
	if (from < oldest)
		from = oldest;
	if (from > head)
		from = head;
	size_t n = MIN(len, (size_t)(head - from));
	long rc = user_out(ubuf, buf + (from - oldest), n) ? -EFAULT : (long)n;
	kfree(buf);
	*end = from + n;
	return rc;
}

long sys_syslog(const uint64_t a[6])
{
	int type = (int)a[0];
	uintptr_t ubuf = a[1];
	int len = (int)a[2];
	uint64_t end;
	long rc;
	switch (type) {
	case SYSLOG_CLOSE:
	case SYSLOG_OPEN:
		return 0;
	case SYSLOG_READ:
		if (!ubuf || len < 0)
			return -EINVAL;
		if (!len)
			return 0;
		while (klog_written() <= syslog_read_pos) {
			int w = waitq_sleep_intr(NULL, NULL,
						 time_ns() + 100000000ull);
			if (w == -ERESTARTSYS)
				return -ERESTARTSYS;
		}
		rc = syslog_copy(ubuf, (size_t)len, syslog_read_pos, &end);
		if (rc >= 0)
			syslog_read_pos = end;
		return rc;
	case SYSLOG_READ_ALL:
	case SYSLOG_READ_CLEAR: {
		if (!ubuf || len < 0)
			return -EINVAL;
		if (!len)
			return 0;
		/* The newest len bytes after the last clear. */
		uint64_t head = klog_written();
		uint64_t from = head - MIN((uint64_t)len, head);
		rc = syslog_copy(ubuf, (size_t)len, MAX(from, syslog_clear_pos),
				 &end);
		if (rc >= 0 && type == SYSLOG_READ_CLEAR)
			syslog_clear_pos = end;
		return rc;
	}
	case SYSLOG_CLEAR:
		syslog_clear_pos = klog_written();
		return 0;
	case SYSLOG_CONSOLE_OFF:
		if (saved_loglevel < 0)
			saved_loglevel = loglevel;
		loglevel = 0; /* emergencies only */
		return 0;
	case SYSLOG_CONSOLE_ON:
		if (saved_loglevel >= 0)
			loglevel = saved_loglevel;
		saved_loglevel = -1;
		return 0;
	case SYSLOG_CONSOLE_LEVEL:
		if (len < 1 || len > 8)
			return -EINVAL;
		/* Linux prints levels below len; printk those up to it. */
		loglevel = len - 1;
		saved_loglevel = -1;
		return 0;
	case SYSLOG_SIZE_UNREAD: {
		uint64_t head = klog_written();
		uint64_t from = MAX(syslog_read_pos,
				    head - MIN(head, (uint64_t)KLOG_SIZE));
		return (long)(head - from);
	}
	case SYSLOG_SIZE_BUFFER:
		return KLOG_SIZE;
	default:
		return -EINVAL;
	}
}

/* ------------------------------------------------------------ reboot */

#define REBOOT_MAGIC1 0xfee1deadu
#define REBOOT_MAGIC2 672274793u
#define REBOOT_MAGIC2A 85072278u
#define REBOOT_MAGIC2B 369367448u
#define REBOOT_MAGIC2C 537993216u
#define REBOOT_CMD_RESTART 0x01234567u
#define REBOOT_CMD_HALT 0xCDEF0123u
#define REBOOT_CMD_CAD_ON 0x89ABCDEFu
#define REBOOT_CMD_CAD_OFF 0x00000000u
#define REBOOT_CMD_POWER_OFF 0x4321FEDCu
#define REBOOT_CMD_RESTART2 0xA1B2C3D4u

long sys_reboot(const uint64_t a[6])
{
	uint32_t m1 = (uint32_t)a[0], m2 = (uint32_t)a[1], cmd = (uint32_t)a[2];
	if (m1 != REBOOT_MAGIC1 ||
	    (m2 != REBOOT_MAGIC2 && m2 != REBOOT_MAGIC2A &&
	     m2 != REBOOT_MAGIC2B && m2 != REBOOT_MAGIC2C))
		return -EINVAL;
	struct proc *p = proc_current();
	switch (cmd) {
	case REBOOT_CMD_CAD_ON:
	case REBOOT_CMD_CAD_OFF:
		return 0;
	case REBOOT_CMD_RESTART:
	case REBOOT_CMD_RESTART2:
		printk("shoal: restart requested by pid %d (%s)\n", p->pid,
		       p->name);
		vfs_sync();
		arch_reboot();
	case REBOOT_CMD_HALT:
	case REBOOT_CMD_POWER_OFF:
		printk("shoal: %s requested by pid %d (%s)\n",
		       cmd == REBOOT_CMD_HALT ? "halt" : "power off", p->pid,
		       p->name);
		vfs_sync();
		if (cmd == REBOOT_CMD_POWER_OFF)
			arch_qemu_exit(0); /* returns without isa-debug-exit */
		arch_halt();
	default:
		return -EINVAL;
	}
}

/* ------------------------------------------------------------ mount */

#define MS_RDONLY 1
#define MNT_FORCE 1
#define MNT_DETACH 2

/*
 * mount(2) for the file systems that need no device ("proc", "devfs"):
 * the block devices have no names for user space yet, so mounting ext2
 * from a device is -ENOTBLK (the kernel mounts /data itself at boot).
 * umount2(2) unmounts any mount point (-EBUSY while in use).
 */
/* vfs_mount and vfs_unmount take absolute paths: a relative target is
 * joined to the caller's working directory. The result replaces *path. */
static int absolute_path(char **path)
{
	if ((*path)[0] == '/')
		return 0;
	char *abs = kmalloc(PATH_MAX);
	if (!abs)
		return -ENOMEM;
	int n = vfs_path(proc_cwd(), abs, PATH_MAX);
	int rc = n < 0 ? n : 0;
	if (!rc && (size_t)n + 1 + strlen(*path) >= PATH_MAX)
		rc = -ENAMETOOLONG;
	if (!rc) {
		if (n > 1)
			abs[n++] = '/';
		strlcpy(abs + n, *path, PATH_MAX - (size_t)n);
		kfree(*path);
		*path = abs;
	} else {
		kfree(abs);
	}
	return rc;
}

long sys_mount(const uint64_t a[6])
{
	char *target = NULL, *type = NULL;
	int rc = user_path(a[1], &target);
	if (!rc)
		rc = user_path(a[2], &type);
	if (!rc && (a[3] & ~(uint64_t)MS_RDONLY & 0xffff))
		rc = -EINVAL; /* remount, bind, move, ...: not supported */
	if (!rc && strcmp(type, "proc") && strcmp(type, "devfs"))
		rc = !strcmp(type, "ext2") ? -ENOTBLK : -ENODEV;
	if (!rc)
		rc = absolute_path(&target);
	if (!rc)
		rc = vfs_mount(type, NULL, target,
			       (a[3] & MS_RDONLY) ? MNT_RDONLY : 0);
	kfree(type);
	kfree(target);
	return rc;
}

long sys_umount2(const uint64_t a[6])
{
	if (a[1] & ~(uint64_t)(MNT_FORCE | MNT_DETACH))
		return -EINVAL;
	char *target;
	int rc = user_path(a[0], &target);
	if (rc)
		return rc;
	rc = absolute_path(&target);
	file_pcache_drop(); /* its vnode references would keep the mount busy */
	if (!rc)
		rc = vfs_unmount(target);
	kfree(target);
	return rc;
}
