/*
 * server.c — the one `struct server` (server.h).  Defined here, apart from
 * every file that uses it, so that no part of the core has to link another
 * part (once the module table in core_api.c) just to reach the global.
 */
#include "server.h"
#include "txn_size.h"

/* the txn limit has its default before (and without) read_settings, e.g. in unit tests */
struct server server = {.max_txn_bytes = TXN_LIMIT_DEFAULT};
