/* Transactions: a txn works on a copy-on-write snapshot of the tree taken at
 * start, records which paths its result depends on, and logs its changes.
 * Commit fails with EAGAIN only if one of those paths differs between the
 * snapshot and the live tree; otherwise the log is replayed on the live tree
 * (firing watches then), so txns on unrelated paths never conflict. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plat/emu/xenstored/xsd.h"

struct xsd_txn *xsd_txn_find(struct xsd_conn *c, uint32_t id)
{
	for (struct xsd_txn *t = c->txns; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

int xsd_txn_start(struct xsd *d, struct xsd_conn *c, uint32_t *id)
{
	struct xsd_txn *t;

	if (c->ntxns >= XSD_MAX_TXNS)
		return -ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	/* Ids are daemon-wide so a stale id from another client never names
	 * this client's txn; 0 is XBT_NULL. */
	do
		t->id = ++d->next_txn_id;
	while (t->id == 0);
	t->base = d->st.root;
	t->root = d->st.root;
	xsd_node_get(t->base);
	xsd_node_get(t->root);
	t->next = c->txns;
	c->txns = t;
	c->ntxns++;
	*id = t->id;
	return 0;
}

int xsd_txn_access(struct xsd_txn *t, const char *path, enum xsd_acc kind)
{
	for (uint32_t i = 0; i < t->nacc; i++) {
		if (strcmp(t->acc[i].path, path))
			continue;
		if (kind == XSD_ACC_GEN)
			t->acc[i].kind = XSD_ACC_GEN;
		return 0;
	}
	if (t->nacc >= XSD_MAX_TXN_ENTRIES)
		return -ENOSPC;
	if (t->nacc == t->capacc) {
		uint32_t cap = t->capacc ? t->capacc * 2 : 16;
		struct xsd_txn_acc *a = realloc(t->acc, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		t->acc = a;
		t->capacc = cap;
	}
	t->acc[t->nacc].path = strdup(path);
	if (!t->acc[t->nacc].path)
		return -ENOMEM;
	t->acc[t->nacc++].kind = kind;
	return 0;
}

int xsd_txn_log(struct xsd_txn *t, uint32_t type, const char *path,
		const char *data, uint32_t len)
{
	struct xsd_txn_op *op;

	size_t plen = strlen(path) + 1;

	if (t->nops >= XSD_MAX_TXN_ENTRIES ||
	    t->log_bytes + plen + len > XSD_MAX_TXN_BYTES)
		return -ENOSPC;
	if (t->nops == t->capops) {
		uint32_t cap = t->capops ? t->capops * 2 : 16;
		struct xsd_txn_op *o = realloc(t->ops, cap * sizeof(*o));

		if (!o)
			return -ENOMEM;
		t->ops = o;
		t->capops = cap;
	}
	op = &t->ops[t->nops];
	op->type = type;
	op->len = len;
	op->path = strdup(path);
	op->data = malloc(len ? len : 1);
	if (!op->path || !op->data) {
		free(op->path);
		free(op->data);
		return -ENOMEM;
	}
	if (len)
		memcpy(op->data, data, len);
	t->log_bytes += (uint32_t)(plen + len);
	t->nops++;
	return 0;
}

static bool unchanged(struct xsd *d, const struct xsd_txn *t,
		      const struct xsd_txn_acc *a)
{
	const struct xsd_node *then = xsd_tree_get(t->base, a->path);
	const struct xsd_node *now = xsd_tree_get(d->st.root, a->path);

	/* An ancestor the txn needed must still be there; one that was
	 * missing is created by the replay either way, so its appearance is
	 * no conflict. */
	if (a->kind == XSD_ACC_EXIST)
		return !then || now;
	if (!then || !now)
		return !then && !now;
	return then->gen == now->gen;
}

static void txn_free(struct xsd *d, struct xsd_txn *t)
{
	for (uint32_t i = 0; i < t->nacc; i++)
		free(t->acc[i].path);
	for (uint32_t i = 0; i < t->nops; i++) {
		free(t->ops[i].path);
		free(t->ops[i].data);
	}
	free(t->acc);
	free(t->ops);
	xsd_node_put(&d->st, t->base);
	xsd_node_put(&d->st, t->root);
	free(t);
}

static void unlink_txn(struct xsd_conn *c, struct xsd_txn *t)
{
	for (struct xsd_txn **pp = &c->txns; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			c->ntxns--;
			return;
		}
	}
}

int xsd_txn_end(struct xsd *d, struct xsd_conn *c, struct xsd_txn *t,
		bool commit)
{
	int rc = 0;

	unlink_txn(c, t);
	if (commit) {
		for (uint32_t i = 0; i < t->nacc && !rc; i++)
			if (!unchanged(d, t, &t->acc[i]))
				rc = -EAGAIN;
	}
	/* Drop the snapshot first: the replay then changes nodes in place
	 * instead of copying what only this txn still shares. */
	xsd_node_put(&d->st, t->base);
	xsd_node_put(&d->st, t->root);
	t->base = t->root = NULL;
	if (commit && !rc) {
		for (uint32_t i = 0; i < t->nops; i++) {
			const struct xsd_txn_op *op = &t->ops[i];
			int r = xsd_apply(d, c, op->type, op->path, op->data,
					  op->len);

			/* Nothing the log depends on changed, so the replay
			 * reproduces what the txn saw; only resource limits
			 * can fail it. */
			if (r < 0) {
				xsd_log(d, "txn %u: replay of op %u failed: %d",
					t->id, op->type, r);
				if (!rc)
					rc = r;
			}
		}
	}
	txn_free(d, t);
	return rc;
}

void xsd_txn_free_all(struct xsd *d, struct xsd_conn *c)
{
	while (c->txns) {
		struct xsd_txn *t = c->txns;

		c->txns = t->next;
		txn_free(d, t);
	}
	c->ntxns = 0;
}
