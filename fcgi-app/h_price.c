/*
 * h_price.c: price-event webhook, anomaly review, anomaly listing and the
 * anomaly follow stream.
 *
 *   POST /api/v1/tenants/{t}/products/{p}/price-event
 *        {"event_id","price","currency","observed_at","source"?,"metadata"?}
 *        → 201 {"event_id","sequence","old_price","new_price","change_pct",
 *               "anomaly","review_status",...}; 429 when rate limited.
 *        Idempotency-Key is honoured inside the event's transaction
 *        (core/price.h), so this route is not flagged ROUTE_IDEMPOTENT.
 *   POST /api/v1/tenants/{t}/products/{p}/price-anomalies/{event_id}/review
 *        {"decision": "approve"|"reject", "note"?}
 *   GET  /api/v1/tenants/{t}/products/{p}/price-anomalies   one product
 *   GET  /api/v1/tenants/{t}/price-anomalies                every product
 *        ?since&until (RFC 3339, on observed_at) &review_status &cursor &limit
 *        &order=asc|desc: NDJSON in sequence order (desc: newest first), last
 *        line {"next_cursor","count"};
 *        with Accept: text/event-stream or follow=true, Server-Sent Events.
 *
 * Follow mode holds a whole worker (prefork), so it is bounded three ways:
 * at most SSE_FOLLOWERS_MAX_PCT of the workers follow at once (counted in
 * the scoreboard gauge cartograph_sse_followers: add, then check, then back
 * out if over, so racing workers can only err on refusing), each connection
 * ends after SSE_LIFETIME_MAX_MS (clients reconnect with Last-Event-ID), and
 * a pending SIGTERM ends it at the next poll. New anomalies are found by
 * polling the sequence every SSE_POLL_MS (an index seek on
 * price_events_anomaly that finds nothing when idle), so one reaches the
 * client within about 200 ms of its commit; a comment line every
 * SSE_HEARTBEAT_MS keeps proxies from timing out and detects a gone client.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/catalog.h"
#include "../core/crypto.h"
#include "../core/idem.h"
#include "../core/money.h"
#include "../core/price.h"
#include "../core/scoreboard.h"
#include "../core/settings.h"
#include "../core/timefmt.h"
#include "app.h"
#include "handlers.h"

/* ======================== webhook ======================== */

static int rfc3339_member(json_t *j, const char *name, bool required, int64_t *out,
                          struct error *err)
{
    const char *s;
    size_t n;
    char ptr[64];
    snprintf(ptr, sizeof(ptr), "/%s", name);
    if (json_get_string(j, name, 64, &s, &n, err))
        return -1;
    if (!s) {
        if (required)
            return error_set_at(err, ERR_MISSING_FIELD, ptr, "%s is required", name);
        return 1;
    }
    if (rfc3339_parse(s, n, out))
        return error_set_at(err, ERR_INVALID_FIELD, ptr, "%s must be an RFC 3339 timestamp", name);
    return 0;
}

static void rate_headers(struct resp *resp, const struct price_outcome *o)
{
    struct buf pol = BUF_INIT, state = BUF_INIT;
    rl_headers(o->checks, 2, &pol, &state);
    if (pol.len) {
        resp_header(resp, "RateLimit-Policy", "%s", pol.data);
        resp_header(resp, "RateLimit", "%s", state.data);
    }
    buf_fini(&pol);
    buf_fini(&state);
}

