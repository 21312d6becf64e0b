/* Who a connection is and what it may do: each connection acts as the domain
 * of the process behind it, with xenstored's permission rules (README,
 * "Security model").
 *
 * Identity.  The peer's pid comes from SO_PEERCRED at accept.  A process
 * that registered no domain is dom0 (the toolstack, backends in dom0,
 * xenstore tools).  A connection accepted from a process that registered
 * one is that domain from the start (the lowest domid if it registered
 * several, as the in-process test harness does).  Registering is how a
 * connection becomes a domain for good: the daemon binds the connection
 * whose change introduces a registry entry (/tool/stagenet/domain/<id>) to
 * that id and records its pid with the entry, never the pid the entry's keys
 * claim.  A connection not yet bound may register a domid nobody holds (the
 * only write to the registry a guest may make, ops.c), never dom0 and never
 * a live entry; a bound one never changes domain.  A connection the process
 * opened before it registered, and did not register with, started as dom0
 * and stays so (Xen's "started privileged"): it holds nothing the process
 * did not already have. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plat/emu/xenstored/xsd.h"

static const char *const special_names[XSD_NSPECIAL] = {
	"@introduceDomain", "@releaseDomain"
};

bool xsd_conn_privileged(const struct xsd_conn *c)
{
	/* NULL: the daemon itself (registry release on close). */
	return !c || c->domid == 0;
}

void xsd_conn_bind(struct xsd_conn *c, uint32_t domid)
{
	c->bound = true;
	c->domid = domid;
	snprintf(c->home, sizeof(c->home), "/local/domain/%u", domid);
}

void xsd_conn_resolve(struct xsd *d, struct xsd_conn *c)
{
	bool found = false;
	uint32_t domid = 0;

	if (c->bound || c->pid <= 0)
		return;
	for (uint32_t i = 0; i < d->nreg; i++) {
		if (d->reg[i].pid != c->pid || (found && d->reg[i].domid >= domid))
			continue;
		found = true;
		domid = d->reg[i].domid;
	}
	if (found) {
		c->domid = domid;
		snprintf(c->home, sizeof(c->home), "/local/domain/%u", domid);
	}
}

static unsigned int letter_bits(char ch)
{
	switch (ch) {
	case 'r':
		return XSD_PERM_READ;
	case 'w':
		return XSD_PERM_WRITE;
	case 'b':
		return XSD_PERM_READ | XSD_PERM_WRITE;
	default:
		return 0;
	}
}

/* cxenstored's perm_for_conn: dom0 and the owner (first entry) get
 * everything; another domain gets its own entry if listed, else the first
 * entry's letter.  perms was validated by xsd_perms_valid. */
unsigned int xsd_perm_for(const struct xsd_conn *c, const char *perms,
			  uint32_t plen)
{
	const unsigned int all = XSD_PERM_READ | XSD_PERM_WRITE | XSD_PERM_OWNER;
	uint32_t i = (uint32_t)strlen(perms) + 1;

	if (xsd_conn_privileged(c) || strtoul(perms + 1, NULL, 10) == c->domid)
		return all;
	while (i < plen) {
		const char *e = perms + i;

		if (strtoul(e + 1, NULL, 10) == c->domid)
			return letter_bits(e[0]);
		i += (uint32_t)strlen(e) + 1;
	}
	return letter_bits(perms[0]);
}

static unsigned int node_perm(const struct xsd_conn *c, const struct xsd_node *n)
{
	return xsd_perm_for(c, n->perms, n->plen);
}

/* cxenstored's get_node: a node without the wanted access is EACCES; a
 * missing node is ENOENT only if its nearest existing ancestor grants some
 * of that access, so a guest learns nothing of a tree it cannot see (and
 * creating a node needs write access where it is created). */
int xsd_access(const struct xsd_conn *c, struct xsd_node *root,
	       const char *path, unsigned int want, struct xsd_node **out)
{
	char buf[XENSTORE_ABS_PATH_MAX + 1];
	struct xsd_node *n = xsd_tree_get(root, path);
	char *slash;

	if (out)
		*out = n;
	if (n)
		return (node_perm(c, n) & want) == want ? 0 : -EACCES;
	strcpy(buf, path);
	for (;;) {
		slash = strrchr(buf, '/');
		if (!slash || slash == buf) {
			n = root;
			break;
		}
		*slash = '\0';
		n = xsd_tree_get(root, buf);
		if (n)
			break;
	}
	return node_perm(c, n) & want ? -ENOENT : -EACCES;
}

/* cxenstored's watch_permitted: the watcher must be able to read the node
 * (before or after a permission change) or its parent. */
bool xsd_watch_permitted(struct xsd *d, const struct xsd_conn *c,
			 const char *path, const char *oldp, uint32_t oldl)
{
	char buf[XENSTORE_ABS_PATH_MAX + 1];
	const struct xsd_node *n;
	char *slash;
	int sp;

	if (xsd_conn_privileged(c))
		return true;
	if (path[0] == '@') {
		/* XSA-115: other domains' comings and goings are for dom0
		 * and whoever the toolstack lets read the special node. */
		sp = xsd_special_index(path);
		return sp >= 0 && (xsd_special_perm(d, c, sp) & XSD_PERM_READ);
	}
	if (oldp && (xsd_perm_for(c, oldp, oldl) & XSD_PERM_READ))
		return true;
	n = xsd_tree_get(d->st.root, path);
	if (!n)
		return false;
	if (node_perm(c, n) & XSD_PERM_READ)
		return true;
	strcpy(buf, path);
	slash = strrchr(buf, '/');
	if (!slash)
		return false;
	if (slash == buf)
		slash[1] = '\0';
	else
		*slash = '\0';
	n = xsd_tree_get(d->st.root, buf);
	return n && (node_perm(c, n) & XSD_PERM_READ);
}

static const char default_special[] = "n0"; /* dom0's alone */

const char *xsd_special_perms(const struct xsd *d, int sp, uint32_t *plen)
{
	if (!d->spec_perms[sp]) {
		*plen = sizeof(default_special);
		return default_special;
	}
	*plen = d->spec_plen[sp];
	return d->spec_perms[sp];
}

unsigned int xsd_special_perm(const struct xsd *d, const struct xsd_conn *c, int sp)
{
	uint32_t plen;
	const char *p = xsd_special_perms(d, sp, &plen);

	return xsd_perm_for(c, p, plen);
}

const char *xsd_conn_home(const struct xsd_conn *c)
{
	/* A connection never bound has dom0's home. */
	return c->home[0] ? c->home : XSD_DOM0_PATH;
}

int xsd_special_index(const char *path)
{
	for (int i = 0; i < XSD_NSPECIAL; i++)
		if (!strcmp(path, special_names[i]))
			return i;
	return -1;
}

void xsd_special_fini(struct xsd *d)
{
	for (int i = 0; i < XSD_NSPECIAL; i++) {
		free(d->spec_perms[i]);
		d->spec_perms[i] = NULL;
	}
}

/* XS_SET_PERMS on a special node: dom0's (cxenstored lets its owner, dom0,
 * change it); perms already validated. */
int xsd_special_set(struct xsd *d, const struct xsd_conn *c, int sp,
		    const char *perms, uint32_t plen)
{
	char *p;

	if (!xsd_conn_privileged(c))
		return -EACCES;
	p = malloc(plen);
	if (!p)
		return -ENOMEM;
	memcpy(p, perms, plen);
	free(d->spec_perms[sp]);
	d->spec_perms[sp] = p;
	d->spec_plen[sp] = plen;
	return 0;
}
