/*
 * multipart.c: the streaming multipart reader (see multipart.h).
 *
 * The window holds unconsumed input. The reader looks for the delimiter
 * "\r\n--" boundary; the stream is treated as if it began with "\r\n" so the
 * first delimiter (which may open the body) matches the same pattern. While
 * a part's body is read, bytes are released up to the last position where a
 * delimiter could still begin (window end minus delimiter length - 1), so a
 * delimiter split across two reads is never missed and never leaks into the
 * part's bytes. Cost: one memmem per read over the window.
 */
#include "multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "xmalloc.h"

#define MP_WINDOW (64 * 1024)

enum mp_state { MP_PREAMBLE, MP_BODY, MP_AFTER_DELIM, MP_DONE };

struct multipart {
    struct source *in;
    char delim[80]; /* "\r\n--" + boundary (≤ 70) */
    size_t dlen;
    char *buf;
    size_t start, end;
    bool eof;
    enum mp_state state;
    int index;
    struct source part;
};

static int fill(struct multipart *m, struct error *err)
{
    if (m->eof)
        return 0;
    if (m->start) {
        memmove(m->buf, m->buf + m->start, m->end - m->start);
        m->end -= m->start;
        m->start = 0;
    }
    if (m->end == MP_WINDOW)
        return 1;
    ssize_t r = source_read(m->in, m->buf + m->end, MP_WINDOW - m->end);
    if (r < 0) {
        *err = m->in->error;
        return -1;
    }
    if (r == 0) {
        m->eof = true;
        return 0;
    }
    m->end += (size_t)r;
    return 1;
}

static ssize_t part_read(struct source *s, void *p, size_t n)
{
    struct multipart *m = s->ctx;
    for (;;) {
        if (m->state != MP_BODY)
            return 0;
        size_t avail = m->end - m->start;
        const char *w = m->buf + m->start;
        const char *d = memmem(w, avail, m->delim, m->dlen);
        size_t safe = d ? (size_t)(d - w) : (avail >= m->dlen ? avail - (m->dlen - 1) : 0);
        if (d && safe == 0) {
            m->start += m->dlen;
            m->state = MP_AFTER_DELIM;
            return 0;
        }
        if (safe) {
            size_t c = safe < n ? safe : n;
            memcpy(p, w, c);
            m->start += c;
            return (ssize_t)c;
        }
        int r = fill(m, &s->error);
        if (r < 0)
            return -1;
        if (r == 0) {
            error_set(&s->error, ERR_CORRUPT_BODY,
                      "multipart body ends inside part %d (no closing boundary)", m->index);
            return -1;
        }
    }
}

/* Value of a parameter (name="x" or name=x) in a header value, into out. */
static void header_param(const char *v, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (size_t i = 0; i + nl < n; i++) {
        if ((i == 0 || v[i - 1] == ';' || v[i - 1] == ' ' || v[i - 1] == '\t') &&
            strncasecmp(v + i, name, nl) == 0 && v[i + nl] == '=') {
            const char *p = v + i + nl + 1, *end = v + n;
            size_t o = 0;
            if (p < end && *p == '"') {
                p++;
                while (p < end && *p != '"' && o + 1 < cap) {
                    if (*p == '\\' && p + 1 < end)
                        p++;
                    out[o++] = *p++;
                }
            } else {
                while (p < end && *p != ';' && *p != ' ' && *p != '\t' && o + 1 < cap)
                    out[o++] = *p++;
            }
            out[o] = '\0';
            return;
        }
    }
}

int multipart_open(struct source *in, const char *content_type, struct multipart **out,
                   struct error *err)
{
    char b[128];
    *out = NULL;
    header_param(content_type, strlen(content_type), "boundary", b, sizeof(b));
    size_t bl = strlen(b);
    if (bl == 0 || bl > 70)
        return error_set_at(err, ERR_BAD_REQUEST, "Content-Type",
                            "multipart/form-data needs a boundary parameter of 1-70 characters");
    struct multipart *m = xcalloc(1, sizeof(*m));
    m->in = in;
    m->dlen = (size_t)snprintf(m->delim, sizeof(m->delim), "\r\n--%s", b);
    m->buf = xmalloc(MP_WINDOW);
    /* Pretend the body starts after a line break: the first delimiter then matches. */
    memcpy(m->buf, "\r\n", 2);
    m->end = 2;
    m->state = MP_PREAMBLE;
    m->part.read = part_read;
    m->part.ctx = m;
    *out = m;
    return 0;
}

void multipart_free(struct multipart *m)
{
    if (!m)
        return;
    free(m->buf);
    free(m);
}

