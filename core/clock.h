/*
 * clock.h — the core's one clock: wall-clock milliseconds, as txns and
 * sessions are stamped.  Its own file so that everything which only needs
 * the time (session expiry, the pipeline's latencies, containers) does not
 * depend on the module function table (core_api.c).
 */
#ifndef CORRAL_CLOCK_H
#define CORRAL_CLOCK_H

#include <stdint.h>

int64_t now_ms(void);

#endif
