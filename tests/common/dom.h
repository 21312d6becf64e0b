/* Emulated domains for tests: the one way every test opens a domain in
 * its own process (the host fixture must be running). */
#ifndef STAGENET_TEST_DOM_H
#define STAGENET_TEST_DOM_H

#include <stdbool.h>
#include <stdint.h>

#include "stagenet/plat.h"

/* The shape of a domain; NULL or zeroes: the platform's defaults. */
struct sn_test_dom {
	uint32_t ram_pages;      /* 0: the platform's default */
	uint32_t gnttab_entries; /* 0: the platform's default */
	/* Returned behind the fault-injection wrapper (plat/fault.h), with no
	 * faults armed; closing the wrapper closes the domain. */
	bool fault_wrap;
};

/* 0 or -errno, no cmocka assert: for forked children and for callers that
 * expect the open to fail (a domid the host still has registered). */
int sn_test_dom_try(uint16_t domid, const struct sn_test_dom *d, struct sn_plat **out);
/* The same; fails the test on error. */
struct sn_plat *sn_test_dom_open(uint16_t domid, const struct sn_test_dom *d);

#endif
