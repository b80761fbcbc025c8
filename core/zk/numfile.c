/*
 * numfile.c — reading ZooKeeper's one-number files (zk_numfile.h).  The
 * library does not log: a failure is handed back as text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "corral/zk_numfile.h"

int zk_read_number_file(const char *path, long long *value, char *err, size_t errlen)
{
    char text[64];
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = fgets(text, sizeof text, f);
    fclose(f);
    if (line)
        line[strcspn(line, "\r\n")] = 0;
    char *end = NULL;
    errno = 0;
    long long v = line ? strtoll(line, &end, 10) : 0;
    if (!line || !*line || *end || errno) {
        snprintf(err, errlen, "%s: '%s' is not a number", path, line ? line : "");
        return -1;
    }
    *value = v;
    return 1;
}
