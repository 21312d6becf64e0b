/* `stagenet wire` prints the proposal's line-rate table: every value equals
 * link / ((frame + 20) * 8) computed here independently, in Mpps, or below
 * 1 Mpps in Kpps with two decimals as the proposal prints them; the 64-byte
 * row is the well-known 14.88 / 59.52 / 148.81 Mpps and the 65535-byte row
 * 19.07 / 76.27 / 190.68 Kpps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_wire_table(void **state)
{
	static const unsigned int frames[] = { 64, 128, 256, 1500, 65535 };
	static const double links[] = { 10, 40, 100 };
	const char *bin = getenv("SN_STAGENET");
	char cmd[4200], line[512];
	bool seen[5] = { false };
	FILE *p;
	int rows = 0;

	(void)state;
	assert_non_null(bin);
	snprintf(cmd, sizeof(cmd), "'%s' wire", bin);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		unsigned int fr;
		double v[3];
		char u[3][8];
		char expect[32], got[32];

		if (sscanf(line, "%u %lf %7s %lf %7s %lf %7s", &fr, &v[0], u[0], &v[1], u[1], &v[2],
			   u[2]) != 7)
			continue;
		for (int i = 0; i < 5; i++) {
			if (frames[i] != fr)
				continue;
			seen[i] = true;
			for (int l = 0; l < 3; l++) {
				/* Bits per frame slot: frame with CRC, preamble 7,
				 * SFD 1, IFG 12. */
				double bits = (fr + 7.0 + 1.0 + 12.0) * 8.0;
				double pps = links[l] * 1e9 / bits;
				bool kilo = pps < 1e6;

				snprintf(expect, sizeof(expect), "%.2f", kilo ? pps / 1e3 : pps / 1e6);
				snprintf(got, sizeof(got), "%.2f", v[l]);
				assert_string_equal(got, expect);
				assert_string_equal(u[l], kilo ? "Kpps" : "Mpps");
			}
			if (fr == 64) {
				assert_true(v[0] > 14.875 && v[0] < 14.885);  /* 14.88 */
				assert_true(v[1] > 59.515 && v[1] < 59.525);  /* 59.52 */
				assert_true(v[2] > 148.805 && v[2] < 148.815); /* 148.81 */
				assert_non_null(strstr(line, "14.88"));
				assert_non_null(strstr(line, "59.52"));
				assert_non_null(strstr(line, "148.81"));
			}
			if (fr == 1500)
				assert_non_null(strstr(line, "822.37 Kpps"));
			if (fr == 65535) {
				assert_non_null(strstr(line, "19.07 Kpps"));
				assert_non_null(strstr(line, "76.27 Kpps"));
				assert_non_null(strstr(line, "190.68 Kpps"));
			}
			rows++;
		}
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(rows, 5);
	for (int i = 0; i < 5; i++)
		assert_true(seen[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
