/* The line-rate glossary `stagenet wire` prints: rate = link / ((frame +
 * preamble + SFD + IFG) * 8) with the frame counted including its CRC. */
#include "bench/wire.h"

static const uint32_t wire_frames[] = { 64, 128, 256, 1500, 65535 };
static const unsigned int wire_links[] = { 10, 40, 100 };

double sn_wire_mpps(double link_gbps, uint32_t frame_len)
{
	/* Gbit/s over bits per frame slot gives Gframes/s; x1000 for M. */
	return link_gbps * 1e3 / ((double)(frame_len + SN_WIRE_OVERHEAD) * 8.0);
}

void sn_wire_print(FILE *out)
{
	unsigned int i, j;

	fprintf(out, "Line rate = link / ((frame + preamble %u + SFD %u + IFG %u) * 8),\n"
		     "frame in bytes including its %u-byte CRC (a 60-byte frame is 64 on the wire);\n"
		     "rates below 1 Mpps in Kpps, rounded to two decimals\n\n",
		SN_WIRE_PREAMBLE, SN_WIRE_SFD, SN_WIRE_IFG, SN_WIRE_CRC);
	fprintf(out, "%-10s", "frame (B)");
	for (j = 0; j < sizeof(wire_links) / sizeof(wire_links[0]); j++)
		fprintf(out, " %10u Gbit/s", wire_links[j]);
	fputc('\n', out);
	for (i = 0; i < sizeof(wire_frames) / sizeof(wire_frames[0]); i++) {
		fprintf(out, "%-10u", wire_frames[i]);
		for (j = 0; j < sizeof(wire_links) / sizeof(wire_links[0]); j++) {
			double mpps = sn_wire_mpps(wire_links[j], wire_frames[i]);

			/* Below 1 Mpps two decimals of Mpps would hide the rate
			 * (0.02 for 65535 B at 10 Gbit/s): print Kpps. */
			if (mpps < 1.0)
				fprintf(out, " %12.2f Kpps", mpps * 1e3);
			else
				fprintf(out, " %12.2f Mpps", mpps);
		}
		fputc('\n', out);
	}
}
