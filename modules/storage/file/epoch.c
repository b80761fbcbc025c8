/*
 * epoch.c — the small files an Apache ZooKeeper server keeps beside its
 * data, in the snapshot folder: currentEpoch and acceptedEpoch (the Zab
 * epochs it has committed to and accepted).  Each holds one decimal number,
 * no newline, as ZooKeeper's QuorumPeer writes them.  (dataDir/myid, the
 * server's id in an ensemble, is the core's: main.c read_myid.)
 *
 * Plain getters and setters (zk_epoch_get / zk_epoch_set, the storage
 * API's epoch_get / epoch_set): what the values must be, and which to
 * write when missing, the core decides after recovery (core/epochs.c).  A
 * file that is not a number is an error naming the file; a missing one is
 * "never stored".  Writes are atomic: a .tmp file, fsync, rename, fsync of
 * the folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zkfile.h"
#include "corral/zk_numfile.h"

/* Read the number in dir/name: 1 and *value, 0 if there is no such file,
 * -1 (logged) if it cannot be read or is not a number. */
static int read_number(const char *dir, const char *name, long long *value)
{
    char path[4096], err[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = zk_read_number_file(path, value, err, sizeof err);
    if (rc < 0)
        zk_log(CORRAL_LOG_ERROR, "%s", err);
    return rc;
}

static int write_number(const char *dir, const char *name, long long value)
{
    char path[4096], tmp[4100], text[32];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int len = snprintf(text, sizeof text, "%lld", value);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, (size_t)len) != len || fsync(fd) < 0 || close(fd) < 0 ||
        rename(tmp, path) < 0 || zk_fsync_dir(dir) < 0) {
        zk_log(CORRAL_LOG_ERROR, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return -1;
    }
    return 0;
}

static const char *epoch_name(int which)
{
    return which == CORRAL_EPOCH_ACCEPTED ? "acceptedEpoch"
         : which == CORRAL_EPOCH_CURRENT ? "currentEpoch" : NULL;
}

int zk_epoch_get(const char *snap_dir, int which, int64_t *value)
{
    const char *name = epoch_name(which);
    long long v;
    int r = name ? read_number(snap_dir, name, &v) : -1;
    if (!name)
        zk_log(CORRAL_LOG_ERROR, "no such epoch: %d", which);
    if (r == 0)
        return 1;
    if (r < 0)
        return -1;
    *value = v;
    return 0;
}

int zk_epoch_set(const char *snap_dir, int which, int64_t value)
{
    const char *name = epoch_name(which);
    if (!name || value < 0) {
        zk_log(CORRAL_LOG_ERROR, "cannot set epoch %d to %lld", which, (long long)value);
        return -1;
    }
    return write_number(snap_dir, name, value);
}
