// SOURCES: vm/heap.c
/*
 * test_heap.c — the kernel heap's core (vm/heap.c) over a page pool: many
 * sizes keep their contents and alignment, memory comes back, large runs,
 * and in debug mode double frees, wild pointers, overflows and writes after
 * free are all caught by the fail callback (which the kernel turns into a
 * panic) without the heap changing state.
 *
 * Pages "freed" to the pool stay readable (only marked free), as in the
 * kernel's direct map, so a double free of a large run is a clean test.
 */
#include "tests/unit/unit.h"
#include "vm/vm_impl.h"

#define POOL_PAGES 1024
static unsigned char *pool;
static unsigned char pool_used[POOL_PAGES];
static unsigned pool_live, pool_limit = POOL_PAGES;
static int nfails;
static char failmsg[256];

static void *get_pages(void *ctx, size_t n)
{
	if (pool_live + n > pool_limit)
		return NULL;
	for (size_t i = 0; i + n <= POOL_PAGES; i++) {
		size_t j = 0;
		while (j < n && !pool_used[i + j])
			j++;
		if (j == n) {
			memset(pool_used + i, 1, n);
			pool_live += n;
			/* Fresh pages hold garbage, as real ones do. */
			memset(pool + i * VM_PAGE, 0xe7, n * VM_PAGE);
			return pool + i * VM_PAGE;
		}
		i += j;
	}
	return NULL;
}

static void put_pages(void *ctx, void *p, size_t n)
{
	size_t i = ((unsigned char *)p - pool) / VM_PAGE;
	for (size_t k = 0; k < n; k++) {
		if (!pool_used[i + k]) {
			printf("# pool: page %zu freed twice\n", i + k);
			abort();
		}
		pool_used[i + k] = 0;
	}
	pool_live -= n;
}

static void on_fail(void *ctx, const char *msg)
{
	nfails++;
	snprintf(failmsg, sizeof failmsg, "%s", msg);
}

static struct heap H;

static void setup(bool debug)
{
	if (!pool)
		pool = aligned_alloc(VM_PAGE, POOL_PAGES * VM_PAGE);
	memset(pool_used, 0, sizeof pool_used);
	pool_live = 0;
	pool_limit = POOL_PAGES;
	nfails = 0;
	failmsg[0] = 0;
	struct heap_ops ops = {get_pages, put_pages, on_fail, NULL, NULL};
	heap_init(&H, &ops, debug);
}

static int pattern_ok(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed * 31 + i))
			return 0;
	return 1;
}

static void pattern_fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 31 + i);
}

static size_t size_of(unsigned i)
{
	/* Every size up to 300, then a spread up to large runs. */
	return i <= 300 ? i : (size_t)(i - 300) * 97 % 9000;
}

static void many_sizes(bool debug)
{
	enum { N = 600 };
	static unsigned char *p[N];
	setup(debug);
	for (unsigned i = 0; i < N; i++) {
		p[i] = heap_alloc(&H, size_of(i), 0x1234);
		CHECK(p[i]);
		CHECK_EQ((uintptr_t)p[i] % 16, 0);
		pattern_fill(p[i], size_of(i), i);
	}
	CHECK_EQ(H.live, N);
	CHECK_EQ(H.pages, pool_live);
	for (unsigned i = 0; i < N; i++)
		CHECK(pattern_ok(p[i], size_of(i), i));
	/* Free in a scattered order; the rest must stay intact. */
	for (unsigned k = 0; k < N; k++) {
		unsigned i = (k * 7919) % N;
		if (debug)
			CHECK_EQ(heap_size(&H, p[i]), size_of(i));
		else
			CHECK(heap_size(&H, p[i]) >= size_of(i));
		heap_free(&H, p[i]);
		p[i] = NULL;
		if (k % 50 == 0)
			for (unsigned j = 0; j < N; j++)
				if (p[j])
					CHECK(pattern_ok(p[j], size_of(j), j));
	}
	CHECK_EQ(nfails, 0);
	CHECK_EQ(H.live, 0);
	/* At most one cached empty slab per class stays. */
	CHECK(H.pages <= HEAP_NCLASSES);
	CHECK_EQ(H.pages, pool_live);
}

TEST(many_sizes_debug)
{
	many_sizes(true);
}

TEST(many_sizes_release)
{
	many_sizes(false);
}

TEST(small_objects_pack_densely)
{
	setup(false);
	for (int i = 0; i < 254; i++)
		CHECK(heap_alloc(&H, 16, 0));
	CHECK_EQ(H.pages, 1);
	setup(true); /* 16 bytes + header + canary -> 48-byte slots */
	for (int i = 0; i < 84; i++)
		CHECK(heap_alloc(&H, 16, 0));
	CHECK_EQ(H.pages, 1);
}

TEST(zero_and_huge_sizes)
{
	setup(true);
	void *a = heap_alloc(&H, 0, 0), *b = heap_alloc(&H, 0, 0);
	CHECK(a && b && a != b);
	heap_free(&H, a);
	heap_free(&H, b);
	CHECK_EQ(heap_alloc(&H, SIZE_MAX, 0), NULL);
	CHECK_EQ(heap_alloc(&H, SIZE_MAX - 20, 0), NULL);
	CHECK_EQ(heap_alloc(&H, 5000 * VM_PAGE, 0), NULL); /* pool too small */
	heap_free(&H, NULL);
	CHECK_EQ(nfails, 0);
	CHECK_EQ(H.live, 0);
}

