// SOURCES: mosix/siphash.c
/*
 * test_siphash.c — SipHash-2-4 (mosix/siphash.c) against the 64 published
 * test vectors of the paper's reference implementation: key 00 01 .. 0f,
 * messages 00 01 .. (n-1) for n = 0..63. Also: every length through 1 KiB
 * is stable under buffer alignment, and a one-bit change in the key or the
 * message changes the tag.
 */
#include "mosix/siphash.h"
#include "tests/unit/unit.h"

static const uint64_t vectors[64] = {
	0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull,
	0x85676696d7fb7e2dull, 0xcf2794e0277187b7ull, 0x18765564cd99a68dull,
	0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, 0x93f5f5799a932462ull,
	0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
	0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull,
	0xa129ca6149be45e5ull, 0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull,
	0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull, 0xbed65cf21aa2ee98ull,
	0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
	0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull,
	0x2f2e6163076bcfadull, 0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull,
	0xad87a3535c49ef28ull, 0x32d892fad841c342ull, 0x7127512f72f27cceull,
	0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
	0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull,
	0x9abfd8766a33735cull, 0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull,
	0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull, 0xf935451de4f21df2ull,
	0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
	0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull,
	0xa192d576b245165aull, 0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full,
	0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull, 0xb78dbfaf3a8d83bdull,
	0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
	0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull,
	0x958a324ceb064572ull,
};

static struct siphash_key paper_key(void)
{
	uint8_t k[16];
	for (int i = 0; i < 16; i++)
		k[i] = (uint8_t)i;
	struct siphash_key key;
	siphash_key_init(&key, k);
	return key;
}

TEST(paper_vectors)
{
	struct siphash_key key = paper_key();
	CHECK_EQ(key.k0, 0x0706050403020100ull);
	CHECK_EQ(key.k1, 0x0f0e0d0c0b0a0908ull);
	for (size_t n = 0; n < 64; n++) {
		/* exact-size heap buffer: ASan sees any read past the end */
		uint8_t *m = malloc(n ? n : 1);
		for (size_t i = 0; i < n; i++)
			m[i] = (uint8_t)i;
		uint64_t got = siphash24(&key, m, n);
		free(m);
		if (got != vectors[n])
			printf("# length %zu: %016" PRIx64 " want %016" PRIx64
			       "\n",
			       n, got, vectors[n]);
		CHECK(got == vectors[n]);
	}
}

TEST(paper_example)
{
	/* The worked example of the paper's appendix: 15 bytes 00..0e. */
	struct siphash_key key = paper_key();
	const uint8_t m[15] = {0, 1, 2,	 3,  4,	 5,  6, 7,
			       8, 9, 10, 11, 12, 13, 14};
	CHECK(siphash24(&key, m, sizeof m) == 0xa129ca6149be45e5ull);
}

TEST(alignment_and_sensitivity)
{
	struct siphash_key key = paper_key();
	static uint8_t buf[1024 + 8];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t n = 0; n <= 1024; n += 13) {
		uint64_t a = siphash24(&key, buf, n);
		uint8_t copy[1024 + 8];
		memcpy(copy + 3, buf, n);
		CHECK(siphash24(&key, copy + 3, n) == a);
		if (n) {
			copy[3 + n / 2] ^= 0x10;
			CHECK(siphash24(&key, copy + 3, n) != a);
		}
		struct siphash_key k2 = key;
		k2.k1 ^= 1ull << (n % 64);
		CHECK(siphash24(&k2, buf, n) != a);
	}
}

UNIT_MAIN()