int h_price_event(struct req *req, struct resp *resp, struct error *err)
{
    const char *product, *id, *cur, *src;
    size_t product_len, id_len, cur_len, src_len;
    struct price_event_in in;
    struct tenant_settings s;
    struct price_outcome o;
    char *meta = NULL, key[256];
    int rc = -1;
    json_t *j = NULL;

    price_outcome_init(&o);
    memset(&in, 0, sizeof(in));
    if (path_product_id(req, 1, &product, &product_len, err))
        goto out;
    const char *hk = req_env(req, "HTTP_IDEMPOTENCY_KEY");
    if (hk) {
        if (idem_key_parse(hk, key, err))
            goto out;
        req->idem_key = arena_strndup(req->arena, key, strlen(key));
        in.idem_key = key;
    }
    if (!(j = body_json_object_fp(req, in.fingerprint, err)))
        goto out;
    if (json_get_string(j, "event_id", EVENT_ID_MAX_BYTES, &id, &id_len, err) ||
        json_get_string(j, "currency", 3, &cur, &cur_len, err) ||
        json_get_string(j, "source", SOURCE_MAX_BYTES, &src, &src_len, err))
        goto out;
    if (!id || !catalog_ext_id_valid(id, id_len, EVENT_ID_MAX_BYTES)) {
        error_set_at(err, id ? ERR_INVALID_FIELD : ERR_MISSING_FIELD, "/event_id",
                     "event_id is required: 1-%d bytes without control characters",
                     EVENT_ID_MAX_BYTES);
        goto out;
    }
    int exp = cur ? currency_exponent(cur, cur_len) : -1;
    if (exp < 0) {
        error_set_at(err, cur ? ERR_INVALID_FIELD : ERR_MISSING_FIELD, "/currency",
                     "currency must be an ISO 4217 code such as \"EUR\"");
        goto out;
    }
    bool has_price;
    if (json_get_money(j, "price", exp, &has_price, &in.price_minor, err))
        goto out;
    if (!has_price) {
        error_set_at(err, ERR_MISSING_FIELD, "/price", "price is required");
        goto out;
    }
    if (rfc3339_member(j, "observed_at", true, &in.observed_at, err))
        goto out;
    json_t *m = json_object_get(j, "metadata");
    if (m && !json_is_null(m)) {
        if (!json_is_object(m)) {
            error_set_at(err, ERR_INVALID_FIELD, "/metadata", "metadata must be an object");
            goto out;
        }
        meta = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        if (!meta || strlen(meta) > METADATA_MAX_BYTES) {
            error_set_at(err, ERR_INVALID_FIELD, "/metadata", "metadata is larger than %d bytes",
                         METADATA_MAX_BYTES);
            goto out;
        }
        in.metadata = meta;
        in.metadata_len = strlen(meta);
    }
    in.event_id = id;
    in.event_id_len = id_len;
    memcpy(in.currency, cur, 3);
    in.source = src;
    in.source_len = src_len;
    if (settings_load(req->db, req->tenant.id, &s, err))
        goto out;
    if (price_event_submit(req->db, req->tenant.id, product, product_len, &in, &s, time_now_ms(),
                           &o, err))
        goto out;
    if (o.result == PRICE_LIMITED) {
        const struct rl_check *c = &o.checks[o.limited_index];
        char extra[256];
        error_set(err, ERR_RATE_LIMITED,
                  "price events for this %s are limited to %lld per %lld s (burst %lld)",
                  c->name, (long long)c->policy.rate, (long long)c->policy.period_s,
                  (long long)c->policy.burst);
        err->retry_after_s = (int)rl_seconds_ceil(c->retry_after_us);
        snprintf(extra, sizeof(extra), "\"violated_policies\":[\"%s\"]", c->name);
        resp_problem(resp, req, err, extra);
        rate_headers(resp, &o);
        rc = 0;
        goto out;
    }
    resp_json(resp, o.status);
    if (o.result == PRICE_REPLAYED || o.result == PRICE_KEY_REPLAY)
        resp_header(resp, "Idempotent-Replayed", "true");
    else
        rate_headers(resp, &o);
    buf_append(&resp->body, o.body.data, o.body.len);
    rc = 0;
out:
    free(meta);
    json_decref(j);
    price_outcome_fini(&o);
    return rc;
}

int h_price_review(struct req *req, struct resp *resp, struct error *err)
{
    const char *product, *decision, *note, *event;
    size_t product_len, dlen, note_len, event_len;
    int rc = -1;
    json_t *j = NULL;
    if (path_product_id(req, 1, &product, &product_len, err))
        return -1;
    /* The event id is percent-decoded and checked like a product id. */
    if (path_product_id(req, 2, &event, &event_len, err))
        return error_set(err, ERR_ANOMALY_NOT_FOUND, "no such anomaly");
    if (!(j = body_json_object(req, err)))
        return -1;
    if (json_get_string(j, "decision", 16, &decision, &dlen, err) ||
        json_get_string(j, "note", 1000, &note, &note_len, err))
        goto out;
    bool approve = decision && dlen == 7 && memcmp(decision, "approve", 7) == 0;
    bool reject = decision && dlen == 6 && memcmp(decision, "reject", 6) == 0;
    if (!approve && !reject) {
        error_set_at(err, decision ? ERR_INVALID_FIELD : ERR_MISSING_FIELD, "/decision",
                     "decision must be \"approve\" or \"reject\"");
        goto out;
    }
    resp_json(resp, 200);
    if (price_review(req->db, req->tenant.id, product, product_len, event, event_len, approve,
                     note, note_len, &resp->body, err))
        goto out;
    rc = 0;
out:
    json_decref(j);
    return rc;
}

/* ======================== listing and follow ======================== */

