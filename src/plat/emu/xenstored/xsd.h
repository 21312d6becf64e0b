/* Internal interface of the emulated host's xenstore daemon (`stagenet host`):
 * a single-threaded epoll server speaking the xs_wire.h protocol over a unix
 * socket.  Each client acts as the domain of the process behind it, with
 * xenstored's permission rules (perms.c). */
#ifndef STAGENET_XSD_H
#define STAGENET_XSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xen/io/xs_wire.h>

#include "stagenet/host.h"

/* The public entry point, sn_xsd_run, is in stagenet/host.h. */

/* ---- limits ----------------------------------------------------------- */

#define XSD_DOM0_PATH "/local/domain/0"
#define XSD_MAX_EVENTS_PENDING 1024      /* per connection (XSA-349) */
#define XSD_OUT_SOFT_CAP (64u * 1024)    /* stop reading requests above this */
#define XSD_MAX_WATCHES 1024             /* per connection */
#define XSD_MAX_TXNS 16                  /* per connection */
#define XSD_MAX_TXN_ENTRIES 8192         /* accesses or ops in one txn */
#define XSD_MAX_TXN_BYTES (1u << 20)     /* logged paths + data in one txn */
#define XSD_MAX_CONNS 1024
#define XSD_MAX_NODES (1u << 20)         /* whole store, all snapshots */
#define XSD_MAX_STORE_BYTES (256u << 20) /* values + names + perms */

/* ---- store.c: persistent node tree ------------------------------------ */

/* Nodes are reference counted and shared between the live tree and
 * transaction snapshots; a node with refs > 1 is copied before it is
 * changed (copy on write), so a snapshot never changes under a txn. */
struct xsd_node {
	uint32_t refs;
	uint32_t nkids, capkids;
	uint64_t gen; /* bumped when value, perms or the list of children change */
	char *name;   /* last path component; "" for the root */
	char *value;
	uint32_t vlen;
	uint32_t plen;
	char *perms; /* wire form: "n0\0r5\0" (owner first) */
	struct xsd_node **kids; /* creation order, like xenstored */
};

struct xsd_store {
	struct xsd_node *root;
	uint64_t gen;    /* last generation handed out */
	uint64_t nodes;  /* allocated nodes, live tree + snapshots */
	uint64_t bytes;  /* accounted bytes, for the global cap */
};

/* Called for each node a removal takes away (root of the removal first). */
typedef void (*xsd_rm_cb)(void *arg, const char *path, bool is_root);

int xsd_store_init(struct xsd_store *st);
void xsd_store_fini(struct xsd_store *st);
void xsd_node_get(struct xsd_node *n);
void xsd_node_put(struct xsd_store *st, struct xsd_node *n);
/* Validate and canonicalise a client path: relative paths are resolved
 * against /local/domain/0.  out must hold XENSTORE_ABS_PATH_MAX + 1. */
int xsd_path_canon(const char *in, char *out, bool *relative);
/* The same with relative paths resolved against home (a connection's
 * /local/domain/<domid>). */
int xsd_path_canon_at(const char *in, char *out, bool *relative,
		      const char *home);
bool xsd_path_is_under(const char *path, const char *parent);
struct xsd_node *xsd_tree_get(struct xsd_node *root, const char *path);
/* The tree ops below work on *rootp (the live root or a txn's private
 * root).  They return 0 on a change, 1 when nothing changed, or -errno. */
int xsd_tree_write(struct xsd_store *st, struct xsd_node **rootp,
		   const char *path, const char *val, uint32_t len);
int xsd_tree_mkdir(struct xsd_store *st, struct xsd_node **rootp,
		   const char *path);
/* The same, with owner >= 0 replacing the owner of every node created
 * (xenstored: an unprivileged domain owns what it creates). */
int xsd_tree_write_as(struct xsd_store *st, struct xsd_node **rootp,
		      const char *path, const char *val, uint32_t len,
		      int32_t owner);
int xsd_tree_mkdir_as(struct xsd_store *st, struct xsd_node **rootp,
		      const char *path, int32_t owner);
int xsd_tree_rm(struct xsd_store *st, struct xsd_node **rootp,
		const char *path, xsd_rm_cb cb, void *arg);
int xsd_tree_set_perms(struct xsd_store *st, struct xsd_node **rootp,
		       const char *path, const char *perms, uint32_t plen);
