/* Platform selection: one entry point that picks real Xen or the emulator. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "plat/impl.h"

enum sn_plat_kind sn_plat_default_kind(void)
{
	return access("/dev/xen/privcmd", F_OK) == 0 ? SN_PLAT_XEN : SN_PLAT_EMU;
}

const char *sn_plat_kind_name(enum sn_plat_kind kind)
{
	switch (kind) {
	case SN_PLAT_EMU:
		return "emu";
	case SN_PLAT_XEN:
		return "xen";
	default:
		return "auto";
	}
}

int sn_plat_kind_parse(const char *s, enum sn_plat_kind *out)
{
	if (!strcmp(s, "emu"))
		*out = SN_PLAT_EMU;
	else if (!strcmp(s, "xen"))
		*out = SN_PLAT_XEN;
	else if (!strcmp(s, "auto"))
		*out = SN_PLAT_AUTO;
	else
		return -EINVAL;
	return 0;
}

int sn_plat_open(const struct sn_plat_cfg *cfg, struct sn_plat **out)
{
	enum sn_plat_kind kind = cfg->kind;

	if (kind == SN_PLAT_AUTO)
		kind = sn_plat_default_kind();
	if (cfg->xs_only && (kind == SN_PLAT_EMU || kind == SN_PLAT_XEN))
		return sn_xs_only_open(kind, cfg, out);
	if (kind == SN_PLAT_EMU)
		return sn_emu_open(cfg, out);
	if (kind == SN_PLAT_XEN)
		return sn_xen_open(cfg, out);
	return -EINVAL;
}

void sn_plat_close(struct sn_plat *p)
{
	if (p)
		p->ops->close(p);
}
