/* libFuzzer harness: the L2/L3 header parser and everything that reads a
 * frame through it (Toeplitz input, flow hash, checksum locate/finish/
 * verify).  Input = one raw Ethernet frame, copied to an exact-size buffer
 * so ASan sees any read past its end.  Invariants: a layer the parser
 * reports lies inside the frame; a located L4 header and checksum field lie
 * inside the IP datagram. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port/csum.h"
#include "proto/flow.h"
#include "proto/hdr.h"
#include "proto/toeplitz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *bad)
{
	fprintf(stderr, "invariant failed: %s\n", bad);
	abort();
}

static void check_hdr(const uint8_t *f, size_t len)
{
	struct sn_hdr h;
	int rc = sn_hdr_parse(f, len, &h);

	if (rc != 0 && rc != -EBADMSG)
		fail("parse: unexpected error");
	if ((h.flags & SN_HDR_IPV4) && ((size_t)h.l3_off + 20 > len ||
					((h.flags & SN_HDR_L4) && h.l4_off > len)))
		fail("ipv4 header past the frame");
	if ((h.flags & SN_HDR_IPV6) && (size_t)h.l3_off + 40 > len)
		fail("ipv6 header past the frame");
	if ((h.flags & SN_HDR_L3_LEN) && (size_t)h.l3_off + h.l3_len > len)
		fail("l3 length past the frame");
	if (h.nvlan > SN_HDR_MAX_TAGS)
		fail("too many tags");
}

static void check_csum(uint8_t *f, size_t len)
{
	struct sn_pkt p = { .data = f, .len = (uint32_t)len, .cap = (uint32_t)len,
			    .flags = SN_PKT_CSUM_PARTIAL };
	struct sn_l4_loc loc;

	if (sn_l4_locate(f, (uint32_t)len, &loc) == 0) {
		if ((size_t)loc.l4_off + loc.l4_len > len ||
		    loc.csum_offset + 2u > loc.l4_hlen || loc.l4_hlen > loc.l4_len)
			fail("l4 location past the datagram");
		(void)sn_l4_pseudo_csum(f, &loc, loc.l4_len);
	}
	(void)sn_l4_csum_verify(f, (uint32_t)len);
	/* Writes the checksum field in place: only inside the frame. */
	(void)sn_pkt_csum_finish(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[SN_TOEPLITZ_KEY_MAX] = { 0x6d, 0x5a };
	struct sn_hash_input in;
	uint8_t *f;
	uint32_t hash;
	unsigned int bit;

	if (size > SN_PKT_MAX_LEN)
		return 0;
	f = malloc(size ? size : 1);
	if (!f)
		return 0;
	memcpy(f, data, size);
	check_hdr(f, size);
	(void)sn_flow_hash(f, size);
	if (sn_hash_input_from_frame(f, size, ~0u, &in) == 0 && in.len > SN_HASH_INPUT_MAX)
		fail("hash input too long");
	(void)sn_toeplitz_frame(key, sizeof(key), ~0u, f, size, &hash, &bit);
	check_csum(f, size);
	free(f);
	return 0;
}
