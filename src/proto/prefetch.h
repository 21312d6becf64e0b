/* Cache-line prefetch for the datapaths.  A staged buffer moves between
 * the two sides' cores on every packet: the writer needs the line
 * exclusive, which a plain store discovers only when it reaches the head
 * of the store buffer, one miss after another (README "Performance
 * work").  Asked for a batch ahead, the misses overlap. */
#ifndef SN_PROTO_PREFETCH_H
#define SN_PROTO_PREFETCH_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#define SN_CACHE_LINE 64u

/* Whether this CPU has PREFETCHW (CPUID 0x80000001 ECX bit 8, PRFCHW).
 * The opcode faults on x86 CPUs without it, so a datapath asks once at
 * set-up and keeps the answer in its own context. */
static inline bool sn_cpu_has_prefetchw(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d;

	if (!__get_cpuid(0x80000001u, &a, &b, &c, &d))
		return false;
	return c & (1u << 8);
#else
	return true; /* __builtin_prefetch(p, 1) is a write prefetch there */
#endif
}

/* Ask for the line holding p exclusive (for a write soon).  Without
 * PREFETCHW, GCC's generic x86 write prefetch is a read prefetch: the
 * line then comes shared and the store still waits for the upgrade, but
 * the data part of the miss is already paid.  A prefetch never faults,
 * whatever p is. */
static inline void sn_prefetch_w(bool have_prefetchw, const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	if (have_prefetchw) {
		__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
		return;
	}
#else
	(void)have_prefetchw;
#endif
	__builtin_prefetch(p, 1, 3);
}

/* Bytes [p, p + len) for a write: the first two lines (a page copy's
 * later lines are the hardware prefetcher's, which follows a stream
 * within a page). */
static inline void sn_prefetch_w_range(bool have_prefetchw, const void *p, uint32_t len)
{
	uintptr_t a = (uintptr_t)p;

	sn_prefetch_w(have_prefetchw, p);
	if (len && (a & (SN_CACHE_LINE - 1)) + len > SN_CACHE_LINE)
		sn_prefetch_w(have_prefetchw, (const void *)((a | (SN_CACHE_LINE - 1)) + 1));
}

/* The same for a read. */
static inline void sn_prefetch_r_range(const void *p, uint32_t len)
{
	uintptr_t a = (uintptr_t)p;

	__builtin_prefetch(p, 0, 3);
	if (len && (a & (SN_CACHE_LINE - 1)) + len > SN_CACHE_LINE)
		__builtin_prefetch((const void *)((a | (SN_CACHE_LINE - 1)) + 1), 0, 3);
}

#endif
