/*
 * arch/cc.h — lwIP's compiler and platform glue for Shoal (included by
 * lwip/arch.h before anything else of lwIP's).
 *
 * The kernel is freestanding: gcc gives <stddef.h>, <stdint.h>, <limits.h>;
 * kern/include gives the <string.h> and <stdlib.h> lwIP asks for. There is
 * no <inttypes.h>, <ctype.h> or <unistd.h>: lwIP's fallbacks are used.
 * Diagnostics go to printk; a failed assertion panics. The helpers named
 * here live in net/lwip/lwip_port.c.
 */
#ifndef SHOAL_LWIP_ARCH_CC_H
#define SHOAL_LWIP_ARCH_CC_H

#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H 1
#define LWIP_NO_UNISTD_H 1

#define BYTE_ORDER LITTLE_ENDIAN
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

int lwip_port_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void lwip_port_assert(const char *msg,
						const char *file, int line);
unsigned lwip_port_rand(void);

#define LWIP_PLATFORM_DIAG(x)       \
	do {                        \
		lwip_port_printf x; \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x) lwip_port_assert((x), __FILE__, __LINE__)
#define LWIP_RAND() ((u32_t)lwip_port_rand())

#endif
