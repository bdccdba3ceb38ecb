/*
 * h_stock.c: PUT /api/v1/tenants/{tenant}/stock/bulk_update.
 *
 * Content-Type application/x-ndjson (or application/jsonl): one event per
 * line, mode and allow_negative from the query (?mode=merge&allow_negative=
 * true). Anything else is read as a JSON document {"mode", "allow_negative",
 * "events": [...]} (query values are its defaults). The whole body is parsed
 * and validated before anything is written: an invalid event answers 400
 * invalid_events listing the first STOCK_ERRORS_MAX problems, nothing applied.
 * A valid request answers 200 with one result per product (applied or
 * rejected with a reason), whatever the mix.
 */
#include <string.h>

#include "../core/idem.h"
#include "../core/stock.h"
#include "../core/timefmt.h"
#include "handlers.h"

struct tick_ctx {
    struct req *req;
    int64_t renewed_ms;
};

/* Between commit groups: keep our Idempotency-Key reservation alive. */
static int tick(void *ctx, struct error *err)
{
    struct tick_ctx *t = ctx;
    int64_t now = time_now_ms();
    if (!t->req->idem || now - t->renewed_ms < IDEM_LEASE_MS / 3)
        return 0;
    t->renewed_ms = now;
    return idem_renew(t->req->db, t->req->idem, err);
}

static bool is_ndjson(const char *ct)
{
    if (!ct)
        return false;
    struct str s = str_trim(str_from(ct));
    const char *semi = memchr(s.ptr, ';', s.len);
    if (semi)
        s.len = (size_t)(semi - s.ptr);
    s = str_trim(s);
    return str_eq_nocase(s, "application/x-ndjson") || str_eq_nocase(s, "application/jsonl") ||
           str_eq_nocase(s, "application/ndjson");
}

int h_stock_bulk_update(struct req *req, struct resp *resp, struct error *err)
{
    enum stock_mode mode = STOCK_MERGE;
    bool allow_negative = false;
    struct stock_request *r = NULL;
    struct buf body = BUF_INIT;
    int rc = -1;

    const struct query_param *qm = req_param(req, "mode");
    if (qm && stock_mode_parse(qm->value.ptr, qm->value.len, &mode))
        return error_set_at(err, ERR_INVALID_PARAM, "mode",
                            "mode must be merge, last_write_wins or reject");
    const struct query_param *qa = req_param(req, "allow_negative");
    if (qa) {
        if (str_eq_cstr(qa->value, "true") || str_eq_cstr(qa->value, "1"))
            allow_negative = true;
        else if (!str_eq_cstr(qa->value, "false") && !str_eq_cstr(qa->value, "0"))
            return error_set_at(err, ERR_INVALID_PARAM, "allow_negative",
                                "allow_negative must be true or false");
    }
    r = stock_request_new(mode, allow_negative);
    if (is_ndjson(req_env(req, "CONTENT_TYPE"))) {
        if (stock_request_parse_ndjson(r, req_source(req), err))
            goto out;
    } else {
        if (req_read_body(req, STOCK_JSON_BODY_MAX_BYTES, &body, err)) {
            if (err->code == ERR_BODY_TOO_LARGE)
                error_set(err, ERR_BODY_TOO_LARGE,
                          "a JSON document is limited to %d bytes; send larger batches as NDJSON "
                          "(Content-Type: application/x-ndjson), up to %d bytes",
                          STOCK_JSON_BODY_MAX_BYTES, STOCK_BODY_MAX_BYTES);
            goto out;
        }
        if (stock_request_parse_json(r, body.data, body.len, err))
            goto out;
        buf_fini(&body);
    }
    if (stock_request_invalid(r)) {
        struct buf extra = BUF_INIT;
        error_set(err, ERR_INVALID_EVENTS, "%zu invalid event(s); nothing was applied",
                  stock_request_invalid(r));
        buf_appendf(&extra, "\"invalid_count\":%zu,\"errors\":", stock_request_invalid(r));
        stock_request_errors_json(r, &extra);
        resp_problem(resp, req, err, extra.data);
        buf_fini(&extra);
        rc = 0; /* answered */
        goto out;
    }
    struct tick_ctx tc = {req, time_now_ms()};
    if (stock_apply(req->db, req->tenant.id, r, tick, &tc, err))
        goto out;
    resp_json(resp, 200);
    stock_results_json(r, &resp->body);
    rc = 0;
out:
    buf_fini(&body);
    stock_request_free(r);
    return rc;
}
