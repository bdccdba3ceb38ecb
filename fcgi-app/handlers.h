/*
 * handlers.h: every endpoint handler, one h_<group>.c file per group.
 *
 * A handler parses its input, calls core, and writes the answer (STYLE
 * rule 2): no SQL and no business rules here. It returns 0 after filling
 * resp, or -1 with err set (the router turns that into problem+json).
 */
#ifndef FCGI_APP_HANDLERS_H
#define FCGI_APP_HANDLERS_H

#include "request.h"
#include "response.h"
#include "router.h"

/* h_health.c */
int h_health(struct req *req, struct resp *resp, struct error *err);
/* h_metrics.c */
int h_metrics(struct req *req, struct resp *resp, struct error *err);
/* h_tenants.c */
int h_tenant_create(struct req *req, struct resp *resp, struct error *err);
int h_tenant_get(struct req *req, struct resp *resp, struct error *err);
int h_tenant_keys_list(struct req *req, struct resp *resp, struct error *err);
int h_tenant_key_create(struct req *req, struct resp *resp, struct error *err);
int h_tenant_key_revoke(struct req *req, struct resp *resp, struct error *err);
/* h_ingest.c */
int h_ingest_orders(struct req *req, struct resp *resp, struct error *err);
int h_ingest_admit(struct req *req, struct resp *resp, struct error *err);
int h_ingest_get(struct req *req, struct resp *resp, struct error *err);
int h_ingest_errors(struct req *req, struct resp *resp, struct error *err);
/* h_uploads.c (tus 1.0) */
int h_uploads_options(struct req *req, struct resp *resp, struct error *err);
int h_upload_create(struct req *req, struct resp *resp, struct error *err);
int h_upload_head(struct req *req, struct resp *resp, struct error *err);
int h_upload_patch(struct req *req, struct resp *resp, struct error *err);
int h_upload_delete(struct req *req, struct resp *resp, struct error *err);

/* h_debug.c (admin only, off unless CARTOGRAPH_DEBUG_ROUTES=1) */
int h_debug_stream(struct req *req, struct resp *resp, struct error *err);
int h_debug_upload(struct req *req, struct resp *resp, struct error *err);
int h_debug_write_hold(struct req *req, struct resp *resp, struct error *err);

/* h_search.c */
int h_order_search(struct req *req, struct resp *resp, struct error *err);

/* Helpers shared by handlers (handlers.c). */
#include <jansson.h>

/* h_products.c, h_stock.c, h_price.c, h_settings.c (stock and prices) */
int h_product_put(struct req *req, struct resp *resp, struct error *err);
int h_product_get(struct req *req, struct resp *resp, struct error *err);
int h_stock_bulk_update(struct req *req, struct resp *resp, struct error *err);
int h_price_event(struct req *req, struct resp *resp, struct error *err);
int h_price_review(struct req *req, struct resp *resp, struct error *err);
int h_price_anomalies_product(struct req *req, struct resp *resp, struct error *err);
int h_price_anomalies_tenant(struct req *req, struct resp *resp, struct error *err);
int h_settings_get(struct req *req, struct resp *resp, struct error *err);
int h_settings_patch(struct req *req, struct resp *resp, struct error *err);
/* Path parameter i as a percent-decoded, valid client product id (arena). */
int path_product_id(struct req *req, unsigned i, const char **out, size_t *len,
                    struct error *err);
/* A money member (decimal string or number) in minor units; *present false if absent. */
int json_get_money(json_t *obj, const char *name, int exponent, bool *present, int64_t *out,
                   struct error *err);
/*
 * Read the body (≤ route cap) and parse it as one JSON object.
 * Returns a new reference or NULL with err (invalid_json with line/column,
 * invalid_utf8, empty_body, body_too_large, or "must be an object").
 */
json_t *body_json_object(struct req *req, struct error *err);
/* The same, also writing the request's idempotency fingerprint into fp. */
json_t *body_json_object_fp(struct req *req, uint8_t fp[SHA256_LEN], struct error *err);
/* A string member of at most max bytes: NULL if absent; -1 on wrong type/size. */
int json_get_string(json_t *obj, const char *name, size_t max, const char **out, size_t *len,
                    struct error *err);

#endif
