/*
 * catalog.h: products as the stock and price paths see them.
 *
 * A product is addressed by the client's id (ext_id, unique per tenant) and
 * carries a name, an optional category (the client's category id, created on
 * first use), its currency and the current accepted price in minor units.
 * catalog_product_put() is an upsert (PUT semantics: the body is the whole
 * product; an absent price keeps the current one unless the currency
 * changes, which clears it, since a price in another unit is meaningless).
 * The product's stock level (quantity, version) is read alongside for GET.
 *
 * Client ids are 1..PRODUCT_ID_MAX_BYTES bytes of UTF-8 without control
 * characters; catalog_ext_id_valid() is the one check.
 */
#ifndef CORE_CATALOG_H
#define CORE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "buf.h"
#include "db.h"
#include "error.h"

struct product {
    int64_t id; /* internal rowid */
    char ext_id[PRODUCT_ID_MAX_BYTES + 1];
    char name[NAME_MAX_BYTES + 1];
    char category[PRODUCT_ID_MAX_BYTES + 1]; /* "" when none */
    char currency[4];
    bool has_price;
    int64_t price_minor;
    int64_t price_at; /* seconds; 0 when the price was set by hand (no observation) */
    int64_t created_at, updated_at;
    /* stock_levels; zero when the product never had a stock event */
    int64_t quantity;
    int64_t version;
    bool has_stock_time;
    int64_t last_event_time_ms;
};

struct product_input {
    const char *name;
    size_t name_len;
    const char *category; /* NULL: none */
    size_t category_len;
    char currency[4];
    bool has_price;
    int64_t price_minor;
};

/* True when s is an acceptable client id (product, event, category). */
bool catalog_ext_id_valid(const char *s, size_t n, size_t max);

/*
 * Create or replace the product ext_id of tenant_id (one write transaction).
 * OUT *created: true if it did not exist; OUT p: the stored product.
 */
int catalog_product_put(struct db *db, int64_t tenant_id, const char *ext_id, size_t ext_len,
                        const struct product_input *in, bool *created, struct product *p,
                        struct error *err);
/* The product and its stock level; ERR_PRODUCT_NOT_FOUND if none. */
int catalog_product_get(struct db *db, int64_t tenant_id, const char *ext_id, size_t ext_len,
                        struct product *p, struct error *err);
/*
 * Resolve a client id to the rowid and currency (inside or outside a
 * transaction). Returns 0 and *id > 0, 0 and *id == 0 when unknown, -1 on a
 * database error.
 */
int catalog_product_lookup(struct db *db, int64_t tenant_id, const char *ext_id, size_t ext_len,
                           int64_t *id, char currency[4], struct error *err);
/* Append the product as a JSON object. */
void catalog_product_json(const struct product *p, struct buf *out);

#endif
