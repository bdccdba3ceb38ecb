/*
 * h_ingest.c: POST /api/v1/ingest/orders/ and its run resources.
 *
 *   POST /api/v1/ingest/orders/                   ingest a body (NDJSON, gzip, zip, multipart)
 *   GET  /api/v1/ingest/orders/{run}              the run's summary (running or finished)
 *   GET  /api/v1/ingest/orders/{run}/errors       every rejected row, NDJSON, in input order
 *
 * The tenant is the API key's. The router has already authenticated, run the
 * admit hook (the 429 queue bound below), claimed the Idempotency-Key and
 * started hashing the body; this handler counts itself into the ingest
 * queue, streams the body through core/ingest.c, renews the key's lease
 * between batches, and answers the summary. A body that fails midway (corrupt
 * gzip, truncated upload, database error) answers a problem whose extra
 * members carry the counts of what was committed before the failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/idem.h"
#include "../core/ingest.h"
#include "../core/scoreboard.h"
#include "../core/timefmt.h"
#include "../core/tus.h"
#include "app.h"
#include "handlers.h"

/* ======================== backpressure ======================== */

static int64_t queue_max(void)
{
    static int64_t v;
    if (!v) {
        const char *e = getenv("CARTOGRAPH_INGEST_QUEUE_MAX");
        long long n = e ? strtoll(e, NULL, 10) : 0;
        v = n > 0 ? n : INGEST_QUEUE_MAX_DEFAULT;
    }
    return v;
}

/*
 * Admission: when the ingest requests running or waiting for the database
 * reach the bound, answer 429. The delay is the backlog the running ingests
 * still have to read divided by the rate they are reading it at (both
 * measured, from the scoreboard), at least 1 s; with no measurement yet it is
 * one second per queued request.
 */
int h_ingest_admit(struct req *req, struct resp *resp, struct error *err)
{
    (void)resp;
    int64_t q = sb_gauge_total(SBG_INGEST_QUEUE), max = queue_max();
    if (q < max)
        return 0;
    int64_t backlog = sb_gauge_total(SBG_INGEST_BACKLOG_BYTES);
    int64_t rate = sb_gauge_total(SBG_INGEST_BYTES_RATE);
    int64_t delay = rate > 0 ? (backlog + rate - 1) / rate : q;
    if (delay < 1)
        delay = 1;
    if (delay > 3600)
        delay = 3600;
    sb_count(SBC_INGEST_REJECTED, 1);
    req->problem_extra = arena_sprintf(req->arena,
                                       "\"queue_length\":%lld,\"queue_limit\":%lld,"
                                       "\"expected_delay_seconds\":%lld,"
                                       "\"ingest_rows_per_second\":%lld",
                                       (long long)q, (long long)max, (long long)delay,
                                       (long long)sb_gauge_total(SBG_INGEST_ROWS_RATE));
    error_set(err, ERR_OVERLOADED,
              "%lld ingest requests are running (limit %lld); retry in about %lld s",
              (long long)q, (long long)max, (long long)delay);
    err->retry_after_s = (int)delay;
    return -1;
}

/* ======================== POST ======================== */

struct ingest_ctx {
    struct req *req;
    int64_t last_renew_ms;
    int64_t t0_ns;
    int64_t backlog; /* published to SBG_INGEST_BACKLOG_BYTES */
    int64_t rate;    /* published to SBG_INGEST_BYTES_RATE */
};

static void publish(struct ingest_ctx *c)
{
    struct req *req = c->req;
    int64_t backlog = 0, rate = 0;
    if (req->content_length > 0 && (uint64_t)req->content_length > req->bytes_in)
        backlog = req->content_length - (int64_t)req->bytes_in;
    int64_t el = time_mono_ns() - c->t0_ns;
    if (el > 0)
        rate = (int64_t)((double)req->bytes_in * 1e9 / (double)el);
    sb_gauge_add(SBG_INGEST_BACKLOG_BYTES, backlog - c->backlog);
    sb_gauge_add(SBG_INGEST_BYTES_RATE, rate - c->rate);
    c->backlog = backlog;
    c->rate = rate;
}

/* Each batch handed to the store thread (request thread): the queue metrics. */
static void progress(void *ctx)
{
    publish(ctx);
}

/*
 * Between committed batches, on the store thread that owns the connection
 * meanwhile (ingest.h): keep the idempotency lease alive. Nothing here reads
 * what the request thread writes (req->bytes_in is publish()'s).
 */
