/*
 * zk_numfile.h — ZooKeeper's one-number files: dataDir/myid and the snapshot
 * folder's acceptedEpoch / currentEpoch each hold one decimal number (a
 * trailing newline allowed, as an operator's editor leaves one).  Part of
 * libzk: the core reads myid, the file storage its epochs, with one parser.
 */
#ifndef CORRAL_ZK_NUMFILE_H
#define CORRAL_ZK_NUMFILE_H

#include <stddef.h>

/*
 * Read the number in path.  1 and *value; 0 when there is no such file (or
 * a folder on the way is a file); -1 when it cannot be read or is not a
 * number, with why in err (errlen bytes, for the caller to log).
 */
int zk_read_number_file(const char *path, long long *value, char *err, size_t errlen);

#endif