/* Children names, each NUL terminated, into a malloc'd buffer. */
int xsd_node_children(const struct xsd_node *n, char **buf, uint32_t *len);
/* Check a perms list in wire form ("n0\0r3\0"). */
int xsd_perms_valid(const char *perms, uint32_t plen);

/* ---- wire.c: framing helpers ------------------------------------------ */

const char *xsd_errno_name(int err);
/* Split a payload into NUL-terminated strings; -EINVAL unless the payload
 * ends with NUL.  Returns the number of strings (at most max). */
int xsd_split(const char *buf, uint32_t len, const char **vec, int max);

/* ---- conn.c: a client connection -------------------------------------- */

struct xsd_msg {
	struct xsd_msg *next;
	bool is_event;
	uint32_t len, off; /* bytes in data, bytes already sent */
	char data[];      /* header + payload */
};

struct xsd_watch {
	struct xsd_watch *next;
	char *path;  /* absolute path or "@special" */
	char *token;
	uint32_t prefix_len; /* set relative: bytes of home + '/' to strip */
};

struct xsd_txn;

struct xsd_conn {
	struct xsd_conn *next;
	uint64_t id; /* never reused; owners are named by id, not pointer */
	int fd;
	pid_t pid;       /* SO_PEERCRED at accept; 0 if unknown */
	uint32_t domid;  /* who this connection acts as (perms.c) */
	bool bound;      /* registered: domid is final (perms.c) */
	char home[24];   /* /local/domain/<domid> once bound (xsd_conn_home) */
	uint32_t epoll_mask;
	bool dead;         /* close at the end of this loop iteration */
	bool close_after_flush;
	/* input: header, then payload */
	struct xsd_sockmsg hdr;
	uint32_t in_have; /* bytes of header + payload received */
	char in[XENSTORE_PAYLOAD_MAX + 1];
	/* output */
	struct xsd_msg *out_head, *out_tail;
	uint32_t out_bytes;
	uint32_t events_pending;
	uint64_t events_dropped;
	struct xsd_watch *watches;
	uint32_t nwatches;
	struct xsd_txn *txns;
	uint32_t ntxns;
};

struct xsd;
int xsd_conn_send(struct xsd *d, struct xsd_conn *c, uint32_t type,
		  uint32_t req_id, uint32_t tx_id, const void *p1,
		  uint32_t l1, const void *p2, uint32_t l2);
int xsd_conn_error(struct xsd *d, struct xsd_conn *c,
		   const struct xsd_sockmsg *req, int err);
/* Read what is available and process complete requests; 0, or -errno
 * (the connection must be closed). */
int xsd_conn_input(struct xsd *d, struct xsd_conn *c);
int xsd_conn_flush(struct xsd_conn *c);
void xsd_conn_free_output(struct xsd_conn *c);

/* ---- watch.c ---------------------------------------------------------- */

int xsd_watch_add(struct xsd *d, struct xsd_conn *c, const char *path,
		  const char *token, const struct xsd_sockmsg *req);
int xsd_watch_del(struct xsd_conn *c, const char *path, const char *token);
void xsd_watch_free_all(struct xsd_conn *c);
/* A change at path: fire every watch at or above it (exact: only watches
 * on exactly this path) whose connection may see it; oldp/oldl, when not
 * NULL, are the node's permissions before a SET_PERMS. */
void xsd_watch_fire(struct xsd *d, const char *path, bool exact,
		    const char *oldp, uint32_t oldl);

/* ---- perms.c: identity and permissions ----------------------------------- */

#define XSD_PERM_READ 1u
#define XSD_PERM_WRITE 2u
#define XSD_PERM_OWNER 8u
#define XSD_NSPECIAL 2 /* @introduceDomain, @releaseDomain */

struct xsd;
bool xsd_conn_privileged(const struct xsd_conn *c);
void xsd_conn_bind(struct xsd_conn *c, uint32_t domid);
/* At accept: the connection acts as its process's domain, if it has one. */
void xsd_conn_resolve(struct xsd *d, struct xsd_conn *c);
unsigned int xsd_perm_for(const struct xsd_conn *c, const char *perms,
			  uint32_t plen);
/* 0 (*out = node), -EACCES, or -ENOENT (*out = NULL) for a missing node
 * whose nearest ancestor grants some of want. */
