/*
 * h_tenants.c: tenant provisioning and API key management.
 *
 *   POST   /api/v1/tenants                      admin: create, returns the key once
 *   GET    /api/v1/tenants/{tenant}             the tenant's key or admin
 *   GET    /api/v1/tenants/{tenant}/keys        list keys (prefixes only)
 *   POST   /api/v1/tenants/{tenant}/keys        issue a key; {"revoke_others":true} rotates
 *   DELETE /api/v1/tenants/{tenant}/keys/{id}   revoke one key
 */
#include <stdlib.h>
#include <string.h>

#include "../core/bounds.h"
#include "handlers.h"

int h_tenant_create(struct req *req, struct resp *resp, struct error *err)
{
    json_t *j = body_json_object(req, err);
    const char *name;
    size_t len;
    char key[API_KEY_LEN + 1];
    struct tenant t;
    int rc = -1;
    if (!j)
        return -1;
    if (json_get_string(j, "name", NAME_MAX_BYTES, &name, &len, err))
        goto out;
    if (!name || len == 0) {
        error_set_at(err, ERR_MISSING_FIELD, "/name", "name is required (1-%d bytes)",
                     NAME_MAX_BYTES);
        goto out;
    }
    if (tenant_create(req->db, name, &t, key, err))
        goto out;
    resp_json(resp, 201);
    resp_header(resp, "Location", "/api/v1/tenants/%s", t.public_id);
    resp_header(resp, "Cache-Control", "no-store");
    tenant_json(&t, &resp->body);
    resp->body.len--; /* reopen the object */
    buf_puts(&resp->body, ",\"api_key\":");
    buf_append_json_cstr(&resp->body, key);
    buf_putc(&resp->body, '}');
    rc = 0;
out:
    json_decref(j);
    return rc;
}

int h_tenant_get(struct req *req, struct resp *resp, struct error *err)
{
    (void)err;
    resp_json(resp, 200);
    tenant_json(&req->tenant, &resp->body);
    return 0;
}

int h_tenant_keys_list(struct req *req, struct resp *resp, struct error *err)
{
    resp_json(resp, 200);
    buf_puts(&resp->body, "{\"keys\":");
    if (tenant_keys_json(req->db, req->tenant.id, &resp->body, err))
        return -1;
    buf_putc(&resp->body, '}');
    return 0;
}

int h_tenant_key_create(struct req *req, struct resp *resp, struct error *err)
{
    bool revoke_others = false;
    json_t *j = NULL;
    if (req->content_length != 0) {
        j = body_json_object(req, err);
        if (!j && err->code != ERR_EMPTY_BODY)
            return -1;
        json_t *v = j ? json_object_get(j, "revoke_others") : NULL;
        if (v && !json_is_boolean(v)) {
            json_decref(j);
            return error_set_at(err, ERR_INVALID_FIELD, "/revoke_others",
                                "revoke_others must be a boolean");
        }
        revoke_others = v && json_is_true(v);
        json_decref(j);
    }
    struct api_key_info info;
    char key[API_KEY_LEN + 1];
    if (tenant_key_create(req->db, req->tenant.id, revoke_others, &info, key, err))
        return -1;
    resp_json(resp, 201);
    resp_header(resp, "Cache-Control", "no-store");
    buf_appendf(&resp->body, "{\"id\":%lld,\"prefix\":", (long long)info.id);
    buf_append_json_cstr(&resp->body, info.prefix);
    buf_puts(&resp->body, ",\"api_key\":");
    buf_append_json_cstr(&resp->body, key);
    buf_appendf(&resp->body, ",\"revoked_others\":%s}", revoke_others ? "true" : "false");
    return 0;
}

int h_tenant_key_revoke(struct req *req, struct resp *resp, struct error *err)
{
    long long id;
    if (str_to_i64(req_path_param(req, 1), &id) || id <= 0)
        return error_set(err, ERR_NOT_FOUND, "no such key");
    if (tenant_key_revoke(req->db, req->tenant.id, id, err))
        return -1;
    resp_status(resp, 204);
    return 0;
}
