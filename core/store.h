/*
 * store.h: the raw batch-insert path for orders, shared by the ingest
 * endpoint and gen_dataset --load (one code path, so the loader's rate is the
 * ceiling the endpoint is measured against).
 *
 * A batch is one BEGIN IMMEDIATE transaction bounded by the caller in rows
 * and milliseconds. Inside it, store_order() resolves the customer (upserted
 * once per batch: name and email are taken from the newest order), resolves
 * every product by the tenant's ext id, registers the order id in order_keys
 * (the per-tenant unique index; a second sighting is a duplicate, never a
 * second order), routes the row to its month partition, and inserts the
 * order and its items with cached statements.
 *
 * Values in struct order are validated by the caller (core/order.c for
 * ingest, the generator for --load); the store checks only what needs the
 * database: the order id already present, unknown products.
 *
 * Implemented in core/store_orders.c.
 */
#ifndef CORE_STORE_H
#define CORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "str.h"

enum order_status {
    ORDER_PENDING = 0,
    ORDER_PAID = 1,
    ORDER_SHIPPED = 2,
    ORDER_DELIVERED = 3,
    ORDER_CANCELLED = 4,
    ORDER_REFUNDED = 5,
};

struct order_item {
    struct str product_id; /* client's product id */
    int64_t quantity;      /* > 0 */
    int64_t unit_price_minor;
};

struct order {
    struct str order_id;       /* client's order id */
    struct str customer_id;    /* client's customer id */
    struct str customer_name;  /* UTF-8 */
    struct str customer_email;
    int status;                /* enum order_status */
    char currency[4];          /* ISO 4217, NUL-terminated */
    int64_t total_minor;
    int64_t created_at;        /* epoch seconds, UTC */
    const struct order_item *items;
    size_t nitems;
};

enum store_outcome {
    STORE_INSERTED = 0,
    STORE_DUPLICATE = 1,       /* the tenant already has this order id */
    STORE_REJECTED = 2,        /* row-level failure, err says why (e.g. unknown product) */
    STORE_REPEATED = 3,        /* the id was registered by this same ingest run (see
                                  store_batch_set_ingest): a duplicate inside one request */
};

struct store_batch;

/* Start a batch (BEGIN IMMEDIATE) for tenant_id. OUT *out, or NULL and err. */
int store_batch_begin(struct db *db, int64_t tenant_id, struct store_batch **out,
                      struct error *err);
/*
 * Store one order. Returns 0 with *outcome set (a REJECTED row fills err and
 * leaves the batch usable), or -1 when the batch itself failed (database
 * error): the caller must store_batch_abort().
 */
int store_order(struct store_batch *b, const struct order *o, enum store_outcome *outcome,
                struct error *err);
/*
 * Tag the order ids this batch registers with an ingest run (order_keys.
 * ingest_id), so a repeat of an id inside the same run is told apart from an
 * order already present before it (STORE_REPEATED vs STORE_DUPLICATE).
 * 0 (the default, as for the direct loader) tags nothing.
 */
void store_batch_set_ingest(struct store_batch *b, int64_t ingest_id);
/*
 * A product-id cache that outlives batches (one per ingest run or load):
 * found products are remembered, so a run looks each product up once, not
 * once per batch. Optional; bounded; not shared between processes.
 */
struct store_cache;
struct store_cache *store_cache_new(void);
void store_cache_free(struct store_cache *c);
/* Use c for this batch (it is reset when the batch's tenant differs). */
void store_batch_set_cache(struct store_batch *b, struct store_cache *c);
/* Rows stored in this batch so far (inserted + duplicate + rejected). */
size_t store_batch_rows(const struct store_batch *b);
/* COMMIT and free the batch. On failure the batch is rolled back and freed. */
int store_batch_commit(struct store_batch *b, struct error *err);
/* ROLLBACK and free. NULL is a no-op. */
void store_batch_abort(struct store_batch *b);

/* Status name <-> enum ("paid" <-> ORDER_PAID); -1 / NULL when unknown. */
int order_status_parse(const char *s, size_t n);
const char *order_status_name(int status);

#endif
