/*
 * path.h — ZooKeeper's rules for a valid znode path.
 */
#ifndef CORRAL_PATH_H
#define CORRAL_PATH_H

/*
 * 1 when `path` is a valid absolute znode path, 0 otherwise.  With
 * `sequential`, the path is checked as if a sequence number followed it, so a
 * trailing '/' ("/queue/") is allowed, as ZooKeeper allows it.
 * Rules: starts with '/', no trailing '/', no empty component, no "." or ".."
 * component, no NUL, no control characters (U+0001-U+001F, U+007F-U+009F), no
 * U+D800-U+F8FF or U+FFF0-U+FFFF, and well-formed UTF-8.
 */
struct znode;

int path_is_valid(const char *path, int sequential);

/*
 * The node a lookup may find at `path`, as ZooKeeper's DataTree, which keys
 * nodes by their exact path string (and the root also by ""): reads, and the
 * parent and node lookups of writes, do not validate paths, so "/a/",
 * "/a//b" or "a" simply name no node.  NULL when none.
 */
struct znode *path_lookup(const char *path);

#endif
