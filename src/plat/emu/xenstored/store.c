/* The xenstore node tree: values, permissions, children and a generation per
 * node.  Nodes are shared copy-on-write between the live tree and transaction
 * snapshots, so a transaction reads a stable snapshot at no copying cost. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plat/emu/xenstored/xsd.h"

static const char default_perms[] = "n0";

static uint64_t node_bytes(const struct xsd_node *n)
{
	return sizeof(*n) + strlen(n->name) + n->vlen + n->plen +
	       (uint64_t)n->capkids * sizeof(n->kids[0]);
}

static int account(struct xsd_store *st, uint64_t add)
{
	if (st->bytes + add > XSD_MAX_STORE_BYTES)
		return -ENOSPC;
	st->bytes += add;
	return 0;
}

static struct xsd_node *node_new(struct xsd_store *st, const char *name,
				 size_t nlen, const char *perms, uint32_t plen)
{
	struct xsd_node *n;

	if (st->nodes >= XSD_MAX_NODES)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = strndup(name, nlen);
	n->perms = malloc(plen);
	if (!n->name || !n->perms)
		goto err;
	memcpy(n->perms, perms, plen);
	n->plen = plen;
	n->refs = 1;
	if (account(st, node_bytes(n)))
		goto err;
	st->nodes++;
	return n;
err:
	free(n->name);
	free(n->perms);
	free(n);
	return NULL;
}

void xsd_node_get(struct xsd_node *n)
{
	n->refs++;
}

void xsd_node_put(struct xsd_store *st, struct xsd_node *n)
{
	if (!n || --n->refs)
		return;
	for (uint32_t i = 0; i < n->nkids; i++)
		xsd_node_put(st, n->kids[i]);
	st->bytes -= node_bytes(n);
	st->nodes--;
	free(n->kids);
	free(n->value);
	free(n->perms);
	free(n->name);
	free(n);
}

int xsd_store_init(struct xsd_store *st)
{
	static const char *const init[] = { "/local/domain/0", "/tool" };

	memset(st, 0, sizeof(*st));
	st->root = node_new(st, "", 0, default_perms, sizeof(default_perms));
	if (!st->root)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(init) / sizeof(init[0]); i++) {
		int rc = xsd_tree_mkdir(st, &st->root, init[i]);

		if (rc < 0) {
			xsd_store_fini(st);
			return rc;
		}
	}
	return 0;
}

void xsd_store_fini(struct xsd_store *st)
{
	xsd_node_put(st, st->root);
	st->root = NULL;
}

/* xenstored's character set; anything else could confuse tools that
 * build paths by string concatenation. */
static bool valid_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '-' || ch == '/' ||
	       ch == '_' || ch == '@';
}

int xsd_path_canon(const char *in, char *out, bool *relative)
{
	return xsd_path_canon_at(in, out, relative, XSD_DOM0_PATH);
}

int xsd_path_canon_at(const char *in, char *out, bool *relative,
		      const char *home)
{
	size_t len = strlen(in), plen = 0;

	*relative = in[0] != '/';
	if (!len)
		return -EINVAL;
	if (*relative) {
		if (len > XENSTORE_REL_PATH_MAX)
			return -EINVAL;
		plen = strlen(home);
		memcpy(out, home, plen);
		out[plen++] = '/';
	}
	if (plen + len > XENSTORE_ABS_PATH_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!valid_char(in[i]))
			return -EINVAL;
	memcpy(out + plen, in, len + 1);
	len += plen;
	if (len > 1 && out[len - 1] == '/')
		return -EINVAL;
	if (strstr(out, "//"))
		return -EINVAL;
	return 0;
}

bool xsd_path_is_under(const char *path, const char *parent)
{
	size_t pl = strlen(parent);

	if (!strcmp(parent, "/"))
		return path[0] == '/';
	return !strncmp(path, parent, pl) && (path[pl] == '\0' || path[pl] == '/');
}

static int kid_index(const struct xsd_node *n, const char *name, size_t nlen)
{
	for (uint32_t i = 0; i < n->nkids; i++) {
		const char *k = n->kids[i]->name;

		if (!strncmp(k, name, nlen) && k[nlen] == '\0')
			return (int)i;
	}
	return -1;
}

/* Next component of path at *pos; returns its length (0 at the end). */
static size_t next_comp(const char *path, size_t *pos, const char **comp)
{
	size_t start = *pos, end;

	while (path[start] == '/')
		start++;
	end = start;
	while (path[end] && path[end] != '/')
		end++;
	*comp = path + start;
	*pos = end;
	return end - start;
}

struct xsd_node *xsd_tree_get(struct xsd_node *root, const char *path)
{
	struct xsd_node *n = root;
	const char *comp;
	size_t pos = 0, l;

	while (n && (l = next_comp(path, &pos, &comp))) {
		int i = kid_index(n, comp, l);

		n = i < 0 ? NULL : n->kids[i];
	}
	return n;
}

