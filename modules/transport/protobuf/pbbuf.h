/*
 * pbbuf.h — a growable byte buffer for outgoing messages.
 *
 * The codec packs each ServerMessage straight into the connection's output
 * buffer behind its 4-byte length, so an answer costs no copy.  Allocation
 * failure is sticky (oom): the connection that owns the buffer is dropped.
 * Header-only: it is small and both conn.c and codec.c use it.
 */
#ifndef CORRAL_PBBUF_H
#define CORRAL_PBBUF_H

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

struct pb_buf {
    uint8_t *data;
    size_t len, cap;
    int oom;
};

/* Room for n more bytes at data + len; NULL (and oom set) when out of memory. */
static inline uint8_t *pb_buf_reserve(struct pb_buf *b, size_t n)
{
    if (b->oom)
        return NULL;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(b->data, cap);
        if (!p) {
            b->oom = 1;
            return NULL;
        }
        b->data = p;
        b->cap = cap;
    }
    return b->data + b->len;
}

static inline void pb_buf_free(struct pb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

#endif
