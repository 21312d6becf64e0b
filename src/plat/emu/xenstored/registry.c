/* The emulator's domain registry: /tool/stagenet/domain/<domid> belongs to
 * the connection that created it.  When that connection closes the subtree
 * is removed (normal watches fire) and @releaseDomain fires, so a dead
 * emulated domain disappears and its peers notice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plat/emu/emu.h"
#include "plat/emu/xenstored/xsd.h"

/* Canonical decimal domid ("7", not "07" or "+7"), so each domain has one
 * registry name. */
int xsd_parse_domid(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(*s - '0');
		if (v > 0xFFFF)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

struct xsd_reg_entry *xsd_registry_find(struct xsd *d, uint32_t domid)
{
	for (uint32_t i = 0; i < d->nreg; i++)
		if (d->reg[i].domid == domid)
			return &d->reg[i];
	return NULL;
}

bool xsd_registry_related(const char *path)
{
	return xsd_path_is_under(path, SN_EMU_REG_ROOT) ||
	       xsd_path_is_under(SN_EMU_REG_ROOT, path);
}

/* Bring the table in line with the children of the registry node after a
 * change: entries that vanished are released, new ones are introduced and
 * owned by the connection whose change created them. */
void xsd_registry_sync(struct xsd *d, struct xsd_conn *c)
{
	const struct xsd_node *n = xsd_tree_get(d->st.root, SN_EMU_REG_ROOT);

	for (uint32_t i = d->nreg; i-- > 0;) {
		char name[8];
		bool found = false;

		snprintf(name, sizeof(name), "%u", d->reg[i].domid);
		for (uint32_t k = 0; n && k < n->nkids && !found; k++)
			found = !strcmp(n->kids[k]->name, name);
		if (found)
			continue;
		d->reg[i] = d->reg[--d->nreg];
		xsd_watch_fire(d, "@releaseDomain", true, NULL, 0);
	}
	for (uint32_t k = 0; n && k < n->nkids; k++) {
		uint32_t domid;

		if (xsd_parse_domid(n->kids[k]->name, &domid) || xsd_registry_find(d, domid))
			continue;
		if (d->nreg == d->capreg) {
			uint32_t cap = d->capreg ? d->capreg * 2 : 16;
			struct xsd_reg_entry *r = realloc(d->reg, cap * sizeof(*r));

			if (!r) {
				xsd_log(d, "registry: out of memory, domain %u not tracked", domid);
				continue;
			}
			d->reg = r;
			d->capreg = cap;
		}
		d->reg[d->nreg].domid = domid;
		d->reg[d->nreg].owner = c ? c->id : 0;
		d->reg[d->nreg].pid = c ? c->pid : 0;
		d->nreg++;
		/* Registering is how a process becomes a guest: the
		 * connection that did it acts as that domain from now on
		 * (perms.c). */
		if (c && !c->bound)
			xsd_conn_bind(c, domid);
		xsd_watch_fire(d, "@introduceDomain", true, NULL, 0);
	}
}

void xsd_registry_conn_closed(struct xsd *d, struct xsd_conn *c)
{
	for (;;) {
		char path[64];
		uint32_t i;

		for (i = 0; i < d->nreg && d->reg[i].owner != c->id; i++)
			;
		if (i == d->nreg)
			break;
		/* Disown first, so a failing rm cannot loop forever. */
		d->reg[i].owner = 0;
		snprintf(path, sizeof(path), SN_EMU_REG_ROOT "/%u", d->reg[i].domid);
		xsd_log(d, "conn %llu closed: releasing domain %u",
			(unsigned long long)c->id, d->reg[i].domid);
		xsd_apply(d, NULL, XS_RM, path, NULL, 0);
	}
}

void xsd_registry_fini(struct xsd *d)
{
	free(d->reg);
	d->reg = NULL;
	d->nreg = d->capreg = 0;
}
