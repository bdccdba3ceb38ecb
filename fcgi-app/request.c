/*
 * request.c: request parsing and body reading (see request.h).
 *
 * Query strings are decoded into the arena once (percent-decoding and '+' as
 * space); a malformed escape, a NUL byte, invalid UTF-8 or too many pairs is a
 * 400 before any handler runs. The request id is taken from X-Request-Id when
 * it is 1-64 characters of [A-Za-z0-9._:-], otherwise generated (16 random
 * bytes, hex), so a hostile id can never inject into the log or headers.
 */
#include "request.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/timefmt.h"

/* Percent-decode s into the arena; -1 on a bad escape or a NUL byte. */
static int url_decode(struct arena *a, struct str s, struct str *out)
{
    char *d = arena_alloc(a, s.len + 1);
    size_t o = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= s.len || (hi = hex_digit(s.ptr[i + 1])) < 0 || (lo = hex_digit(s.ptr[i + 2])) < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return -1;
        d[o++] = c;
    }
    d[o] = '\0';
    out->ptr = d;
    out->len = o;
    return 0;
}

static int parse_query(struct req *req, struct error *err)
{
    struct str q = req->query;
    if (q.len > QUERY_MAX_BYTES)
        return error_set(err, ERR_QUERY_TOO_LONG, "query string is %zu bytes; the limit is %d",
                         q.len, QUERY_MAX_BYTES);
    while (q.ptr && q.len) {
        struct str pair = str_cut(&q, '&');
        if (pair.len == 0)
            continue;
        if (req->nparams == QUERY_MAX_PARAMS)
            return error_set(err, ERR_INVALID_PARAM, "more than %d query parameters",
                             QUERY_MAX_PARAMS);
        struct str name = str_cut(&pair, '=');
        struct query_param *p = &req->params[req->nparams];
        if (url_decode(req->arena, name, &p->name) || url_decode(req->arena, pair, &p->value))
            return error_set(err, ERR_INVALID_PARAM, "malformed percent-encoding in query");
        if (!utf8_valid(p->name.ptr, p->name.len) || !utf8_valid(p->value.ptr, p->value.len))
            return error_set(err, ERR_INVALID_UTF8, "query parameters must be UTF-8");
        req->nparams++;
    }
    return 0;
}

static bool request_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > REQUEST_ID_MAX_BYTES)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

int req_begin(struct req *req, const struct req_io *io, struct arena *arena, struct db *db,
              struct error *err)
{
    memset(req, 0, sizeof(*req));
    req->io = *io;
    req->arena = arena;
    req->db = db;
    req->t0_ns = time_mono_ns();
    req->content_length = -1;
    req->body_max = JSON_BODY_MAX_BYTES;

    const char *rid = req_env(req, "HTTP_X_REQUEST_ID");
    if (rid && request_id_ok(rid, strlen(rid))) {
        memcpy(req->request_id, rid, strlen(rid) + 1);
    } else {
        /*
         * 8 random bytes per process (hex) + a 64-bit counter (hex): unique
         * without a call into the RNG per request.
         */
        static char prefix[17];
        static pid_t prefix_pid;
        static uint64_t counter;
        if (prefix_pid != getpid()) {
            uint8_t raw[8];
            random_bytes(raw, sizeof(raw));
            hex_encode(raw, sizeof(raw), prefix);
            prefix_pid = getpid();
            counter = 0;
        }
        static const char hex[] = "0123456789abcdef";
        uint64_t c = ++counter;
        memcpy(req->request_id, prefix, 16);
        for (int i = 31; i >= 16; i--, c >>= 4)
            req->request_id[i] = hex[c & 15];
        req->request_id[32] = '\0';
    }

    req->method = str_from(req_env(req, "REQUEST_METHOD"));
    const char *uri = req_env(req, "REQUEST_URI");
    if (!uri)
        uri = req_env(req, "SCRIPT_NAME");
    req->path = str_from(uri ? uri : "/");
    const char *qm = memchr(req->path.ptr, '?', req->path.len);
    if (qm)
        req->path.len = (size_t)(qm - req->path.ptr);
    req->query = str_from(req_env(req, "QUERY_STRING"));

    const char *cl = req_env(req, "CONTENT_LENGTH");
    long long v;
    if (cl && *cl && str_to_i64(str_from(cl), &v) == 0 && v >= 0)
        req->content_length = v;

    /*
     * lighttpd rejects more than 16 KiB of headers itself (431); Caddy passes
     * up to 1 MB. The same bound is enforced here so both fronts agree.
     */
    if (io->header_bytes && io->header_bytes(io->ctx) > HEADERS_MAX_BYTES)
        return error_set(err, ERR_HEADER_TOO_LARGE, "request headers exceed %d bytes",
                         HEADERS_MAX_BYTES);
    if (req->path.len > PATH_MAX_BYTES)
        return error_set(err, ERR_URI_TOO_LONG, "path is %zu bytes; the limit is %d",
                         req->path.len, PATH_MAX_BYTES);
    if (!utf8_valid(req->path.ptr, req->path.len))
        return error_set(err, ERR_INVALID_UTF8, "path is not valid UTF-8");
    return parse_query(req, err);
}

