/* Feature-key tables of the crafted peers (see peer_keys.h). */
#include <stdio.h>
#include <string.h>

#include "common/peer_keys.h"

static const char *const names[SN_PEER_FEAT_NR] = {
	[SN_PEER_SG] = "feature-sg",
	[SN_PEER_GSO_TCPV4] = "feature-gso-tcpv4",
	[SN_PEER_GSO_TCPV6] = "feature-gso-tcpv6",
	[SN_PEER_IPV6_CSUM] = "feature-ipv6-csum-offload",
	[SN_PEER_NO_CSUM] = "feature-no-csum-offload",
	[SN_PEER_RX_COPY] = "feature-rx-copy",
	[SN_PEER_RX_FLIP] = "feature-rx-flip",
	[SN_PEER_REQUEST_RX_COPY] = "request-rx-copy",
	[SN_PEER_RX_NOTIFY] = "feature-rx-notify",
	[SN_PEER_SPLIT_EVTCHN] = "feature-split-event-channels",
	[SN_PEER_CTRL_RING] = "feature-ctrl-ring",
	[SN_PEER_MCAST_CTRL] = "feature-multicast-control",
	[SN_PEER_DYN_MCAST_CTRL] = "feature-dynamic-multicast-control",
	[SN_PEER_PERSIST] = "feature-persistent-grefs",
	[SN_PEER_REQUEST_PERSIST] = "request-persistent-grefs",
};

#define ALL_OMIT                                                                    \
	[SN_PEER_SG] = SN_PEER_OMIT, [SN_PEER_GSO_TCPV4] = SN_PEER_OMIT,              \
	[SN_PEER_GSO_TCPV6] = SN_PEER_OMIT, [SN_PEER_IPV6_CSUM] = SN_PEER_OMIT,       \
	[SN_PEER_NO_CSUM] = SN_PEER_OMIT, [SN_PEER_RX_COPY] = SN_PEER_OMIT,           \
	[SN_PEER_RX_FLIP] = SN_PEER_OMIT, [SN_PEER_REQUEST_RX_COPY] = SN_PEER_OMIT,   \
	[SN_PEER_RX_NOTIFY] = SN_PEER_OMIT, [SN_PEER_SPLIT_EVTCHN] = SN_PEER_OMIT,    \
	[SN_PEER_CTRL_RING] = SN_PEER_OMIT, [SN_PEER_MCAST_CTRL] = SN_PEER_OMIT,      \
	[SN_PEER_DYN_MCAST_CTRL] = SN_PEER_OMIT, [SN_PEER_PERSIST] = SN_PEER_OMIT,      \
	[SN_PEER_REQUEST_PERSIST] = SN_PEER_OMIT

/* Designated initializers: a later entry overrides ALL_OMIT's. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
const struct sn_peer_keys sn_peer_fe_freebsd = { .k = {
	ALL_OMIT, [SN_PEER_REQUEST_RX_COPY] = SN_PEER_ON, [SN_PEER_RX_NOTIFY] = SN_PEER_ON,
	[SN_PEER_SG] = SN_PEER_ON, [SN_PEER_GSO_TCPV4] = SN_PEER_ON,
} };
const struct sn_peer_keys sn_peer_fe_minios = { .k = {
	ALL_OMIT, [SN_PEER_REQUEST_RX_COPY] = SN_PEER_ON, [SN_PEER_RX_NOTIFY] = SN_PEER_ON,
} };
const struct sn_peer_keys sn_peer_fe_windows_nogso = { .k = {
	ALL_OMIT, [SN_PEER_REQUEST_RX_COPY] = SN_PEER_ON, [SN_PEER_RX_NOTIFY] = SN_PEER_ON,
	[SN_PEER_SG] = SN_PEER_ON, [SN_PEER_IPV6_CSUM] = SN_PEER_ON,
	[SN_PEER_GSO_TCPV4] = SN_PEER_OFF, [SN_PEER_GSO_TCPV6] = SN_PEER_OFF,
} };
const struct sn_peer_keys sn_peer_be_qemu = { .k = {
	ALL_OMIT, [SN_PEER_RX_COPY] = SN_PEER_ON, [SN_PEER_RX_FLIP] = SN_PEER_OFF,
} };
const struct sn_peer_keys sn_peer_be_freebsd = { .k = {
	ALL_OMIT, [SN_PEER_RX_COPY] = SN_PEER_ON, [SN_PEER_RX_FLIP] = SN_PEER_OFF,
	[SN_PEER_SG] = SN_PEER_ON, [SN_PEER_GSO_TCPV4] = SN_PEER_ON,
} };
#pragma GCC diagnostic pop

const char *sn_peer_feat_name(enum sn_peer_feat f)
{
	return (unsigned int)f < SN_PEER_FEAT_NR ? names[f] : NULL;
}

enum sn_peer_key sn_peer_key_get(const struct sn_peer_keys *keys,
				 const struct sn_peer_keys *dflt, enum sn_peer_feat f)
{
	enum sn_peer_key k = keys ? keys->k[f] : SN_PEER_DEFAULT;

	if (k == SN_PEER_DEFAULT && dflt)
		k = dflt->k[f];
	return k == SN_PEER_DEFAULT ? SN_PEER_OMIT : k;
}

int sn_peer_keys_write(struct sn_plat *p, xs_transaction_t x, const char *dir,
		       const struct sn_peer_keys *keys, const struct sn_peer_keys *dflt)
{
	char path[256];
	int rc;

	for (unsigned int f = 0; f < SN_PEER_FEAT_NR; f++) {
		enum sn_peer_key k = sn_peer_key_get(keys, dflt, (enum sn_peer_feat)f);

		if (k == SN_PEER_OMIT)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[f]);
		rc = p->ops->xs_write(p, x, path, k == SN_PEER_ON ? "1" : "0", 1);
		if (rc)
			return rc;
	}
	return 0;
}
