/*
 * h_products.c: the product catalog as stock and price events need it.
 *
 *   PUT /api/v1/tenants/{tenant}/products/{product}   create or replace
 *       {"name", "currency", "category"?, "price"?}  → 201 created / 200 replaced
 *   GET /api/v1/tenants/{tenant}/products/{product}   the product with its
 *       current price and stock level
 *
 * {product} is the client's product id, percent-decoded (so ids with '/' or
 * spaces can be addressed).
 */
#include <string.h>

#include "../core/catalog.h"
#include "../core/money.h"
#include "handlers.h"

int path_product_id(struct req *req, unsigned i, const char **out, size_t *len,
                    struct error *err)
{
    struct str s = req_path_param(req, i);
    char *d = arena_alloc(req->arena, s.len + 1);
    size_t n = 0;
    for (size_t k = 0; k < s.len; k++) {
        int hi, lo;
        if (s.ptr[k] == '%') {
            if (k + 2 >= s.len || (hi = hex_digit(s.ptr[k + 1])) < 0 ||
                (lo = hex_digit(s.ptr[k + 2])) < 0)
                return error_set(err, ERR_NOT_FOUND, "malformed percent-encoding in the path");
            d[n++] = (char)(hi << 4 | lo);
            k += 2;
        } else {
            d[n++] = s.ptr[k];
        }
    }
    d[n] = '\0';
    if (!catalog_ext_id_valid(d, n, PRODUCT_ID_MAX_BYTES))
        return error_set(err, ERR_PRODUCT_NOT_FOUND, "no such product");
    *out = d;
    *len = n;
    return 0;
}

int json_get_money(json_t *obj, const char *name, int exponent, bool *present, int64_t *out,
                   struct error *err)
{
    json_t *v = json_object_get(obj, name);
    char ptr[ERROR_POINTER_MAX], text[64];
    const char *s;
    size_t n;
    *present = false;
    if (!v || json_is_null(v))
        return 0;
    snprintf(ptr, sizeof(ptr), "/%s", name);
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_integer(v)) {
        n = (size_t)snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
        s = text;
    } else if (json_is_real(v)) {
        /*
         * jansson holds numbers as doubles. The shortest decimal that reads
         * back as the same double is what the client wrote whenever it had at
         * most 15 significant digits (every such decimal round-trips), which
         * covers every price up to MONEY_MAX_MINOR; longer ones should be sent
         * as strings.
         */
        double d = json_real_value(v);
        if (d == (double)(long long)d && d > -1e15 && d < 1e15) {
            n = (size_t)snprintf(text, sizeof(text), "%lld", (long long)d); /* 20.0 */
        } else {
            for (int prec = 1; prec <= 17; prec++) {
                n = (size_t)snprintf(text, sizeof(text), "%.*g", prec, d);
                if (strtod(text, NULL) == d)
                    break;
            }
        }
        if (strchr(text, 'e') || strchr(text, 'E'))
            return error_set_at(err, ERR_INVALID_FIELD, ptr,
                                "%s is out of range; send it as a decimal string", name);
        s = text;
    } else {
        return error_set_at(err, ERR_INVALID_FIELD, ptr, "%s must be a decimal string or number",
                            name);
    }
    if (money_parse(s, n, exponent, out) || *out < 0)
        return error_set_at(err, ERR_INVALID_FIELD, ptr,
                            "%s must be a non-negative decimal with at most %d fraction digits",
                            name, exponent);
    *present = true;
    return 0;
}

int h_product_put(struct req *req, struct resp *resp, struct error *err)
{
    const char *ext, *name, *cat, *cur;
    size_t ext_len, name_len, cat_len, cur_len;
    struct product_input in;
    struct product p;
    bool created;
    int rc = -1;
    json_t *j = NULL;

    if (path_product_id(req, 1, &ext, &ext_len, err))
        return -1;
    if (!(j = body_json_object(req, err)))
        return -1;
    if (json_get_string(j, "name", NAME_MAX_BYTES, &name, &name_len, err) ||
        json_get_string(j, "category", PRODUCT_ID_MAX_BYTES, &cat, &cat_len, err) ||
        json_get_string(j, "currency", 3, &cur, &cur_len, err))
        goto out;
    if (!name || name_len == 0) {
        error_set_at(err, ERR_MISSING_FIELD, "/name", "name is required (1-%d bytes)",
                     NAME_MAX_BYTES);
        goto out;
    }
    int exp = cur ? currency_exponent(cur, cur_len) : -1;
    if (exp < 0) {
        error_set_at(err, cur ? ERR_INVALID_FIELD : ERR_MISSING_FIELD, "/currency",
                     "currency must be an ISO 4217 code such as \"EUR\"");
        goto out;
    }
    if (cat && !catalog_ext_id_valid(cat, cat_len, PRODUCT_ID_MAX_BYTES)) {
        error_set_at(err, ERR_INVALID_FIELD, "/category",
                     "category must be 1-%d bytes without control characters",
                     PRODUCT_ID_MAX_BYTES);
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.name = name;
    in.name_len = name_len;
    in.category = cat;
    in.category_len = cat_len;
    memcpy(in.currency, cur, 3);
    in.currency[3] = '\0';
    if (json_get_money(j, "price", exp, &in.has_price, &in.price_minor, err))
        goto out;
    if (catalog_product_put(req->db, req->tenant.id, ext, ext_len, &in, &created, &p, err))
        goto out;
    resp_json(resp, created ? 201 : 200);
    if (created)
        resp_header(resp, "Location", "%.*s", (int)req->path.len, req->path.ptr);
    catalog_product_json(&p, &resp->body);
    rc = 0;
out:
    json_decref(j);
    return rc;
}

int h_product_get(struct req *req, struct resp *resp, struct error *err)
{
    const char *ext;
    size_t ext_len;
    struct product p;
    if (path_product_id(req, 1, &ext, &ext_len, err) ||
        catalog_product_get(req->db, req->tenant.id, ext, ext_len, &p, err))
        return -1;
    resp_json(resp, 200);
    resp_header(resp, "Cache-Control", "no-store");
    catalog_product_json(&p, &resp->body);
    return 0;
}
