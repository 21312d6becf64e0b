/* The feature keys a crafted peer advertises, as a table: each key written
 * "1", written "0" or left out of xenstore.  Real peers differ exactly
 * there (Linux, FreeBSD and QEMU backends, MiniOS frontends), so a test
 * states the set it talks to instead of patching keys after the fact. */
#ifndef SN_TEST_PEER_KEYS_H
#define SN_TEST_PEER_KEYS_H

#include "stagenet/plat.h"

enum sn_peer_key {
	SN_PEER_DEFAULT = 0, /* what this peer writes when the test says nothing */
	SN_PEER_ON,          /* "1" */
	SN_PEER_OFF,         /* "0" */
	SN_PEER_OMIT,        /* not written at all */
};

enum sn_peer_feat {
	SN_PEER_SG,              /* feature-sg */
	SN_PEER_GSO_TCPV4,       /* feature-gso-tcpv4 */
	SN_PEER_GSO_TCPV6,       /* feature-gso-tcpv6 */
	SN_PEER_IPV6_CSUM,       /* feature-ipv6-csum-offload */
	SN_PEER_NO_CSUM,         /* feature-no-csum-offload (frontend) */
	SN_PEER_RX_COPY,         /* feature-rx-copy (backend) */
	SN_PEER_RX_FLIP,         /* feature-rx-flip (backend) */
	SN_PEER_REQUEST_RX_COPY, /* request-rx-copy (frontend) */
	SN_PEER_RX_NOTIFY,       /* feature-rx-notify (frontend) */
	SN_PEER_SPLIT_EVTCHN,    /* feature-split-event-channels (backend) */
	SN_PEER_CTRL_RING,       /* feature-ctrl-ring (backend) */
	SN_PEER_MCAST_CTRL,      /* feature-multicast-control */
	SN_PEER_DYN_MCAST_CTRL,  /* feature-dynamic-multicast-control */
	SN_PEER_PERSIST,         /* feature-persistent-grefs (backend) */
	SN_PEER_REQUEST_PERSIST, /* request-persistent-grefs (frontend) */
	SN_PEER_FEAT_NR
};

struct sn_peer_keys {
	enum sn_peer_key k[SN_PEER_FEAT_NR];
};

/* Feature sets of real peers that offer less than Linux (what their
 * drivers write; every key not listed is left out):
 *   frontends: FreeBSD netfront (SG, GSO TCPv4; no TCPv6 GSO, no IPv6
 *   checksum offload), MiniOS netfront (no SG, no GSO), Windows xennet with
 *   GSO turned off (SG and IPv6 checksum offload, GSO written 0);
 *   backends: QEMU's xen_nic (rx-copy only: no SG, no GSO, no IPv6
 *   checksum offload), FreeBSD netback (SG, GSO TCPv4; no TCPv6 GSO). */
extern const struct sn_peer_keys sn_peer_fe_freebsd, sn_peer_fe_minios, sn_peer_fe_windows_nogso;
extern const struct sn_peer_keys sn_peer_be_qemu, sn_peer_be_freebsd;

const char *sn_peer_feat_name(enum sn_peer_feat f);
/* keys->k[f], or dflt->k[f] where that is SN_PEER_DEFAULT (keys may be NULL). */
enum sn_peer_key sn_peer_key_get(const struct sn_peer_keys *keys,
				 const struct sn_peer_keys *dflt, enum sn_peer_feat f);
/* Write every key not omitted under dir as domain p in transaction x
 * (XBT_NULL: one write each); 0 or -errno. */
int sn_peer_keys_write(struct sn_plat *p, xs_transaction_t x, const char *dir,
		       const struct sn_peer_keys *keys, const struct sn_peer_keys *dflt);

#endif
