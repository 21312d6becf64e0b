/* Request handlers, one per xs_wire.h message type, and xsd_apply, the one
 * place the live tree changes (watches and the registry follow from it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plat/emu/emu.h"
#include "plat/emu/xenstored/xsd.h"

#define PATHBUF (XENSTORE_ABS_PATH_MAX + 1)

/* ---- changes to the live tree ----------------------------------------- */

static void rm_fire(void *arg, const char *path, bool is_root)
{
	/* xenstored: the removed node fires every watch at or above it; its
	 * children only fire watches set exactly on them.  The node is still
	 * in the tree here, so watchers are checked against its perms. */
	xsd_watch_fire(arg, path, !is_root, NULL, 0);
}

/* Creator of new nodes: xenstored lets an unprivileged domain own what it
 * creates; dom0's nodes keep the parent's owner.  Registry entries stay
 * dom0's whoever registers (perms.c). */
static int32_t creator(const struct xsd_conn *c, const char *path)
{
	if (xsd_conn_privileged(c) || xsd_path_is_under(path, SN_EMU_REG_ROOT))
		return -1;
	return (int32_t)c->domid;
}

/* The domid of the registry entry path is in or names, or -1. */
static int reg_domid(const char *path, bool *whole)
{
	const size_t rl = strlen(SN_EMU_REG_ROOT);
	char id[8];
	size_t l;
	uint32_t domid;

	if (strncmp(path, SN_EMU_REG_ROOT "/", rl + 1))
		return -1;
	l = strcspn(path + rl + 1, "/");
	if (l >= sizeof(id))
		return -1;
	memcpy(id, path + rl + 1, l);
	id[l] = '\0';
	*whole = path[rl + 1 + l] == '\0';
	return xsd_parse_domid(id, &domid) ? -1 : (int)domid;
}

/* The registry writes a guest may make (perms.c): a connection not yet
 * registered may create and fill the entry of a domid nobody holds, never
 * dom0's (how a process becomes a domain); the connection that registered
 * an entry may remove it whole (how a domain goes away). */
static bool registry_own(struct xsd *d, const struct xsd_conn *c, uint32_t type,
			 const char *path)
{
	const struct xsd_reg_entry *e;
	bool whole = false;
	int domid = reg_domid(path, &whole);

	if (!c || domid < 0)
		return false;
	e = xsd_registry_find(d, (uint32_t)domid);
	if (type == XS_RM)
		return whole && e && e->owner == c->id;
	return type != XS_SET_PERMS && !c->bound && domid != 0 && !e;
}

int xsd_apply(struct xsd *d, struct xsd_conn *c, uint32_t type,
	      const char *path, const char *data, uint32_t len)
{
	struct xsd_node **root = &d->st.root;
	char *oldp = NULL;
	uint32_t oldl = 0;
	int rc;

	switch (type) {
	case XS_WRITE:
		rc = xsd_tree_write_as(&d->st, root, path, data, len, creator(c, path));
		break;
	case XS_MKDIR:
		rc = xsd_tree_mkdir_as(&d->st, root, path, creator(c, path));
		break;
	case XS_RM:
		rc = xsd_tree_rm(&d->st, root, path, rm_fire, d);
		break;
	case XS_SET_PERMS: {
		/* A watcher that loses access still hears of the change. */
		const struct xsd_node *n = xsd_tree_get(*root, path);

		if (n) {
			oldp = malloc(n->plen);
			if (!oldp)
				return -ENOMEM;
			memcpy(oldp, n->perms, n->plen);
			oldl = n->plen;
		}
		rc = xsd_tree_set_perms(&d->st, root, path, data, len);
		break;
	}
	default:
		return -EINVAL;
	}
	if (rc == 0 && type != XS_RM)
		xsd_watch_fire(d, path, false, oldp, oldl);
	free(oldp);
	if (rc < 0)
		return rc;
	if (rc == 0 && xsd_registry_related(path))
		xsd_registry_sync(d, c);
	return 0;
}

/* ---- request handlers ------------------------------------------------- */

struct req {
	struct xsd *d;
	struct xsd_conn *c;
	const struct xsd_sockmsg *h;
	const char *p; /* payload, NUL terminated one past len */
	uint32_t len;
	struct xsd_txn *t;
};

static int reply(struct req *r, const void *p, uint32_t len)
{
	return xsd_conn_send(r->d, r->c, r->h->type, r->h->req_id, r->h->tx_id,
			     p, len, NULL, 0);
}

