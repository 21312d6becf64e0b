/* The library's one way to say something it does not return: through the
 * caller's struct sn_front_log (stagenet/front.h), never to stderr. */
#ifndef SN_FRONT_LOG_H
#define SN_FRONT_LOG_H

#include <stdarg.h>

#include "stagenet/front.h"

static inline void sn_front_logf(const struct sn_front_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void sn_front_logf(const struct sn_front_log *log, const char *fmt, ...)
{
	va_list ap;

	if (!log || !log->fn)
		return;
	va_start(ap, fmt);
	log->fn(log->arg, fmt, ap);
	va_end(ap);
}

#endif
