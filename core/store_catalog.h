/*
 * store_catalog.h: raw batch inserts for everything but orders: categories,
 * products, customers, stock levels, price history and stock events. Used by
 * gen_dataset --load (orders go through store.h, the ingest path).
 *
 * A loader is bound to one tenant and one connection. The caller opens a
 * transaction with store_cat_begin (BEGIN IMMEDIATE), inserts rows, and commits
 * every few tens of thousands of rows; the loader does no validation beyond
 * what the database enforces (the generator's values are valid by
 * construction) and never reads before it writes, so every insert is one
 * bind/step/reset of a cached statement:
 *   - fixed tables through db_stmt() and the SQL table in store_catalog.c;
 *   - month partitions (price_history_pYYYYMM, stock_events_pYYYYMM) through
 *     statements prepared once per month per loader, found by a probe of the
 *     last-used month first (rows arrive in time order per product, so the hit
 *     rate is high), created with partition_ensure inside the transaction.
 *     A rollback may drop a partition created in it, so store_cat_abort
 *     finalizes the partition statements; a commit keeps them.
 * Stock events also register their id in stock_event_keys, as the stock
 * endpoint does, so a later bulk update with the same event id is a replay.
 *
 * Rows are inserted in the order given; for bulk loads feed each table in
 * (product, time) order and the partition indexes grow at their right edge.
 */
#ifndef CORE_STORE_CATALOG_H
#define CORE_STORE_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "str.h"

struct store_cat;

/* A loader for tenant_id on db. OUT *out (NULL on failure). */
int store_cat_open(struct db *db, int64_t tenant_id, struct store_cat **out, struct error *err);
/* Finalize the loader's statements (rolls back an open transaction). NULL is a no-op. */
void store_cat_free(struct store_cat *c);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK around a batch of inserts. */
int store_cat_begin(struct store_cat *c, struct error *err);
int store_cat_commit(struct store_cat *c, struct error *err);
void store_cat_abort(struct store_cat *c);
/* Rows inserted since store_cat_begin. */
size_t store_cat_rows(const struct store_cat *c);

struct store_cat_category {
    struct str ext_id, name;
    int64_t parent_id; /* categories.id, 0 = top level */
};
/* OUT *id: the new row id. */
int store_cat_category(struct store_cat *c, const struct store_cat_category *v, int64_t *id,
                     struct error *err);

struct store_cat_product {
    struct str ext_id, name;
    int64_t category_id;  /* 0 = none */
    const char *currency; /* 3 letters */
    int64_t price_minor;  /* < 0: unknown (NULL) */
    int64_t price_at;
    int64_t created_at, updated_at;
};
int store_cat_product(struct store_cat *c, const struct store_cat_product *v, int64_t *id,
                    struct error *err);

struct store_cat_customer {
    struct str ext_id, name, email;
    int64_t created_at, updated_at;
};
int store_cat_customer(struct store_cat *c, const struct store_cat_customer *v, int64_t *id,
                     struct error *err);

struct store_cat_stock_level {
    int64_t product_id;
    int64_t quantity, version;
    int64_t last_event_time_ms; /* < 0: none (NULL) */
    int64_t updated_at;
};
int store_cat_stock_level(struct store_cat *c, const struct store_cat_stock_level *v, struct error *err);

struct store_cat_price {
    int64_t product_id;
    int64_t price_minor;
    const char *currency;
    int64_t observed_at; /* seconds: the partition key */
    const char *source;  /* may be NULL */
};
int store_cat_price(struct store_cat *c, const struct store_cat_price *v, struct error *err);

struct store_cat_stock_event {
    int64_t product_id;
    struct str event_id;
    int kind;            /* 0 delta, 1 absolute */
    int mode;            /* 0 merge, 1 last_write_wins, 2 reject */
    int64_t delta, quantity_after, version_after;
    int64_t event_time_ms; /* the partition key is event_time_ms / 1000 */
    const char *source;  /* may be NULL */
    const char *metadata; /* compact JSON or NULL */
    int64_t applied_at_ms;
};
int store_cat_stock_event(struct store_cat *c, const struct store_cat_stock_event *v, struct error *err);

#endif
