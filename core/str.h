/*
 * str.h: a borrowed byte slice.
 *
 * Tokens found in input (query values, header values, JSON keys) point into the
 * bytes they came from; nothing is copied and nothing is NUL-terminated. The
 * owner of the underlying bytes decides the lifetime (STYLE rule 11).
 */
#ifndef CORE_STR_H
#define CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct str {
    const char *ptr;
    size_t len;
};

#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})
#define STR_NULL   ((struct str){NULL, 0})

static inline struct str str_from(const char *s)
{
    return (struct str){s, s ? strlen(s) : 0};
}

static inline bool str_eq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool str_eq_cstr(struct str a, const char *b)
{
    return str_eq(a, str_from(b));
}

static inline bool str_starts_with(struct str a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.ptr, prefix, n) == 0;
}

/* Case-insensitive ASCII comparison (header names, media types). */
bool str_eq_nocase(struct str a, const char *b);

/* Trim ASCII spaces and tabs on both ends. */
struct str str_trim(struct str s);

/*
 * Split *s at the first sep: returns the part before it and advances *s past
 * it; with no sep, returns all of *s and leaves *s empty (ptr NULL).
 */
struct str str_cut(struct str *s, char sep);

/*
 * Parse the whole slice as a decimal int64 (optional leading '-').
 * Returns 0 and sets *out, or -1 on empty, junk or overflow.
 */
int str_to_i64(struct str s, long long *out);

/* True when the bytes are well-formed UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *p, size_t n);

#endif