static int reply_ok(struct req *r)
{
	return reply(r, "OK", 3);
}

/* Exactly one NUL-terminated string, as xenstored's onearg() wants. */
static int one_arg(struct req *r, const char **arg)
{
	const char *v[1];
	int n = xsd_split(r->p, r->len, v, 1);

	if (n != 1)
		return -EINVAL;
	*arg = v[0];
	return 0;
}

static int canon(struct req *r, const char *in, char *abs)
{
	bool rel;

	return xsd_path_canon_at(in, abs, &rel, xsd_conn_home(r->c));
}

static int one_path(struct req *r, char *abs)
{
	const char *arg;
	int rc = one_arg(r, &arg);

	return rc ? rc : canon(r, arg, abs);
}

static struct xsd_node *view_root(struct req *r)
{
	return r->t ? r->t->root : r->d->st.root;
}

/* The node at path if this connection may have the access want to it. */
static int view(struct req *r, const char *path, unsigned int want,
		struct xsd_node **n)
{
	return xsd_access(r->c, view_root(r), path, want, n);
}

/* A txn change to path depends on the node itself and on its ancestors
 * still existing, not on their other children. */
static int txn_dep_change(struct xsd_txn *t, const char *path)
{
	char buf[PATHBUF];
	int rc;

	strcpy(buf, path);
	for (char *s = buf + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		rc = xsd_txn_access(t, buf, XSD_ACC_EXIST);
		*s = '/';
		if (rc)
			return rc;
	}
	return xsd_txn_access(t, path, XSD_ACC_GEN);
}

/* GET_PERMS of a special node (cxenstored keeps perms on them only). */
static int special_get_perms(struct req *r)
{
	const char *arg, *perms;
	uint32_t plen;
	int sp, rc = one_arg(r, &arg);

	if (rc)
		return rc;
	sp = xsd_special_index(arg);
	if (sp < 0)
		return -ENOENT;
	perms = xsd_special_perms(r->d, sp, &plen);
	if (!(xsd_perm_for(r->c, perms, plen) & XSD_PERM_READ))
		return -EACCES;
	return reply(r, perms, plen);
}

static int do_read(struct req *r)
{
	char path[PATHBUF];
	struct xsd_node *n;
	int rc;

	if (r->h->type == XS_GET_PERMS && r->p[0] == '@')
		return special_get_perms(r);
	rc = one_path(r, path);
	if (!rc && r->t)
		rc = xsd_txn_access(r->t, path, XSD_ACC_GEN);
	if (rc)
		return rc;
	rc = view(r, path, XSD_PERM_READ, &n);
	if (rc)
		return rc;
	switch (r->h->type) {
	case XS_READ:
		return reply(r, n->value, n->vlen);
	case XS_GET_PERMS:
		return reply(r, n->perms, n->plen);
	default: {
		char *kids;
		uint32_t len;

		rc = xsd_node_children(n, &kids, &len);
		if (rc)
			return rc;
		rc = len > XENSTORE_PAYLOAD_MAX ? -E2BIG : reply(r, kids, len);
		free(kids);
		return rc;
	}
	}
}

/* Payload "path\0offset\0"; reply "generation\0" then as many children as
 * fit, with an extra "\0" when the list is complete. */
static int do_directory_part(struct req *r)
{
	char path[PATHBUF], gen[24], *kids, *out;
	const char *v[2];
	struct xsd_node *n;
	uint32_t len, off = 0, take = 0, glen, max;
	int rc;

	if (xsd_split(r->p, r->len, v, 2) != 2)
		return -EINVAL;
	rc = canon(r, v[0], path);
	if (rc)
		return rc;
	for (const char *s = v[1]; *s; s++) {
		if (*s < '0' || *s > '9' || off > XENSTORE_PAYLOAD_MAX * 1024u)
			return -EINVAL;
		off = off * 10 + (uint32_t)(*s - '0');
	}
	if (!*v[1])
		return -EINVAL;
	if (r->t) {
		rc = xsd_txn_access(r->t, path, XSD_ACC_GEN);
		if (rc)
			return rc;
	}
	rc = view(r, path, XSD_PERM_READ, &n);
	if (rc)
		return rc;
	rc = xsd_node_children(n, &kids, &len);
	if (rc)
		return rc;
	glen = (uint32_t)snprintf(gen, sizeof(gen), "%llu",
				  (unsigned long long)n->gen) + 1;
	max = XENSTORE_PAYLOAD_MAX - glen - 1;
	if (off > len)
		off = len;
	/* The offset comes from the client and may point into a name; the
	 * generation check on its side catches lists that changed. */
	while (off + take < len) {
		uint32_t l = (uint32_t)strlen(kids + off + take) + 1;

		if (take + l > max)
			break;
		take += l;
	}
	out = malloc(glen + take + 1);
	if (!out) {
		free(kids);
		return -ENOMEM;
	}
	memcpy(out, gen, glen);
	memcpy(out + glen, kids + off, take);
	if (off + take == len)
		out[glen + take++] = '\0';
	rc = reply(r, out, glen + take);
	free(out);
	free(kids);
	return rc;
}

