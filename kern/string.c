/*
 * string.c — the C library's memory and string functions the kernel needs.
 * GCC may emit calls to memcpy/memset/memmove/memcmp on its own, so these
 * exist under their standard names. memset and memcpy move eight bytes a step
 * (`rep stosq` / `rep movsq`, then the tail bytewise): QEMU's TCG runs a
 * string instruction one element per iteration, so 8-byte elements copy
 * several times faster there (measured: pipe bandwidth); real CPUs run
 * both forms a cache line at a time.
 */
#include "kern/kern.h"

void *memset(void *d, int c, size_t n)
{
	void *p = d;
	size_t q = n / 8, r = n % 8;
	uint64_t v = 0x0101010101010101ull * (unsigned char)c;
	__asm__ volatile("rep stosq" : "+D"(p), "+c"(q) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(p), "+c"(r) : "a"(v) : "memory");
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *dp = d;
	size_t q = n / 8, r = n % 8;
	__asm__ volatile("rep movsq" : "+D"(dp), "+S"(s), "+c"(q) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(dp), "+S"(s), "+c"(r) : : "memory");
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	if (dp < sp || dp >= sp + n) {
		memcpy(d, s, n);
	} else if (dp > sp) {
		dp += n;
		sp += n;
		while (n--)
			*--dp = *--sp;
	}
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	const char *p = s;
	while (*p)
		p++;
	return p - s;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

size_t strlcpy(char *d, const char *s, size_t size)
{
	size_t n = strlen(s);
	if (size) {
		size_t k = n < size - 1 ? n : size - 1;
		memcpy(d, s, k);
		d[k] = 0;
	}
	return n;
}
