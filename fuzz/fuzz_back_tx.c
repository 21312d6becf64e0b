/* libFuzzer harness: netback's guest-TX datapath (src/back/tx.c) over the
 * emulated host, in-process (back_world.c): the fuzzer writes the frontend's
 * TX ring, the real sn_back_tx_action runs on a fault-wrapped backend
 * platform (grant copies and maps fail at a fuzzed rate) until it is idle
 * or has declared the frontend rogue.
 *
 * Input: u8 flags (bit 0 linux path, bit 1 staging table, bit 2 lie about
 * req_prod, bit 7 persist flags negotiated), u8 fault rate, u32 start
 * index, then 12-byte requests.  A gref 0xda7aXXXX names data page XXXX %
 * 24; other grefs go through raw.  With persist, two guest-RX rounds follow
 * over the same table, each RX request's padding flag taken from a bit of
 * the start index (README "Persist flags").
 *
 * Checked: packets handed to the port lie in private memory of their
 * stated length (the port reads every byte); rogue <=> vif disabled and the
 * control thread woken; otherwise each consumed slot has exactly one
 * zero-padded response; after teardown no data page or RX buffer is pinned
 * (no leaked mapping, XSA-361..367, nor a persist entry). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "back_world.h"
#include "emu_world.h"
#include "plat/fault.h"
#include "proto/slots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                        \
	do {                                                            \
		if (!(c)) {                                             \
			fprintf(stderr, "invariant failed: %s\n", #c);  \
			abort();                                        \
		}                                                       \
	} while (0)

static struct back_world W;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_fault_cfg fcfg = { .seed = size };
	unsigned int nreq;
	uint8_t flags, rate;
	RING_IDX start;
	bool fatal;

	if (!W.fp)
		bw_init(&W, 31, 32);
	if (size < 6)
		return -1;
	flags = data[0];
	rate = data[1];
	fcfg.rule[SN_FAULT_COPY].rate_ppm = rate * 1000u;
	fcfg.rule[SN_FAULT_MAP].rate_ppm = rate * 1000u;
	memcpy(&start, data + 2, 4);
	data += 6;
	size -= 6;
	nreq = (unsigned int)(size / sizeof(struct netif_tx_request));
	if (nreq > SN_TX_RING_SIZE)
		nreq = SN_TX_RING_SIZE;

	bw_start(&W, start, flags & 1, flags & 2);
	if (flags & 0x80)
		bw_persist(&W);
	for (unsigned int i = 0; i < nreq; i++) {
		struct netif_tx_request r;

		memcpy(&r, data + i * sizeof(r), sizeof(r));
		if ((r.gref >> 16) == 0xda7a)
			r.gref = W.data_ref[(r.gref & 0xffff) % BW_NDATA];
		memcpy(sn_tx_slot(W.ring, SN_TX_RING_SIZE, start + i), &r, sizeof(r));
	}
	CHECK(sn_fault_configure(W.bp, &fcfg) == 0);
	sn_ring_idx_release(&W.ring->req_prod, (flags & 4) ?
			    start + nreq + SN_TX_RING_SIZE + 1 +
			    (uint32_t)(flags >> 3) * 0x08000000u :
			    start + nreq);

	fatal = bw_run(&W) == -EPROTO;
	CHECK(fatal == atomic_load(&W.vif.disabled));
	CHECK(fatal == bw_woken(&W));
	if (!fatal) {
		RING_IDX rp = __atomic_load_n(&W.ring->rsp_prod, __ATOMIC_ACQUIRE);

		CHECK(W.q.tx.rsp_prod_pvt == W.q.tx.req_cons);
		CHECK(rp == W.q.tx.rsp_prod_pvt);
		CHECK((RING_IDX)(rp - start) <= nreq);
		for (RING_IDX i = start; i != rp; i++) {
			const uint8_t *slot = sn_tx_slot(W.ring, SN_TX_RING_SIZE, i);

			for (size_t b = 4; b < sizeof(union netif_tx_sring_entry); b++)
				CHECK(slot[b] == 0);
		}
	}
	if (!fatal && (flags & 0x80)) {
		for (unsigned int round = 0; round < 2; round++) {
			for (unsigned int k = 0; k < BW_RXBUF; k++)
				W.rx_pad[k] = (start >> (round * 16 + k)) & 1 ?
						      SN_NETRXF_persist : 0;
			bw_rx_start(&W, BW_RXBUF);
			for (unsigned int k = 0; k < 4; k++)
				bw_inject(&W, 60 + k * 700, 0);
			CHECK(bw_rx_run(&W) >= 0);
			bw_rx_stop(&W);
		}
		memset(W.rx_pad, 0, sizeof(W.rx_pad));
	}
	CHECK(bw_stop(&W) == 0);
	for (unsigned int k = 0; k < BW_RXBUF; k++)
		CHECK(!emu_world_pinned(W.fp, W.rxbuf_ref[k]));
	return 0;
}
