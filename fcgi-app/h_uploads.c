/*
 * h_uploads.c: tus 1.0 resumable order uploads (core/tus.c does the work).
 *
 *   OPTIONS /api/v1/ingest/uploads[/{upload}]  capabilities (no auth, as tus says)
 *   POST    /api/v1/ingest/uploads             creation (+ creation-with-upload) → 201 + Location
 *   HEAD    /api/v1/ingest/uploads/{upload}    offset, length, metadata, expiry
 *   GET     /api/v1/ingest/uploads/{upload}    the same headers + the ingest summary (JSON)
 *   PATCH   /api/v1/ingest/uploads/{upload}    append at Upload-Offset → 204 + new offset
 *   DELETE  /api/v1/ingest/uploads/{upload}    termination → 204
 *
 * Every answer carries Tus-Resumable: 1.0.0; a request without it (except
 * OPTIONS) gets 412 + Tus-Version. Errors are problem+json written here (not
 * by the router) so tus headers such as the current Upload-Offset survive.
 * Locations are relative (REFERENCES §2: absolute ones break behind proxies).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/idem.h"
#include "../core/scoreboard.h"
#include "../core/timefmt.h"
#include "../core/tus.h"
#include "app.h"
#include "handlers.h"

#define UPLOADS_PATH "/api/v1/ingest/uploads/"

static void tus_headers(struct resp *resp)
{
    resp_header(resp, "Tus-Resumable", TUS_VERSION);
}

/* Answer the problem ourselves (the router would drop our tus headers). */
static int answer_problem(struct req *req, struct resp *resp, const struct error *err,
                          const struct tus_upload *u)
{
    resp_problem(resp, req, err, NULL);
    tus_headers(resp);
    if (err->code == ERR_PRECONDITION)
        resp_header(resp, "Tus-Version", TUS_VERSION);
    if (u && (err->code == ERR_UPLOAD_OFFSET || err->code == ERR_CHECKSUM_MISMATCH))
        resp_header(resp, "Upload-Offset", "%llu", (unsigned long long)u->offset);
    return 0;
}

