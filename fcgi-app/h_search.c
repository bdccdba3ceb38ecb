/*
 * h_search.c: GET /api/v1/tenants/{tenant}/orders/search (docs/design.md §10).
 *
 * Thin: query parameters → core/filter.c, output format from format= or
 * Accept, core/search.c opens (every 4xx is decided there, before a byte is
 * sent), then the status line and headers go out and rows stream through the
 * response sink. If reading fails after the headers, the stream ends with an
 * error record: a {"error":{...}} line for NDJSON (resp_problem does that
 * once headers are out), the closing of the document with an "error" member
 * for JSON. A client that goes away makes the sink fail; core stops at once.
 */
#include <string.h>

#include "../core/order_json.h"
#include "../core/scoreboard.h"
#include "../core/search.h"
#include "../core/timefmt.h"
#include "app.h"
#include "handlers.h"

/* format= wins; otherwise Accept: ndjson, json, or anything-goes → ndjson. */
static int choose_format(struct req *req, enum filter_format *fmt, struct error *err)
{
    if (*fmt != FORMAT_UNSET)
        return 0;
    const char *accept = req_env(req, "HTTP_ACCEPT");
    if (!accept || !*accept || strstr(accept, "application/x-ndjson") ||
        strstr(accept, "application/ndjson")) {
        *fmt = FORMAT_NDJSON;
    } else if (strstr(accept, "application/json")) {
        *fmt = FORMAT_JSON;
    } else if (strstr(accept, "*/*") || strstr(accept, "application/*")) {
        *fmt = FORMAT_NDJSON;
    } else {
        return error_set(err, ERR_NOT_ACCEPTABLE,
                         "search answers application/x-ndjson or application/json "
                         "(or use format=ndjson|json)");
    }
    return 0;
}

int h_order_search(struct req *req, struct resp *resp, struct error *err)
{
    struct filter_param params[QUERY_MAX_PARAMS];
    struct search_filter *f = arena_alloc(req->arena, sizeof(*f));
    struct search *s = NULL;
    int rc = -1;
    for (size_t i = 0; i < req->nparams; i++) {
        params[i].name = req->params[i].name;
        params[i].value = req->params[i].value;
    }
    if (filter_parse(params, req->nparams, f, err) || choose_format(req, &f->format, err))
        return -1;
    if (search_open(req->db, req->tenant.id, f, app.hmac_key, time_now_ms() / 1000, &s, err))
        return -1;
    resp_status(resp, 200);
    resp_header(resp, "Content-Type", "%s",
                f->format == FORMAT_JSON ? "application/json" : "application/x-ndjson");
    resp_header(resp, "Cache-Control", "no-store");
    resp_header(resp, "X-Request-Id", "%s", req->request_id);
    if (resp_stream_begin(resp)) {
        rc = 0; /* client gone before the first byte */
        goto out;
    }
    if (search_run(s, resp_sink(resp), f->format, err)) {
        if (f->format == FORMAT_JSON) {
            struct buf tail = BUF_INIT;
            order_json_doc_error(&tail, search_count(s), err, req->request_id);
            sink_write(resp_sink(resp), tail.data, tail.len);
            buf_fini(&tail);
            resp->error_code = error_code_str(err->code);
            rc = 0;
        }
        goto out; /* NDJSON: the router's resp_problem writes the error line */
    }
    rc = 0;
out:
    if (s) {
        sb_count(SBC_SEARCH_ROWS, search_count(s));
        if (search_client_gone(s))
            sb_count(SBC_SEARCH_CLIENT_GONE, 1);
    }
    search_close(s);
    return rc;
}
