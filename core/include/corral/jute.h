/*
 * jute.h — ZooKeeper's "jute" binary serialization: big-endian ints and
 * longs, one-byte booleans, length-prefixed buffers and strings (length -1
 * meaning null), vectors as a count followed by the elements.
 *
 * Shared by everything that speaks ZooKeeper's formats: the zk transport
 * (client wire protocol), the file storage module (txn log and snapshots) and
 * corral-bench.  Linked as a small static library; it has no state.
 *
 * Readers are bounds-checked and "sticky": the first short read or bad length
 * sets r->err and every later get returns zero/NULL, so a decoder can read a
 * whole record and check r->err once at the end.  Writers grow their buffer;
 * an allocation failure sets b->oom the same way.
 */
#ifndef CORRAL_JUTE_H
#define CORRAL_JUTE_H

#include <stdint.h>
#include <stddef.h>
#include "corral/request.h"

struct jute_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int oom;
};

struct jute_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int err;
};

void jute_buf_init(struct jute_buf *b);
void jute_buf_free(struct jute_buf *b);
void jute_buf_reset(struct jute_buf *b);
/* Reserve n bytes at the end and return a pointer to them (NULL on oom). */
uint8_t *jute_buf_reserve(struct jute_buf *b, size_t n);

void jute_put_int(struct jute_buf *b, int32_t v);
void jute_put_long(struct jute_buf *b, int64_t v);
void jute_put_bool(struct jute_buf *b, int v);
/* len -1 writes a null buffer. */
void jute_put_buffer(struct jute_buf *b, const uint8_t *p, int32_t len);
/* NULL writes a null string. */
void jute_put_string(struct jute_buf *b, const char *s);
void jute_put_stat(struct jute_buf *b, const struct corral_stat *st);
void jute_put_acl(struct jute_buf *b, const struct corral_acl *acl);
void jute_put_acl_vector(struct jute_buf *b, const struct corral_acl *acl, int32_t n);
/* Overwrite a big-endian int at offset (used to back-fill frame lengths). */
void jute_patch_int(struct jute_buf *b, size_t offset, int32_t v);

void jute_reader_init(struct jute_reader *r, const uint8_t *p, size_t len);
size_t jute_remaining(const struct jute_reader *r);
int32_t jute_get_int(struct jute_reader *r);
int64_t jute_get_long(struct jute_reader *r);
int jute_get_bool(struct jute_reader *r);
/* Points into the reader's memory; *len -1 and *p NULL for a null buffer. */
void jute_get_buffer(struct jute_reader *r, const uint8_t **p, int32_t *len);
/* malloc'd copy of a buffer (NULL and *len -1 for a null buffer). */
uint8_t *jute_get_buffer_dup(struct jute_reader *r, int32_t *len);
/* malloc'd, NUL-terminated; NULL for a null string or on error.
 * A string containing a NUL byte is an error. */
char *jute_get_string_dup(struct jute_reader *r);
void jute_get_stat(struct jute_reader *r, struct corral_stat *st);
/* malloc'd vector of ACLs (each scheme/id malloc'd, a null string read as "");
 * *n -1 for a null vector. */
struct corral_acl *jute_get_acl_vector(struct jute_reader *r, int32_t *n);
void jute_free_acl_vector(struct corral_acl *acl, int32_t n);

#endif