/* Find the delimiter, discarding everything before it. */
static int skip_to_delim(struct multipart *m, struct error *err)
{
    for (;;) {
        size_t avail = m->end - m->start;
        const char *w = m->buf + m->start;
        const char *d = memmem(w, avail, m->delim, m->dlen);
        if (d) {
            m->start += (size_t)(d - w) + m->dlen;
            m->state = MP_AFTER_DELIM;
            return 0;
        }
        if (avail >= m->dlen)
            m->start += avail - (m->dlen - 1);
        int r = fill(m, err);
        if (r < 0)
            return -1;
        if (r == 0)
            return error_set(err, ERR_CORRUPT_BODY, "multipart body has no boundary line");
    }
}

/* Ensure at least n bytes are in the window (or EOF). */
static int want(struct multipart *m, size_t n, struct error *err)
{
    while (m->end - m->start < n) {
        int r = fill(m, err);
        if (r <= 0)
            return r;
    }
    return 1;
}

int multipart_next(struct multipart *m, struct multipart_part *p, struct error *err)
{
    if (m->state == MP_DONE)
        return 0;
    if (m->state == MP_PREAMBLE || m->state == MP_BODY) {
        if (skip_to_delim(m, err))
            return -1;
    }
    /* After a delimiter: "--" closes, else optional whitespace and CRLF. */
    if (want(m, 2, err) < 0)
        return -1;
    if (m->end - m->start >= 2 && memcmp(m->buf + m->start, "--", 2) == 0) {
        m->state = MP_DONE;
        return 0;
    }
    for (;;) {
        if (want(m, 2, err) <= 0)
            return err->code ? -1 : error_set(err, ERR_CORRUPT_BODY, "multipart body truncated");
        char c = m->buf[m->start];
        if (c == ' ' || c == '\t') {
            m->start++;
            continue;
        }
        if (memcmp(m->buf + m->start, "\r\n", 2) != 0)
            return error_set(err, ERR_CORRUPT_BODY, "malformed multipart boundary line");
        m->start += 2;
        break;
    }
    /* Headers up to the blank line. */
    memset(p, 0, sizeof(*p));
    for (;;) {
        const char *w = m->buf + m->start;
        size_t avail = m->end - m->start;
        const char *e = memmem(w, avail, "\r\n\r\n", 4);
        bool empty = avail >= 2 && memcmp(w, "\r\n", 2) == 0;
        if (e || empty) {
            size_t hlen = empty ? 0 : (size_t)(e - w);
            const char *h = w, *hend = w + hlen;
            while (h < hend) {
                const char *eol = memmem(h, (size_t)(hend - h), "\r\n", 2);
                size_t ll = eol ? (size_t)(eol - h) : (size_t)(hend - h);
                const char *colon = memchr(h, ':', ll);
                if (colon) {
                    size_t nl = (size_t)(colon - h);
                    const char *v = colon + 1;
                    size_t vl = ll - nl - 1;
                    while (vl && (*v == ' ' || *v == '\t')) {
                        v++;
                        vl--;
                    }
                    if (nl == 19 && strncasecmp(h, "Content-Disposition", 19) == 0) {
                        header_param(v, vl, "name", p->name, sizeof(p->name));
                        header_param(v, vl, "filename", p->filename, sizeof(p->filename));
                    } else if (nl == 12 && strncasecmp(h, "Content-Type", 12) == 0) {
                        snprintf(p->content_type, sizeof(p->content_type), "%.*s",
                                 (int)(vl < 127 ? vl : 127), v);
                    }
                }
                h += ll + 2;
            }
            m->start += empty ? 2 : hlen + 4;
            break;
        }
        if (avail > MULTIPART_HEADER_MAX_BYTES)
            return error_set(err, ERR_HEADER_TOO_LARGE, "multipart part headers exceed %d bytes",
                             MULTIPART_HEADER_MAX_BYTES);
        int r = fill(m, err);
        if (r < 0)
            return -1;
        if (r == 0)
            return error_set(err, ERR_CORRUPT_BODY, "multipart body ends inside part headers");
    }
    m->index++;
    p->index = m->index;
    const char *ct = p->content_type;
    p->is_file = p->filename[0] || strncasecmp(ct, "application/x-ndjson", 20) == 0 ||
                 strncasecmp(ct, "application/ndjson", 18) == 0 ||
                 strncasecmp(ct, "application/gzip", 16) == 0 ||
                 strncasecmp(ct, "application/zip", 15) == 0 ||
                 strncasecmp(ct, "application/octet-stream", 24) == 0;
    memset(&m->part.error, 0, sizeof(m->part.error));
    m->part.err = 0;
    m->part.bytes = 0;
    m->state = MP_BODY;
    p->body = &m->part;
    return 1;
}
