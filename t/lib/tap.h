/*
 * tap.h — just enough of the Test Anything Protocol for C unit tests run by
 * prove: ok(), is_int(), is_str(), tap_hex(), done_testing().  Each check prints one
 * "ok N - description" / "not ok N - description" line; diagnostics go to
 * stderr prefixed with '#'.  Header-only so every test is one .c file.
 */
#ifndef CORRAL_TAP_H
#define CORRAL_TAP_H

#include <stdio.h>
#include <string.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

static int tap_count, tap_failed;

static int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tap_count++;
    printf("%sok %d - ", cond ? "" : "not ", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond) {
        tap_failed++;
        fprintf(stderr, "#   Failed test at %s line %d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                     \
    do {                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                   \
        if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__))                    \
            fprintf(stderr, "#          got: %lld\n#     expected: %lld\n", g_, w_); \
    } while (0)

#define is_str(got, want, ...)                                                     \
    do {                                                                           \
        const char *g_ = (got), *w_ = (want);                                      \
        int same_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;                   \
        if (!tap_ok(same_, __FILE__, __LINE__, __VA_ARGS__))                       \
            fprintf(stderr, "#          got: '%s'\n#     expected: '%s'\n",        \
                    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                       \
    } while (0)

/* Bytes as lowercase hex (malloc'd), to compare encodings with is_str. */
static inline char *tap_hex(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; s && i < n; i++)
        sprintf(s + 2 * i, "%02x", p[i]);
    if (s)
        s[2 * n] = 0;
    return s;
}

static int done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
