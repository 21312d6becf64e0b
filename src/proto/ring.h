/* Shared-ring access for every ring user (netback, netfront, tests).  The
 * only file that includes <xen/io/ring.h> and <xen/io/netif.h>; everything
 * that touches a shared slot or index goes through the helpers below. */
#ifndef SN_PROTO_RING_H
#define SN_PROTO_RING_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <xen/xen-compat.h>

/* ring.h expands its PUSH/FINAL_CHECK macros to xen_*mb() (interface
 * version >= 0x00030208, e.g. with __XEN_TOOLS__) or to bare *mb()
 * (default version 0).  Nothing in userspace defines either, and the
 * expansion happens inside a system header, so a missing definition shows
 * up only as a link error.  The peer is another CPU (or, emulated, another
 * thread): C11 fences give exactly the orderings ring.h asks for. */
#if __XEN_INTERFACE_VERSION__ < 0x00030208
# ifndef mb
#  define mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
# endif
# ifndef rmb
#  define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
# endif
# ifndef wmb
#  define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
# endif
#else
# ifndef xen_mb
#  define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
# endif
# ifndef xen_rmb
#  define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
# endif
# ifndef xen_wmb
#  define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
# endif
#endif

#include <xen/grant_table.h>
#include <xen/io/ring.h>
#include <xen/io/netif.h>

/* Debian's netif.h stops at the HASH extra (MAX 5); Linux 5.9+ and Xen's
 * later netif.h add the XDP extra (type 5, u.xdp.headroom in the first two
 * bytes of the union) and so MAX 6.  A Linux peer may send it, and a parser
 * built on the older header would call it invalid (fatal in netback), so the
 * missing names are defined here, where the header is included. */
#ifndef XEN_NETIF_EXTRA_TYPE_XDP
# define XEN_NETIF_EXTRA_TYPE_XDP 5
# undef XEN_NETIF_EXTRA_TYPE_MAX
# define XEN_NETIF_EXTRA_TYPE_MAX 6
#endif
/* Largest xdp-headroom Linux netback honours (larger values are clamped). */
#ifndef XEN_NETIF_MAX_XDP_HEADROOM
# define XEN_NETIF_MAX_XDP_HEADROOM 0x7FFF
#endif

/* Persist flags (README "Persist flags"): used only when the backend offers
 * feature-persistent-grefs and the frontend wrote request-persistent-grefs.
 * Neither netif.h defines them, so they live here.  TX: bit 4 of
 * netif_tx_request.flags, the lowest bit netif.h leaves free (0-3 are
 * csum_blank, data_validated, more_data, extra_info); a backend that does
 * not know it ignores it, as Linux netback and our txreq parser do with
 * any flag they do not test.  RX: bit 0 of netif_rx_request's u16 at
 * offset 2, which netif.h calls padding and does not require to be zero:
 * Linux netfront writes only id and gref over a slot that last held a
 * response (whose `offset` sits there), so the backend must read it only
 * after agreement, never otherwise. */
#define SN_NETTXF_persist (1U << 4)
#define SN_NETRXF_persist (1U << 0)
_Static_assert(!(SN_NETTXF_persist & (NETTXF_csum_blank | NETTXF_data_validated |
				      NETTXF_more_data | NETTXF_extra_info)),
	       "persist flag must be a bit netif.h leaves free");
_Static_assert(offsetof(struct netif_rx_request, pad) == 2, "rx request padding");

/* Rings are one 4 KiB page each (Xen's page size, not the host's). */
#define SN_PAGE_SIZE 4096u

/* The helpers below rely on the wire layout; a header mismatch must stop
 * the build, not corrupt a peer. */
_Static_assert(sizeof(struct netif_tx_request) == 12, "tx request ABI");
_Static_assert(sizeof(struct netif_tx_response) == 4, "tx response ABI");
_Static_assert(sizeof(struct netif_rx_request) == 8, "rx request ABI");
_Static_assert(sizeof(struct netif_rx_response) == 8, "rx response ABI");
_Static_assert(sizeof(struct netif_extra_info) == 8, "extra info ABI");
_Static_assert(sizeof(struct xen_netif_ctrl_request) == 16, "ctrl req ABI");
_Static_assert(sizeof(struct xen_netif_ctrl_response) == 12, "ctrl rsp ABI");
_Static_assert(offsetof(struct netif_tx_sring, ring) == 64, "sring header");
_Static_assert(offsetof(struct netif_rx_sring, ring) == 64, "sring header");
_Static_assert(offsetof(struct xen_netif_ctrl_sring, ring) == 64,
	       "sring header");

