/* sn_port_open: split a port spec "kind[:args]" and hand it to the kind's
 * constructor; also the small k=v parser every kind uses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port/port_impl.h"

int sn_port_kv_next(char **cursor, char **key, char **val)
{
	char *s = *cursor, *comma, *eq;

	while (s && *s == ',')
		s++;
	if (!s || !*s)
		return 0;
	comma = strchr(s, ',');
	if (comma) {
		*comma = '\0';
		*cursor = comma + 1;
	} else {
		*cursor = s + strlen(s);
	}
	eq = strchr(s, '=');
	if (eq) {
		*eq = '\0';
		*val = eq + 1;
	} else {
		*val = s + strlen(s);
	}
	*key = s;
	return 1;
}

int sn_port_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static const struct {
	const char *kind;
	int (*open)(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out);
} kinds[] = {
	{ "tap", sn_port_tap_open },
	{ "pcap", sn_port_pcap_open },
	{ "gen", sn_port_gen_open },
	{ "sink", sn_port_sink_open },
	{ "xdp", sn_port_xdp_open },
	{ "vhost-user", sn_port_vhost_user_open },
};

int sn_port_open(const char *spec, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	const char *colon, *args = NULL;
	size_t klen;

	*out = NULL;
	if (!spec || !ctx || ctx->nqueues == 0 || ctx->queue >= ctx->nqueues) {
		fprintf(stderr, "stagenet: port: bad spec or queue context\n");
		return -EINVAL;
	}
	colon = strchr(spec, ':');
	klen = colon ? (size_t)(colon - spec) : strlen(spec);
	if (colon)
		args = colon + 1;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].kind) == klen && !strncmp(spec, kinds[i].kind, klen))
			return kinds[i].open(args, ctx, out);
	fprintf(stderr, "stagenet: unknown port kind in '%s' (tap, pcap, gen, sink, xdp, vhost-user)\n", spec);
	return -EINVAL;
}

void sn_port_print_stats(FILE *f, const char *who, const struct sn_port_stats *st)
{
	fprintf(f, "%s: sent=%llu recv=%llu drops=%llu lost=%llu bad_seq=%llu bad_payload=%llu\n",
		who, (unsigned long long)st->sent_pkts, (unsigned long long)st->recv_pkts,
		(unsigned long long)st->drops, (unsigned long long)st->lost,
		(unsigned long long)st->bad_seq, (unsigned long long)st->bad_payload);
}

int sn_port_hold(const char *spec, const struct sn_port_ctx *ctx)
{
	if (!spec || !ctx)
		return -EINVAL;
	if (!strcmp(spec, "tap") || !strncmp(spec, "tap:", 4))
		return sn_port_tap_hold(spec[3] ? spec + 4 : NULL, ctx);
	if (!strncmp(spec, "vhost-user:", 11))
		return sn_port_vhost_user_hold(spec + 11, ctx);
	return -EOPNOTSUPP;
}