TEST(large_allocations_are_page_runs)
{
	setup(true);
	unsigned char *a = heap_alloc(&H, 3 * VM_PAGE, 0);
	CHECK(a && (uintptr_t)a % 16 == 0);
	CHECK_EQ(H.pages, 4); /* header + canary spill into a 4th page */
	unsigned char *b = heap_alloc(&H, 100000, 0);
	CHECK_EQ(H.pages, 4 + 25);
	pattern_fill(a, 3 * VM_PAGE, 1);
	pattern_fill(b, 100000, 2);
	CHECK(pattern_ok(a, 3 * VM_PAGE, 1));
	CHECK_EQ(heap_size(&H, b), 100000);
	heap_free(&H, a);
	CHECK(pattern_ok(b, 100000, 2));
	heap_free(&H, b);
	CHECK_EQ(H.pages, 0);
	CHECK_EQ(pool_live, 0);
	CHECK_EQ(nfails, 0);
}

TEST(out_of_pages_returns_null)
{
	setup(true);
	pool_limit = 2;
	void *p[400];
	int n = 0;
	while (n < 400 && (p[n] = heap_alloc(&H, 200, 0)))
		n++;
	CHECK(n > 0 && n < 400);
	CHECK_EQ(H.pages, 2);
	for (int i = 0; i < n; i++)
		heap_free(&H, p[i]);
	CHECK_EQ(nfails, 0);
	CHECK_EQ(H.live, 0);
}

TEST(double_free_detected)
{
	setup(true);
	void *keep = heap_alloc(&H, 40, 0);
	void *p = heap_alloc(&H, 40, 0);
	heap_free(&H, p);
	CHECK_EQ(nfails, 0);
	heap_free(&H, p);
	CHECK_EQ(nfails, 1);
	char want[64];
	snprintf(want, sizeof want, "kfree(%p): double free of a 40-byte", p);
	CHECK(strstr(failmsg, want));
	/* The heap is still consistent: p comes back exactly once. */
	void *q = heap_alloc(&H, 40, 0), *r = heap_alloc(&H, 40, 0);
	CHECK(q == p && r != p && r != keep);
	CHECK_EQ(H.live, 3);
}

TEST(double_free_of_large_detected)
{
	setup(true);
	void *p = heap_alloc(&H, 10000, 0);
	heap_free(&H, p);
	heap_free(&H, p);
	CHECK_EQ(nfails, 1);
	CHECK(strstr(failmsg, "double free of a 10000-byte allocation"));
	CHECK_EQ(pool_live, 0);
}

TEST(overflow_detected_naming_size)
{
	setup(true);
	unsigned char *p = heap_alloc(&H, 100, 0xbeef);
	p[100] = 0; /* one byte past the end */
	heap_free(&H, p);
	CHECK_EQ(nfails, 1);
	CHECK(strstr(
		failmsg,
		"buffer overflow past the end of a 100-byte allocation from 0xbeef"));
	CHECK_EQ(H.live, 1); /* not freed */
	unsigned char *big = heap_alloc(&H, 5000, 0);
	big[5003] = 1;
	heap_free(&H, big);
	CHECK_EQ(nfails, 2);
	CHECK(strstr(failmsg, "5000-byte allocation"));
}

TEST(wild_pointers_detected)
{
	setup(true);
	unsigned char *p = heap_alloc(&H, 64, 0);
	heap_free(&H, p + 16); /* inside, 16-aligned: not an object start */
	CHECK_EQ(nfails, 1);
	CHECK(strstr(failmsg, "not an object returned by kmalloc"));
	heap_free(&H, p + 3);
	CHECK_EQ(nfails, 2);
	CHECK(strstr(failmsg, "misaligned"));
	unsigned char *other = get_pages(NULL, 1); /* not a heap page */
	memset(other, 0, VM_PAGE);
	heap_free(&H, other + 64);
	CHECK_EQ(nfails, 3);
	CHECK(strstr(failmsg, "not a heap pointer"));
	unsigned char *big = heap_alloc(&H, 9000, 0);
	heap_free(&H, big + 4096);
	CHECK_EQ(nfails, 4);
	heap_free(&H, big + 32);
	CHECK_EQ(nfails, 5);
	CHECK(strstr(failmsg, "points inside a 9000-byte allocation"));
	/* Underflow: the header before the object was overwritten. */
	p[-16] ^= 0xff;
	heap_free(&H, p);
	CHECK_EQ(nfails, 6);
	CHECK(strstr(failmsg, "header overwritten"));
	CHECK_EQ(H.live, 2);
}

TEST(write_after_free_detected)
{
	setup(true);
	unsigned char *p = heap_alloc(&H, 100, 0);
	heap_free(&H, p);
	p[50] = 1;
	void *q = heap_alloc(&H, 100, 0);
	CHECK_EQ(nfails, 1);
	CHECK(strstr(failmsg, "write after free"));
	CHECK(strstr(failmsg, "offset 50"));
	CHECK_EQ(q, NULL);
}

TEST(freed_memory_is_poisoned)
{
	setup(true);
	unsigned char *keep = heap_alloc(&H, 200, 0);
	unsigned char *p = heap_alloc(&H, 200, 0);
	memset(p, 0, 200);
	heap_free(&H, p);
	for (int i = 0; i < 200; i++)
		CHECK_EQ(p[i], 0x6b);
	heap_free(&H, keep);
}

TEST(release_mode_has_no_overhead_checks)
{
	setup(false);
	unsigned char *p = heap_alloc(&H, 32, 0);
	CHECK_EQ(heap_size(&H, p), 32);
	heap_free(&H, p + 3); /* still caught: misaligned */
	CHECK_EQ(nfails, 1);
	heap_free(&H, p);
	CHECK_EQ(nfails, 1);
	CHECK_EQ(H.live, 0);
}

UNIT_MAIN()
