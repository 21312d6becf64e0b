/* Tuning shared by the queue loops of both sides (back/vif.c queue_main,
 * front/loop.c sn_front_queue_run): how much one turn does and how an idle
 * queue goes to sleep. */
#ifndef SN_PROTO_LOOP_H
#define SN_PROTO_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/* Backend: packets per direction per turn.  Bounds the work one event can
 * cause (XSA-332/391) and keeps TX and RX of a queue interleaved. */
#define SN_BACK_QUEUE_BUDGET 64u
/* Frontend: packets per burst between the NIC and its port, each way. */
#define SN_FRONT_BURST 32u
/* Keep polling the rings this long after the last work before arming
 * events and sleeping: a blocking wake-up costs ~30 us here, far more than
 * a short poll (NAPI does the same).  This is where an event-mode queue
 * starts; struct sn_poll_adapt then learns the window from the traffic
 * between SN_IDLE_POLL_MIN_US and SN_IDLE_POLL_MAX_US. */
#define SN_IDLE_POLL_US 50u
#define SN_IDLE_POLL_MIN_US 10u
#define SN_IDLE_POLL_MAX_US 200u
/* Busy polling: empty turns in a row before an idle queue thread starts
 * yielding its CPU (a turn with nothing to do costs well under 1 us).  With
 * more busy queues than CPUs the threads share a CPU, and an idle one then
 * hands its time slice to a sibling with work instead of spinning it out. */
#define SN_BUSY_YIELD_TURNS 16u

/* Adaptive idle polling of one queue loop (event mode), as KVM's halt
 * polling: after a sleep whose wake-up came within SN_IDLE_POLL_MAX_US of
 * going idle, a longer poll would have saved the wake-up (and its latency),
 * so the window grows to cover that gap; after a longer sleep the poll was
 * wasted CPU, so it halves.  Work found while still polling keeps it.  So a
 * request/response stream keeps its round trip polled, an idle queue polls
 * SN_IDLE_POLL_MIN_US after its last packet and then sleeps. */
struct sn_poll_adapt {
	unsigned int poll_us;
};

static inline void sn_poll_adapt_init(struct sn_poll_adapt *a)
{
	a->poll_us = SN_IDLE_POLL_US;
}

/* Work arrived gap_us after the queue went idle; slept: it had gone to
 * sleep in between. */
static inline void sn_poll_adapt_work(struct sn_poll_adapt *a, uint64_t gap_us, bool slept)
{
	if (!slept)
		return;
	if (gap_us <= SN_IDLE_POLL_MAX_US) {
		uint64_t want = gap_us + gap_us / 4 + 1;

		if (want < 2ull * a->poll_us)
			want = 2ull * a->poll_us;
		a->poll_us = want > SN_IDLE_POLL_MAX_US ? SN_IDLE_POLL_MAX_US : (unsigned int)want;
	} else {
		a->poll_us /= 2;
		if (a->poll_us < SN_IDLE_POLL_MIN_US)
			a->poll_us = SN_IDLE_POLL_MIN_US;
	}
}

#endif
