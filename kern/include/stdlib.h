/*
 * stdlib.h — the part of the C library's <stdlib.h> freestanding kernel
 * code asks for (lwIP's netif.c: atoi). No allocator here: kernel code uses
 * kmalloc (vm/vm.h).
 */
#ifndef SHOAL_STDLIB_H
#define SHOAL_STDLIB_H

#include <stddef.h>

/* Decimal, optional leading blanks and sign; no overflow check (as C). */
static inline int atoi(const char *s)
{
	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	int neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	unsigned v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned)(*s++ - '0');
	return neg ? -(int)v : (int)v;
}

#endif
