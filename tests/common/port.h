/* The test port: the network side of a netback run by a test, one per
 * queue, all sharing one struct sn_test_port.  It either captures what the
 * backend sends (copies kept for the test to read) or checks it against
 * the self-describing pattern (counted got/bad); it hands the backend the
 * frames a test injected, then pattern frames. */
#ifndef STAGENET_TEST_PORT_H
#define STAGENET_TEST_PORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "stagenet/port.h"

#define SN_TEST_MAX_CAPS 2048
#define SN_TEST_MAX_INJ 64

/* A packet as the port saw it (or as a test injects it). */
struct sn_test_pkt {
	uint8_t *data;
	uint32_t len;
	uint16_t flags;
	uint16_t gso_size;
	uint8_t gso_type;
};

struct sn_test_port {
	/* Set before the backend starts.
	 * capture: keep a copy of every frame sent (back-pressure once
	 *   SN_TEST_MAX_CAPS are held), make only injected frames and never
	 *   end; needs sn_test_port_init.  Otherwise: check every frame sent
	 *   against the pattern and make to_make pattern frames per queue
	 *   (sizes from len(i)), then report end of input.
	 * flood: report an always-readable fd, like a network side that
	 *   cannot be back-pressured (tap); without capture, also make
	 *   frames endlessly (to_make unused) until stop. */
	bool capture;
	bool flood;
	/* bounded: the port has the tx_room op and reports `room`; send
	 *   takes at most that many frames and uses that room up (the rest
	 *   are refused, as a full vhost-user ring refuses them).  The test
	 *   sets room at any time; tx_room_calls counts the op's calls. */
	bool bounded;
	_Atomic int room;
	_Atomic unsigned int tx_room_calls;
	/* holds: the port has the recv_budget op: a frame that does not fit
	 *   the backend's byte budget waits for a later call (a port that
	 *   can be back-pressured); without it the backend drops what it
	 *   cannot queue. */
	bool holds;
	unsigned int to_make;
	uint32_t (*len)(unsigned int i);
	_Atomic bool stop;
	_Atomic unsigned int got, bad, made;

	pthread_mutex_t lock; /* protects everything below */
	struct sn_test_pkt caps[SN_TEST_MAX_CAPS];
	unsigned int ncaps;
	struct sn_test_pkt inj[SN_TEST_MAX_INJ];
	unsigned int ninj, inj_pos;
};

/* A capturing port's lock; the pattern mode needs no init. */
void sn_test_port_init(struct sn_test_port *sh);
/* Frees the captured and injected copies; then the lock. */
void sn_test_port_fini(struct sn_test_port *sh);
/* sn_back_cfg.port_open with port_arg = the struct sn_test_port. */
int sn_test_port_open(void *arg, const struct sn_port_ctx *ctx, struct sn_port **out);

unsigned int sn_test_port_ncaps(struct sn_test_port *sh);
/* Drop every captured and injected frame. */
void sn_test_port_clear(struct sn_test_port *sh);
/* Queue a frame for the backend to receive (guest RX). */
void sn_test_port_inject(struct sn_test_port *sh, const uint8_t *data, uint32_t len,
			 uint16_t flags, uint16_t gso_size, uint8_t gso_type);

/* Self-describing frames: sequence and length in the payload, the rest a
 * function of both, so a receiver checks every byte without a copy. */
void sn_test_pattern(uint8_t *d, uint32_t len, uint32_t seq);
bool sn_test_pattern_ok(const uint8_t *d, uint32_t len);

#endif