const char *req_env(const struct req *req, const char *name)
{
    return req->io.param(req->io.ctx, name);
}

const struct query_param *req_param(const struct req *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (str_eq_cstr(req->params[i].name, name))
            return &req->params[i];
    return NULL;
}

struct str req_path_param(const struct req *req, unsigned i)
{
    return i < PATH_PARAMS_MAX ? req->path_params[i] : STR_NULL;
}

ssize_t req_read(struct req *req, void *p, size_t n, struct error *err)
{
    if (req->body_too_large) {
        error_set(err, ERR_BODY_TOO_LARGE, "request body exceeds %llu bytes",
                  (unsigned long long)req->body_max);
        return -1;
    }
    if (req->body_eof)
        return 0;
    ssize_t r = req->io.read(req->io.ctx, p, n);
    if (r < 0) {
        error_set(err, ERR_BAD_REQUEST, "request body could not be read (connection lost?)");
        return -1;
    }
    if (r == 0) {
        req->body_eof = true;
        if (req->content_length >= 0 && req->bytes_in < (uint64_t)req->content_length) {
            error_set(err, ERR_BAD_REQUEST, "request body truncated: %llu of %lld bytes",
                      (unsigned long long)req->bytes_in, (long long)req->content_length);
            return -1;
        }
        return 0;
    }
    req->bytes_in += (uint64_t)r;
    if (req->bytes_in > req->body_max) {
        req->body_too_large = true;
        error_set(err, ERR_BODY_TOO_LARGE, "request body exceeds %llu bytes",
                  (unsigned long long)req->body_max);
        return -1;
    }
    if (req->body_hash)
        sha256_update(req->body_hash, p, (size_t)r);
    return r;
}

static ssize_t req_source_read(struct source *s, void *p, size_t n)
{
    return req_read(s->ctx, p, n, &s->error);
}

struct source *req_source(struct req *req)
{
    memset(&req->source, 0, sizeof(req->source));
    req->source.read = req_source_read;
    req->source.ctx = req;
    error_clear(&req->source.error);
    return &req->source;
}

int req_read_body(struct req *req, size_t max, struct buf *out, struct error *err)
{
    if (req->content_length > (int64_t)max)
        return error_set(err, ERR_BODY_TOO_LARGE, "request body of %lld bytes exceeds %zu",
                         (long long)req->content_length, max);
    uint64_t saved = req->body_max;
    if (max < req->body_max)
        req->body_max = max;
    for (;;) {
        char *dst = buf_reserve(out, 16384);
        ssize_t r = req_read(req, dst, 16384, err);
        if (r < 0) {
            req->body_max = saved;
            return -1;
        }
        if (r == 0)
            break;
        buf_commit(out, (size_t)r);
    }
    req->body_max = saved;
    if (out->len == 0)
        return error_set(err, ERR_EMPTY_BODY, "request body is empty");
    return 0;
}

void req_drain(struct req *req)
{
    char tmp[16384];
    struct error e;
    while (req_read(req, tmp, sizeof(tmp), &e) > 0)
        ;
}

void req_fingerprint_begin(const struct req *req, struct sha256 *h)
{
    sha256_init(h);
    sha256_update(h, req->method.ptr, req->method.len);
    sha256_update(h, "\n", 1);
    sha256_update(h, req->path.ptr, req->path.len);
    sha256_update(h, "\n", 1);
    sha256_update(h, req->query.ptr, req->query.len);
    sha256_update(h, "\n", 1);
}

/* ======================== in-memory io (tests) ======================== */

static const char *mem_param(void *ctx, const char *name)
{
    struct req_mem *m = ctx;
    for (size_t i = 0; m->env && m->env[i]; i += 2)
        if (strcmp(m->env[i], name) == 0)
            return m->env[i + 1];
    return NULL;
}

static ssize_t mem_read(void *ctx, void *p, size_t n)
{
    struct req_mem *m = ctx;
    size_t left = m->body_len - m->pos;
    if (n > left)
        n = left;
    if (n)
        memcpy(p, m->body + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static size_t mem_header_bytes(void *ctx)
{
    struct req_mem *m = ctx;
    size_t n = 0;
    for (size_t i = 0; m->env && m->env[i]; i += 2)
        if (strncmp(m->env[i], "HTTP_", 5) == 0)
            n += strlen(m->env[i]) - 5 + strlen(m->env[i + 1]) + 4;
    return n;
}

void req_io_mem(struct req_io *io, struct req_mem *m)
{
    io->param = mem_param;
    io->read = mem_read;
    io->header_bytes = mem_header_bytes;
    io->ctx = m;
}
