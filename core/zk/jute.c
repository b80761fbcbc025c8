/*
 * jute.c — encoder and decoder for ZooKeeper's jute primitives.
 * See corral/jute.h for the rules (big-endian, -1 for null, sticky errors).
 */
#include <stdlib.h>
#include <string.h>
#include "corral/jute.h"

void jute_buf_init(struct jute_buf *b) { memset(b, 0, sizeof *b); }

void jute_buf_free(struct jute_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void jute_buf_reset(struct jute_buf *b) { b->len = 0; b->oom = 0; }

uint8_t *jute_buf_reserve(struct jute_buf *b, size_t n)
{
    if (b->oom)
        return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            b->oom = 1;
            return NULL;
        }
        b->data = d;
        b->cap = cap;
    }
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

void jute_put_int(struct jute_buf *b, int32_t v)
{
    uint8_t *p = jute_buf_reserve(b, 4);
    if (p)
        be32(p, (uint32_t)v);
}

void jute_put_long(struct jute_buf *b, int64_t v)
{
    uint8_t *p = jute_buf_reserve(b, 8);
    if (p) {
        be32(p, (uint32_t)((uint64_t)v >> 32));
        be32(p + 4, (uint32_t)v);
    }
}

void jute_put_bool(struct jute_buf *b, int v)
{
    uint8_t *p = jute_buf_reserve(b, 1);
    if (p)
        *p = v ? 1 : 0;
}

void jute_put_buffer(struct jute_buf *b, const uint8_t *data, int32_t len)
{
    if (len < 0 || (!data && len > 0)) {
        jute_put_int(b, -1);
        return;
    }
    jute_put_int(b, len);
    uint8_t *p = jute_buf_reserve(b, (size_t)len);
    if (p && len)
        memcpy(p, data, (size_t)len);
}

void jute_put_string(struct jute_buf *b, const char *s)
{
    jute_put_buffer(b, (const uint8_t *)s, s ? (int32_t)strlen(s) : -1);
}

void jute_put_stat(struct jute_buf *b, const struct corral_stat *st)
{
    jute_put_long(b, st->czxid);
    jute_put_long(b, st->mzxid);
    jute_put_long(b, st->ctime);
    jute_put_long(b, st->mtime);
    jute_put_int(b, st->version);
    jute_put_int(b, st->cversion);
    jute_put_int(b, st->aversion);
    jute_put_long(b, st->ephemeral_owner);
    jute_put_int(b, st->data_length);
    jute_put_int(b, st->num_children);
    jute_put_long(b, st->pzxid);
}

void jute_put_acl(struct jute_buf *b, const struct corral_acl *acl)
{
    jute_put_int(b, acl->perms);
    jute_put_string(b, acl->scheme);
    jute_put_string(b, acl->id);
}

void jute_put_acl_vector(struct jute_buf *b, const struct corral_acl *acl, int32_t n)
{
    if (n < 0) {
        jute_put_int(b, -1);
        return;
    }
    jute_put_int(b, n);
    for (int32_t i = 0; i < n; i++)
        jute_put_acl(b, &acl[i]);
}

void jute_patch_int(struct jute_buf *b, size_t offset, int32_t v)
{
    if (!b->oom && offset + 4 <= b->len)
        be32(b->data + offset, (uint32_t)v);
}

void jute_reader_init(struct jute_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->err = 0;
}

size_t jute_remaining(const struct jute_reader *r) { return r->err ? 0 : r->len - r->pos; }

static const uint8_t *take(struct jute_reader *r, size_t n)
{
    if (r->err || r->len - r->pos < n) {
        r->err = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

int32_t jute_get_int(struct jute_reader *r)
{
    const uint8_t *p = take(r, 4);
    if (!p)
        return 0;
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

int64_t jute_get_long(struct jute_reader *r)
{
    uint64_t hi = (uint32_t)jute_get_int(r);
    uint64_t lo = (uint32_t)jute_get_int(r);
    return (int64_t)(hi << 32 | lo);
}

int jute_get_bool(struct jute_reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? *p != 0 : 0;
}

void jute_get_buffer(struct jute_reader *r, const uint8_t **out, int32_t *len)
{
    int32_t n = jute_get_int(r);
    *out = NULL;
    *len = -1;
    if (r->err || n < 0) {
        if (n < -1)
            r->err = 1;
        return;
    }
    const uint8_t *p = take(r, (size_t)n);
    if (!p)
        return;
    *out = p;
    *len = n;
}

uint8_t *jute_get_buffer_dup(struct jute_reader *r, int32_t *len)
{
    const uint8_t *p;
    jute_get_buffer(r, &p, len);
    if (*len < 0)
        return NULL;
    uint8_t *d = malloc(*len ? (size_t)*len : 1);
    if (!d) {
        r->err = 1;
        *len = -1;
        return NULL;
    }
    if (*len)
        memcpy(d, p, (size_t)*len);
    return d;
}

char *jute_get_string_dup(struct jute_reader *r)
{
    const uint8_t *p;
    int32_t n;
    jute_get_buffer(r, &p, &n);
    if (n < 0)
        return NULL;
    if (memchr(p, 0, (size_t)n)) {
        r->err = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->err = 1;
        return NULL;
    }
    memcpy(s, p, (size_t)n);
    s[n] = 0;
    return s;
}

void jute_get_stat(struct jute_reader *r, struct corral_stat *st)
{
    st->czxid = jute_get_long(r);
    st->mzxid = jute_get_long(r);
    st->ctime = jute_get_long(r);
    st->mtime = jute_get_long(r);
    st->version = jute_get_int(r);
    st->cversion = jute_get_int(r);
    st->aversion = jute_get_int(r);
    st->ephemeral_owner = jute_get_long(r);
    st->data_length = jute_get_int(r);
    st->num_children = jute_get_int(r);
    st->pzxid = jute_get_long(r);
}

void jute_free_acl_vector(struct corral_acl *acl, int32_t n)
{
    if (!acl)
        return;
    for (int32_t i = 0; i < n; i++) {
        free(acl[i].scheme);
        free(acl[i].id);
    }
    free(acl);
}

struct corral_acl *jute_get_acl_vector(struct jute_reader *r, int32_t *n)
{
    int32_t count = jute_get_int(r);
    *n = -1;
    if (r->err || count < 0) {
        if (count < -1)
            r->err = 1;
        return NULL;
    }
    /* Each ACL takes at least 12 bytes: refuse counts the input cannot hold. */
    if ((size_t)count > jute_remaining(r) / 12) {
        r->err = 1;
        return NULL;
    }
    struct corral_acl *acl = calloc(count ? (size_t)count : 1, sizeof *acl);
    if (!acl) {
        r->err = 1;
        return NULL;
    }
    for (int32_t i = 0; i < count; i++) {
        acl[i].perms = jute_get_int(r);
        acl[i].scheme = jute_get_string_dup(r);
        acl[i].id = jute_get_string_dup(r);
        /* Clients write "" as a null string (kazoo's "auth:" ACL); Java reads
         * null and carries on, so a null scheme or id reads as empty here. */
        if (!r->err && !acl[i].scheme)
            acl[i].scheme = strdup("");
        if (!r->err && !acl[i].id)
            acl[i].id = strdup("");
        if (r->err || !acl[i].scheme || !acl[i].id) {
            r->err = 1;
            jute_free_acl_vector(acl, i + 1);
            return NULL;
        }
    }
    *n = count;
    return acl;
}
