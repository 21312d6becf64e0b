/* Emulated domains for tests (see dom.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/dom.h"
#include "plat/fault.h"

int sn_test_dom_try(uint16_t domid, const struct sn_test_dom *d, struct sn_plat **out)
{
	static const struct sn_test_dom dflt;
	struct sn_plat_cfg cfg = { .kind = SN_PLAT_EMU, .domid = domid };
	struct sn_plat *p = NULL;
	int rc;

	if (!d)
		d = &dflt;
	cfg.ram_pages = d->ram_pages;
	cfg.gnttab_entries = d->gnttab_entries;
	rc = sn_plat_open(&cfg, &p);
	if (rc)
		return rc;
	if (d->fault_wrap) {
		rc = sn_fault_wrap(p, NULL, out);
		if (rc)
			sn_plat_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

struct sn_plat *sn_test_dom_open(uint16_t domid, const struct sn_test_dom *d)
{
	struct sn_plat *p = NULL;

	assert_int_equal(sn_test_dom_try(domid, d, &p), 0);
	assert_non_null(p);
	return p;
}