int xsd_access(const struct xsd_conn *c, struct xsd_node *root,
	       const char *path, unsigned int want, struct xsd_node **out);
bool xsd_watch_permitted(struct xsd *d, const struct xsd_conn *c,
			 const char *path, const char *oldp, uint32_t oldl);
/* Index of a special node ("@introduceDomain"...), or -1. */
int xsd_special_index(const char *path);
/* A special node's perms (dom0's alone until set) and c's access to it. */
const char *xsd_special_perms(const struct xsd *d, int sp, uint32_t *plen);
unsigned int xsd_special_perm(const struct xsd *d, const struct xsd_conn *c, int sp);
void xsd_special_fini(struct xsd *d);
const char *xsd_conn_home(const struct xsd_conn *c);
int xsd_special_set(struct xsd *d, const struct xsd_conn *c, int sp,
		    const char *perms, uint32_t plen);

/* ---- txn.c ------------------------------------------------------------ */

enum xsd_acc { XSD_ACC_GEN, XSD_ACC_EXIST };

struct xsd_txn_op {
	uint32_t type; /* XS_WRITE, XS_MKDIR, XS_RM, XS_SET_PERMS */
	uint32_t len;
	char *path;
	char *data;
};

struct xsd_txn_acc {
	char *path;
	enum xsd_acc kind;
};

struct xsd_txn {
	struct xsd_txn *next;
	uint32_t id;
	struct xsd_node *base; /* snapshot at start */
	struct xsd_node *root; /* snapshot plus this txn's changes */
	struct xsd_txn_acc *acc;
	uint32_t nacc, capacc;
	struct xsd_txn_op *ops;
	uint32_t nops, capops;
	uint32_t log_bytes;
};

struct xsd_txn *xsd_txn_find(struct xsd_conn *c, uint32_t id);
int xsd_txn_start(struct xsd *d, struct xsd_conn *c, uint32_t *id);
/* Record that the txn's result depends on path. */
int xsd_txn_access(struct xsd_txn *t, const char *path, enum xsd_acc kind);
int xsd_txn_log(struct xsd_txn *t, uint32_t type, const char *path,
		const char *data, uint32_t len);
/* Commit (-EAGAIN on conflict) or abort; the txn is freed either way. */
int xsd_txn_end(struct xsd *d, struct xsd_conn *c, struct xsd_txn *t,
		bool commit);
void xsd_txn_free_all(struct xsd *d, struct xsd_conn *c);

/* ---- ops.c: request handlers ----------------------------------------- */

void xsd_handle(struct xsd *d, struct xsd_conn *c);
/* Apply one change to the live tree, firing watches and updating the
 * domain registry; used directly and by transaction commit. */
int xsd_apply(struct xsd *d, struct xsd_conn *c, uint32_t type,
	      const char *path, const char *data, uint32_t len);

/* ---- registry.c: the emulator's domain registry ----------------------- */

/* Canonical decimal domid 0..65535 ("7", not "07"). */
int xsd_parse_domid(const char *s, uint32_t *out);
struct xsd_reg_entry *xsd_registry_find(struct xsd *d, uint32_t domid);
/* Whether a change at path can add or remove registry entries. */
bool xsd_registry_related(const char *path);
/* After such a change: introduce new entries (owned by c) and release
 * vanished ones. */
void xsd_registry_sync(struct xsd *d, struct xsd_conn *c);
void xsd_registry_conn_closed(struct xsd *d, struct xsd_conn *c);
void xsd_registry_fini(struct xsd *d);

/* ---- daemon.c --------------------------------------------------------- */

struct xsd_reg_entry {
	uint32_t domid;
	uint64_t owner; /* conn id that created it, 0 = none */
	pid_t pid;      /* that connection's peer pid (not the entry's keys) */
};

struct xsd {
	struct xsd_store st;
	struct xsd_conn *conns;
	uint32_t nconns;
	uint64_t next_conn_id;
	uint32_t next_txn_id;
	int epfd;
	bool quiet;
	struct xsd_reg_entry *reg;
	uint32_t nreg, capreg;
	char *spec_perms[XSD_NSPECIAL]; /* set perms of the special nodes */
	uint32_t spec_plen[XSD_NSPECIAL];
};

void xsd_conn_want(struct xsd *d, struct xsd_conn *c);
void xsd_log(struct xsd *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