/* xenstored's checks before a change: write access to the node, or for a
 * missing one to where it would be created; SET_PERMS also needs to own
 * the node, and only dom0 may give it away. */
static int may_change(struct req *r, const char *path, const char *data)
{
	unsigned int want = XSD_PERM_WRITE;
	struct xsd_node *n;
	int rc;

	if (r->h->type == XS_SET_PERMS)
		want |= XSD_PERM_OWNER;
	if (!xsd_conn_privileged(r->c) && registry_own(r->d, r->c, r->h->type, path))
		return 0;
	rc = view(r, path, want, &n);
	if (rc == -ENOENT && r->h->type != XS_SET_PERMS)
		return 0;
	if (rc)
		return rc;
	if (r->h->type == XS_SET_PERMS && !xsd_conn_privileged(r->c) &&
	    strtoul(data + 1, NULL, 10) != strtoul(n->perms + 1, NULL, 10))
		return -EPERM;
	return 0;
}

static int do_change(struct req *r)
{
	char path[PATHBUF];
	const char *data = NULL;
	uint32_t dlen = 0;
	const char *nul = memchr(r->p, '\0', r->len);
	int rc;

	if (!nul)
		return -EINVAL;
	switch (r->h->type) {
	case XS_WRITE:
		data = nul + 1;
		dlen = r->len - (uint32_t)(data - r->p);
		break;
	case XS_SET_PERMS:
		data = nul + 1;
		dlen = r->len - (uint32_t)(data - r->p);
		rc = xsd_perms_valid(data, dlen);
		if (rc)
			return rc;
		if (r->p[0] == '@') {
			int sp = xsd_special_index(r->p);

			if (sp < 0)
				return -ENOENT;
			rc = xsd_special_set(r->d, r->c, sp, data, dlen);
			return rc ? rc : reply_ok(r);
		}
		break;
	default: /* MKDIR, RM: exactly the path */
		if (nul + 1 != r->p + r->len)
			return -EINVAL;
	}
	rc = canon(r, r->p, path);
	if (!rc)
		rc = may_change(r, path, data);
	if (rc)
		return rc;
	if (!r->t) {
		rc = xsd_apply(r->d, r->c, r->h->type, path, data, dlen);
		return rc ? rc : reply_ok(r);
	}
	rc = txn_dep_change(r->t, path);
	if (rc)
		return rc;
	switch (r->h->type) {
	case XS_WRITE:
		rc = xsd_tree_write_as(&r->d->st, &r->t->root, path, data, dlen,
				       creator(r->c, path));
		break;
	case XS_MKDIR:
		rc = xsd_tree_mkdir_as(&r->d->st, &r->t->root, path, creator(r->c, path));
		break;
	case XS_RM:
		rc = xsd_tree_rm(&r->d->st, &r->t->root, path, NULL, NULL);
		break;
	default:
		rc = xsd_tree_set_perms(&r->d->st, &r->t->root, path, data, dlen);
	}
	if (rc < 0)
		return rc;
	/* Watches fire at commit, when the log is replayed. */
	if (rc == 0) {
		rc = xsd_txn_log(r->t, r->h->type, path, data, dlen);
		if (rc)
			return rc;
	}
	return reply_ok(r);
}

static int do_watch(struct req *r)
{
	const char *v[2];
	int rc;

	if (xsd_split(r->p, r->len, v, 2) != 2)
		return -EINVAL;
	if (r->h->type == XS_UNWATCH) {
		rc = xsd_watch_del(r->c, v[0], v[1]);

		return rc ? rc : reply_ok(r);
	}
	/* On success the reply and the initial event are already queued. */
	rc = xsd_watch_add(r->d, r->c, v[0], v[1], r->h);
	return rc < 0 ? rc : 0;
}

