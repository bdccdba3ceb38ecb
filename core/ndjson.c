/*
 * ndjson.c: the line splitter (see ndjson.h).
 *
 * The window is compacted (memmove of the unconsumed tail to the front)
 * only when more input is needed, so each byte is moved at most once per
 * read in the common case of lines much shorter than a read. `scan` remembers
 * how far the current line was already searched for '\n', so a long line
 * arriving in many reads is scanned once, not once per read.
 */
#include "ndjson.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define NDJSON_READ_BYTES (64 * 1024)

void ndjson_init(struct ndjson *r, struct source *src, size_t max_line, uint64_t base_offset,
                 uint64_t base_line, bool final_line_needs_newline)
{
    memset(r, 0, sizeof(*r));
    r->src = src;
    r->max_line = max_line;
    r->offset = base_offset;
    r->line_no = base_line;
    r->final_line_needs_newline = final_line_needs_newline;
    r->cap = NDJSON_READ_BYTES;
    r->buf = xmalloc(r->cap);
}

void ndjson_fini(struct ndjson *r)
{
    free(r->buf);
    r->buf = NULL;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

int ndjson_next(struct ndjson *r, struct str *line, bool *too_long)
{
    *too_long = false;
    for (;;) {
        const char *base = r->buf + r->start;
        size_t avail = r->end - r->start;
        const char *nl = r->scan < avail ? memchr(base + r->scan, '\n', avail - r->scan) : NULL;
        if (nl) {
            size_t len = (size_t)(nl - base);
            r->start += len + 1;
            r->scan = 0;
            r->line_no++;
            r->offset += len + 1;
            if (r->skipping) {
                r->skipping = false;
                *too_long = true;
                *line = (struct str){base, 0};
                return 1;
            }
            if (len && base[len - 1] == '\r')
                len--;
            if (blank(base, len))
                continue;
            *line = (struct str){base, len};
            return 1;
        }
        r->scan = avail;
        if (r->skipping || avail > r->max_line) {
            /* Over-long: drop what we have, keep looking for its end. */
            r->skipping = true;
            r->offset += avail;
            r->start = r->end = r->scan = 0;
            avail = 0;
        }
        if (r->eof) {
            if (r->skipping) {
                r->skipping = false;
                r->line_no++;
                *too_long = true;
                *line = (struct str){r->buf, 0};
                return 1;
            }
            if (avail == 0 || r->final_line_needs_newline || blank(base, avail)) {
                if (avail && !r->final_line_needs_newline) {
                    r->line_no++;
                    r->offset += avail;
                    r->start = r->end;
                }
                return 0;
            }
            r->line_no++;
            r->offset += avail;
            r->start = r->end;
            r->scan = 0;
            size_t len = avail;
            if (base[len - 1] == '\r')
                len--;
            *line = (struct str){base, len};
            return 1;
        }
        if (r->start) {
            memmove(r->buf, r->buf + r->start, avail);
            r->start = 0;
            r->end = avail;
        }
        if (r->cap - r->end < NDJSON_READ_BYTES / 4 && r->cap < r->max_line + NDJSON_READ_BYTES) {
            r->cap *= 2;
            r->buf = xrealloc(r->buf, r->cap);
        }
        ssize_t n = source_read(r->src, r->buf + r->end, r->cap - r->end);
        if (n < 0)
            return -1;
        if (n == 0)
            r->eof = true;
        else
            r->end += (size_t)n;
    }
}