static int between(void *ctx, struct error *err)
{
    struct ingest_ctx *c = ctx;
    if (!c->req->idem)
        return 0;
    int64_t now = time_now_ms();
    if (now - c->last_renew_ms < IDEM_LEASE_MS / 3)
        return 0;
    c->last_renew_ms = now;
    return idem_renew(c->req->db, c->req->idem, err);
}

int h_ingest_orders(struct req *req, struct resp *resp, struct error *err)
{
    struct ingest *ing = NULL;
    struct ingest_ctx c = {req, time_now_ms(), time_mono_ns(), 0, 0};
    struct ingest_hooks hooks = {between, progress, &c};
    int rc = -1;

    sb_gauge_add(SBG_INGEST_QUEUE, 1);
    publish(&c);
    if (ingest_create(req->db, req->tenant.id, INGEST_REQUEST, req->idem_key, &ing, err))
        goto out;
    ingest_set_hooks(ing, &hooks);
    int body_rc = ingest_body(ing, req_source(req), req_env(req, "CONTENT_TYPE"),
                              req_env(req, "HTTP_CONTENT_ENCODING"), err);
    if (body_rc == 0 && req->bytes_in == 0) {
        error_set(err, ERR_EMPTY_BODY, "request body is empty: send NDJSON order lines");
        body_rc = -1;
    }
    struct error ferr;
    if (ingest_finish(ing, body_rc ? INGEST_FAILED : INGEST_COMPLETE, &ferr) && !body_rc) {
        *err = ferr;
        body_rc = -1;
    }
    if (body_rc) {
        /* Say what was committed before the failure: a retry dedupes it. */
        struct ingest_totals t = ingest_totals(ing);
        req->problem_extra = arena_sprintf(
            req->arena,
            "\"ingest_id\":\"%s\",\"rows_received\":%llu,\"rows_inserted\":%llu,"
            "\"rows_duplicate\":%llu,\"rows_failed\":%llu",
            ingest_token(ing), (unsigned long long)t.received, (unsigned long long)t.inserted,
            (unsigned long long)t.duplicate, (unsigned long long)t.failed);
        goto out;
    }
    resp_json(resp, 200);
    resp_header(resp, "Location", "/api/v1/ingest/orders/%s", ingest_token(ing));
    rc = ingest_summary_json(ing, &resp->body, NULL, err);
out:
    sb_gauge_add(SBG_INGEST_QUEUE, -1);
    sb_gauge_add(SBG_INGEST_BACKLOG_BYTES, -c.backlog);
    sb_gauge_add(SBG_INGEST_BYTES_RATE, -c.rate);
    ingest_free(ing);
    return rc;
}

/* ======================== run resources ======================== */

int h_ingest_get(struct req *req, struct resp *resp, struct error *err)
{
    struct ingest *ing;
    struct str tok = req_path_param(req, 0);
    if (ingest_open(req->db, req->tenant.id, tok.ptr, tok.len, &ing, err)) {
        if (err->code == ERR_NOT_FOUND)
            error_set(err, ERR_NOT_FOUND, "no such ingest run");
        return -1;
    }
    resp_json(resp, 200);
    resp_header(resp, "Cache-Control", "no-store");
    int rc = ingest_summary_json(ing, &resp->body, NULL, err);
    ingest_free(ing);
    return rc;
}

int h_ingest_errors(struct req *req, struct resp *resp, struct error *err)
{
    struct str tok = req_path_param(req, 0);
    struct ingest *ing;
    /* Resolve first, so a wrong token is a clean 404 before any byte is sent. */
    if (ingest_open(req->db, req->tenant.id, tok.ptr, tok.len, &ing, err)) {
        if (err->code == ERR_NOT_FOUND)
            error_set(err, ERR_NOT_FOUND, "no such ingest run");
        return -1;
    }
    ingest_free(ing);
    resp_status(resp, 200);
    resp_header(resp, "Content-Type", "application/x-ndjson");
    resp_header(resp, "Cache-Control", "no-store");
    if (resp_stream_begin(resp))
        return 0;
    if (ingest_errors_ndjson(req->db, req->tenant.id, tok.ptr, tok.len, resp_sink(resp), err)) {
        resp_problem(resp, req, err, NULL);
        return 0;
    }
    resp_flush(resp);
    return 0;
}
