/*
 * log.h — the server's log: one line per event on stderr, with a timestamp,
 * level and who said it.  Modules reach it through corral_core.log.
 */
#ifndef CORRAL_LOG_H
#define CORRAL_LOG_H

#include "corral/module.h"

extern int log_verbosity;     /* lines above this level are dropped */

void log_line(int level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vline(int level, const char *who, const char *fmt, va_list ap);

#define log_error(...) log_line(CORRAL_LOG_ERROR, "core", __VA_ARGS__)
#define log_warn(...) log_line(CORRAL_LOG_WARN, "core", __VA_ARGS__)
#define log_info(...) log_line(CORRAL_LOG_INFO, "core", __VA_ARGS__)
#define log_debug(...) log_line(CORRAL_LOG_DEBUG, "core", __VA_ARGS__)

#endif
