/*
 * log_truncate.h — `corral log-truncate`: cut a damaged txn log (log_truncate.c).
 */
#ifndef CORRAL_TOOLS_LOG_TRUNCATE_H
#define CORRAL_TOOLS_LOG_TRUNCATE_H

#include <stdio.h>

/* argv[0] is "log-truncate"; the exit status. */
int log_truncate_run(int argc, char **argv);
void log_truncate_usage(FILE *f);

#endif
