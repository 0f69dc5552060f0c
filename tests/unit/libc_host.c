/*
 * libc_host.c — kernel library functions glibc lacks, for host unit tests.
 * (The kernel's own kern/string.c is not linked into them: it would shadow
 * the sanitizers' checked memcpy/memset.)
 */
#include <string.h>

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
