/*
 * test_ingest_store.c: the batch-insert contract of core/store_orders.c
 * against a real database in a temporary directory: insert, duplicate skip,
 * repeat inside one run, unknown product, month routing, customer upsert,
 * the per-worker product cache.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "partition.h"
#include "store.h"
#include "tenant.h"
#include "ingest_fixture.h"

static void setup(void)
{
    ingest_fixture_open("store");
}

static void teardown(void)
{
    ingest_fixture_close();
}

static struct order mk(const char *id, const char *cust, const char *name, int64_t at,
                       const struct order_item *items, size_t n)
{
    struct order o = {0};
    o.order_id = str_from(id);
    o.customer_id = str_from(cust);
    o.customer_name = str_from(name);
    o.customer_email = str_from("x@example.com");
    o.status = ORDER_PAID;
    memcpy(o.currency, "EUR", 4);
    o.total_minor = 0;
    for (size_t i = 0; i < n; i++)
        o.total_minor += items[i].quantity * items[i].unit_price_minor;
    o.created_at = at;
    o.items = items;
    o.nitems = n;
    return o;
}

static int64_t q(const char *sql)
{
    int64_t v = -1;
    struct error err;
    cr_assert_eq(db_query_i64(db, sql, &v, &err), 0, "%s: %s", sql, err.detail);
    return v;
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, inserts_routes_by_month_and_skips_duplicates)
{
    struct error err;
    struct store_batch *b;
    enum store_outcome oc;
    struct order_item it[2] = {{STR_LIT("P-1"), 2, 1999}, {STR_LIT("P-2"), 1, 500}};
    struct order a = mk("O-1", "C-1", "Ann", 1740832496 /* 2025-03 */, it, 2);
    struct order c = mk("O-2", "C-1", "Ann", 1743510896 /* 2025-04 */, it, 1);

    cr_assert_eq(store_batch_begin(db, tenant, &b, &err), 0, "%s", err.detail);
    cr_assert_eq(store_order(b, &a, &oc, &err), 0, "%s", err.detail);
    cr_assert_eq(oc, STORE_INSERTED);
    cr_assert_eq(store_order(b, &c, &oc, &err), 0, "%s", err.detail);
    cr_assert_eq(oc, STORE_INSERTED);
    cr_assert_eq(store_order(b, &a, &oc, &err), 0);
    cr_assert_eq(oc, STORE_DUPLICATE, "no ingest run: a repeat is 'already present'");
    cr_assert_eq(store_batch_rows(b), 3);
    cr_assert_eq(store_batch_commit(b, &err), 0, "%s", err.detail);

    cr_assert_eq(q("SELECT count(*) FROM orders_p202503"), 1);
    cr_assert_eq(q("SELECT count(*) FROM orders_p202504"), 1);
    cr_assert_eq(q("SELECT count(*) FROM order_items_p202503"), 2);
    cr_assert_eq(q("SELECT total_minor FROM orders_p202503"), 4498);
    cr_assert_eq(q("SELECT count(*) FROM customers"), 1, "one customer for both orders");
    cr_assert_eq(q("SELECT count(*) FROM customers_fts WHERE customers_fts MATCH 'Ann'"), 1);

    /* A second batch: the order is already present. */
    cr_assert_eq(store_batch_begin(db, tenant, &b, &err), 0);
    cr_assert_eq(store_order(b, &a, &oc, &err), 0);
    cr_assert_eq(oc, STORE_DUPLICATE);
    cr_assert_eq(store_batch_commit(b, &err), 0);
    cr_assert_eq(q("SELECT count(*) FROM order_keys"), 2);
}

Test(store, repeat_inside_one_run_and_unknown_product)
{
    struct error err;
    struct store_batch *b;
    enum store_outcome oc;
    struct order_item ok[1] = {{STR_LIT("P-1"), 1, 100}};
    struct order_item bad[2] = {{STR_LIT("P-1"), 1, 100}, {STR_LIT("P-404"), 1, 100}};
    struct order a = mk("O-1", "C-1", "Ann", 1740832496, ok, 1);
    struct order u = mk("O-9", "C-2", "Bob", 1740832496, bad, 2);

    cr_assert_eq(store_batch_begin(db, tenant, &b, &err), 0);
    store_batch_set_ingest(b, 42);
    cr_assert_eq(store_order(b, &a, &oc, &err), 0);
    cr_assert_eq(oc, STORE_INSERTED);
    cr_assert_eq(store_order(b, &u, &oc, &err), 0);
    cr_assert_eq(oc, STORE_REJECTED);
    cr_assert_eq(err.code, ERR_UNKNOWN_PRODUCT);
    cr_assert_str_eq(err.pointer, "/items/1/product_id");
    cr_assert_eq(store_batch_commit(b, &err), 0);

    cr_assert_eq(store_batch_begin(db, tenant, &b, &err), 0);
    store_batch_set_ingest(b, 42);
    cr_assert_eq(store_order(b, &a, &oc, &err), 0);
    cr_assert_eq(oc, STORE_REPEATED, "same run, later batch");
    cr_assert_eq(err.code, ERR_DUPLICATE_IN_REQUEST);
    cr_assert_eq(store_batch_commit(b, &err), 0);

    cr_assert_eq(store_batch_begin(db, tenant, &b, &err), 0);
    store_batch_set_ingest(b, 43);
    cr_assert_eq(store_order(b, &a, &oc, &err), 0);
    cr_assert_eq(oc, STORE_DUPLICATE, "another run: already present");
    store_batch_abort(b);
    cr_assert_eq(q("SELECT count(*) FROM order_keys WHERE ext_id = 'O-9'"), 0,
                 "a rejected row writes nothing");
    cr_assert_eq(q("SELECT count(*) FROM customers WHERE ext_id = 'C-2'"), 0);
}

