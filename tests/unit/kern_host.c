/*
 * kern_host.c — the kernel services fs/ code uses, for host unit tests:
 * printk (to stderr when host_log_verbose, always counted and the last line
 * kept for tests to look at), panic (abort, so a test or the fuzzer stops
 * with a backtrace), and kmalloc/kzalloc/kfree over malloc (ASan checks
 * them). Link tests/unit/libc_host.c too for strlcpy.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kern.h"
#include "tests/unit/ext2_host.h"
#include "vm/vm.h"

int loglevel = LOG_DEBUG;
bool host_log_verbose;
unsigned long host_log_lines;
char host_log_last[256];

int vprintk(const char *fmt, va_list ap)
{
	char line[512];
	int n = vsnprintf(line, sizeof line, fmt, ap);
	const char *text = line;
	if (text[0] == '\001' && text[1])
		text += 2;
	host_log_lines++;
	strncpy(host_log_last, text, sizeof host_log_last - 1);
	host_log_last[sizeof host_log_last - 1] = 0;
	if (host_log_verbose)
		fputs(text, stderr);
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

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("panic: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

void *kmalloc(size_t size)
{
	return malloc(size ? size : 1);
}

void *kzalloc(size_t size)
{
	return calloc(1, size ? size : 1);
}

void kfree(void *p)
{
	free(p);
}
