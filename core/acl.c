/*
 * acl.c — ACL checks and ACL validation, scheme-agnostic.
 *
 * The core knows no scheme: it asks the loaded auth modules.  A permission is
 * granted when some ACL entry with that bit names a scheme whose module says
 * one of the session's identities of that scheme matches the entry's id.  An
 * identity whose module carries CORRAL_AUTH_SUPERUSER passes every check.
 * The pseudo-scheme "auth" in a create/setACL request stands for every
 * identity the session authenticated with addauth (ZooKeeper's fixupACL).
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"

const struct corral_auth_ops *auth_find(const char *scheme)
{
    for (int i = 0; i < server.n_auth; i++)
        if (!strcmp(server.auth[i]->scheme, scheme))
            return server.auth[i];
    return NULL;
}

int acl_check(const struct session *s, const struct acl_list *acl, int32_t perm)
{
    if (server.skip_acl || !acl || acl->n == 0)   /* ZooKeeper: an empty ACL grants all */
        return 1;
    if (s == &server.system_session)    /* the server's own writes (plugins' submit_internal) */
        return 1;
    for (int i = 0; s && i < s->n_ids; i++) {
        const struct corral_auth_ops *a = auth_find(s->ids[i].scheme);
        if (a && (a->flags & CORRAL_AUTH_SUPERUSER))
            return 1;
    }
    for (int32_t k = 0; k < acl->n; k++) {
        const struct corral_acl *e = &acl->acl[k];
        if (!(e->perms & perm))
            continue;
        const struct corral_auth_ops *a = auth_find(e->scheme);
        if (!a || !a->matches)
            continue;
        for (int i = 0; s && i < s->n_ids; i++)
            if (!strcmp(s->ids[i].scheme, e->scheme) && a->matches(s->ids[i].id, e->id))
                return 1;
    }
    return 0;
}

void acl_free_list(struct corral_acl *acl, int32_t n)
{
    for (int32_t i = 0; acl && i < n; i++) {
        free(acl[i].scheme);
        free(acl[i].id);
    }
    free(acl);
}

static int push(struct corral_acl **out, int32_t *n, int32_t *cap, int32_t perms,
                const char *scheme, const char *id)
{
    for (int32_t i = 0; i < *n; i++)   /* ZooKeeper drops exact duplicates */
        if ((*out)[i].perms == perms && !strcmp((*out)[i].scheme, scheme) &&
            !strcmp((*out)[i].id, id))
            return 0;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        struct corral_acl *a = realloc(*out, (size_t)*cap * sizeof *a);
        if (!a)
            return -1;
        *out = a;
    }
    (*out)[*n].perms = perms;
    (*out)[*n].scheme = strdup(scheme);
    (*out)[*n].id = strdup(id);
    (*n)++;
    return 0;
}

int acl_fixup(const struct session *s, const struct corral_acl *in, int32_t n,
              struct corral_acl **out, int32_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    int32_t cap = 0;
    if (!in || n <= 0)
        return CORRAL_EINVALIDACL;
    for (int32_t i = 0; i < n; i++) {
        const struct corral_acl *e = &in[i];
        if (!e->scheme || !e->id)
            goto invalid;
        if (!strcmp(e->scheme, "auth")) {
            int added = 0;
            for (int k = 0; s && k < s->n_ids; k++)
                if (s->ids[k].authenticated) {
                    push(out, n_out, &cap, e->perms, s->ids[k].scheme, s->ids[k].id);
                    added = 1;
                }
            if (!added)
                goto invalid;
            continue;
        }
        const struct corral_auth_ops *a = auth_find(e->scheme);
        if (!a || !a->valid_id || !a->valid_id(e->id))
            goto invalid;
        if (push(out, n_out, &cap, e->perms, e->scheme, e->id) < 0)
            goto invalid;
    }
    return CORRAL_OK;
invalid:
    acl_free_list(*out, *n_out);
    *out = NULL;
    *n_out = 0;
    return CORRAL_EINVALIDACL;
}
