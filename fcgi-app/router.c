/*
 * router.c: matching and the fixed admission pipeline (see router.h).
 *
 * Patterns are compared segment by segment; "{x}" matches one non-empty
 * segment and is captured into req->path_params in order. The table is small
 * (tens of rows), so a linear scan costs less than building a trie.
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

#include "../core/idem.h"
#include "../core/scoreboard.h"
#include "../core/timefmt.h"
#include "app.h"

static int match(const char *pattern, struct str path, struct str *caps, unsigned *ncaps)
{
    const char *p = pattern;
    size_t i = 0;
    *ncaps = 0;
    /* A trailing slash is tolerated: /api/v1/tenants/ == /api/v1/tenants. */
    if (path.len > 1 && path.ptr[path.len - 1] == '/')
        path.len--;
    while (*p) {
        if (i >= path.len || path.ptr[i] != '/' || *p != '/')
            return 0;
        p++;
        i++;
        const char *pend = strchr(p, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        const char *send = memchr(path.ptr + i, '/', path.len - i);
        size_t slen = send ? (size_t)(send - (path.ptr + i)) : path.len - i;
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || *ncaps == PATH_PARAMS_MAX)
                return 0;
            caps[(*ncaps)++] = (struct str){path.ptr + i, slen};
        } else if (plen != slen || memcmp(p, path.ptr + i, slen) != 0) {
            return 0;
        }
        p += plen;
        i += slen;
    }
    return i == path.len;
}

static int authenticate(struct req *req, const struct route *rt, struct error *err)
{
    const char *auth = req_env(req, "HTTP_AUTHORIZATION");
    const char *key = NULL;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        key = auth + 7;
        while (*key == ' ')
            key++;
    } else if ((key = req_env(req, "HTTP_X_API_KEY")) == NULL) {
        return error_set(err, ERR_UNAUTHORIZED,
                         "missing credentials: send Authorization: Bearer <api key>");
    }
    size_t len = strlen(key);
    if (len > 512)
        return error_set(err, ERR_UNAUTHORIZED, "invalid API key");
    if (admin_key_matches(app.admin_hash, key, len)) {
        req->is_admin = true;
        return 0;
    }
    if (rt->flags & ROUTE_ADMIN) {
        /* A valid tenant key is still not the admin key: 403, not 401. */
        struct tenant t;
        struct error e;
        if (tenant_by_key(req->db, key, len, &t, &e) == 0)
            return error_set(err, ERR_FORBIDDEN, "this operation needs the admin key");
        return error_set(err, ERR_UNAUTHORIZED, "invalid API key");
    }
    if (tenant_by_key(req->db, key, len, &req->tenant, err))
        return -1;
    req->has_tenant = true;
    return 0;
}

/*
 * The tenant in the path must be the key's own. Another tenant's id and an id
 * that does not exist answer the same 404, so a key cannot probe for tenants.
 * The admin key may address any existing tenant.
 */
static int bind_tenant(struct req *req, struct error *err)
{
    struct str id = req_path_param(req, 0);
    if (req->is_admin) {
        if (tenant_get(req->db, id.ptr, id.len, &req->tenant, err))
            return -1;
        req->has_tenant = true;
        return 0;
    }
    if (!req->has_tenant || !str_eq_cstr(id, req->tenant.public_id))
        return error_set(err, ERR_TENANT_NOT_FOUND, "no such tenant");
    return 0;
}

static int check_params(struct req *req, const struct route *rt, struct error *err)
{
    struct buf unknown = BUF_INIT;
    for (size_t i = 0; i < req->nparams; i++) {
        bool ok = false;
        for (const char *const *p = rt->params; p && *p && !ok; p++)
            ok = str_eq_cstr(req->params[i].name, *p);
        if (!ok) {
            if (unknown.len)
                buf_puts(&unknown, ", ");
            if (unknown.len < 200)
                buf_append(&unknown, req->params[i].name.ptr,
                           req->params[i].name.len > 64 ? 64 : req->params[i].name.len);
        }
    }
    int rc = 0;
    if (unknown.len)
        rc = error_set_at(err, ERR_UNKNOWN_PARAM, unknown.data, "unknown query parameter(s): %s",
                          unknown.data);
    buf_fini(&unknown);
    return rc;
}

/* ======================== idempotency ======================== */

struct idem_ctx {
    struct idem_claim claim;
    struct sha256 hash;
    bool active;
};

static void fingerprint_begin(struct req *req, struct idem_ctx *ic)
{
    req_fingerprint_begin(req, &ic->hash);
    req->body_hash = &ic->hash;
}

/*
 * Returns 1 when the request was answered here (replay, 409, 422), 0 to run
 * the handler with the key claimed, -1 on error.
 */
static int idem_admit(struct req *req, struct resp *resp, struct idem_ctx *ic, struct error *err)
{
    const char *h = req_env(req, "HTTP_IDEMPOTENCY_KEY");
    char key[256];
    if (!h) {
        if (req->route->flags & ROUTE_IDEM_REQUIRED)
            return error_set_at(err, ERR_IDEM_KEY_MISSING, "Idempotency-Key",
                                "this endpoint requires an Idempotency-Key header");
        return 0;
    }
    if (idem_key_parse(h, key, err))
        return -1;
    req->idem_key = arena_strndup(req->arena, key, strlen(key));
    int64_t tenant = req->has_tenant ? req->tenant.id : 0;
    if (idem_claim(req->db, tenant, req->route->name, key, &ic->claim, err))
        return -1;
    fingerprint_begin(req, ic);
    switch (ic->claim.state) {
    case IDEM_BUSY:
        error_set(err, ERR_IDEM_IN_PROGRESS,
                  "a request with this Idempotency-Key is still being processed");
        err->retry_after_s = ic->claim.retry_after_s;
        return -1;
    case IDEM_DONE: {
        /* The body decides between replay and 422: read it all, hashing. */
        uint8_t fp[SHA256_LEN];
        req_drain(req);
        sha256_final(&ic->hash, fp);
        if (!ic->claim.has_fingerprint || !ct_equal(fp, ic->claim.fingerprint, SHA256_LEN))
            return error_set_at(err, ERR_IDEM_MISMATCH, "Idempotency-Key",
                                "this Idempotency-Key was used with a different request");
        resp_status(resp, ic->claim.status);
        resp_header(resp, "Content-Type", "%s", ic->claim.content_type);
        resp_header(resp, "Idempotent-Replayed", "true");
        buf_reset(&resp->body);
        buf_append(&resp->body, ic->claim.body.data, ic->claim.body.len);
        return 1;
    }
    case IDEM_CLAIMED:
        ic->active = true;
        req->idem = &ic->claim;
        return 0;
    }
    return 0;
}

