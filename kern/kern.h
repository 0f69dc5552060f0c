/*
 * kern.h — the kernel's common interface: types, printk, panic, assertions,
 * string helpers and the boot configuration every subsystem may read.
 *
 * Portable code includes this and the public header of each subsystem it
 * uses (arch/x86/arch.h, vm/vm.h, ...); nothing else.
 */
#ifndef KERN_KERN_H
#define KERN_KERN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/errno.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define container_of(p, type, member) \
	((type *)((char *)(p)-offsetof(type, member)))

#define __noreturn __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __section(s) __attribute__((section(s)))
#define __used __attribute__((used))
#define __aligned(n) __attribute__((aligned(n)))
#define __packed __attribute__((packed))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* printk levels: a message is printed when its level <= loglevel. */
enum {
	LOG_EMERG = 0,
	LOG_ERR = 3,
	LOG_WARN = 4,
	LOG_NOTICE = 5,
	LOG_INFO = 6,
	LOG_DEBUG = 7,
};
#define KERN_ERR "\0013"
#define KERN_WARN "\0014"
#define KERN_NOTICE "\0015"
#define KERN_INFO "\0016"
#define KERN_DEBUG "\0017"

/*
 * EMIT(fmt, ...) appends to a text generator's buffer (procfs files and the
 * like): the enclosing function has `char *buf`, `size_t size` and a length
 * `n` that counts every byte wanted, as snprintf does, so that a caller can
 * see the text did not fit and try again with a larger buffer.
 */
#define EMIT(...)                                                              \
	do {                                                                   \
		int k_ = snprintf(buf + MIN((size_t)(n), size),                \
				  size - MIN((size_t)(n), size), __VA_ARGS__); \
		if (k_ > 0)                                                    \
			n += k_;                                               \
	} while (0)

/* printk("text") prints at LOG_INFO; a KERN_xxx prefix selects the level. */
int printk(const char *fmt, ...) __printf(1, 2);
int vprintk(const char *fmt, va_list ap);
/* The kernel log: a ring of the last KLOG_SIZE bytes printk wrote (printed
 * or not). klog_read copies its oldest-first contents, klog_written counts
 * every byte ever logged (syslog's read positions). */
#define KLOG_SIZE 16384
size_t klog_read(char *buf, size_t size);
uint64_t klog_written(void);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
extern int loglevel;

/*
 * panic() prints the message, the registers of the caller and a symbolized
 * backtrace on COM1, then halts (or exits QEMU when self-testing).
 */
void panic(const char *fmt, ...) __printf(1, 2) __noreturn;

#define KASSERT(cond)                                                       \
	do {                                                                \
		if (unlikely(!(cond)))                                      \
			panic("%s:%d: %s: assertion '%s' failed", __FILE__, \
			      __LINE__, __func__, #cond);                   \
	} while (0)

/* Resolve a kernel text address to "function+0xoff"; false if unknown. */
bool ksym_lookup(uintptr_t addr, const char **name, uintptr_t *offset);
/* Print a backtrace starting at frame pointer rbp (0 = the caller's). */
void backtrace_print(uintptr_t rip, uintptr_t rbp);

/* Boot configuration, from the command line (kern/cmdline.c). */
struct kconfig {
	int node; /* node=N, -1 when not given */
	bool selftest; /* selftest or selftest=PATTERN */
	char selftest_pattern[32];
	int loglevel; /* loglevel=0..7 */
	unsigned hz; /* hz=10..1000 */
	uint64_t bcache_kb; /* reserved for the buffer cache issue */
	char init[64]; /* init=PATH: the first process, or "monitor" */
	unsigned hello_ms; /* hello_ms=50..60000: Linker hellos; 0 = default */
	char clusterkey[64]; /* clusterkey=PHRASE: keyed Linker frames */
	unsigned speed; /* speed=1..1000000: this node's CPU speed (1000 = the
			   reference); 0 = measured at boot */
	unsigned info_ms; /* info_ms=100..60000: load dissemination; 0 = 1000 */
	char lb[8]; /* lb=mosix|static|off: the balancing policy */
};
/* The first process when the command line names none. */
#define KCONFIG_INIT_DEFAULT "/bin/init"
extern struct kconfig kconfig;
typedef void (*cmdline_report_fn)(const char *msg);
void kconfig_defaults(struct kconfig *cfg);
/* Parse a command line into cfg; returns the number of problems reported. */
int kconfig_parse(const char *cmdline, struct kconfig *cfg,
		  cmdline_report_fn report);

/*
 * In-kernel self-tests, run when booted with `selftest[=PATTERN]` (kern/
 * selftest.c). A test returns 0 on success; ST_ASSERT fails it with the
 * condition's text. EXPLICIT tests (deliberate crashes) run only when the
 * pattern names them exactly.
 */
struct selftest {
	const char *name;
	int (*fn)(void);
	bool explicit_only;
};
#define SELFTEST_DEFINE(name_, explicit_)                                    \
	static int selftest_##name_(void);                                   \
	static const struct selftest selftest_entry_##name_ __section(       \
		".selftests")                                                \
		__used __aligned(8) = {#name_, selftest_##name_, explicit_}; \
	static int selftest_##name_(void)
#define SELFTEST(name_) SELFTEST_DEFINE(name_, false)
#define SELFTEST_EXPLICIT(name_) SELFTEST_DEFINE(name_, true)
#define ST_ASSERT(cond)                                                      \
	do {                                                                 \
		if (!(cond)) {                                               \
			printk("# %s:%d: assertion '%s' failed\n", __FILE__, \
			       __LINE__, #cond);                             \
			return 1;                                            \
		}                                                            \
	} while (0)
/* Run the selected self-tests, print TAP, exit QEMU; does not return. */
void selftest_run(const char *pattern) __noreturn;

/* A short text for an errno value (negative or positive). */
const char *errno_text(int err);

/* String and memory helpers (kern/string.c). */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
size_t strlcpy(char *d, const char *s, size_t size);

#endif
