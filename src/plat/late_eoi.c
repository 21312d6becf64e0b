/* Late EOI for event loops (see late_eoi.h). */
#include <time.h>

#include "plat/late_eoi.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void sn_late_eoi_reset(struct sn_late_eoi *l)
{
	*l = (struct sn_late_eoi){ 0 };
}

unsigned int sn_late_eoi_delay_ms(unsigned int n)
{
	unsigned int d = 1;

	if (n <= SN_EVT_SPURIOUS_THRESHOLD)
		return 0;
	for (n -= SN_EVT_SPURIOUS_THRESHOLD + 1; n && d < SN_EVT_SPURIOUS_MAX_DELAY_MS; n--)
		d <<= 1;
	return d < SN_EVT_SPURIOUS_MAX_DELAY_MS ? d : SN_EVT_SPURIOUS_MAX_DELAY_MS;
}

static void release(struct sn_late_eoi *l, struct sn_plat *p, struct sn_evtchn *e)
{
	/* Unmask re-raises a kick that landed while masked. */
	for (unsigned int i = 0; i < l->nheld; i++)
		p->ops->evt_unmask(e, (sn_port_t)l->held[i]);
	l->nheld = 0;
	l->due_us = 0;
}

static bool held(const struct sn_late_eoi *l, int port)
{
	for (unsigned int i = 0; i < l->nheld; i++)
		if (l->held[i] == port)
			return true;
	return false;
}

int sn_late_eoi_take(struct sn_late_eoi *l, struct sn_plat *p, struct sn_evtchn *e, int max)
{
	int got = 0, port;

	if (l->due_us && now_us() >= l->due_us)
		release(l, p, e);
	while (got < max && (port = p->ops->evt_pending(e)) >= 0) {
		/* A held port is masked and cannot fire again on Xen or the
		 * emulator; one that does anyway (the fault platform's
		 * injected events) counts, but is held once. */
		if (!held(l, port)) {
			if (l->nheld < SN_LATE_EOI_PORTS)
				l->held[l->nheld++] = port;
			else
				p->ops->evt_unmask(e, (sn_port_t)port);
		}
		got++;
	}
	return got;
}

bool sn_late_eoi_done(struct sn_late_eoi *l, struct sn_plat *p, struct sn_evtchn *e, bool work)
{
	unsigned int delay;

	if (work) {
		l->spurious = 0;
		release(l, p, e);
		return false;
	}
	/* Saturates well past the cap: the delay stays at its maximum. */
	if (l->spurious < 64)
		l->spurious++;
	delay = sn_late_eoi_delay_ms(l->spurious);
	if (!delay || !l->nheld) {
		release(l, p, e);
		return false;
	}
	l->due_us = now_us() + (uint64_t)delay * 1000u;
	return true;
}

int sn_late_eoi_timeout(struct sn_late_eoi *l, struct sn_plat *p, struct sn_evtchn *e,
			int timeout_ms)
{
	uint64_t now, left;

	if (!l->due_us)
		return timeout_ms;
	now = now_us();
	if (now >= l->due_us) {
		release(l, p, e);
		return timeout_ms;
	}
	/* Round up: waking before the due time would only sleep again. */
	left = (l->due_us - now + 999u) / 1000u;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < left)
		return timeout_ms;
	return (int)left;
}
