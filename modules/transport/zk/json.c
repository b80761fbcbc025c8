/*
 * json.c — the AdminServer's JSON writer (see json.h for the layout).
 *
 * Writes straight into a jute_buf; a failed allocation is remembered by the
 * buffer (out->oom) and the caller answers 500 instead.  Nesting deeper than
 * JSON_MAX_DEPTH is a programming error and is simply not opened.
 */
#include <stdio.h>
#include <string.h>
#include "json.h"

static void put(struct json *j, const char *s, size_t n)
{
    uint8_t *p = jute_buf_reserve(j->out, n);
    if (p)
        memcpy(p, s, n);
}

static void put_cstr(struct json *j, const char *s)
{
    put(j, s, strlen(s));
}

static void newline_indent(struct json *j, int objects)
{
    put(j, "\n", 1);
    for (int i = 0; i < objects; i++)
        put(j, "  ", 2);
}

/* Separator before a value: inside an array, " " or ", ". */
static void before_value(struct json *j)
{
    if (j->level == 0 || !j->is_array[j->level - 1])
        return;
    if (j->members[j->level - 1]++)
        put(j, ", ", 2);
    else
        put(j, " ", 1);
}

void json_init(struct json *j, struct jute_buf *out)
{
    memset(j, 0, sizeof *j);
    j->out = out;
}

static void open_container(struct json *j, int is_array)
{
    before_value(j);
    if (j->level >= JSON_MAX_DEPTH)
        return;
    put(j, is_array ? "[" : "{", 1);
    j->is_array[j->level] = (char)is_array;
    j->members[j->level] = 0;
    j->level++;
    if (!is_array)
        j->objects++;
}

void json_object_begin(struct json *j) { open_container(j, 0); }
void json_array_begin(struct json *j) { open_container(j, 1); }

void json_object_end(struct json *j)
{
    if (j->level == 0 || j->is_array[j->level - 1])
        return;
    j->level--;
    j->objects--;
    if (j->members[j->level]) {
        newline_indent(j, j->objects);
        put(j, "}", 1);
    } else {
        put(j, " }", 2);
    }
}

void json_array_end(struct json *j)
{
    if (j->level == 0 || !j->is_array[j->level - 1])
        return;
    j->level--;
    put(j, " ]", 2);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void put_quoted(struct json *j, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    put(j, "\"", 1);
    size_t i = 0;
    while (i < n) {
        size_t run = i;     /* copy plain bytes in runs */
        while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) {
            put(j, (const char *)s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = s[i];
        char esc[8];
        switch (c) {
        case '"': put_cstr(j, "\\\""); i++; continue;
        case '\\': put_cstr(j, "\\\\"); i++; continue;
        case '\b': put_cstr(j, "\\b"); i++; continue;
        case '\f': put_cstr(j, "\\f"); i++; continue;
        case '\n': put_cstr(j, "\\n"); i++; continue;
        case '\r': put_cstr(j, "\\r"); i++; continue;
        case '\t': put_cstr(j, "\\t"); i++; continue;
        default: break;
        }
        if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put_cstr(j, esc);
            i++;
            continue;
        }
        size_t len = utf8_length(s + i, n - i);
        if (len == 0) {
            put_cstr(j, "\\ufffd");
            i++;
        } else {
            put(j, (const char *)s + i, len);
            i += len;
        }
    }
    put(j, "\"", 1);
}

void json_key(struct json *j, const char *key)
{
    if (j->level == 0 || j->is_array[j->level - 1])
        return;
    if (j->members[j->level - 1]++)
        put(j, ",", 1);
    newline_indent(j, j->objects);
    put_quoted(j, key);
    put(j, " : ", 3);
}

void json_string(struct json *j, const char *s)
{
    before_value(j);
    if (s)
        put_quoted(j, s);
    else
        put(j, "null", 4);
}

void json_int(struct json *j, long long v)
{
    char buf[32];
    before_value(j);
    int n = snprintf(buf, sizeof buf, "%lld", v);
    put(j, buf, (size_t)n);
}

void json_bool(struct json *j, int v)
{
    before_value(j);
    put_cstr(j, v ? "true" : "false");
}

void json_null(struct json *j)
{
    before_value(j);
    put(j, "null", 4);
}

void json_number_text(struct json *j, const char *digits)
{
    before_value(j);
    put_cstr(j, digits);
}

void json_kv_string(struct json *j, const char *key, const char *s) { json_key(j, key); json_string(j, s); }
void json_kv_int(struct json *j, const char *key, long long v) { json_key(j, key); json_int(j, v); }
void json_kv_bool(struct json *j, const char *key, int v) { json_key(j, key); json_bool(j, v); }
void json_kv_null(struct json *j, const char *key) { json_key(j, key); json_null(j); }
