/* Event-channel scenarios shared by the unit test (fake registry) and the
 * emulated-host test (real registry): each takes two domains' platforms
 * and asserts Xen's observable semantics through the ops table only. */
#ifndef SN_TEST_EVTCHN_SCEN_H
#define SN_TEST_EVTCHN_SCEN_H

#include <stdbool.h>

#include "stagenet/plat.h"

/* The pair of domains a scenario runs on; domid a < domid b. */
struct scen_env {
	struct sn_plat *a, *b;
	/* optional second context acting as b's domid (fake registry only):
	 * lets two binders race without sharing b's lock */
	struct sn_plat *b2;
};

/* poll() the fd for up to timeout_ms (0 = just look). */
bool scen_readable(int fd, int timeout_ms);

/* a allocates unbound for b, b binds it; b's spurious event is consumed. */
struct scen_pair {
	struct sn_evtchn *ha, *hb;
	int pa, pb;
};
void scen_pair_open(struct scen_env *env, struct scen_pair *p);
void scen_pair_close(struct scen_env *env, struct scen_pair *p);

void scen_bind_is_spuriously_pending_once(struct scen_env *env);
void scen_notify_wakes_peer_both_ways(struct scen_env *env);
void scen_masked_port_does_not_wake_until_unmask(struct scen_env *env);
void scen_notifies_coalesce_into_one_delivery(struct scen_env *env);
void scen_bind_rejects_port_not_offered_to_us(struct scen_env *env);
void scen_notify_rejects_free_and_foreign_ports(struct scen_env *env);
void scen_notify_on_unbound_port_is_noop(struct scen_env *env);
void scen_unbind_returns_peer_port_to_unbound(struct scen_env *env);
void scen_unbind_by_allocator_frees_and_silences(struct scen_env *env);
void scen_handle_close_unbinds_its_ports(struct scen_env *env);
void scen_fd_stays_readable_while_ports_remain(struct scen_env *env);
void scen_loopback_in_one_domain(struct scen_env *env);
void scen_threads_never_lose_a_wakeup(struct scen_env *env);
void scen_threads_ping_pong(struct scen_env *env);
void scen_threads_two_ports_never_lose_a_wakeup(struct scen_env *env);
void scen_two_binders_race_one_wins(struct scen_env *env);

#endif
