/*
 * siphash.h — SipHash-2-4 (Aumasson and Bernstein, 2012), the keyed MAC of
 * the Linker's frames when a cluster key is set (mosix/link_tp.c).
 *
 * Interface: siphash_key_init turns the 16 key bytes into the two 64-bit
 * halves (little-endian, as the paper defines), siphash24 returns the 64-bit
 * tag of a byte string. Pure C, no state: the kernel and the host tests
 * compile the same file.
 */
#ifndef MOSIX_SIPHASH_H
#define MOSIX_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
	uint64_t k0, k1;
};

void siphash_key_init(struct siphash_key *key, const uint8_t bytes[16]);
uint64_t siphash24(const struct siphash_key *key, const void *data, size_t len);

#endif
