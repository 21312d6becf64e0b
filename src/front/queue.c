/* Netfront queue selection: the flow hash (proto/flow.h) over the queues
 * agreed with the backend, so one flow keeps one queue and its order. */
#include "front/nic.h"
#include "proto/flow.h"

uint16_t sn_front_pick_queue(const struct sn_front *nic, struct sn_pkt *pkt)
{
	uint16_t nq = sn_front_num_queues(nic);

	pkt->queue = nq <= 1 ? 0 : (uint16_t)(sn_flow_hash(pkt->data, pkt->len) % nq);
	return pkt->queue;
}
