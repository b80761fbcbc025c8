/*
 * clock.c — now_ms (clock.h).
 */
#include <time.h>
#include <ev.h>
#include "clock.h"
#include "server.h"

/*
 * Wall-clock milliseconds.  On the loop thread this is libev's time of the
 * current loop iteration: reading the clock for every request cost a fifth of
 * the CPU of a read-heavy load, and a millisecond stamp does not need more.
 */
int64_t now_ms(void)
{
    if (server.loop)
        return (int64_t)(ev_now(server.loop) * 1000.0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
