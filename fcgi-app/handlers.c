/*
 * handlers.c: small helpers shared by the handler files.
 */
#include "handlers.h"

#include <stdio.h>
#include <string.h>

#include "../core/bounds.h"

json_t *body_json_object(struct req *req, struct error *err)
{
    return body_json_object_fp(req, NULL, err);
}

json_t *body_json_object_fp(struct req *req, uint8_t fp[SHA256_LEN], struct error *err)
{
    struct buf body = BUF_INIT;
    json_t *j = NULL;
    json_error_t je;
    if (req_read_body(req, req->body_max, &body, err))
        goto out;
    if (fp) {
        struct sha256 h;
        req_fingerprint_begin(req, &h);
        sha256_update(&h, body.data, body.len);
        sha256_final(&h, fp);
        sha256_fini(&h);
    }
    if (!utf8_valid(body.data, body.len)) {
        error_set(err, ERR_INVALID_UTF8, "request body is not valid UTF-8");
        goto out;
    }
    j = json_loadb(body.data, body.len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        error_set(err, ERR_INVALID_JSON, "invalid JSON at line %d, column %d: %s", je.line,
                  je.column, je.text);
        goto out;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        j = NULL;
        error_set_at(err, ERR_INVALID_JSON, "", "request body must be a JSON object");
    }
out:
    buf_fini(&body);
    return j;
}

int json_get_string(json_t *obj, const char *name, size_t max, const char **out, size_t *len,
                    struct error *err)
{
    char ptr[ERROR_POINTER_MAX];
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    *len = 0;
    if (!v || json_is_null(v))
        return 0;
    snprintf(ptr, sizeof(ptr), "/%s", name);
    if (!json_is_string(v))
        return error_set_at(err, ERR_INVALID_FIELD, ptr, "%s must be a string", name);
    size_t n = json_string_length(v);
    if (n > max)
        return error_set_at(err, ERR_INVALID_FIELD, ptr, "%s is longer than %zu bytes", name, max);
    if (memchr(json_string_value(v), '\0', n))
        return error_set_at(err, ERR_INVALID_FIELD, ptr, "%s contains a NUL character", name);
    *out = json_string_value(v);
    *len = n;
    return 0;
}
