/*
 * buf.c: growable byte buffer (see buf.h).
 *
 * The JSON string writer is the hottest function in search and export: a table
 * tells which bytes need escaping so runs of plain bytes are copied with one
 * memcpy.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_fini(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *buf_reserve(struct buf *b, size_t n)
{
    if (n + 1 > b->cap - b->len || !b->data) {
        size_t cap = b->cap ? b->cap : 256;
        if (n + 1 > SIZE_MAX / 2 - b->len)
            xmalloc(SIZE_MAX); /* aborts: no buffer legitimately gets here */
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    char *dst = buf_reserve(b, n);
    if (n)
        memcpy(dst, p, n);
    buf_commit(b, n);
}

void buf_append_str(struct buf *b, struct str s)
{
    buf_append(b, s.ptr, s.len);
}

void buf_puts(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
    char *dst = buf_reserve(b, 1);
    *dst = c;
    buf_commit(b, 1);
}

void buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char *dst = buf_reserve(b, 128);
    int n = vsnprintf(dst, b->cap - b->len, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        dst = buf_reserve(b, (size_t)n);
        vsnprintf(dst, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    buf_commit(b, (size_t)n);
}

void buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(b, fmt, ap);
    va_end(ap);
}

void buf_append_u64(struct buf *b, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_append(b, tmp + i, sizeof(tmp) - i);
}

void buf_append_i64(struct buf *b, long long v)
{
    if (v < 0) {
        buf_putc(b, '-');
        buf_append_u64(b, 0ULL - (unsigned long long)v);
    } else {
        buf_append_u64(b, (unsigned long long)v);
    }
}

void buf_append_money(struct buf *b, long long minor, int exponent)
{
    unsigned long long a = minor < 0 ? 0ULL - (unsigned long long)minor : (unsigned long long)minor;
    unsigned long long scale = 1;
    for (int i = 0; i < exponent; i++)
        scale *= 10;
    if (minor < 0)
        buf_putc(b, '-');
    buf_append_u64(b, a / scale);
    if (exponent > 0) {
        char frac[20];
        unsigned long long f = a % scale;
        for (int i = exponent - 1; i >= 0; i--) {
            frac[i] = (char)('0' + f % 10);
            f /= 10;
        }
        buf_putc(b, '.');
        buf_append(b, frac, (size_t)exponent);
    }
}

/* 0: copy as is; 1: needs an escape or UTF-8 check. */
static const unsigned char json_special[256] = {
    [0 ... 31] = 1, ['"'] = 1, ['\\'] = 1, [127 ... 255] = 1,
};

static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t need;
    unsigned cp, min;
    if ((c & 0xE0) == 0xC0)
        need = 1, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        need = 2, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        need = 3, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (avail <= need)
        return 0;
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need + 1;
}

void buf_append_json_str(struct buf *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0, run = 0;
    buf_reserve(b, n + 2);
    buf_putc(b, '"');
    while (i < n) {
        run = i;
        while (i < n && !json_special[s[i]])
            i++;
        if (i > run)
            buf_append(b, s + run, i - run);
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t k = utf8_seq_len(s + i, n - i);
            if (k) {
                buf_append(b, s + i, k);
                i += k;
            } else {
                buf_append(b, "\xEF\xBF\xBD", 3);
                i++;
            }
            continue;
        }
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u', esc[2] = '0', esc[3] = '0';
            esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
            elen = 6;
        }
        buf_append(b, esc, elen);
        i++;
    }
    buf_putc(b, '"');
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}
