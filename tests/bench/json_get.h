/* Reading one field of one flat JSON object of `stagenet bench --json`
 * (the report writes `"key": value` with one space), for the bench tests. */
#ifndef STAGENET_TEST_BENCH_JSON_GET_H
#define STAGENET_TEST_BENCH_JSON_GET_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline bool json_str(const char *obj, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	p = strstr(obj, pat);
	if (!p)
		return false;
	p += strlen(pat);
	e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= len)
		return false;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return true;
}

/* -1 when absent or null. */
static inline double json_num(const char *obj, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(obj, pat);
	if (!p || !strncmp(p + strlen(pat), "null", 4))
		return -1;
	return strtod(p + strlen(pat), NULL);
}

#endif