static struct xsd_node *node_clone(struct xsd_store *st,
				   const struct xsd_node *o)
{
	struct xsd_node *n = node_new(st, o->name, strlen(o->name), o->perms,
				      o->plen);

	if (!n)
		return NULL;
	if (o->vlen) {
		n->value = malloc(o->vlen);
		if (!n->value || account(st, o->vlen))
			goto err;
		memcpy(n->value, o->value, o->vlen);
		n->vlen = o->vlen;
	}
	if (o->nkids) {
		n->kids = malloc(o->nkids * sizeof(n->kids[0]));
		if (!n->kids || account(st, o->nkids * sizeof(n->kids[0])))
			goto err;
		n->capkids = n->nkids = o->nkids;
		for (uint32_t i = 0; i < o->nkids; i++) {
			n->kids[i] = o->kids[i];
			xsd_node_get(n->kids[i]);
		}
	}
	n->gen = o->gen;
	return n;
err:
	xsd_node_put(st, n);
	return NULL;
}

/* A child of p with p's permissions but owner as the first entry's id
 * (the first entry's letter, everyone else's access, stays). */
static struct xsd_node *node_new_owned(struct xsd_store *st, const char *name,
				       size_t nlen, const struct xsd_node *p,
				       int32_t owner)
{
	size_t first = strlen(p->perms) + 1;
	char head[16];
	int hl = snprintf(head, sizeof(head), "%c%d", p->perms[0], (int)owner) + 1;
	uint32_t plen = (uint32_t)(hl + (p->plen - first));
	struct xsd_node *n;
	char *perms = malloc(plen);

	if (!perms)
		return NULL;
	memcpy(perms, head, (size_t)hl);
	memcpy(perms + hl, p->perms + first, p->plen - first);
	n = node_new(st, name, nlen, perms, plen);
	free(perms);
	return n;
}

/* Make *slot exclusively ours so it can be changed in place. */
static int make_private(struct xsd_store *st, struct xsd_node **slot)
{
	struct xsd_node *c;

	if ((*slot)->refs == 1)
		return 0;
	c = node_clone(st, *slot);
	if (!c)
		return -ENOMEM;
	xsd_node_put(st, *slot);
	*slot = c;
	return 0;
}

static int add_kid(struct xsd_store *st, struct xsd_node *p,
		   struct xsd_node *k)
{
	if (p->nkids == p->capkids) {
		uint32_t cap = p->capkids ? p->capkids * 2 : 4;
		struct xsd_node **nk;

		if (account(st, (uint64_t)(cap - p->capkids) * sizeof(nk[0])))
			return -ENOSPC;
		nk = realloc(p->kids, cap * sizeof(nk[0]));
		if (!nk) {
			st->bytes -= (uint64_t)(cap - p->capkids) * sizeof(nk[0]);
			return -ENOMEM;
		}
		p->kids = nk;
		p->capkids = cap;
	}
	p->kids[p->nkids++] = k;
	p->gen = ++st->gen;
	return 0;
}

/* Walk to path making every node on the way private; with create, missing
 * nodes are added with their parent's permissions (xenstored's rule), owned
 * by owner if >= 0.  On return *slotp is the target's slot, or NULL if
 * absent (no create). */
static int walk_private(struct xsd_store *st, struct xsd_node **rootp,
			const char *path, bool create, int32_t owner,
			struct xsd_node ***slotp, bool *created)
{
	struct xsd_node **slot = rootp;
	const char *comp;
	size_t pos = 0, l;
	int rc;

	*created = false;
	rc = make_private(st, slot);
	if (rc)
		return rc;
	while ((l = next_comp(path, &pos, &comp))) {
		struct xsd_node *p = *slot;
		int i = kid_index(p, comp, l);

		if (i < 0) {
			struct xsd_node *k;

			if (!create) {
				*slotp = NULL;
				return 0;
			}
			k = owner >= 0 ? node_new_owned(st, comp, l, p, owner) :
					 node_new(st, comp, l, p->perms, p->plen);
			if (!k)
				return st->nodes >= XSD_MAX_NODES ? -ENOSPC : -ENOMEM;
			k->gen = ++st->gen;
			rc = add_kid(st, p, k);
			if (rc) {
				xsd_node_put(st, k);
				return rc;
			}
			i = (int)p->nkids - 1;
			*created = true;
		}
		slot = &p->kids[i];
		rc = make_private(st, slot);
		if (rc)
			return rc;
	}
	*slotp = slot;
	return 0;
}

int xsd_tree_write(struct xsd_store *st, struct xsd_node **rootp,
		   const char *path, const char *val, uint32_t len)
{
	return xsd_tree_write_as(st, rootp, path, val, len, -1);
}

int xsd_tree_write_as(struct xsd_store *st, struct xsd_node **rootp,
		      const char *path, const char *val, uint32_t len,
		      int32_t owner)
{
	struct xsd_node **slot, *n;
	bool created;
	char *v = NULL;
	int rc;

	rc = walk_private(st, rootp, path, true, owner, &slot, &created);
	if (rc)
		return rc;
	n = *slot;
	if (len) {
		v = malloc(len);
		if (!v)
			return -ENOMEM;
		memcpy(v, val, len);
	}
	if (account(st, len)) {
		free(v);
		return -ENOSPC;
	}
	st->bytes -= n->vlen;
	free(n->value);
	n->value = v;
	n->vlen = len;
	n->gen = ++st->gen;
	return 0;
}

