/* What a test main takes: argv[1], if given, a cmocka test-name glob that
 * runs only the matching cases.  tests/hostile runs single cases of the
 * netback and netfront tests this way, as catalogue rows of their own. */
#ifndef STAGENET_TEST_MAIN_H
#define STAGENET_TEST_MAIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static inline void sn_test_filter(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
}

#endif
