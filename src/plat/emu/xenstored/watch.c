/* Watches: registration per connection and event delivery.  Semantics follow
 * xenstored as libxenstore expects them: an initial event right after the
 * WATCH reply, then one event per change at or below the watched path;
 * "@..." special paths only fire on exactly that name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plat/emu/xenstored/xsd.h"

static void watch_free(struct xsd_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

static int send_event(struct xsd *d, struct xsd_conn *c,
		      const struct xsd_watch *w, const char *path)
{
	/* A watch set with a relative path reports relative paths (the
	 * watch lies under the home it was set against, so the prefix is
	 * there). */
	if (w->prefix_len && strlen(path) >= w->prefix_len)
		path += w->prefix_len;
	return xsd_conn_send(d, c, XS_WATCH_EVENT, 0, 0, path,
			     (uint32_t)strlen(path) + 1, w->token,
			     (uint32_t)strlen(w->token) + 1);
}

int xsd_watch_add(struct xsd *d, struct xsd_conn *c, const char *path,
		  const char *token, const struct xsd_sockmsg *req)
{
	char abs[XENSTORE_ABS_PATH_MAX + 1];
	struct xsd_watch *w;
	bool rel = false;
	int rc;

	if (path[0] == '@') {
		if (strlen(path) > XENSTORE_ABS_PATH_MAX)
			return -EINVAL;
		strcpy(abs, path);
	} else {
		rc = xsd_path_canon_at(path, abs, &rel, xsd_conn_home(c));
		if (rc)
			return rc;
	}
	for (w = c->watches; w; w = w->next)
		if (!strcmp(w->path, abs) && !strcmp(w->token, token))
			return -EEXIST;
	if (c->nwatches >= XSD_MAX_WATCHES)
		return -E2BIG;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->path = strdup(abs);
	w->token = strdup(token);
	if (!w->path || !w->token) {
		watch_free(w);
		return -ENOMEM;
	}
	w->prefix_len = rel ? (uint32_t)strlen(xsd_conn_home(c)) + 1 : 0;
	w->next = c->watches;
	c->watches = w;
	c->nwatches++;
	/* The reply must precede the initial event: libxenstore's xs_watch
	 * waits for the reply, the event goes to its watch queue. */
	rc = xsd_conn_send(d, c, XS_WATCH, req->req_id, req->tx_id, "OK", 3,
			   NULL, 0);
	if (!rc)
		send_event(d, c, w, abs);
	return 1; /* replied */
}

int xsd_watch_del(struct xsd_conn *c, const char *path, const char *token)
{
	char abs[XENSTORE_ABS_PATH_MAX + 1];
	struct xsd_watch **pp;
	bool rel;
	int rc;

	if (path[0] == '@') {
		if (strlen(path) > XENSTORE_ABS_PATH_MAX)
			return -EINVAL;
		strcpy(abs, path);
	} else {
		rc = xsd_path_canon_at(path, abs, &rel, xsd_conn_home(c));
		if (rc)
			return rc;
	}
	for (pp = &c->watches; *pp; pp = &(*pp)->next) {
		struct xsd_watch *w = *pp;

		if (!strcmp(w->path, abs) && !strcmp(w->token, token)) {
			*pp = w->next;
			c->nwatches--;
			watch_free(w);
			return 0;
		}
	}
	return -ENOENT;
}

void xsd_watch_free_all(struct xsd_conn *c)
{
	while (c->watches) {
		struct xsd_watch *w = c->watches;

		c->watches = w->next;
		watch_free(w);
	}
	c->nwatches = 0;
}

void xsd_watch_fire(struct xsd *d, const char *path, bool exact,
		    const char *oldp, uint32_t oldl)
{
	bool special = path[0] == '@';

	for (struct xsd_conn *c = d->conns; c; c = c->next) {
		int permitted = -1; /* not yet asked */

		if (c->dead)
			continue;
		for (struct xsd_watch *w = c->watches; w; w = w->next) {
			bool hit;

			if (special || exact || w->path[0] == '@')
				hit = !strcmp(w->path, path);
			else
				hit = xsd_path_is_under(path, w->path);
			if (!hit)
				continue;
			if (permitted < 0)
				permitted = xsd_watch_permitted(d, c, path, oldp, oldl);
			if (permitted)
				send_event(d, c, w, path);
		}
	}
}
