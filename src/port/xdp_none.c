/* `xdp` port in a build without libxdp/libbpf: a clear error. */
#include <errno.h>
#include <stdio.h>

#include "port/port_impl.h"

int sn_port_xdp_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	(void)args;
	(void)ctx;
	*out = NULL;
	fprintf(stderr, "stagenet: xdp: this stagenet was built without libxdp/libbpf "
		"(install libxdp-dev and libbpf-dev, then rebuild)\n");
	return -EOPNOTSUPP;
}