static void idem_settle(struct req *req, struct resp *resp, struct idem_ctx *ic)
{
    if (!ic->active)
        return;
    struct error e;
    if (resp->status < 400 && !resp->streaming) {
        uint8_t fp[SHA256_LEN];
        req_drain(req); /* a handler that stopped early still fingerprints all of it */
        sha256_final(&ic->hash, fp);
        char ct[128] = "application/json";
        const char *p = resp->headers.data;
        /* The stored content type is the one the handler set. */
        const char *c = p ? strstr(p, "Content-Type: ") : NULL;
        if (c) {
            c += 14;
            size_t n = strcspn(c, "\r\n");
            snprintf(ct, sizeof(ct), "%.*s", (int)n, c);
        }
        if (idem_complete(req->db, &ic->claim, fp, resp->status, ct, resp->body.data,
                          resp->body.len, &e))
            idem_release(req->db, &ic->claim);
    } else {
        idem_release(req->db, &ic->claim);
    }
}

/* ======================== dispatch ======================== */

unsigned router_dispatch(struct req *req, struct resp *resp)
{
    struct error err;
    struct idem_ctx ic = {.active = false};
    const struct route *rt = NULL;
    unsigned index = (unsigned)ROUTES_COUNT;
    bool path_matched = false;
    struct buf allow = BUF_INIT;
    int rc = -1;

    error_clear(&err);
    idem_claim_init(&ic.claim);
    for (size_t i = 0; i < ROUTES_COUNT; i++) {
        struct str caps[PATH_PARAMS_MAX];
        unsigned ncaps;
        if (!match(ROUTES[i].pattern, req->path, caps, &ncaps))
            continue;
        path_matched = true;
        if (!strstr(allow.data ? allow.data : "", ROUTES[i].method)) {
            if (allow.len)
                buf_puts(&allow, ", ");
            buf_puts(&allow, ROUTES[i].method);
        }
        if (str_eq_cstr(req->method, ROUTES[i].method) ||
            (str_eq_cstr(req->method, "HEAD") && strcmp(ROUTES[i].method, "GET") == 0)) {
            rt = &ROUTES[i];
            index = (unsigned)i;
            memcpy(req->path_params, caps, sizeof(caps));
            break;
        }
    }
    if (!rt) {
        if (path_matched) {
            error_set(&err, ERR_METHOD, "method %.*s is not allowed here; allowed: %s",
                      (int)(req->method.len > 16 ? 16 : req->method.len), req->method.ptr,
                      allow.data);
            resp_problem(resp, req, &err, NULL);
            resp_header(resp, "Allow", "%s", allow.data);
        } else {
            error_set(&err, ERR_NOT_FOUND, "no such endpoint");
            resp_problem(resp, req, &err, NULL);
        }
        buf_fini(&allow);
        idem_claim_fini(&ic.claim);
        return index;
    }
    buf_fini(&allow);
    req->route = rt;
    req->route_index = index;
    req->body_max = rt->body_max ? rt->body_max : JSON_BODY_MAX_BYTES;

    if ((rt->flags & (ROUTE_AUTH | ROUTE_ADMIN)) && authenticate(req, rt, &err))
        goto fail;
    if ((rt->flags & ROUTE_ADMIN) && !req->is_admin) {
        error_set(&err, ERR_FORBIDDEN, "this operation needs the admin key");
        goto fail;
    }
    if ((rt->flags & ROUTE_TENANT) && bind_tenant(req, &err))
        goto fail;
    if (rt->admit && rt->admit(req, resp, &err))
        goto fail;
    if (req->content_length >= 0 && (uint64_t)req->content_length > req->body_max) {
        error_set(&err, ERR_BODY_TOO_LARGE, "request body of %lld bytes exceeds the limit of %llu",
                  (long long)req->content_length, (unsigned long long)req->body_max);
        goto fail;
    }
    if (check_params(req, rt, &err))
        goto fail;
    if (rt->flags & ROUTE_IDEMPOTENT) {
        int r = idem_admit(req, resp, &ic, &err);
        if (r < 0)
            goto fail;
        if (r > 0) {
            rc = 0;
            goto out;
        }
    }
    rc = rt->handler(req, resp, &err);
    if (rc == 0)
        goto out;
fail:
    if (err.code == ERR_NONE)
        error_set(&err, ERR_INTERNAL, "handler failed without a reason");
    if (err.code == ERR_DB_BUSY)
        sb_count(SBC_DB_BUSY, 1);
    resp_problem(resp, req, &err, req->problem_extra);
out:
    idem_settle(req, resp, &ic);
    if (ic.hash.ctx)
        sha256_fini(&ic.hash);
    req->body_hash = NULL;
    req->idem = NULL;
    idem_claim_fini(&ic.claim);
    return index;
}
