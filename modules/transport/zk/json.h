/*
 * json.h — a small streaming JSON writer for the AdminServer's answers.
 *
 * The layout is the one Apache ZooKeeper's AdminServer prints (Jackson's
 * default pretty printer): object members one per line, indented two spaces
 * per open object, `"key" : value`; arrays inline, `[ 1, 2 ]`, `[ ]`, with
 * objects inside them opening on the same line (`[ {`).  Tools that diff or
 * grep ZooKeeper's answers see the same shape from Corral.
 *
 * Strings are escaped as JSON requires; bytes that are not valid UTF-8 (a
 * znode path can hold anything) become U+FFFD, so the output always parses.
 */
#ifndef CORRAL_ZK_JSON_H
#define CORRAL_ZK_JSON_H

#include "corral/jute.h"

#define JSON_MAX_DEPTH 16

struct json {
    struct jute_buf *out;
    int level;                      /* open containers */
    int objects;                    /* open objects: the indentation */
    char is_array[JSON_MAX_DEPTH];
    int members[JSON_MAX_DEPTH];    /* written so far in each open container */
};

void json_init(struct json *j, struct jute_buf *out);

void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
/* The next member's name (inside an object); its value follows. */
void json_key(struct json *j, const char *key);

void json_string(struct json *j, const char *s);
void json_int(struct json *j, long long v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
/* A number already rendered (e.g. "0.0", "4.5385"). */
void json_number_text(struct json *j, const char *digits);

/* key + value in one call */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_int(struct json *j, const char *key, long long v);
void json_kv_bool(struct json *j, const char *key, int v);
void json_kv_null(struct json *j, const char *key);

#endif