/*
 * Slot words.  A shared slot is read and written as 32-bit relaxed atomic
 * words: each word is fetched exactly once (the XSA-155 double-fetch rule:
 * the compiler may neither re-read nor split the access), and a racing peer
 * is a defined data race for the sanitizers.  may_alias because the page is
 * typed as a ring struct while we access it word by word.
 */
typedef uint32_t __attribute__((may_alias)) sn_ring_word_t;

static inline void sn_ring_slot_load(void *dst, const void *slot, size_t size)
{
	const sn_ring_word_t *s = slot;
	sn_ring_word_t *d = dst;
	size_t i;

	for (i = 0; i < size / 4; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/* Writes the whole slot: bytes beyond len are zero, so nothing from our
 * stack or an earlier request reaches the peer (XSA-216: a 4-byte tx
 * response lives in a 12-byte slot, a ctrl response in a 16-byte one). */
static inline void sn_ring_slot_store(void *slot, size_t size,
				      const void *src, size_t len)
{
	sn_ring_word_t buf[8] = { 0 };
	sn_ring_word_t *d = slot;
	size_t i;

	memcpy(buf, src, len < size ? len : size);
	for (i = 0; i < size / 4; i++)
		__atomic_store_n(&d[i], buf[i], __ATOMIC_RELAXED);
}

/* Peer-written index: acquire, so the slot reads that follow cannot be
 * satisfied before the index that announced them (the rmb of ring.h). */
static inline RING_IDX sn_ring_idx_acquire(const RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline RING_IDX sn_ring_idx_relaxed(const RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Our producer index: release, so the peer sees the slots before the
 * index (the wmb of ring.h). */
static inline void sn_ring_idx_release(RING_IDX *p, RING_IDX v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Event index store followed by a full fence: the peer's "publish prod,
 * fence, read event" and our "write event, fence, re-read prod" form a
 * store-buffering pair; with a seq_cst fence on both sides at least one
 * of us sees the other's store, so no wake-up is lost. */
static inline void sn_ring_event_arm(RING_IDX *p, RING_IDX v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Publish a producer index, then decide whether the peer asked to be told:
 * notify iff its event index lies in (old, new] (RING_PUSH_*_AND_CHECK_
 * NOTIFY semantics). */
static inline bool sn_ring_publish(RING_IDX *prod, const RING_IDX *event,
				   RING_IDX new_prod)
{
	RING_IDX old = sn_ring_idx_relaxed(prod);

	sn_ring_idx_release(prod, new_prod);
	/* The new index must be visible before we read the event index
	 * (store->load): otherwise the peer may go to sleep on an old prod
	 * while we read its old event and skip the notification. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return (RING_IDX)(new_prod - sn_ring_idx_relaxed(event)) <
	       (RING_IDX)(new_prod - old);
}

/*
 * Typed helpers, stamped out once per ring type.  For tag in {tx, rx, ctrl}:
 *
 * backend (consumes requests, produces responses):
 *   int      sn_<tag>_back_attach(ring, sring)      attach at rsp_prod; -EIO
 *                                                   if the page is garbage
 *   RING_IDX sn_<tag>_back_req_prod(ring)           peer prod, acquire
 *   bool     sn_<tag>_back_prod_overflow(ring, p)   more requests than slots
 *   unsigned sn_<tag>_back_unconsumed(ring, p)      RING_HAS_UNCONSUMED_REQUESTS
 *   void     sn_<tag>_back_copy_req(ring, idx, out) the one way to read a slot
 *   void     sn_<tag>_back_write_slot(ring, idx, src, len)  zero-padded write
 *   void     sn_<tag>_back_put_rsp(ring, rsp)       write at rsp_prod_pvt++
 *   bool     sn_<tag>_back_push(ring)               publish; true = notify
 *   void     sn_<tag>_back_set_req_event(ring, ev)  arm event + full fence
 *   unsigned sn_<tag>_back_final_check(ring, p*)    RING_FINAL_CHECK_FOR_REQUESTS
 *
 * frontend (produces requests, consumes responses):
 *   void     sn_<tag>_front_init(ring, sring)       zero page + init both
 *   RING_IDX sn_<tag>_front_rsp_prod(ring)          peer prod, acquire
 *   bool     sn_<tag>_front_rsp_overflow(ring, p)   responses we never asked for
 *   unsigned sn_<tag>_front_free(ring)              RING_FREE_REQUESTS
 *   void     sn_<tag>_front_copy_rsp(ring, idx, out)
 *   void     sn_<tag>_front_write_slot(ring, idx, src, len)
 *   void     sn_<tag>_front_put_req(ring, req)      write at req_prod_pvt++
 *   bool     sn_<tag>_front_push(ring)
 *   void     sn_<tag>_front_set_rsp_event(ring, ev)
 *   unsigned sn_<tag>_front_final_check(ring, p*)   RING_FINAL_CHECK_FOR_RESPONSES
 *
 * final_check returns the work count and, if p is not NULL, the producer
 * index it was computed from (so the caller's loop bound and the check
 * agree on one read of the index).
 */
#define SN_RING_DEFINE(tag, name, req_t, rsp_t)				\
_Static_assert(sizeof(union name##_sring_entry) % 4 == 0 &&		\
	       sizeof(union name##_sring_entry) <= 32, #name " slot");	\
									\
static inline void *sn_##tag##_slot(struct name##_sring *s,		\
				    unsigned int nr_ents, RING_IDX idx)	\
{									\
	/* Address arithmetic instead of ring[idx]: ring[] is declared	\
	 * with one element. */						\
	return (char *)s + offsetof(struct name##_sring, ring) +	\
	       (size_t)(idx & (nr_ents - 1)) *				\
	       sizeof(union name##_sring_entry);			\
}									\
									\
static inline int sn_##tag##_back_attach(struct name##_back_ring *r,	\
					 struct name##_sring *s)	\
{									\
	RING_IDX rsp = sn_ring_idx_acquire(&s->rsp_prod);		\
	RING_IDX req = sn_ring_idx_acquire(&s->req_prod);		\
									\
	BACK_RING_ATTACH(r, s, rsp, SN_PAGE_SIZE);			\
	/* A re-attached page must not claim more outstanding requests	\
	 * than fit in the ring (Linux netback refuses with -EIO). */	\
	if ((RING_IDX)(req - rsp) > RING_SIZE(r))			\
		return -EIO;						\
	return 0;							\
}									\
									\
static inline RING_IDX							\
sn_##tag##_back_req_prod(const struct name##_back_ring *r)		\
{									\
	return sn_ring_idx_acquire(&r->sring->req_prod);		\
}									\
									\
/* req_prod - rsp_prod_pvt > size is impossible for a correct frontend	\
 * (it never has more than size requests without responses); it implies	\
 * Linux's "req_prod - req_cons > size" check (XSA-39). */		\
static inline bool							\
sn_##tag##_back_prod_overflow(const struct name##_back_ring *r,	\
			      RING_IDX prod)				\
{									\
	return (RING_IDX)(prod - r->rsp_prod_pvt) > RING_SIZE(r);	\
}									\
									\
/* Requests we may consume: published, and with a response slot free. */ \
static inline unsigned int						\
sn_##tag##_back_unconsumed(const struct name##_back_ring *r,		\
			   RING_IDX prod)				\
{									\
	unsigned int req = prod - r->req_cons;				\
	unsigned int rsp = RING_SIZE(r) - (r->req_cons - r->rsp_prod_pvt); \
									\
	return req < rsp ? req : rsp;					\
}									\
									\
static inline void							\
sn_##tag##_back_copy_req(const struct name##_back_ring *r,		\
			 RING_IDX idx, req_t *out)			\
{									\
	_Static_assert(sizeof(req_t) % 4 == 0, #req_t " words");	\
	sn_ring_slot_load(out, sn_##tag##_slot(r->sring, r->nr_ents, idx), \
			  sizeof(req_t));				\
}									\
									\
static inline void							\
sn_##tag##_back_write_slot(struct name##_back_ring *r, RING_IDX idx,	\
			   const void *src, size_t len)			\
{									\
	sn_ring_slot_store(sn_##tag##_slot(r->sring, r->nr_ents, idx),	\
			   sizeof(union name##_sring_entry), src, len);	\
}									\
									\
static inline void							\
sn_##tag##_back_put_rsp(struct name##_back_ring *r, const rsp_t *rsp)	\
{									\
	sn_##tag##_back_write_slot(r, r->rsp_prod_pvt++, rsp, sizeof(*rsp)); \
}									\
									\
static inline bool sn_##tag##_back_push(struct name##_back_ring *r)	\
{									\
	return sn_ring_publish(&r->sring->rsp_prod, &r->sring->rsp_event, \
			       r->rsp_prod_pvt);			\
}									\
									\
static inline void							\
sn_##tag##_back_set_req_event(struct name##_back_ring *r, RING_IDX ev)	\
{									\
	sn_ring_event_arm(&r->sring->req_event, ev);			\
}									\
									\
static inline unsigned int						\
sn_##tag##_back_final_check(struct name##_back_ring *r, RING_IDX *prod)	\
{									\
	RING_IDX p = sn_##tag##_back_req_prod(r);			\
	unsigned int n = sn_##tag##_back_unconsumed(r, p);		\
									\
	if (!n) {							\
		sn_##tag##_back_set_req_event(r, r->req_cons + 1);	\
		p = sn_##tag##_back_req_prod(r);			\
		n = sn_##tag##_back_unconsumed(r, p);			\
	}								\
	if (prod)							\
		*prod = p;						\
	return n;							\
}									\
									\
static inline void sn_##tag##_front_init(struct name##_front_ring *r,	\
					 struct name##_sring *s)	\
{									\
	/* The whole page goes to the peer: no stale bytes in it. */	\
	memset(s, 0, SN_PAGE_SIZE);					\
	SHARED_RING_INIT(s);						\
	FRONT_RING_INIT(r, s, SN_PAGE_SIZE);				\
}									\
									\
static inline RING_IDX							\
sn_##tag##_front_rsp_prod(const struct name##_front_ring *r)		\
{									\
	return sn_ring_idx_acquire(&r->sring->rsp_prod);		\
}									\
									\
/* A backend can only answer requests we published (netfront's		\
 * "Illegal number of responses", XSA-405). */				\
static inline bool							\
sn_##tag##_front_rsp_overflow(const struct name##_front_ring *r,	\
			      RING_IDX prod)				\
{									\
	RING_IDX published = sn_ring_idx_relaxed(&r->sring->req_prod);	\
									\
	return (RING_IDX)(prod - r->rsp_cons) >				\
	       (RING_IDX)(published - r->rsp_cons);			\
}									\
									\
static inline unsigned int						\
sn_##tag##_front_free(const struct name##_front_ring *r)		\
{									\
	return RING_SIZE(r) - (r->req_prod_pvt - r->rsp_cons);		\
}									\
									\
static inline void							\
sn_##tag##_front_copy_rsp(const struct name##_front_ring *r,		\
			  RING_IDX idx, rsp_t *out)			\
{									\
	_Static_assert(sizeof(rsp_t) % 4 == 0, #rsp_t " words");	\
	sn_ring_slot_load(out, sn_##tag##_slot(r->sring, r->nr_ents, idx), \
			  sizeof(rsp_t));				\
}									\
									\
static inline void							\
sn_##tag##_front_write_slot(struct name##_front_ring *r, RING_IDX idx,	\
			    const void *src, size_t len)		\
{									\
	sn_ring_slot_store(sn_##tag##_slot(r->sring, r->nr_ents, idx),	\
			   sizeof(union name##_sring_entry), src, len);	\
}									\
									\
static inline void							\
sn_##tag##_front_put_req(struct name##_front_ring *r, const req_t *req)	\
{									\
	sn_##tag##_front_write_slot(r, r->req_prod_pvt++, req, sizeof(*req)); \
}									\
									\
static inline bool sn_##tag##_front_push(struct name##_front_ring *r)	\
{									\
	return sn_ring_publish(&r->sring->req_prod, &r->sring->req_event, \
			       r->req_prod_pvt);			\
}									\
									\
static inline void							\
sn_##tag##_front_set_rsp_event(struct name##_front_ring *r, RING_IDX ev) \
{									\
	sn_ring_event_arm(&r->sring->rsp_event, ev);			\
}									\
									\
static inline unsigned int						\
sn_##tag##_front_final_check(struct name##_front_ring *r, RING_IDX *prod) \
{									\
	RING_IDX p = sn_##tag##_front_rsp_prod(r);			\
	unsigned int n = p - r->rsp_cons;				\
									\
	if (!n) {							\
		sn_##tag##_front_set_rsp_event(r, r->rsp_cons + 1);	\
		p = sn_##tag##_front_rsp_prod(r);			\
		n = p - r->rsp_cons;					\
	}								\
	if (prod)							\
		*prod = p;						\
	return n;							\
}

/* tx: requests 12 B; a response is 4 B in a 12 B slot.  rx response slots
 * also carry netif_extra_info (8 B); tx request slots carry it in 12 B. */
SN_RING_DEFINE(tx, netif_tx, struct netif_tx_request, struct netif_tx_response)
SN_RING_DEFINE(rx, netif_rx, struct netif_rx_request, struct netif_rx_response)
SN_RING_DEFINE(ctrl, xen_netif_ctrl, struct xen_netif_ctrl_request,
	       struct xen_netif_ctrl_response)

#endif /* SN_PROTO_RING_H */
