/*
 * txn_size.c — how many bytes a txn takes in ZooKeeper's encoding (TxnHeader
 * + record, see txn_size.h), computed without encoding it: prep measures
 * every write, and copying a megabyte of data only to count it would double
 * the cost of a large setData.  The layout is zookeeper.jute's: strings and
 * buffers are an int length and the bytes (a null one just the int), ACL
 * vectors an int count and {int perms, string scheme, string id} each, a
 * multi an int count and {int type, buffer record} per member.
 */
#include <string.h>
#include "txn_size.h"

#define HEADER_BYTES (8 + 4 + 8 + 8 + 4)    /* clientId, cxid, zxid, time, type */

static int64_t string_size(const char *s)
{
    return 4 + (s ? (int64_t)strlen(s) : 0);
}

static int64_t data_size(const struct corral_txn *t)
{
    return 4 + (t->data && t->data_len > 0 ? t->data_len : 0);
}

static int64_t acl_size(const struct corral_txn *t)
{
    int64_t n = 4;
    for (int32_t i = 0; i < t->n_acl; i++)
        n += 4 + string_size(t->acl[i].scheme) + string_size(t->acl[i].id);
    return n;
}

static int64_t record_size(const struct corral_txn *t)
{
    switch (t->type) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
        return string_size(t->path) + data_size(t) + acl_size(t) + 1 + 4;
    case CORRAL_OP_CREATE_CONTAINER:
        return string_size(t->path) + data_size(t) + acl_size(t) + 4;
    case CORRAL_OP_CREATE_TTL:
        return string_size(t->path) + data_size(t) + acl_size(t) + 4 + 8;
    case CORRAL_OP_DELETE:
    case CORRAL_OP_DELETE_CONTAINER:
        return string_size(t->path);
    case CORRAL_OP_SET_DATA:
        return string_size(t->path) + data_size(t) + 4;
    case CORRAL_OP_SET_ACL:
        return string_size(t->path) + acl_size(t) + 4;
    case CORRAL_OP_CHECK:
        return string_size(t->path) + 4;
    case CORRAL_OP_ERROR:
    case CORRAL_OP_CREATE_SESSION:
        return 4;
    case CORRAL_OP_MULTI: {
        int64_t n = 4;
        for (int32_t i = 0; i < t->n_subs; i++)
            n += 4 + 4 + record_size(&t->subs[i]);
        return n;
    }
    case CORRAL_OP_CLOSE_SESSION: {
        if (t->n_close_paths < 0)
            return 0;           /* the bodiless form */
        int64_t n = 4;
        for (int32_t i = 0; i < t->n_close_paths; i++)
            n += string_size(t->close_paths[i]);
        return n;
    }
    default:
        return 0;
    }
}

int64_t txn_encoded_size(const struct corral_txn *t)
{
    return HEADER_BYTES + record_size(t);
}
