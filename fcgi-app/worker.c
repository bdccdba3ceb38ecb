/*
 * worker.c: the accept loop, one straight pipeline per request (STYLE 16).
 *
 *   accept → req_begin (arena, request id, query) → router_dispatch
 *   (auth, tenant, limits, idempotency, handler) → resp_finish → one JSON
 *   log line → metrics → FCGX_Finish_r → arena_reset
 *
 * Every request leaves through the same exit, so every request is answered,
 * logged and counted exactly once.
 *
 * Signals: SIGTERM is blocked while a request runs and unblocked only around
 * FCGX_Accept_r, which is initialised with FCGI_FAIL_ACCEPT_ON_INTR; so a
 * SIGTERM never interrupts a read or write of a live request (libfcgi treats
 * EINTR there as a stream error) and an idle worker leaves accept() at once.
 * SIGPIPE is ignored: a vanished client is an EPIPE on write, i.e. a sticky
 * sink error, and the handler stops producing.
 */
#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../core/arena.h"
#include "../core/idem.h"
#include "../core/log.h"
#include "../core/scoreboard.h"
#include "../core/timefmt.h"
#include "app.h"
#include "request.h"
#include "response.h"
#include "router.h"

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

/* ======================== FastCGI io backends ======================== */

static const char *fcgx_param(void *ctx, const char *name)
{
    FCGX_Request *r = ctx;
    return FCGX_GetParam(name, r->envp);
}

/* "HTTP_NAME=value" entries: the header as sent is about name + ": " + value + CRLF. */
static size_t fcgx_header_bytes(void *ctx)
{
    FCGX_Request *r = ctx;
    size_t n = 0;
    for (char **e = r->envp; e && *e; e++)
        if (strncmp(*e, "HTTP_", 5) == 0)
            n += strlen(*e) - 5 + 3;
    return n;
}

static ssize_t fcgx_read(void *ctx, void *p, size_t n)
{
    FCGX_Request *r = ctx;
    int got = FCGX_GetStr(p, (int)(n > 1 << 30 ? 1 << 30 : n), r->in);
    if (got == 0 && FCGX_GetError(r->in))
        return -1;
    return got;
}

/*
 * libfcgi frames output in records of its 8 KiB stream buffer: a 64 KiB
 * flush costs eight write(2) calls and lighttpd eight wake-ups. Large writes
 * therefore bypass the buffer: flush what libfcgi holds (order is kept), then
 * write FCGI_STDOUT records of up to 65528 bytes ourselves, one writev each.
 * The record format is FastCGI 1.0 §3.3: version, type, request id, content
 * length, padding length, reserved, then the content.
 */
#define FCGI_RECORD_MAX 65528 /* largest multiple of 8 below 65536 */
#define FCGI_DIRECT_MIN 16384 /* below this, libfcgi's buffer is cheaper */

static int write_records(FCGX_Request *r, const char *p, size_t n)
{
    while (n) {
        size_t chunk = n > FCGI_RECORD_MAX ? FCGI_RECORD_MAX : n;
        unsigned char hdr[8] = {1, 6 /* FCGI_STDOUT */, (unsigned char)(r->requestId >> 8),
                                (unsigned char)r->requestId, (unsigned char)(chunk >> 8),
                                (unsigned char)chunk, 0, 0};
        struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)(uintptr_t)p, chunk}};
        size_t left = sizeof(hdr) + chunk;
        while (left) {
            ssize_t w = writev(r->ipcFd, iov, 2);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            left -= (size_t)w;
            /* Advance the iovecs past what was written. */
            for (int i = 0; i < 2 && w > 0; i++) {
                size_t take = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
                iov[i].iov_base = (char *)iov[i].iov_base + take;
                iov[i].iov_len -= take;
                w -= (ssize_t)take;
            }
        }
        p += chunk;
        n -= chunk;
    }
    return 0;
}

