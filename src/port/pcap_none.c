/* Built instead of pcap.c when libpcap is missing: the kind exists but
 * says why it cannot open. */
#include <errno.h>
#include <stdio.h>

#include "port/port_impl.h"

int sn_port_pcap_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	(void)args;
	(void)ctx;
	*out = NULL;
	fprintf(stderr, "stagenet: pcap: built without libpcap\n");
	return -ENOTSUP;
}