static int check_version(struct req *req, struct error *err)
{
    const char *v = req_env(req, "HTTP_TUS_RESUMABLE");
    if (!v || strcmp(v, TUS_VERSION) != 0)
        return error_set_at(err, ERR_PRECONDITION, "Tus-Resumable",
                            "send Tus-Resumable: " TUS_VERSION);
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    long long v;
    if (!s || str_to_i64(str_from(s), &v) || v < 0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static void expires_header(struct resp *resp, int64_t ms)
{
    char date[64];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    resp_header(resp, "Upload-Expires", "%s", date);
}

static void offset_headers(struct resp *resp, const struct tus_upload *u)
{
    resp_header(resp, "Upload-Offset", "%llu", (unsigned long long)u->offset);
    if (u->length >= 0)
        resp_header(resp, "Upload-Length", "%lld", (long long)u->length);
    else
        resp_header(resp, "Upload-Defer-Length", "1");
    if (u->state == INGEST_RUNNING)
        expires_header(resp, u->expires_at_ms);
}

/* Uploads hold no idempotency lease: nothing to do between batches. */
static int between(void *ctx, struct error *err)
{
    (void)ctx;
    (void)err;
    return 0;
}

/* Append the request body at Upload-Offset (PATCH, or POST with creation-with-upload). */
static int append(struct req *req, struct tus_upload *u, uint64_t offset, struct error *err)
{
    struct tus_checksum ck;
    const char *h = req_env(req, "HTTP_UPLOAD_CHECKSUM");
    if (h && tus_checksum_parse(h, &ck, err))
        return -1;
    struct ingest_hooks hooks = {between, NULL, req};
    sb_gauge_add(SBG_INGEST_QUEUE, 1);
    int rc = tus_append(u, offset, req_source(req), h ? &ck : NULL, &hooks, err);
    sb_gauge_add(SBG_INGEST_QUEUE, -1);
    return rc;
}

static bool is_offset_stream(struct req *req)
{
    const char *ct = req_env(req, "CONTENT_TYPE");
    return ct && strncasecmp(ct, "application/offset+octet-stream", 31) == 0;
}

int h_uploads_options(struct req *req, struct resp *resp, struct error *err)
{
    (void)req;
    (void)err;
    resp_status(resp, 204);
    tus_headers(resp);
    resp_header(resp, "Tus-Version", TUS_VERSION);
    resp_header(resp, "Tus-Extension", TUS_EXTENSIONS);
    resp_header(resp, "Tus-Max-Size", "%llu", (unsigned long long)INGEST_BODY_MAX_BYTES);
    resp_header(resp, "Tus-Checksum-Algorithm", TUS_CHECKSUMS);
    return 0;
}

int h_upload_create(struct req *req, struct resp *resp, struct error *err)
{
    struct tus_upload *u = NULL;
    int64_t length = -1;
    uint64_t v;
    if (check_version(req, err))
        return answer_problem(req, resp, err, NULL);
    const char *len = req_env(req, "HTTP_UPLOAD_LENGTH");
    const char *defer = req_env(req, "HTTP_UPLOAD_DEFER_LENGTH");
    if (len) {
        if (parse_u64(len, &v)) {
            error_set_at(err, ERR_BAD_REQUEST, "Upload-Length", "Upload-Length must be a number");
            return answer_problem(req, resp, err, NULL);
        }
        if (v > INGEST_BODY_MAX_BYTES) {
            error_set_at(err, ERR_BODY_TOO_LARGE, "Upload-Length",
                         "Upload-Length exceeds Tus-Max-Size %llu",
                         (unsigned long long)INGEST_BODY_MAX_BYTES);
            return answer_problem(req, resp, err, NULL);
        }
        length = (int64_t)v;
    } else if (!defer || strcmp(defer, "1") != 0) {
        error_set_at(err, ERR_BAD_REQUEST, "Upload-Length",
                     "send Upload-Length, or Upload-Defer-Length: 1");
        return answer_problem(req, resp, err, NULL);
    }
    const char *meta = req_env(req, "HTTP_UPLOAD_METADATA");
    if (meta && strlen(meta) > UPLOAD_METADATA_MAX_BYTES) {
        error_set_at(err, ERR_HEADER_TOO_LARGE, "Upload-Metadata",
                     "Upload-Metadata exceeds %d bytes", UPLOAD_METADATA_MAX_BYTES);
        return answer_problem(req, resp, err, NULL);
    }
    if (tus_create(req->db, app.var_dir, req->tenant.id, length, meta, &u, err))
        return answer_problem(req, resp, err, NULL);
    /* creation-with-upload: the body is the first chunk. */
    bool with_body = is_offset_stream(req) && req->content_length != 0;
    if (with_body && append(req, u, 0, err)) {
        answer_problem(req, resp, err, u);
        tus_close(u);
        return 0;
    }
    resp_status(resp, 201);
    tus_headers(resp);
    resp_header(resp, "Location", UPLOADS_PATH "%s", u->token);
    expires_header(resp, u->expires_at_ms);
    if (with_body)
        resp_header(resp, "Upload-Offset", "%llu", (unsigned long long)u->offset);
    tus_close(u);
    return 0;
}

static int open_upload(struct req *req, struct resp *resp, struct tus_upload **u,
                       struct error *err)
{
    struct str tok = req_path_param(req, 0);
    if (check_version(req, err) ||
        tus_open(req->db, app.var_dir, req->tenant.id, tok.ptr, tok.len, u, err)) {
        answer_problem(req, resp, err, NULL);
        return -1;
    }
    return 0;
}

int h_upload_head(struct req *req, struct resp *resp, struct error *err)
{
    struct tus_upload *u;
    bool head = str_eq_cstr(req->method, "HEAD");
    /* A browser-style GET of the summary does not need Tus-Resumable. */
    if (!head && !req_env(req, "HTTP_TUS_RESUMABLE")) {
        struct str tok = req_path_param(req, 0);
        if (tus_open(req->db, app.var_dir, req->tenant.id, tok.ptr, tok.len, &u, err))
            return answer_problem(req, resp, err, NULL);
    } else if (open_upload(req, resp, &u, err)) {
        return 0;
    }
    if (tus_finish_if_due(u, err)) {
        answer_problem(req, resp, err, NULL);
        tus_close(u);
        return 0;
    }
    resp_status(resp, 200);
    tus_headers(resp);
    resp_header(resp, "Cache-Control", "no-store");
    offset_headers(resp, u);
    if (u->metadata[0])
        resp_header(resp, "Upload-Metadata", "%s", u->metadata);
    resp_header(resp, "Content-Type", "application/json");
    int rc = tus_summary_json(u, &resp->body, err);
    tus_close(u);
    if (rc)
        return answer_problem(req, resp, err, NULL);
    return 0;
}

int h_upload_patch(struct req *req, struct resp *resp, struct error *err)
{
    struct tus_upload *u;
    uint64_t offset;
    if (open_upload(req, resp, &u, err))
        return 0;
    if (!is_offset_stream(req)) {
        error_set_at(err, ERR_MEDIA_TYPE, "Content-Type",
                     "PATCH needs Content-Type: application/offset+octet-stream");
        goto fail;
    }
    if (parse_u64(req_env(req, "HTTP_UPLOAD_OFFSET"), &offset)) {
        error_set_at(err, ERR_BAD_REQUEST, "Upload-Offset", "Upload-Offset must be a number");
        goto fail;
    }
    const char *len = req_env(req, "HTTP_UPLOAD_LENGTH");
    uint64_t lv;
    if (len && (parse_u64(len, &lv) || tus_set_length(u, (int64_t)lv, err))) {
        if (err->code == ERR_NONE)
            error_set_at(err, ERR_BAD_REQUEST, "Upload-Length", "Upload-Length must be a number");
        goto fail;
    }
    if (append(req, u, offset, err))
        goto fail;
    resp_status(resp, 204);
    tus_headers(resp);
    resp_header(resp, "Upload-Offset", "%llu", (unsigned long long)u->offset);
    if (u->state == INGEST_RUNNING)
        expires_header(resp, u->expires_at_ms);
    tus_close(u);
    return 0;
fail:
    answer_problem(req, resp, err, u);
    tus_close(u);
    return 0;
}

int h_upload_delete(struct req *req, struct resp *resp, struct error *err)
{
    struct tus_upload *u;
    if (open_upload(req, resp, &u, err))
        return 0;
    int rc = tus_terminate(u, err);
    tus_close(u);
    if (rc)
        return answer_problem(req, resp, err, NULL);
    resp_status(resp, 204);
    tus_headers(resp);
    return 0;
}
