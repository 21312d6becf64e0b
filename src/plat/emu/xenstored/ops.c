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
	 * children only fire watches set exactly on them. */
	xsd_watch_fire(arg, path, !is_root);
}

int xsd_apply(struct xsd *d, struct xsd_conn *c, uint32_t type,
	      const char *path, const char *data, uint32_t len)
{
	struct xsd_node **root = &d->st.root;
	int rc;

	switch (type) {
	case XS_WRITE:
		rc = xsd_tree_write(&d->st, root, path, data, len);
		break;
	case XS_MKDIR:
		rc = xsd_tree_mkdir(&d->st, root, path);
		break;
	case XS_RM:
		rc = xsd_tree_rm(&d->st, root, path, rm_fire, d);
		break;
	case XS_SET_PERMS:
		rc = xsd_tree_set_perms(&d->st, root, path, data, len);
		break;
	default:
		return -EINVAL;
	}
	if (rc < 0)
		return rc;
	if (rc == 0 && type != XS_RM)
		xsd_watch_fire(d, path, false);
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

static int one_path(struct req *r, char *abs)
{
	const char *arg;
	bool rel;
	int rc = one_arg(r, &arg);

	return rc ? rc : xsd_path_canon(arg, abs, &rel);
}

static struct xsd_node *view(struct req *r, const char *path)
{
	return xsd_tree_get(r->t ? r->t->root : r->d->st.root, path);
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

static int do_read(struct req *r)
{
	char path[PATHBUF];
	const struct xsd_node *n;
	int rc = one_path(r, path);

	if (!rc && r->t)
		rc = xsd_txn_access(r->t, path, XSD_ACC_GEN);
	if (rc)
		return rc;
	n = view(r, path);
	if (!n)
		return -ENOENT;
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
	const struct xsd_node *n;
	uint32_t len, off = 0, take = 0, glen, max;
	bool rel;
	int rc;

	if (xsd_split(r->p, r->len, v, 2) != 2)
		return -EINVAL;
	rc = xsd_path_canon(v[0], path, &rel);
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
	n = view(r, path);
	if (!n)
		return -ENOENT;
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

static int do_change(struct req *r)
{
	char path[PATHBUF];
	const char *data = NULL;
	uint32_t dlen = 0;
	const char *nul = memchr(r->p, '\0', r->len);
	bool rel;
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
		break;
	default: /* MKDIR, RM: exactly the path */
		if (nul + 1 != r->p + r->len)
			return -EINVAL;
	}
	rc = xsd_path_canon(r->p, path, &rel);
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
		rc = xsd_tree_write(&r->d->st, &r->t->root, path, data, dlen);
		break;
	case XS_MKDIR:
		rc = xsd_tree_mkdir(&r->d->st, &r->t->root, path);
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
	int rc = one_arg(r, &arg);

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
	default:
		/* INTRODUCE, RESUME, SET_TARGET, CONTROL need a hypervisor
		 * or are not ours; unknown types are refused the same way
		 * xenstored refuses them. */
		rc = -ENOSYS;
	}
out:
	if (rc < 0)
		xsd_conn_error(d, c, &c->hdr, rc);
}