int xsd_tree_mkdir(struct xsd_store *st, struct xsd_node **rootp,
		   const char *path)
{
	return xsd_tree_mkdir_as(st, rootp, path, -1);
}

int xsd_tree_mkdir_as(struct xsd_store *st, struct xsd_node **rootp,
		      const char *path, int32_t owner)
{
	struct xsd_node **slot;
	bool created;
	int rc;

	if (xsd_tree_get(*rootp, path))
		return 1;
	rc = walk_private(st, rootp, path, true, owner, &slot, &created);
	if (rc)
		return rc;
	return 0;
}

struct rm_walk {
	char buf[XENSTORE_ABS_PATH_MAX + 2];
	xsd_rm_cb cb;
	void *arg;
};

static void rm_report(struct rm_walk *w, const struct xsd_node *n, size_t len,
		      bool is_root)
{
	w->cb(w->arg, w->buf, is_root);
	for (uint32_t i = 0; i < n->nkids; i++) {
		const char *name = n->kids[i]->name;
		size_t nl = strlen(name);

		/* Paths in the tree were validated on creation, so they fit. */
		if (len + 1 + nl > XENSTORE_ABS_PATH_MAX)
			continue;
		w->buf[len] = '/';
		memcpy(w->buf + len + 1, name, nl + 1);
		rm_report(w, n->kids[i], len + 1 + nl, false);
		w->buf[len] = '\0';
	}
}

int xsd_tree_rm(struct xsd_store *st, struct xsd_node **rootp,
		const char *path, xsd_rm_cb cb, void *arg)
{
	struct xsd_node **pslot, *p, *victim;
	char parent[XENSTORE_ABS_PATH_MAX + 1];
	const char *slash = strrchr(path, '/');
	bool created;
	int rc, i;

	if (!strcmp(path, "/"))
		return -EINVAL;
	if (slash == path) {
		strcpy(parent, "/");
	} else {
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
	}
	/* xenstored: removing a missing node is fine if its parent exists. */
	if (!xsd_tree_get(*rootp, path))
		return xsd_tree_get(*rootp, parent) ? 1 : -ENOENT;
	rc = walk_private(st, rootp, parent, false, -1, &pslot, &created);
	if (rc)
		return rc;
	p = *pslot;
	i = kid_index(p, slash + 1, strlen(slash + 1));
	victim = p->kids[i];
	if (cb) {
		struct rm_walk *w = malloc(sizeof(*w));

		if (w) {
			w->cb = cb;
			w->arg = arg;
			strcpy(w->buf, path);
			rm_report(w, victim, strlen(path), true);
			free(w);
		}
	}
	memmove(&p->kids[i], &p->kids[i + 1],
		(p->nkids - (uint32_t)i - 1) * sizeof(p->kids[0]));
	p->nkids--;
	p->gen = ++st->gen;
	xsd_node_put(st, victim);
	return 0;
}

int xsd_perms_valid(const char *perms, uint32_t plen)
{
	uint32_t i = 0;

	if (!plen || perms[plen - 1] != '\0')
		return -EINVAL;
	while (i < plen) {
		const char *s = perms + i;
		size_t l = strlen(s);
		char *end;
		unsigned long id;

		if (l < 2 || !strchr("nrwb", s[0]) || !isdigit((unsigned char)s[1]))
			return -EINVAL;
		errno = 0;
		id = strtoul(s + 1, &end, 10);
		if (errno || *end || id > 0xFFFF)
			return -EINVAL;
		i += (uint32_t)l + 1;
	}
	return 0;
}

int xsd_tree_set_perms(struct xsd_store *st, struct xsd_node **rootp,
		       const char *path, const char *perms, uint32_t plen)
{
	struct xsd_node **slot, *n;
	bool created;
	char *p;
	int rc;

	if (!xsd_tree_get(*rootp, path))
		return -ENOENT;
	rc = walk_private(st, rootp, path, false, -1, &slot, &created);
	if (rc)
		return rc;
	n = *slot;
	p = malloc(plen);
	if (!p)
		return -ENOMEM;
	if (account(st, plen)) {
		free(p);
		return -ENOSPC;
	}
	memcpy(p, perms, plen);
	st->bytes -= n->plen;
	free(n->perms);
	n->perms = p;
	n->plen = plen;
	n->gen = ++st->gen;
	return 0;
}

int xsd_node_children(const struct xsd_node *n, char **buf, uint32_t *len)
{
	size_t total = 0, off = 0;
	char *b;

	for (uint32_t i = 0; i < n->nkids; i++)
		total += strlen(n->kids[i]->name) + 1;
	b = malloc(total ? total : 1);
	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < n->nkids; i++) {
		size_t l = strlen(n->kids[i]->name) + 1;

		memcpy(b + off, n->kids[i]->name, l);
		off += l;
	}
	*buf = b;
	*len = (uint32_t)total;
	return 0;
}
