/* The line-rate glossary: how many frames per second an Ethernet link can
 * carry, so the benchmark's packet rates can be read against real links. */
#ifndef STAGENET_BENCH_WIRE_H
#define STAGENET_BENCH_WIRE_H

#include <stdint.h>
#include <stdio.h>

/* Per-frame overhead on the wire besides the frame itself (which includes
 * its 4-byte CRC): preamble 7, start-of-frame delimiter 1, inter-frame
 * gap 12. */
#define SN_WIRE_PREAMBLE 7u
#define SN_WIRE_SFD 1u
#define SN_WIRE_IFG 12u
#define SN_WIRE_CRC 4u
#define SN_WIRE_OVERHEAD (SN_WIRE_PREAMBLE + SN_WIRE_SFD + SN_WIRE_IFG)

/* Frames per second (in millions) at link_gbps for a frame of frame_len
 * bytes including CRC. */
double sn_wire_mpps(double link_gbps, uint32_t frame_len);

/* The table `stagenet wire` prints (frames 64, 128, 256, 1500, 65535 at
 * 10, 40, 100 Gbit/s, two decimals, in Mpps or below 1 Mpps in Kpps). */
void sn_wire_print(FILE *out);

#endif
