/*
 * h_settings.c: per-tenant settings (rate limits, anomaly rules).
 *
 *   GET   /api/v1/tenants/{tenant}/settings   effective settings (defaults filled in)
 *   PATCH /api/v1/tenants/{tenant}/settings   RFC 7396 merge patch; the tenant's key
 *         may change "anomaly", only the admin key "rate_limits" (403 otherwise)
 */
#include "../core/settings.h"
#include "handlers.h"

int h_settings_get(struct req *req, struct resp *resp, struct error *err)
{
    struct tenant_settings s;
    if (settings_load(req->db, req->tenant.id, &s, err))
        return -1;
    resp_json(resp, 200);
    resp_header(resp, "Cache-Control", "no-store");
    settings_json(&s, &resp->body);
    return 0;
}

int h_settings_patch(struct req *req, struct resp *resp, struct error *err)
{
    struct buf body = BUF_INIT;
    struct tenant_settings s;
    int rc = -1;
    if (req_read_body(req, req->body_max, &body, err))
        goto out;
    if (settings_patch(req->db, req->tenant.id, body.data, body.len, req->is_admin, &s, err))
        goto out;
    resp_json(resp, 200);
    settings_json(&s, &resp->body);
    rc = 0;
out:
    buf_fini(&body);
    return rc;
}
