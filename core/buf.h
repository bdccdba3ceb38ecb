/*
 * buf.h: the one growable byte buffer.
 *
 * struct buf {data, len, cap} holds every output we build: JSON bodies, NDJSON
 * rows, CSV lines, log lines. It grows by doubling, keeps its capacity across
 * buf_reset() so a per-row buffer stops allocating after the first rows, and
 * keeps data NUL-terminated after every append (data[len] == 0) so a finished
 * buffer can be handed to C string APIs. All appends abort on OOM (xmalloc).
 */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_init(struct buf *b);
/* Release the storage; the buf is empty and reusable afterwards. */
void buf_fini(struct buf *b);
/* Empty the buffer, keep the capacity. */
void buf_reset(struct buf *b);
/* Make room for n more bytes; returns a pointer to the free space. */
char *buf_reserve(struct buf *b, size_t n);
/* Mark n reserved bytes as written. */
void buf_commit(struct buf *b, size_t n);

void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, struct str s);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vappendf(struct buf *b, const char *fmt, va_list ap);
void buf_append_i64(struct buf *b, long long v);
void buf_append_u64(struct buf *b, unsigned long long v);

/*
 * JSON string with quotes and escapes. Invalid UTF-8 bytes are replaced by
 * U+FFFD so the output is always valid JSON.
 */
void buf_append_json_str(struct buf *b, const char *p, size_t n);
static inline void buf_append_json_cstr(struct buf *b, const char *s)
{
    buf_append_json_str(b, s, s ? __builtin_strlen(s) : 0);
}

/* Money in minor units as a decimal string "12.34" for the given exponent. */
void buf_append_money(struct buf *b, long long minor, int exponent);

/* Drop the first n bytes (consumed output), keeping the rest. */
void buf_consume(struct buf *b, size_t n);

#endif
