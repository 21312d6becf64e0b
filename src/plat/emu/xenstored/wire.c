/* Wire-format helpers: errno names as xenstored sends them (the xsd_errors
 * table from xs_wire.h, which libxenstore maps back) and payload splitting
 * that never trusts a peer's NUL termination. */
#include <errno.h>
#include <string.h>

#include "plat/emu/xenstored/xsd.h"

const char *xsd_errno_name(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	/* Not in the table: libxenstore would read it as EINVAL anyway. */
	return "EIO";
}

int xsd_split(const char *buf, uint32_t len, const char **vec, int max)
{
	uint32_t i = 0;
	int n = 0;

	if (!len || buf[len - 1] != '\0')
		return -EINVAL;
	while (i < len) {
		if (n == max)
			return -EINVAL;
		vec[n++] = buf + i;
		i += (uint32_t)strlen(buf + i) + 1;
	}
	return n;
}
