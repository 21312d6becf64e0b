/* Test helpers for emulated domains in this process: opening a domain,
 * packet buffers, the toolstack step, and the real netback in a thread
 * with a pattern-checking test port, driven by the frontend's burst API. */
#ifndef STAGENET_TEST_INPROC_H
#define STAGENET_TEST_INPROC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/dom.h"
#include "common/port.h"
#include "stagenet/back.h"
#include "stagenet/front.h"

int64_t sn_test_now_ms(void);
int64_t sn_test_now_us(void);
/* n packet buffers of SN_PKT_BUF_SIZE in one allocation (*mem, to free),
 * described by pk[] and pointed to by pp[]. */
void sn_test_pkts_alloc(uint8_t **mem, struct sn_pkt *pk, struct sn_pkt **pp, unsigned int n);
/* `stagenet vif-add` for devid 0 of frontend fe served by backend be,
 * exactly as a user runs it. */
void sn_test_vif_add(uint16_t fe, uint16_t be);

/* The real netback of one domain, its control loop in a thread, every
 * queue's port a test port on sh (common/port.h). */
struct sn_test_back {
	struct sn_back *back;
	pthread_t tid;
	bool running;
	struct sn_test_port sh;
};

void sn_test_back_start(struct sn_test_back *b, struct sn_plat *plat, uint16_t max_queues,
			bool staging_off);
/* The same with every setting from cfg (plat included); the ports are
 * the test ports on b->sh unless cfg names a port_spec. */
void sn_test_back_start_cfg(struct sn_test_back *b, const struct sn_back_cfg *cfg);
void sn_test_back_stop(struct sn_test_back *b);

/* Open and connect devid 0 with that many queues and staging policy. */
void sn_test_front_connect(struct sn_plat *fe, struct sn_front **nic, uint16_t queues,
			   enum sn_front_staging_policy pol);

/* Send npkts pattern frames (sizes from b->sh.len), batches alternating
 * between the nq queues, until the backend's port has seen them all or
 * timeout_ms passes; asserts all were sent and arrived intact. pp holds at
 * least 32 buffers. */
void sn_test_guest_tx(struct sn_front *nic, struct sn_test_back *b, struct sn_pkt **pp,
		      uint16_t nq, unsigned int npkts, int timeout_ms);
/* Receive until npkts per queue arrived (b->sh.to_make set by the caller)
 * or timeout_ms passes; asserts every frame intact and on its queue. */
void sn_test_guest_rx(struct sn_front *nic, struct sn_pkt **pp, uint16_t nq,
		      unsigned int npkts, int timeout_ms);

/* Two emulated domains (backend first) with a vif between them, the
 * backend's test port on b.sh, 32 packet buffers; the backend and the
 * frontend are started by the test. */
struct sn_test_world {
	struct sn_plat *fe, *be;
	struct sn_test_back b;
	struct sn_front *nic;
	uint8_t *mem;
	struct sn_pkt pk[32];
	struct sn_pkt *pp[32];
};

/* Domains 40 and 41, then 42 and 43, ... of ram_pages each; len sizes the
 * test port's frames. */
struct sn_test_world *sn_test_world_open(uint32_t ram_pages, uint32_t (*len)(unsigned int i));
/* cmocka teardown of the world in *state.  Frontend first: it deletes its
 * staged grants while the backend still answers, then its Closing makes the
 * backend unmap the rest before the grants are revoked; then the backend,
 * the domains, the buffers. */
int sn_test_world_teardown(void **state);

#endif
