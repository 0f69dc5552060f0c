/*
 * printk.c — kernel messages.
 *
 * printk formats into a stack buffer and writes it to COM1 with interrupts
 * off, so lines from interrupt handlers never interleave mid-line. A message
 * may start with KERN_xxx ("\001" + digit) to give its level; it is printed
 * when level <= loglevel (boot option loglevel=, default LOG_INFO). Every
 * message, printed or not, also goes into a ring buffer (klog_read) so later
 * tools can read what scrolled by.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"

int loglevel = LOG_INFO;

static char klog[KLOG_SIZE];
static uint64_t klog_head; /* total bytes ever written */

static void klog_put(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		klog[(klog_head + i) % KLOG_SIZE] = s[i];
	klog_head += n;
}

/* Copy the newest bytes of the kernel log into buf; returns the count. */
size_t klog_read(char *buf, size_t size)
{
	unsigned long f = irq_save();
	size_t n = klog_head < KLOG_SIZE ? klog_head : KLOG_SIZE;
	if (n > size)
		n = size;
	for (size_t i = 0; i < n; i++)
		buf[i] = klog[(klog_head - n + i) % KLOG_SIZE];
	irq_restore(f);
	return n;
}

/* Bytes ever written to the kernel log (syslog(2) tracks what it has
 * read against this). */
uint64_t klog_written(void)
{
	unsigned long f = irq_save();
	uint64_t n = klog_head;
	irq_restore(f);
	return n;
}

/* Write s to the console, turning "\n" into "\r\n". */
static void console_out(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

int vprintk(const char *fmt, va_list ap)
{
	char buf[512];
	int level = LOG_INFO;
	if (fmt[0] == '\001' && fmt[1] >= '0' && fmt[1] <= '7') {
		level = fmt[1] - '0';
		fmt += 2;
	}
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	size_t len = n < (int)sizeof buf ? (size_t)n : sizeof buf - 1;
	unsigned long f = irq_save();
	klog_put(buf, len);
	if (level <= loglevel)
		console_out(buf, len);
	irq_restore(f);
	return n;
}

int printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}