Test(store, customer_takes_newest_values_once_per_batch)
{
    struct error err;
    struct store_batch *b;
    enum store_outcome oc;
    struct order_item it[1] = {{STR_LIT("P-1"), 1, 100}};
    struct order o1 = mk("O-1", "C-1", "Old Name", 1740000000, it, 1);
    struct order o2 = mk("O-2", "C-1", "New Name", 1740000100, it, 1);
    struct order o3 = mk("O-3", "C-1", "Older Still", 1730000000, it, 1);

    cr_assert_eq(store_batch_begin(db, tenant, &b, &err), 0);
    cr_assert_eq(store_order(b, &o1, &oc, &err), 0);
    cr_assert_eq(store_order(b, &o2, &oc, &err), 0);
    cr_assert_eq(store_order(b, &o3, &oc, &err), 0);
    cr_assert_eq(store_batch_commit(b, &err), 0, "%s", err.detail);
    cr_assert_eq(q("SELECT count(*) FROM customers WHERE name = 'New Name'"), 1);
    cr_assert_eq(q("SELECT count(*) FROM customers_fts WHERE customers_fts MATCH 'New Name'"), 1);
    cr_assert_eq(q("SELECT count(*) FROM customers_fts WHERE customers_fts MATCH 'Old Name'"), 0);
}

/* Orders O-<pass>-<i> with one item P-<i>, i in [from, to), in one batch through cache c. */
static void store_range(int64_t t, struct store_cache *c, int pass, int from, int to)
{
    struct error err;
    struct store_batch *b;
    enum store_outcome oc;
    char oid[32], pid[32];
    cr_assert_eq(store_batch_begin(db, t, &b, &err), 0, "%s", err.detail);
    store_batch_set_cache(b, c);
    for (int i = from; i < to; i++) {
        snprintf(oid, sizeof(oid), "O-%d-%05d", pass, i);
        snprintf(pid, sizeof(pid), "P-%05d", i);
        struct order_item it[1] = {{str_from(pid), 1, 100}};
        struct order o = mk(oid, "C-1", "Ann", 1740832496, it, 1);
        cr_assert_eq(store_order(b, &o, &oc, &err), 0, "%s", err.detail);
        cr_assert_eq(oc, STORE_INSERTED, "%s: %s", oid, err.detail);
    }
    cr_assert_eq(store_batch_commit(b, &err), 0, "%s", err.detail);
}

/*
 * The product cache kept across batches: 3000 products (the table grows
 * from 1024 slots to 4096) resolve to their own ids on a second pass served
 * from the cache, and the same cache handed a batch of another tenant with
 * the same ext ids resolves that tenant's products, not the first's.
 */
Test(store, product_cache_across_batches_and_tenants)
{
    struct error err;
    struct tenant t2;
    char key[API_KEY_LEN + 1], sql[256];
    cr_assert_eq(tenant_create(db, "T2", &t2, key, &err), 0, "%s", err.detail);
    for (int64_t t = 0; t < 2; t++) {
        cr_assert_eq(db_exec(db, "BEGIN", &err), 0);
        for (int i = 3; i < 3003; i++) {
            snprintf(sql, sizeof(sql),
                     "INSERT INTO products(tenant_id, ext_id, name, currency, created_at, "
                     "updated_at) VALUES (%lld, 'P-%05d', 'p', 'EUR', 0, 0)",
                     (long long)(t ? t2.id : tenant), i);
            cr_assert_eq(db_exec(db, sql, &err), 0, "%s", err.detail);
        }
        cr_assert_eq(db_exec(db, "COMMIT", &err), 0);
    }
    struct store_cache *c = store_cache_new();
    store_range(tenant, c, 1, 3, 3003); /* looked up, cached */
    store_range(tenant, c, 2, 3, 3003); /* from the cache */
    store_range(t2.id, c, 3, 3, 1503);  /* another tenant, the same ext ids */
    store_range(tenant, c, 4, 3, 1503); /* back: looked up again */
    store_cache_free(c);
    cr_assert_eq(q("SELECT count(*) FROM order_items_p202503"), 9000);
    cr_assert_eq(q("SELECT count(*) FROM order_items_p202503 i "
                   "JOIN orders_p202503 o ON o.id = i.order_id "
                   "JOIN products p ON p.id = i.product_id "
                   "WHERE p.tenant_id = o.tenant_id AND i.tenant_id = o.tenant_id "
                   "AND substr(p.ext_id, 3) = substr(o.ext_id, 5)"),
                 9000, "every item names its own tenant's product");
}

Test(store, status_names_round_trip)
{
    for (int s = ORDER_PENDING; s <= ORDER_REFUNDED; s++) {
        const char *n = order_status_name(s);
        cr_assert(n);
        cr_assert_eq(order_status_parse(n, strlen(n)), s);
    }
    cr_assert_eq(order_status_parse("paidx", 5), -1);
    cr_assert_null(order_status_name(9));
}
