/*
 * txn_logged.c — a txn as a ZooKeeper txn log holds it: the codec's bytes
 * (libzk), with a closeSession's list of ephemeral paths asked of the core,
 * and never longer than the txn limit.  Apart from format.c because it needs
 * the core (zk_core): `corral log-truncate` and the format unit test link the
 * pure framing without it; the file and mem storage modules link this too.
 */
#include <stdlib.h>
#include "zkfile.h"

struct close_paths {
    int64_t session_id;
    const char **paths;
    int32_t n, cap;
    int oom;
};

static void collect_ephemeral(void *arg, int64_t session_id, const char *path)
{
    struct close_paths *c = arg;
    if (session_id != c->session_id || c->oom)
        return;
    if (c->n == c->cap) {
        int32_t cap = c->cap ? c->cap * 2 : 8;
        const char **p = realloc(c->paths, (size_t)cap * sizeof *p);
        if (!p) {
            c->oom = 1;
            return;
        }
        c->paths = p;
        c->cap = cap;
    }
    c->paths[c->n++] = path;
}

/*
 * Encode a txn as the log holds it.  Nothing longer than the txn limit is
 * ever written, since the reader (ours and ZooKeeper's) would refuse it: the
 * core refuses such writes before they get here, and a closeSession whose
 * list of ephemeral paths (ZooKeeper's CloseSessionTxn) would pass the limit
 * is logged without the list, a form ZooKeeper's reader accepts too: replay
 * then deletes what the tree says the session owns, which is the same set
 * (Corral's snapshots are not fuzzy), so a session with any number of
 * ephemerals can close.  ZooKeeper itself writes the list whatever its size,
 * and cannot read its log back past ~2 MB of paths.
 */
int zk_txn_encode_logged(struct jute_buf *b, const struct corral_txn *txn, int64_t max_txn)
{
    jute_buf_reset(b);
    struct close_paths cp = {txn->session_id, NULL, 0, 0, 0};
    if (txn->type == CORRAL_OP_CLOSE_SESSION)
        zk_core->ephemeral_each(collect_ephemeral, &cp);
    int rc = cp.oom ? -1 : zk_txn_encode(b, txn, cp.paths, cp.n);
    free(cp.paths);
    if (rc < 0 && !cp.oom && !b->oom)
        zk_log(CORRAL_LOG_ERROR, "txn 0x%llx: type %d has no log record format",
               (unsigned long long)txn->zxid, txn->type);
    if (rc == 0 && txn->type == CORRAL_OP_CLOSE_SESSION && (int64_t)b->len > max_txn) {
        zk_log(CORRAL_LOG_INFO, "closeSession of 0x%llx: its %d ephemeral paths take %zu bytes, "
               "more than the txn limit of %lld; logging it without them (replay deletes the "
               "session's ephemerals from the tree)", (unsigned long long)txn->session_id, cp.n,
               b->len, (long long)max_txn);
        jute_buf_reset(b);
        rc = zk_txn_encode(b, txn, NULL, -1);
    }
    if (rc == 0 && (int64_t)b->len > max_txn) {
        zk_log(CORRAL_LOG_ERROR, "txn 0x%llx takes %zu bytes, more than the txn limit of %lld "
               "bytes that the log can be read back with: not writing it",
               (unsigned long long)txn->zxid, b->len, (long long)max_txn);
        rc = -1;
    }
    return rc;
}
