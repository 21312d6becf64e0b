/* STUB */
#include <errno.h>
#include "common/host_fixture.h"
int sn_test_host_start(struct sn_test_host *h) { (void)h; return -ENOSYS; }
void sn_test_host_stop(struct sn_test_host *h) { (void)h; }
