/* TCP frames for the offload tests on both sides: a GSO-sized frame as a
 * host stack hands it to a port (checksum field seeded with the
 * pseudo-header sum, CSUM_PARTIAL), and the receiving end's check of what
 * arrived: headers, checksum (finished first when it came csum_blank, as
 * a frontend or backend would), and the payload reassembled in sequence
 * order against the original. */
#ifndef STAGENET_TEST_TCPFRAME_H
#define STAGENET_TEST_TCPFRAME_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "port/csum.h"
#include "proto/hdr.h"

#define TF_SEQ0 0x10000000u

/* Ethernet + IPv4 (20) or IPv6 (40) + TCP (20) + plen pattern bytes. */
static inline uint32_t tf_build(uint8_t *f, bool v6, uint32_t plen, uint8_t seed)
{
	uint32_t l3 = 14, l4 = l3 + (v6 ? 40 : 20), len = l4 + 20 + plen;
	struct sn_l4_loc loc;
	uint16_t c;

	memset(f, 0, l4 + 20);
	memcpy(f, "\x02\x00\x00\x00\x00\x07\x02\x00\x00\x00\x00\x01", 12);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xDD : 0x00;
	if (v6) {
		f[l3] = 0x60;
		f[l3 + 4] = (uint8_t)((20 + plen) >> 8);
		f[l3 + 5] = (uint8_t)(20 + plen);
		f[l3 + 6] = 6;
		f[l3 + 7] = 64;
		memcpy(f + l3 + 8, "\xfd\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
		memcpy(f + l3 + 24, "\xfd\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
	} else {
		f[l3] = 0x45;
		f[l3 + 2] = (uint8_t)((40 + plen) >> 8);
		f[l3 + 3] = (uint8_t)(40 + plen);
		f[l3 + 4] = 0x12;
		f[l3 + 6] = 0x40;
		f[l3 + 8] = 64;
		f[l3 + 9] = 6;
		memcpy(f + l3 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		c = (uint16_t)~sn_csum_fold(sn_csum_add(0, f + l3, 20));
		memcpy(f + l3 + 10, &c, 2);
	}
	f[l4 + 1] = 80;
	f[l4 + 2] = 0x30;
	f[l4 + 4] = TF_SEQ0 >> 24;
	f[l4 + 12] = 0x50;
	f[l4 + 13] = 0x18; /* ACK PSH */
	f[l4 + 14] = 0x20;
	for (uint32_t i = 0; i < plen; i++)
		f[l4 + 20 + i] = (uint8_t)(seed + i * 13 + (i >> 10));
	if (sn_l4_locate(f, len, &loc))
		return 0;
	c = sn_l4_pseudo_csum(f, &loc, loc.l4_len);
	memcpy(f + l4 + 16, &c, 2);
	return len;
}

/* One direction's flow as received. */
struct tf_stream {
	const uint8_t *want; /* the original frame */
	uint32_t want_len;
	uint32_t got;        /* payload bytes received in order */
	unsigned int frames, bad;
};

/* Take one received frame of this flow.  blank: it came csum_blank (the
 * checksum field holds the seed).  Counts bad frames: wrong checksum, a
 * sequence number out of order, bytes unlike the original's. */
static inline void tf_take(struct tf_stream *s, uint8_t *f, uint32_t len, bool blank)
{
	struct sn_l4_loc loc, wl;
	uint32_t seq, plen;

	s->frames++;
	if (sn_l4_locate(f, len, &loc) || sn_l4_locate(s->want, s->want_len, &wl)) {
		s->bad++;
		return;
	}
	if (blank) {
		struct sn_pkt p = { .data = f, .len = len, .cap = len,
				    .flags = SN_PKT_CSUM_PARTIAL };

		if (sn_pkt_csum_finish(&p)) {
			s->bad++;
			return;
		}
	}
	if (sn_l4_csum_verify(f, len)) {
		s->bad++;
		return;
	}
	seq = (uint32_t)f[loc.l4_off + 4] << 24 | (uint32_t)f[loc.l4_off + 5] << 16 |
	      (uint32_t)f[loc.l4_off + 6] << 8 | f[loc.l4_off + 7];
	plen = loc.l4_len - loc.l4_hlen;
	if (seq != TF_SEQ0 + s->got || s->got + plen > wl.l4_len - wl.l4_hlen ||
	    memcmp(f + loc.l4_off + loc.l4_hlen,
		   s->want + wl.l4_off + wl.l4_hlen + s->got, plen)) {
		s->bad++;
		return;
	}
	s->got += plen;
}

static inline bool tf_done(const struct tf_stream *s)
{
	return s->got + 20u + (s->want[12] == 0x86 ? 40u : 20u) + 14u == s->want_len;
}

#endif
