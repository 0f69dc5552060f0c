/*
 * lwip_port.c — start-up and the platform hooks of Shoal's lwIP port
 * (net_lwip.h; arch/cc.h names the hooks): diagnostics to printk, failed
 * assertions panic, LWIP_RAND, and the core-lock check.
 *
 * The sys_arch primitives are in sys_sem.c, sys_mutex.c, sys_mbox.c,
 * sys_thread.c and sys_now.c; docs/network.md ("## lwIP") has the map.
 */
#include <stdarg.h>

#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"
#include "net/lwip/net_lwip.h"
#include "net/lwip/netif_shoal.h"
#include "net/lwip/socket.h"
#include "net/lwip/port.h"

static bool ready;
static struct thread *tcpip_thread; /* set by LWIP_MARK_TCPIP_THREAD */
/* The earliest timeout (sys_now ms) when a thread other than the tcpip
 * thread took the core lock; valid while it holds it. */
static u32_t earliest_at_lock;
static bool earliest_at_lock_none;

int lwip_port_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}

void lwip_port_assert(const char *msg, const char *file, int line)
{
	panic("lwIP assertion '%s' failed at %s:%d", msg, file, line);
}

/* xorshift64*, reseeded from the clock at every call: port numbers, DHCP
 * transaction ids; nothing here needs to be unpredictable to an attacker. */
unsigned lwip_port_rand(void)
{
	static uint64_t state;
	unsigned long f = irq_save();
	state ^= time_ns() +
		 0x9e3779b97f4a7c15ull * (uint64_t)(kconfig.node + 1);
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	uint64_t r = state * 0x2545f4914f6cdd1dull;
	irq_restore(f);
	return (unsigned)(r >> 32);
}

/* Before tcpip_init makes the core lock, only the booting thread runs
 * lwIP (lwip_init adds the loopback interface); after, the caller must
 * hold it — the tcpip thread does whenever it works. */
void lwip_port_assert_core_locked(void)
{
	if (lock_tcpip_core.valid && !sys_mutex_held(&lock_tcpip_core))
		panic("lwIP core called without the core lock (thread '%s')",
		      thread_name(thread_current()));
}

void lwip_port_mark_tcpip_thread(void)
{
	tcpip_thread = thread_current();
}

bool lwip_port_is_core_lock(struct sys_mutex *m)
{
	return m == &lock_tcpip_core && tcpip_thread &&
	       thread_current() != tcpip_thread;
}

/* The earliest timeout as an absolute sys_now time; false if none. */
static bool earliest_timeout(u32_t *at)
{
	u32_t now = sys_now();
	u32_t sleep = sys_timeouts_sleeptime();
	if (sleep == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
		return false;
	*at = now + sleep;
	return true;
}

/* Caller holds the core lock (just taken). */
void lwip_port_core_locked(void)
{
	earliest_at_lock_none = !earliest_timeout(&earliest_at_lock);
}

/* Caller holds the core lock (about to release it). */
bool lwip_port_core_unlocking(void)
{
	u32_t at;
	if (!earliest_timeout(&at))
		return false;
	return earliest_at_lock_none || (s32_t)(at - earliest_at_lock) < 0;
}

static void nothing(void *arg)
{
}

void lwip_port_kick_tcpip(void)
{
	/* If the mailbox is full the thread is awake anyway. */
	tcpip_try_callback(nothing, NULL);
}

static void init_done(void *arg)
{
	sys_sem_signal(arg);
}

void net_lwip_init(void)
{
	KASSERT(!ready);
	sys_sem_t done;
	sys_sem_new(&done, 0);
	tcpip_init(init_done, &done);
	sys_arch_sem_wait(&done, 0);
	sys_sem_free(&done);
	ready = true;
	struct netif *lo = netif_list; /* lwip_init added the loopback */
	KASSERT(lo);
	printk("lwip: lwIP " LWIP_VERSION_STRING
	       " up: tcpip thread, %c%c%u 127.0.0.1/8\n",
	       lo->name[0], lo->name[1], lo->num);
	netif_shoal_init();
	ping_init();
	sock_proc_init();
	lwip_mem_proc_init();
}

bool net_lwip_ready(void)
{
	return ready;
}
