/*
 * routes.c: the API in one table (STYLE rule 14).
 *
 * Order matters only between patterns that could match the same path; the
 * first match of path and method wins. Route names label metrics and logs.
 */
#include "../core/filter.h"
#include "handlers.h"
#include "router.h"

#define KiB 1024ULL
#define MiB (1024ULL * KiB)

static const char *const NO_PARAMS[] = {NULL};
static const char *const DEBUG_STREAM_PARAMS[] = {"bytes", NULL};
static const char *const DEBUG_UPLOAD_PARAMS[] = {"sleep_ms", NULL};
static const char *const DEBUG_HOLD_PARAMS[] = {"ms", NULL};
static const char *const STOCK_PARAMS[] = {"mode", "allow_negative", NULL};
static const char *const ANOMALY_PARAMS[] = {"since", "until", "review_status", "cursor",
                                               "limit", "follow", "order", NULL};

const struct route ROUTES[] = {
    {"GET", "/api/v1/health", h_health, 0, 0, NO_PARAMS, "health", NULL},
    {"GET", "/metrics", h_metrics, 0, 0, NO_PARAMS, "metrics", NULL},

    {"POST", "/api/v1/tenants", h_tenant_create, ROUTE_ADMIN | ROUTE_WRITE | ROUTE_IDEMPOTENT,
     16 * KiB, NO_PARAMS, "tenant_create", NULL},
    {"GET", "/api/v1/tenants/{tenant}", h_tenant_get, ROUTE_AUTH | ROUTE_TENANT, 0, NO_PARAMS,
     "tenant_get", NULL},
    {"GET", "/api/v1/tenants/{tenant}/keys", h_tenant_keys_list, ROUTE_AUTH | ROUTE_TENANT, 0,
     NO_PARAMS, "tenant_keys_list", NULL},
    {"POST", "/api/v1/tenants/{tenant}/keys", h_tenant_key_create,
     ROUTE_AUTH | ROUTE_TENANT | ROUTE_WRITE, 16 * KiB, NO_PARAMS, "tenant_key_create", NULL},
    {"DELETE", "/api/v1/tenants/{tenant}/keys/{key}", h_tenant_key_revoke,
     ROUTE_AUTH | ROUTE_TENANT | ROUTE_WRITE, 0, NO_PARAMS, "tenant_key_revoke", NULL},

    /* Bulk ingest (h_ingest.c) and resumable uploads (h_uploads.c). */
    {"POST", "/api/v1/ingest/orders", h_ingest_orders,
     ROUTE_AUTH | ROUTE_IDEMPOTENT | ROUTE_STREAM_BODY | ROUTE_WRITE, INGEST_BODY_MAX_BYTES,
     NO_PARAMS, "ingest_orders", h_ingest_admit},
    {"GET", "/api/v1/ingest/orders/{run}", h_ingest_get, ROUTE_AUTH, 0, NO_PARAMS, "ingest_get",
     NULL},
    {"GET", "/api/v1/ingest/orders/{run}/errors", h_ingest_errors, ROUTE_AUTH, 0, NO_PARAMS,
     "ingest_errors", NULL},
    {"OPTIONS", "/api/v1/ingest/uploads", h_uploads_options, 0, 0, NO_PARAMS, "upload_options",
     NULL},
    {"OPTIONS", "/api/v1/ingest/uploads/{upload}", h_uploads_options, 0, 0, NO_PARAMS,
     "upload_options", NULL},
    {"POST", "/api/v1/ingest/uploads", h_upload_create,
     ROUTE_AUTH | ROUTE_STREAM_BODY | ROUTE_WRITE, INGEST_BODY_MAX_BYTES, NO_PARAMS,
     "upload_create", h_ingest_admit},
    {"GET", "/api/v1/ingest/uploads/{upload}", h_upload_head, ROUTE_AUTH, 0, NO_PARAMS,
     "upload_head", NULL},
    /* Appends to an upload already admitted are not refused (tus clients do not retry 429). */
    {"PATCH", "/api/v1/ingest/uploads/{upload}", h_upload_patch,
     ROUTE_AUTH | ROUTE_STREAM_BODY | ROUTE_WRITE, INGEST_BODY_MAX_BYTES, NO_PARAMS,
     "upload_patch", NULL},
    {"DELETE", "/api/v1/ingest/uploads/{upload}", h_upload_delete, ROUTE_AUTH | ROUTE_WRITE, 0,
     NO_PARAMS, "upload_delete", NULL},

    {"PUT", "/api/v1/tenants/{tenant}/products/{product}", h_product_put,
     ROUTE_AUTH | ROUTE_TENANT | ROUTE_WRITE | ROUTE_IDEMPOTENT, 64 * KiB, NO_PARAMS,
     "product_put", NULL},
    {"GET", "/api/v1/tenants/{tenant}/products/{product}", h_product_get,
     ROUTE_AUTH | ROUTE_TENANT, 0, NO_PARAMS, "product_get", NULL},
    {"PUT", "/api/v1/tenants/{tenant}/stock/bulk_update", h_stock_bulk_update,
     ROUTE_AUTH | ROUTE_TENANT | ROUTE_WRITE | ROUTE_IDEMPOTENT | ROUTE_STREAM_BODY,
     64 * MiB, STOCK_PARAMS, "stock_bulk_update", NULL},
    /* price_event: Idempotency-Key handled inside its one transaction (core/price.h) */
    {"POST", "/api/v1/tenants/{tenant}/products/{product}/price-event", h_price_event,
     ROUTE_AUTH | ROUTE_TENANT | ROUTE_WRITE, 64 * KiB, NO_PARAMS, "price_event", NULL},
    {"POST", "/api/v1/tenants/{tenant}/products/{product}/price-anomalies/{event}/review",
     h_price_review, ROUTE_AUTH | ROUTE_TENANT | ROUTE_WRITE | ROUTE_IDEMPOTENT, 16 * KiB,
     NO_PARAMS, "price_review", NULL},
    {"GET", "/api/v1/tenants/{tenant}/products/{product}/price-anomalies",
     h_price_anomalies_product, ROUTE_AUTH | ROUTE_TENANT, 0, ANOMALY_PARAMS,
     "price_anomalies_product", NULL},
    {"GET", "/api/v1/tenants/{tenant}/price-anomalies", h_price_anomalies_tenant,
     ROUTE_AUTH | ROUTE_TENANT, 0, ANOMALY_PARAMS, "price_anomalies", NULL},
    {"GET", "/api/v1/tenants/{tenant}/settings", h_settings_get, ROUTE_AUTH | ROUTE_TENANT, 0,
     NO_PARAMS, "settings_get", NULL},
    {"PATCH", "/api/v1/tenants/{tenant}/settings", h_settings_patch,
     ROUTE_AUTH | ROUTE_TENANT | ROUTE_WRITE, 16 * KiB, NO_PARAMS, "settings_patch", NULL},

    {"GET", "/api/v1/_debug/stream", h_debug_stream, ROUTE_ADMIN, 0, DEBUG_STREAM_PARAMS,
     "debug_stream", NULL},
    {"POST", "/api/v1/_debug/upload", h_debug_upload, ROUTE_ADMIN | ROUTE_STREAM_BODY,
     4 * 1024 * MiB, DEBUG_UPLOAD_PARAMS, "debug_upload", NULL},
    {"POST", "/api/v1/_debug/write-hold", h_debug_write_hold, ROUTE_ADMIN, 0, DEBUG_HOLD_PARAMS,
     "debug_write_hold", NULL},

    {"GET", "/api/v1/tenants/{tenant}/orders/search", h_order_search, ROUTE_AUTH | ROUTE_TENANT,
     0, FILTER_PARAMS, "order_search", NULL},
};

const size_t ROUTES_COUNT = sizeof(ROUTES) / sizeof(ROUTES[0]);

static const char *names[sizeof(ROUTES) / sizeof(ROUTES[0]) + 1];
static const char *methods[sizeof(ROUTES) / sizeof(ROUTES[0]) + 1];
const char *const *ROUTE_NAMES = names;
const char *const *ROUTE_METHODS = methods;

void routes_init(void)
{
    for (size_t i = 0; i < ROUTES_COUNT; i++) {
        names[i] = ROUTES[i].name;
        methods[i] = ROUTES[i].method;
    }
    names[ROUTES_COUNT] = "unmatched";
    methods[ROUTES_COUNT] = "any";
}
