/*
 * response.c: response assembly and streaming (see response.h).
 *
 * Headers are CGI-style ("Status: 200 OK" first), as libfcgi expects. A
 * whole (non-streamed) response gets a Content-Length so the front server can
 * keep the connection alive without chunking; a streamed one has none, and
 * the front server frames it.
 */
#include "response.h"

#include <stdarg.h>
#include <string.h>

#include "../core/bounds.h"
#include "request.h"

void resp_init(struct resp *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->headers);
    buf_init(&r->body);
}

void resp_fini(struct resp *r)
{
    buf_fini(&r->headers);
    buf_fini(&r->body);
}

static int stream_sink_write(struct sink *s, const void *p, size_t n)
{
    struct resp *r = s->ctx;
    buf_append(&r->body, p, n);
    if (r->body.len >= RESP_FLUSH_BYTES)
        return resp_flush(r);
    return 0;
}

static int stream_sink_flush(struct sink *s)
{
    return resp_flush(s->ctx);
}

void resp_begin(struct resp *r, const struct resp_io *io)
{
    r->io = *io;
    r->status = 200;
    buf_reset(&r->headers);
    buf_reset(&r->body);
    r->headers_sent = r->streaming = r->finished = false;
    r->bytes_out = 0;
    r->error_code = NULL;
    memset(&r->sink, 0, sizeof(r->sink));
    r->sink.write = stream_sink_write;
    r->sink.flush = stream_sink_flush;
    r->sink.ctx = r;
}

void resp_status(struct resp *r, int status)
{
    r->status = status;
}

void resp_header(struct resp *r, const char *name, const char *fmt, ...)
{
    va_list ap;
    buf_puts(&r->headers, name);
    buf_puts(&r->headers, ": ");
    size_t start = r->headers.len;
    va_start(ap, fmt);
    buf_vappendf(&r->headers, fmt, ap);
    va_end(ap);
    /* A header value must never carry a line break (response splitting). */
    for (size_t i = start; i < r->headers.len; i++)
        if (r->headers.data[i] == '\r' || r->headers.data[i] == '\n')
            r->headers.data[i] = ' ';
    buf_puts(&r->headers, "\r\n");
}

bool resp_has_header(const struct resp *r, const char *name)
{
    size_t n = strlen(name);
    const char *p = r->headers.data, *end = p + r->headers.len;
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if ((size_t)(end - p) > n && p[n] == ':' && str_eq_nocase((struct str){p, n}, name))
            return true;
        p = eol ? eol + 1 : NULL;
    }
    return false;
}

void resp_json(struct resp *r, int status)
{
    r->status = status;
    resp_header(r, "Content-Type", "application/json");
}

static int raw_write(struct resp *r, const void *p, size_t n)
{
    if (r->sink.err)
        return -1;
    if (n && r->io.write(r->io.ctx, p, n)) {
        r->sink.err = -1;
        return -1;
    }
    r->bytes_out += n;
    return 0;
}

static int send_headers(struct resp *r, bool with_length)
{
    struct buf h = BUF_INIT;
    buf_appendf(&h, "Status: %d %s\r\n", r->status, http_reason(r->status));
    buf_append(&h, r->headers.data, r->headers.len);
    if (with_length && r->status != 204 && r->status != 304)
        buf_appendf(&h, "Content-Length: %zu\r\n", r->body.len);
    buf_puts(&h, "\r\n");
    int rc = raw_write(r, h.data, h.len);
    buf_fini(&h);
    r->headers_sent = true;
    return rc;
}

void resp_problem(struct resp *r, const struct req *req, const struct error *err,
                  const char *extra)
{
    const char *code = error_code_str(err->code);
    int status = error_status(err->code);
    r->error_code = code;
    if (r->headers_sent) {
        /* Mid-stream: the status is gone; end the stream with an error record. */
        struct buf rec = BUF_INIT;
        buf_puts(&rec, "{\"error\":{\"code\":");
        buf_append_json_cstr(&rec, code);
        buf_appendf(&rec, ",\"status\":%d,\"detail\":", status);
        buf_append_json_cstr(&rec, err->detail);
        buf_puts(&rec, ",\"request_id\":");
        buf_append_json_cstr(&rec, req ? req->request_id : "");
        buf_puts(&rec, "}}\n");
        sink_write(&r->sink, rec.data, rec.len);
        buf_fini(&rec);
        return;
    }
    buf_reset(&r->headers);
    buf_reset(&r->body);
    r->status = status;
    resp_header(r, "Content-Type", "application/problem+json");
    resp_header(r, "Cache-Control", "no-store");
    if (err->retry_after_s > 0)
        resp_header(r, "Retry-After", "%d", err->retry_after_s);
    struct buf *b = &r->body;
    buf_puts(b, "{\"type\":\"https://cartograph.dev/problems/");
    buf_puts(b, code);
    buf_puts(b, "\",\"title\":");
    buf_append_json_cstr(b, error_title(err->code));
    buf_appendf(b, ",\"status\":%d,\"detail\":", status);
    buf_append_json_cstr(b, err->detail[0] ? err->detail : error_title(err->code));
    buf_puts(b, ",\"code\":");
    buf_append_json_cstr(b, code);
    if (req) {
        buf_puts(b, ",\"request_id\":");
        buf_append_json_cstr(b, req->request_id);
        buf_puts(b, ",\"instance\":");
        buf_append_json_str(b, req->path.ptr, req->path.len);
    }
    if (err->pointer[0]) {
        buf_puts(b, ",\"pointer\":");
        buf_append_json_cstr(b, err->pointer);
    }
    if (err->retry_after_s > 0)
        buf_appendf(b, ",\"retry_after_seconds\":%d", err->retry_after_s);
    if (extra && *extra) {
        buf_putc(b, ',');
        buf_puts(b, extra);
    }
    buf_puts(b, "}");
}

int resp_stream_begin(struct resp *r)
{
    if (r->headers_sent)
        return 0;
    r->streaming = true;
    /* Unknown length: the front server frames it; tell it not to buffer. */
    resp_header(r, "X-Accel-Buffering", "no");
    return send_headers(r, false);
}

struct sink *resp_sink(struct resp *r)
{
    return &r->sink;
}

int resp_flush(struct resp *r)
{
    if (!r->headers_sent && resp_stream_begin(r))
        return -1;
    if (r->body.len) {
        int rc = raw_write(r, r->body.data, r->body.len);
        buf_reset(&r->body);
        if (rc)
            return -1;
    }
    if (r->io.flush && r->io.flush(r->io.ctx)) {
        r->sink.err = -1;
        return -1;
    }
    return r->sink.err ? -1 : 0;
}

int resp_finish(struct resp *r)
{
    if (r->finished)
        return r->sink.err ? -1 : 0;
    r->finished = true;
    if (!r->headers_sent) {
        if (send_headers(r, true))
            return -1;
        if (r->status == 204 || r->status == 304)
            return 0;
        int rc = raw_write(r, r->body.data, r->body.len);
        buf_reset(&r->body);
        return rc;
    }
    if (r->body.len) {
        int rc = raw_write(r, r->body.data, r->body.len);
        buf_reset(&r->body);
        return rc;
    }
    return r->sink.err ? -1 : 0;
}

static int mem_write(void *ctx, const void *p, size_t n)
{
    buf_append(ctx, p, n);
    return 0;
}

void resp_io_mem(struct resp_io *io, struct buf *out)
{
    io->write = mem_write;
    io->flush = NULL;
    io->ctx = out;
}
