/* Runs another area's cmocka executable with a test-name filter, so a
 * catalogue row gets a meson test of its own name without copying the
 * case: the wrapped file is compiled with -Dmain=sn_wrapped_main.
 * `exe --only=<glob> [args...]`: the remaining arguments pass through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

/* -Dmain=sn_wrapped_main is set for the whole target, this file too. */
#undef main

#ifdef SN_WRAPPED_ARGV
int sn_wrapped_main(int argc, char **argv);
#else
int sn_wrapped_main(void);
#endif

int main(int argc, char **argv)
{
	if (argc > 1 && !strncmp(argv[1], "--only=", 7)) {
		cmocka_set_test_filter(argv[1] + 7);
		argv[1] = argv[0];
		argv++;
		argc--;
	}
#ifdef SN_WRAPPED_ARGV
	return sn_wrapped_main(argc, argv);
#else
	(void)argc;
	return sn_wrapped_main();
#endif
}
