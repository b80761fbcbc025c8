/*
 * path.c — znode path validation (see path.h).  ZooKeeper checks Java chars
 * (UTF-16 units); Corral receives UTF-8, so it decodes code points and applies
 * the same ranges.  Malformed UTF-8 would reach a Java server as U+FFFD, which
 * ZooKeeper rejects, so it is rejected here too.
 */
#include <string.h>
#include "path.h"
#include "server.h"

struct znode *path_lookup(const char *path)
{
    if (!path)
        return NULL;
    if (!path[0])
        return tree_lookup(&server.tree, "/");
    size_t n = strlen(path);
    if (path[0] != '/' || (n > 1 && path[n - 1] == '/') || strstr(path, "//"))
        return NULL;
    return tree_lookup(&server.tree, path);
}

/* Decode one UTF-8 code point at s; returns bytes used, or 0 if malformed. */
static int utf8_decode(const unsigned char *s, unsigned *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int len;
    unsigned min;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2; *cp = s[0] & 0x1F; min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3; *cp = s[0] & 0x0F; min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4; *cp = s[0] & 0x07; min = 0x10000;
    } else
        return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF)
        return 0;
    return len;
}

static int bad_code_point(unsigned c)
{
    return (c >= 0x01 && c <= 0x1F) || (c >= 0x7F && c <= 0x9F) ||
           (c >= 0xD800 && c <= 0xF8FF) || (c >= 0xFFF0 && c <= 0xFFFF);
}

int path_is_valid(const char *path, int sequential)
{
    if (!path || path[0] != '/')
        return 0;
    size_t len = strlen(path);
    if (len == 1)
        return 1;
    if (path[len - 1] == '/' && !sequential)
        return 0;
    const unsigned char *s = (const unsigned char *)path + 1;
    const unsigned char *component = s;
    while (1) {
        if (*s == '/' || *s == 0) {
            size_t clen = (size_t)(s - component);
            int last = *s == 0;
            if (clen == 0 && !(last && sequential))
                return 0;
            if ((clen == 1 && component[0] == '.') ||
                (clen == 2 && component[0] == '.' && component[1] == '.'))
                return 0;
            if (last)
                return 1;
            s++;
            component = s;
            continue;
        }
        unsigned cp;
        int n = utf8_decode(s, &cp);
        if (!n || bad_code_point(cp))
            return 0;
        s += n;
    }
}
