/*
 * str.c: slice helpers and the UTF-8 validator used on every text input.
 */
#include "str.h"

#include <limits.h>
#include <stdint.h>

bool str_eq_nocase(struct str a, const char *b)
{
    size_t n = strlen(b);
    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

struct str str_trim(struct str s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

struct str str_cut(struct str *s, char sep)
{
    struct str head = *s;
    const char *p = s->len ? memchr(s->ptr, sep, s->len) : NULL;
    if (!p) {
        *s = STR_NULL;
        return head;
    }
    head.len = (size_t)(p - s->ptr);
    s->len -= head.len + 1;
    s->ptr = p + 1;
    return head;
}

int str_to_i64(struct str s, long long *out)
{
    size_t i = 0;
    bool neg = false;
    unsigned long long v = 0;
    if (s.len && s.ptr[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == s.len || s.len - i > 19)
        return -1;
    for (; i < s.len; i++) {
        unsigned d = (unsigned)(s.ptr[i] - '0');
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    if (v > (unsigned long long)LLONG_MAX + (neg ? 1u : 0u))
        return -1;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

bool utf8_valid(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p, *end = s + n;
    while (s < end) {
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            need = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if ((size_t)(end - s) <= need)
            return false;
        for (size_t i = 1; i <= need; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        s += need + 1;
    }
    return true;
}
