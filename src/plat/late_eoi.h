/* Late EOI: how every event loop of both sides re-enables a channel, so a
 * peer that keeps kicking with nothing behind its kicks cannot buy our CPU
 * (XSA-332; Linux's xen_irq_lateeoi with XEN_EOI_FLAG_SPURIOUS does the
 * same).  A wake-up takes its ports and leaves them masked; only once the
 * loop has looked at its rings does it say whether there was work.  Work
 * re-enables them at once and forgets the peer's past.  A wake-up with no
 * work is spurious: after SN_EVT_SPURIOUS_THRESHOLD of them in a row the
 * ports stay masked for a delay that doubles with each further one, up to
 * SN_EVT_SPURIOUS_MAX_DELAY_MS, and the loop skips its idle busy-poll.
 * Kicks meanwhile only set the masked port's pending bit, which the late
 * unmask re-raises, so no wake-up is lost: the storming peer's own work
 * waits up to the delay, every other channel none.  One struct per
 * sn_evtchn handle a loop waits on, owned by that loop's thread. */
#ifndef SN_PLAT_LATE_EOI_H
#define SN_PLAT_LATE_EOI_H

#include <stdbool.h>
#include <stdint.h>

#include "stagenet/plat.h"

/* Spurious wake-ups in a row served as if they were real: a legitimate
 * peer makes one now and then (a kick for work an idle poll already
 * took), never many in a row without work in between. */
#define SN_EVT_SPURIOUS_THRESHOLD 2u
/* The longest a channel stays masked: a storm costs at most one wake-up
 * per this many ms once throttled. */
#define SN_EVT_SPURIOUS_MAX_DELAY_MS 128u
#define SN_LATE_EOI_PORTS 4

struct sn_late_eoi {
	unsigned int spurious; /* wake-ups in a row with no work behind them */
	unsigned int nheld;    /* ports taken and still masked */
	int held[SN_LATE_EOI_PORTS];
	uint64_t due_us;       /* CLOCK_MONOTONIC time the held ports are
				* re-enabled; 0: when the wake-up ends */
};

/* Forget everything (a new channel handle or a reconnect); nothing is
 * unmasked. */
void sn_late_eoi_reset(struct sn_late_eoi *l);
/* Re-enable the held ports if their time has come, then take the ports
 * that fired on e (at most max), leaving them masked.  Returns how many
 * fired. */
int sn_late_eoi_take(struct sn_late_eoi *l, struct sn_plat *p, struct sn_evtchn *e, int max);
/* End of a wake-up, after the rings were looked at: work says whether
 * there was any.  Returns true when the held ports stay masked (the
 * wake-up was spurious and throttled), false when they were re-enabled. */
bool sn_late_eoi_done(struct sn_late_eoi *l, struct sn_plat *p, struct sn_evtchn *e, bool work);
/* Re-enable the held ports if due; returns the poll timeout to use: the
 * smaller of timeout_ms (-1: none) and the time left until they are due. */
int sn_late_eoi_timeout(struct sn_late_eoi *l, struct sn_plat *p, struct sn_evtchn *e,
			int timeout_ms);
/* Spurious wake-ups are being throttled: skip the idle busy-poll. */
static inline bool sn_late_eoi_quiet(const struct sn_late_eoi *l)
{
	return l->spurious > SN_EVT_SPURIOUS_THRESHOLD;
}
/* How long the n-th spurious wake-up in a row keeps its ports masked
 * (0: re-enabled at once). */
unsigned int sn_late_eoi_delay_ms(unsigned int n);

#endif