static int fcgx_write(void *ctx, const void *p, size_t n)
{
    FCGX_Request *r = ctx;
    if (n >= FCGI_DIRECT_MIN && r->ipcFd >= 0) {
        if (FCGX_FFlush(r->out) != 0)
            return -1;
        return write_records(r, p, n);
    }
    while (n) {
        int chunk = n > 1 << 30 ? 1 << 30 : (int)n;
        if (FCGX_PutStr(p, chunk, r->out) != chunk)
            return -1;
        p = (const char *)p + chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

static int fcgx_flush(void *ctx)
{
    FCGX_Request *r = ctx;
    return FCGX_FFlush(r->out) == 0 ? 0 : -1;
}

/* ======================== metrics hooks ======================== */

static void db_observer(int kind, int64_t ns)
{
    switch (kind) {
    case DB_OBSERVE_STMT: sb_observe(SBH_DB_STMT, ns); break;
    case DB_OBSERVE_LOCK_WAIT: sb_observe(SBH_DB_LOCK_WAIT, ns); break;
    case DB_OBSERVE_COMMIT: sb_observe(SBH_DB_COMMIT, ns); break;
    }
}

static void log_request(struct buf *line, const struct req *req, const struct resp *resp,
                        const char *route, int64_t dur_ns)
{
    log_begin(line, resp->status >= 500 ? "error" : resp->status >= 400 ? "warn" : "info");
    buf_puts(line, ",\"request_id\":");
    buf_append_json_cstr(line, req->request_id);
    buf_puts(line, ",\"tenant\":");
    if (req->has_tenant)
        buf_append_json_cstr(line, req->tenant.public_id);
    else
        buf_puts(line, req->is_admin ? "\"admin\"" : "null");
    buf_puts(line, ",\"method\":");
    buf_append_json_str(line, req->method.ptr, req->method.len > 16 ? 16 : req->method.len);
    buf_puts(line, ",\"route\":");
    buf_append_json_cstr(line, route);
    buf_puts(line, ",\"path\":");
    buf_append_json_str(line, req->path.ptr, req->path.len > 256 ? 256 : req->path.len);
    /* Integer formatting only: printf of a double was 2% of a health request. */
    int64_t us = dur_ns / 1000;
    buf_puts(line, ",\"status\":");
    buf_append_i64(line, resp->status);
    buf_puts(line, ",\"duration_ms\":");
    buf_append_money(line, us, 3);
    buf_puts(line, ",\"bytes_in\":");
    buf_append_u64(line, req->bytes_in);
    buf_puts(line, ",\"bytes_out\":");
    buf_append_u64(line, resp->bytes_out);
    if (req->idem_key) {
        buf_puts(line, ",\"idempotency_key\":");
        buf_append_json_cstr(line, req->idem_key);
    }
    if (resp->error_code) {
        buf_puts(line, ",\"error_code\":");
        buf_append_json_cstr(line, resp->error_code);
    }
    if (resp->sink.err)
        buf_puts(line, ",\"client_gone\":true");
    log_end(line);
}

int worker_main(unsigned slot)
{
    FCGX_Request fcgx;
    struct arena arena;
    struct resp resp;
    struct buf logline = BUF_INIT;
    struct db *db = NULL;
    struct error err;
    sigset_t block, old;
    char owner[64];

    app.slot = slot;
    app.worker_started_ms = time_now_ms();
    sb_attach(slot, getpid());
    snprintf(owner, sizeof(owner), "%d:%lld", (int)getpid(), (long long)app.worker_started_ms);
    idem_set_owner(owner);
    db_set_observer(db_observer);

    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: accept() must return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);

    if (db_open(app.db_path, DB_OPEN_MIGRATE, &db, &err)) {
        log_msg("error", "worker %u: %s", slot, err.detail);
        return 1;
    }
    db_use_gate(db);
    if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgx, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_msg("error", "worker %u: FastCGI init failed", slot);
        db_close(db);
        return 1;
    }
    arena_init(&arena);
    resp_init(&resp);
    log_msg("info", "worker %u ready (schema %d)", slot, db_schema_version(db));

    sigprocmask(SIG_BLOCK, &block, &old);
    while (!stopping) {
        sigprocmask(SIG_UNBLOCK, &block, NULL);
        int rc = stopping ? -1 : FCGX_Accept_r(&fcgx);
        sigprocmask(SIG_BLOCK, &block, NULL);
        if (rc < 0) {
            if (stopping)
                break;
            if (errno == EINTR)
                continue;
            log_msg("error", "worker %u: accept failed: %s", slot, strerror(errno));
            usleep(100000);
            continue;
        }

        struct req req;
        struct req_io rio = {fcgx_param, fcgx_read, fcgx_header_bytes, &fcgx};
        struct resp_io wio = {fcgx_write, fcgx_flush, &fcgx};
        sb_gauge_add(SBG_INFLIGHT, 1);
        resp_begin(&resp, &wio);
        error_clear(&err);
        unsigned route = (unsigned)ROUTES_COUNT;
        if (req_begin(&req, &rio, &arena, db, &err) == 0) {
            route = router_dispatch(&req, &resp);
        } else {
            resp_problem(&resp, &req, &err, NULL);
        }
        if (!resp_has_header(&resp, "X-Request-Id"))
            resp_header(&resp, "X-Request-Id", "%s", req.request_id);
        if (str_eq_cstr(req.method, "HEAD"))
            buf_reset(&resp.body);
        if (db_in_txn(db)) {
            /* A handler must never leave a transaction open; make it visible. */
            log_msg("error", "route %s left a transaction open; rolled back",
                    ROUTE_NAMES[route]);
            db_rollback(db);
        }
        const char *busy_sql = NULL;
        if (db_reset_busy(db, &busy_sql))
            log_msg("error", "route %s left a statement unreset (%.120s)", ROUTE_NAMES[route],
                    busy_sql);
        resp_finish(&resp);
        int64_t dur = time_mono_ns() - req.t0_ns;
        sb_request(route, resp.status, dur);
        sb_count(SBC_BYTES_IN, req.bytes_in);
        sb_count(SBC_BYTES_OUT, resp.bytes_out);
        log_request(&logline, &req, &resp, ROUTE_NAMES[route], dur);
        FCGX_Finish_r(&fcgx);
        sb_gauge_add(SBG_INFLIGHT, -1);
        arena_reset(&arena);
        if (resp.body.cap > 4 * RESP_FLUSH_BYTES)
            buf_fini(&resp.body); /* do not keep a large one-off body forever */
        uint64_t rss = sb_update_rss(0);
        if (app.max_rss_mb && rss > (uint64_t)app.max_rss_mb << 20) {
            log_msg("warn", "worker %u: RSS above %u MB, exiting to be replaced", slot,
                    app.max_rss_mb);
            break;
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    log_msg("info", "worker %u stopping", slot);
    resp_fini(&resp);
    buf_fini(&logline);
    arena_fini(&arena);
    db_close(db);
    return 0;
}
