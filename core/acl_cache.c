/*
 * acl_cache.c — interning of ACL lists (see acl_cache.h for why).
 * The key is the list in a canonical text form "perms:scheme:id\n..." in the
 * order given (ZooKeeper keeps order, so two orders are two lists).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "acl_cache.h"
#include "idpool.h"

static struct acl_list *cache;
static struct id_pool ids;
/*
 * The list returned last: loading a snapshot or a burst of creates asks for
 * the same list node after node, and comparing it field by field is much
 * cheaper than building the text key and hashing it.
 */
static struct acl_list *last;

static int same_list(const struct acl_list *l, const struct corral_acl *acl, int32_t n)
{
    if (l->n != n)
        return 0;
    for (int32_t i = 0; i < n; i++)
        if (l->acl[i].perms != acl[i].perms || !acl[i].scheme || !acl[i].id ||
            strcmp(l->acl[i].scheme, acl[i].scheme) ||
            strcmp(l->acl[i].id, acl[i].id))
            return 0;
    return 1;
}

static char *acl_key(const struct corral_acl *acl, int32_t n)
{
    size_t len = 1;
    for (int32_t i = 0; i < n; i++)
        len += strlen(acl[i].scheme) + strlen(acl[i].id) + 16;
    char *k = malloc(len), *p = k;
    if (!k)
        return NULL;
    *p = 0;
    for (int32_t i = 0; i < n; i++)
        p += sprintf(p, "%d:%s:%s\n", acl[i].perms, acl[i].scheme, acl[i].id);
    return k;
}

struct acl_list *acl_cache_get(const struct corral_acl *acl, int32_t n)
{
    if (last && same_list(last, acl, n)) {
        last->refs++;
        return last;
    }
    char *key = acl_key(acl, n);
    if (!key)
        return NULL;
    struct acl_list *l;
    HASH_FIND_STR(cache, key, l);
    if (l) {
        free(key);
        l->refs++;
        return last = l;
    }
    l = calloc(1, sizeof *l);
    if (!l) {
        free(key);
        return NULL;
    }
    if (!(l->id = id_pool_put(&ids, l))) {
        free(key);
        free(l);
        return NULL;
    }
    l->key = key;
    l->refs = 1;
    l->n = n;
    l->acl = calloc(n ? (size_t)n : 1, sizeof *l->acl);
    for (int32_t i = 0; i < n; i++) {
        l->acl[i].perms = acl[i].perms;
        l->acl[i].scheme = strdup(acl[i].scheme);
        l->acl[i].id = strdup(acl[i].id);
    }
    HASH_ADD_KEYPTR(hh, cache, l->key, strlen(l->key), l);
    return last = l;
}

void acl_list_ref(struct acl_list *l) { l->refs++; }

struct acl_list *acl_cache_by_id(uint32_t id) { return id_pool_get(&ids, id); }

static void acl_list_destroy(struct acl_list *l)
{
    id_pool_drop(&ids, l->id);
    for (int32_t i = 0; i < l->n; i++) {
        free(l->acl[i].scheme);
        free(l->acl[i].id);
    }
    free(l->acl);
    free(l->key);
    free(l);
}

void acl_list_unref(struct acl_list *l)
{
    if (!l || --l->refs > 0)
        return;
    HASH_DEL(cache, l);
    if (l == last)
        last = NULL;
    acl_list_destroy(l);
}

unsigned acl_cache_size(void) { return HASH_COUNT(cache); }

void acl_cache_clear(void)
{
    struct acl_list *l, *tmp;
    last = NULL;
    HASH_ITER(hh, cache, l, tmp) {
        HASH_DEL(cache, l);
        acl_list_destroy(l);
    }
    id_pool_clear(&ids);
}
