/* The crafted backend's control-ring half, for the staging client tests:
 * maps the frontend's control ring through gnt_map and answers it from a
 * thread, honestly (a small GREF table with the rules of README "Staging
 * grants", backend side) or with the scripted lie tb_mode names. */
#ifndef SN_TEST_PEER_BACK_CTRL_H
#define SN_TEST_PEER_BACK_CTRL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/ring.h"
#include "stagenet/plat.h"

#define TB_MAX_ENTRIES 4096
#define TB_MAX_QUEUES 4
#define TB_HASH_MAP_MAX 2048u

enum tb_mode {
	TB_HONEST = 0,
	TB_NOT_SUPPORTED,  /* every request: NOT_SUPPORTED */
	TB_ADD_FAIL,       /* ADD number add_fail_at (0-based) and later fail */
	TB_REVERSE,        /* collect `batch` requests, answer in reverse order */
	TB_BAD_ID,         /* answer with an id nobody asked for */
	TB_WRONG_TYPE,     /* echo the id but a different type */
	TB_BAD_STATUS,     /* status 7 (undefined) */
	TB_OVERFLOW,       /* publish rsp_prod far beyond the requests */
	TB_SILENT,         /* never answer */
	TB_DUP,            /* collect `batch` requests, answer each with the
			    * first one's id (duplicates) */
};

struct tb_entry {
	uint16_t queue;
	uint32_t ref;
	bool readonly;
	void *addr;
};

struct tback {
	struct sn_plat *p;
	uint16_t fe_domid;
	enum tb_mode mode;
	uint16_t nq;          /* queues the table serves */
	uint32_t max;         /* table size per queue; 0: NOT_SUPPORTED */
	bool get_free;        /* GET answers the free entries (the reading
			       * older stagenet backends had), not max */
	unsigned int batch;   /* TB_REVERSE */
	unsigned int add_fail_at;
	/* XSA-396 scripts: a gref whose DEL is refused (kept mapped, as if
	 * in flight), and a gref whose DEL is answered SUCCESS while the
	 * mapping is kept (a lying backend). */
	uint32_t hold_ref, lie_ref;

	struct sn_evtchn *evt;
	int port;
	void *ring_page;
	struct xen_netif_ctrl_back_ring ring;
	pthread_t thr;
	volatile bool stop;
	pthread_mutex_t lock; /* protects the table and the counters */
	struct tb_entry ent[TB_MAX_ENTRIES];
	unsigned int nent;
	unsigned int n_req, n_get, n_add, n_del, max_add_count;
	unsigned int add_ro, add_rw;
	bool zero_ok; /* every page it mapped by ADD read as zeroes */
	/* Hash configuration as received. */
	uint32_t hash_alg, hash_flags, hash_key_len, hash_map_size, hash_map_msgs;
	uint8_t hash_key[64];
	uint32_t hash_map[TB_HASH_MAP_MAX];
	unsigned int adds_seen;
};

/* Map the ring named by ctrl-ring-ref / event-channel-ctrl under fe_path
 * and start answering. */
void tb_start(struct tback *b, struct sn_plat *p, uint16_t fe_domid, const char *fe_path);
/* Stop the thread, unmap every mapping still held, unbind. */
void tb_stop(struct tback *b);
unsigned int tb_count(struct tback *b);
bool tb_has(struct tback *b, uint32_t ref);
/* Drop a mapping the table still holds (the "in-flight" one completes). */
void tb_release(struct tback *b, uint32_t ref);
/* Address of the backend's mapping of ref, NULL if not mapped. */
void *tb_addr(struct tback *b, uint32_t ref);

#endif