static int do_txn_start(struct req *r)
{
	char id[16];
	uint32_t tid;
	int rc;

	if (r->h->tx_id)
		return -EBUSY;
	rc = xsd_txn_start(r->d, r->c, &tid);
	if (rc)
		return rc;
	return reply(r, id, (uint32_t)snprintf(id, sizeof(id), "%u", tid) + 1);
}

static int do_txn_end(struct req *r)
{
	const char *arg;
	bool commit;
	int rc;

	if (!r->t)
		return -ENOENT;
	rc = one_arg(r, &arg);
	if (rc)
		return rc;
	if (strcmp(arg, "T") && strcmp(arg, "F"))
		return -EINVAL;
	commit = arg[0] == 'T';
	rc = xsd_txn_end(r->d, r->c, r->t, commit);
	r->t = NULL;
	return rc ? rc : reply_ok(r);
}

static int do_domain(struct req *r)
{
	char out[32];
	const char *arg;
	uint32_t domid;
	int rc;

	/* cxenstored: only dom0 may ask about or release domains, and it
	 * says so before looking at the request. */
	if (r->h->type != XS_GET_DOMAIN_PATH && !xsd_conn_privileged(r->c))
		return -EACCES;
	rc = one_arg(r, &arg);
	if (!rc)
		rc = xsd_parse_domid(arg, &domid);
	if (rc)
		return rc;
	switch (r->h->type) {
	case XS_GET_DOMAIN_PATH:
		return reply(r, out, (uint32_t)snprintf(out, sizeof(out),
							"/local/domain/%u", domid) + 1);
	case XS_IS_DOMAIN_INTRODUCED:
		return reply(r, domid == 0 || xsd_registry_find(r->d, domid) ? "T" : "F", 2);
	default: { /* XS_RELEASE: the toolstack declares the domain dead */
		char path[64];

		if (!xsd_registry_find(r->d, domid))
			return -ENOENT;
		snprintf(path, sizeof(path), SN_EMU_REG_ROOT "/%u", domid);
		rc = xsd_apply(r->d, r->c, XS_RM, path, NULL, 0);
		return rc ? rc : reply_ok(r);
	}
	}
}

void xsd_handle(struct xsd *d, struct xsd_conn *c)
{
	struct req r = { .d = d, .c = c, .h = &c->hdr, .p = c->in,
			 .len = c->hdr.len };
	int rc;

	switch (c->hdr.type) {
	case XS_READ:
	case XS_DIRECTORY:
	case XS_DIRECTORY_PART:
	case XS_GET_PERMS:
	case XS_WRITE:
	case XS_MKDIR:
	case XS_RM:
	case XS_SET_PERMS:
	case XS_TRANSACTION_END:
		if (c->hdr.tx_id) {
			r.t = xsd_txn_find(c, c->hdr.tx_id);
			if (!r.t) {
				rc = -ENOENT;
				goto out;
			}
		}
		break;
	default:
		break;
	}

	switch (c->hdr.type) {
	case XS_READ:
	case XS_DIRECTORY:
	case XS_GET_PERMS:
		rc = do_read(&r);
		break;
	case XS_DIRECTORY_PART:
		rc = do_directory_part(&r);
		break;
	case XS_WRITE:
	case XS_MKDIR:
	case XS_RM:
	case XS_SET_PERMS:
		rc = do_change(&r);
		break;
	case XS_WATCH:
	case XS_UNWATCH:
		rc = do_watch(&r);
		break;
	case XS_TRANSACTION_START:
		rc = do_txn_start(&r);
		break;
	case XS_TRANSACTION_END:
		rc = do_txn_end(&r);
		break;
	case XS_GET_DOMAIN_PATH:
	case XS_IS_DOMAIN_INTRODUCED:
	case XS_RELEASE:
		rc = do_domain(&r);
		break;
	case XS_RESET_WATCHES:
		xsd_watch_free_all(c);
		xsd_txn_free_all(d, c);
		rc = reply_ok(&r);
		break;
	case XS_INTRODUCE:
	case XS_RESUME:
	case XS_SET_TARGET:
	case XS_CONTROL:
		/* They need a hypervisor or are not ours; xenstored refuses
		 * them to guests before anything else. */
		rc = xsd_conn_privileged(c) ? -ENOSYS : -EACCES;
		break;
	default:
		/* Unknown types are refused the way xenstored refuses them. */
		rc = -ENOSYS;
	}
out:
	if (rc < 0)
		xsd_conn_error(d, c, &c->hdr, rc);
}