struct list_ctx {
    struct sink *sink;
    struct resp *resp;
    bool sse;
};

static int emit_row(void *ctx, int64_t seq, const char *json, size_t len)
{
    struct list_ctx *c = ctx;
    if (c->sse) {
        char head[64];
        int n = snprintf(head, sizeof(head), "id: %lld\nevent: anomaly\ndata: ", (long long)seq);
        sink_write(c->sink, head, (size_t)n);
        sink_write(c->sink, json, len);
        sink_write(c->sink, "\n\n", 2);
    } else {
        sink_write(c->sink, json, len);
        sink_write(c->sink, "\n", 1);
    }
    return c->sink->err ? -1 : 0;
}

static bool term_pending(void)
{
    sigset_t s;
    return sigpending(&s) == 0 && (sigismember(&s, SIGTERM) == 1 || sigismember(&s, SIGINT) == 1);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long followers_max(void)
{
    long m = (long)app.workers * SSE_FOLLOWERS_MAX_PCT / 100;
    if (m < 1 && app.workers > 1)
        m = 1;
    return m;
}

static int follow(struct req *req, struct resp *resp, struct anomaly_filter *f, struct error *err)
{
    struct list_ctx lc = {resp_sink(resp), resp, true};
    const char *leid = req_env(req, "HTTP_LAST_EVENT_ID");
    int64_t start = time_now_ms(), last_write = start;
    const char *reason = "lifetime";

    if (leid && *leid) {
        long long v;
        if (str_to_i64(str_trim(str_from(leid)), &v) || v < 0)
            return error_set_at(err, ERR_INVALID_PARAM, "Last-Event-ID",
                                "Last-Event-ID must be a sequence number");
        f->after_seq = v;
    } else if (!req_param(req, "cursor") && !req_param(req, "since")) {
        /* A fresh follower starts at now: only anomalies that arrive from here on. */
        if (price_anomaly_max_seq(req->db, req->tenant.id, f->product_id, &f->after_seq, err))
            return -1;
    }
    if (str_eq_cstr(req->method, "HEAD")) {
        /* The headers a follower would get; no stream to hold a worker for. */
        resp_status(resp, 200);
        resp_header(resp, "Content-Type", "text/event-stream");
        resp_header(resp, "Cache-Control", "no-store");
        return 0;
    }
    sb_gauge_add(SBG_SSE_FOLLOWERS, 1);
    if (sb_gauge_total(SBG_SSE_FOLLOWERS) > followers_max()) {
        sb_gauge_add(SBG_SSE_FOLLOWERS, -1);
        error_set(err, ERR_FOLLOWERS_FULL,
                  "at most %ld anomaly followers may be connected at once (of %u workers); "
                  "retry later or list with NDJSON",
                  followers_max(), app.workers);
        err->retry_after_s = 5;
        return -1;
    }
    resp_status(resp, 200);
    resp_header(resp, "Content-Type", "text/event-stream");
    resp_header(resp, "Cache-Control", "no-store");
    resp_stream_begin(resp);
    sink_puts(lc.sink, "retry: 1000\n: following price anomalies\n\n");
    resp_flush(resp);
    while (!lc.sink->err) {
        size_t n = 0;
        int64_t now = time_now_ms();
        if (now - start >= SSE_LIFETIME_MAX_MS)
            break;
        if (term_pending()) {
            reason = "shutdown";
            break;
        }
        if (price_anomalies_each(req->db, req->tenant.id, f, 100, emit_row, &lc, &n,
                                 &f->after_seq, err)) {
            /* Headers are out: the failure becomes the stream's last event. */
            struct buf ev = BUF_INIT;
            buf_puts(&ev, "event: error\ndata: {\"code\":");
            buf_append_json_cstr(&ev, error_code_str(err->code));
            buf_puts(&ev, ",\"detail\":");
            buf_append_json_cstr(&ev, err->detail);
            buf_appendf(&ev, ",\"last_event_id\":%lld}\n\n", (long long)f->after_seq);
            sink_write(lc.sink, ev.data, ev.len);
            resp_flush(resp);
            buf_fini(&ev);
            reason = NULL;
            break;
        }
        if (n) {
            resp_flush(resp);
            last_write = now;
            if (n == 100)
                continue; /* more waiting: no sleep */
        } else if (now - last_write >= SSE_HEARTBEAT_MS) {
            sink_puts(lc.sink, ": heartbeat\n\n");
            resp_flush(resp);
            last_write = now;
        }
        sleep_ms(SSE_POLL_MS);
    }
    if (!lc.sink->err && reason) {
        char end[160];
        snprintf(end, sizeof(end), "event: end\ndata: {\"reason\":\"%s\",\"last_event_id\":%lld}\n\n",
                 reason, (long long)f->after_seq);
        sink_puts(lc.sink, end);
        resp_flush(resp);
    }
    sb_gauge_add(SBG_SSE_FOLLOWERS, -1);
    return 0;
}

static int anomalies(struct req *req, struct resp *resp, int64_t product_id, struct error *err)
{
    struct anomaly_filter f = {product_id, INT64_MIN, INT64_MAX, -1, 0, false};
    const struct query_param *q;
    long long limit = 1000;
    char cursor[48];

    if ((q = req_param(req, "since")) && rfc3339_parse(q->value.ptr, q->value.len, &f.since))
        return error_set_at(err, ERR_INVALID_PARAM, "since", "since must be RFC 3339");
    if ((q = req_param(req, "until")) && rfc3339_parse(q->value.ptr, q->value.len, &f.until))
        return error_set_at(err, ERR_INVALID_PARAM, "until", "until must be RFC 3339");
    if ((q = req_param(req, "review_status"))) {
        f.review_status = price_review_status_parse(q->value.ptr, q->value.len);
        if (f.review_status <= PRICE_ACCEPTED)
            return error_set_at(err, ERR_INVALID_PARAM, "review_status",
                                "review_status must be pending, approved or rejected");
    }
    if ((q = req_param(req, "limit")) &&
        (str_to_i64(q->value, &limit) || limit < 1 || limit > ANOMALY_PAGE_MAX_ROWS))
        return error_set_at(err, ERR_INVALID_PARAM, "limit", "limit must be 1..%d",
                            ANOMALY_PAGE_MAX_ROWS);
    if ((q = req_param(req, "order"))) {
        if (str_eq_cstr(q->value, "desc"))
            f.desc = true;
        else if (!str_eq_cstr(q->value, "asc"))
            return error_set_at(err, ERR_INVALID_PARAM, "order", "order must be asc or desc");
    }
    if (f.desc)
        f.after_seq = INT64_MAX;
    if ((q = req_param(req, "cursor")) &&
        price_cursor_parse(app.hmac_key, sizeof(app.hmac_key), req->tenant.id, &f, q->value.ptr,
                           q->value.len, &f.after_seq, err))
        return -1;
    const char *accept = req_env(req, "HTTP_ACCEPT");
    bool sse = (accept && strstr(accept, "text/event-stream")) ||
               ((q = req_param(req, "follow")) &&
                (str_eq_cstr(q->value, "true") || str_eq_cstr(q->value, "1")));
    if (sse) {
        if (f.desc)
            return error_set_at(err, ERR_INVALID_PARAM, "order",
                                "a follow stream runs in sequence order (order=asc)");
        return follow(req, resp, &f, err);
    }

    struct list_ctx lc = {resp_sink(resp), resp, false};
    size_t n = 0;
    int64_t start_seq = f.after_seq;
    resp_status(resp, 200);
    resp_header(resp, "Content-Type", "application/x-ndjson");
    resp_header(resp, "Cache-Control", "no-store");
    if (price_anomalies_each(req->db, req->tenant.id, &f, (size_t)limit, emit_row, &lc, &n,
                             &f.after_seq, err)) {
        if (!resp->headers_sent)
            return -1;
        resp_problem(resp, req, err, NULL);
        return 0;
    }
    struct buf tail = BUF_INIT;
    buf_puts(&tail, "{\"next_cursor\":");
    if (n == (size_t)limit && f.after_seq != start_seq) {
        price_cursor_make(app.hmac_key, sizeof(app.hmac_key), req->tenant.id, &f, f.after_seq,
                          cursor);
        buf_append_json_cstr(&tail, cursor);
    } else {
        buf_puts(&tail, "null");
    }
    buf_appendf(&tail, ",\"count\":%zu}\n", n);
    sink_write(lc.sink, tail.data, tail.len);
    buf_fini(&tail);
    return 0;
}

int h_price_anomalies_product(struct req *req, struct resp *resp, struct error *err)
{
    const char *product;
    size_t len;
    int64_t id;
    if (path_product_id(req, 1, &product, &len, err) ||
        catalog_product_lookup(req->db, req->tenant.id, product, len, &id, NULL, err))
        return -1;
    if (id == 0)
        return error_set(err, ERR_PRODUCT_NOT_FOUND, "no such product");
    return anomalies(req, resp, id, err);
}

int h_price_anomalies_tenant(struct req *req, struct resp *resp, struct error *err)
{
    return anomalies(req, resp, 0, err);
}
