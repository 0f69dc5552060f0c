/*
 * string.h — the C library's <string.h> for freestanding kernel code that
 * expects the standard header (lwIP). The same functions as kern/kern.h
 * declares, implemented in kern/string.c; nothing more.
 */
#ifndef SHOAL_STRING_H
#define SHOAL_STRING_H

#include <stddef.h>

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
