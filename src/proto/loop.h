/* Tuning shared by the queue loops of both sides (back/vif.c queue_main,
 * front/loop.c sn_front_queue_run): how much one turn does and how an idle
 * queue goes to sleep. */
#ifndef SN_PROTO_LOOP_H
#define SN_PROTO_LOOP_H

/* Backend: packets per direction per turn.  Bounds the work one event can
 * cause (XSA-332/391) and keeps TX and RX of a queue interleaved. */
#define SN_BACK_QUEUE_BUDGET 64u
/* Frontend: packets per burst between the NIC and its port, each way. */
#define SN_FRONT_BURST 32u
/* Keep polling the rings this long after the last work before arming
 * events and sleeping: a blocking wake-up costs ~30 us here, far more than
 * a short poll (NAPI does the same). */
#define SN_IDLE_POLL_US 50u
/* Busy polling: empty turns in a row before an idle queue thread starts
 * yielding its CPU (a turn with nothing to do costs well under 1 us).  With
 * more busy queues than CPUs the threads share a CPU, and an idle one then
 * hands its time slice to a sibling with work instead of spinning it out. */
#define SN_BUSY_YIELD_TURNS 16u

#endif
