/*
 * test_gen_load.c: core/store_catalog.c, the loader behind gen_dataset --load:
 * rows land in the right tables and month partitions, stock events register
 * their ids, a rolled-back batch that created a month leaves no stale
 * statement behind, and two loaders (two tenants) never see each other's rows.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "partition.h"
#include "store_catalog.h"
#include "tenant.h"
#include "timefmt.h"
#include "scratch.h"

static char dir[SCRATCH_DIR_MAX];
static char path[SCRATCH_PATH_MAX];
static struct db *db;

static void setup(void)
{
    struct error err;
    scratch_make(dir, path, "gen-load");
    partition_cache_reset();
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
}

static void teardown(void)
{
    db_close(db);
    scratch_remove(dir);
}

TestSuite(store_cat, .init = setup, .fini = teardown);

static int64_t count(const char *sql)
{
    int64_t v;
    struct error err;
    cr_assert_eq(db_query_i64(db, sql, &v, &err), 0, "%s: %s", sql, err.detail);
    return v;
}

static int64_t new_tenant(const char *name)
{
    struct tenant t;
    char key[API_KEY_LEN + 1];
    struct error err;
    cr_assert_eq(tenant_create(db, name, &t, key, &err), 0, "%s", err.detail);
    return t.id;
}

static int64_t product(struct store_cat *c, const char *ext)
{
    int64_t id;
    struct error err;
    struct store_cat_product p = {str_from(ext), STR_LIT("Mug"), 0, "EUR", 999, 0, 1, 1};
    cr_assert_eq(store_cat_product(c, &p, &id, &err), 0, "%s", err.detail);
    return id;
}

Test(store_cat, rows_reach_their_tables_and_month_partitions)
{
    struct store_cat *c;
    struct error err;
    int64_t tid = new_tenant("A");
    cr_assert_eq(store_cat_open(db, tid, &c, &err), 0);
    cr_assert_eq(store_cat_begin(c, &err), 0);
    int64_t cat_id, cust_id;
    struct store_cat_category cat = {STR_LIT("CAT-001"), STR_LIT("Café & Tea"), 0};
    cr_assert_eq(store_cat_category(c, &cat, &cat_id, &err), 0, "%s", err.detail);
    int64_t pid = product(c, "P-0000001");
    struct store_cat_customer cu = {STR_LIT("C-000001"), STR_LIT("Zoë Brandt"),
                                    STR_LIT("zoe.brandt1@example.com"), 5, 5};
    cr_assert_eq(store_cat_customer(c, &cu, &cust_id, &err), 0, "%s", err.detail);
    struct store_cat_stock_level lv = {pid, 7, 2, 1000, 1};
    cr_assert_eq(store_cat_stock_level(c, &lv, &err), 0, "%s", err.detail);
    int64_t jan = days_from_civil(2025, 1, 15) * 86400, feb = days_from_civil(2025, 2, 3) * 86400;
    struct store_cat_price p1 = {pid, 999, "EUR", jan, "feed"};
    struct store_cat_price p2 = {pid, 1999, "EUR", feb, NULL};
    struct store_cat_price p3 = {pid, 1099, "EUR", jan + 60, "feed"};
    cr_assert_eq(store_cat_price(c, &p1, &err), 0, "%s", err.detail);
    cr_assert_eq(store_cat_price(c, &p2, &err), 0, "%s", err.detail);
    cr_assert_eq(store_cat_price(c, &p3, &err), 0, "%s", err.detail);
    struct store_cat_stock_event ev = {pid, STR_LIT("SE-000000001"), 1, 0, 9, 9, 1,
                                       feb * 1000 + 5, "import", "{\"reason\":\"initial\"}",
                                       feb * 1000};
    cr_assert_eq(store_cat_stock_event(c, &ev, &err), 0, "%s", err.detail);
    cr_assert_eq(store_cat_rows(c), 8);
    cr_assert_eq(store_cat_commit(c, &err), 0, "%s", err.detail);
    store_cat_free(c);

    cr_assert_eq(count("SELECT count(*) FROM price_history_p202501"), 2);
    cr_assert_eq(count("SELECT count(*) FROM price_history_p202502"), 1);
    cr_assert_eq(count("SELECT count(*) FROM stock_events_p202502 WHERE event_time_ms % 1000 = 5"),
                 1);
    cr_assert_eq(count("SELECT month FROM stock_event_keys WHERE event_id = 'SE-000000001'"),
                 202502);
    cr_assert_eq(count("SELECT count(*) FROM customers_fts WHERE customers_fts MATCH 'brandt'"), 1,
                 "the FTS trigger indexed the customer");
    cr_assert_eq(count("SELECT quantity FROM stock_levels"), 7);
}

Test(store_cat, rollback_of_a_new_month_leaves_no_stale_statement)
{
    struct store_cat *c;
    struct error err;
    int64_t tid = new_tenant("A");
    cr_assert_eq(store_cat_open(db, tid, &c, &err), 0);
    cr_assert_eq(store_cat_begin(c, &err), 0);
    int64_t pid = product(c, "P-1");
    cr_assert_eq(store_cat_commit(c, &err), 0);

    int64_t mar = days_from_civil(2025, 3, 1) * 86400;
    struct store_cat_price p = {pid, 100, "EUR", mar, "feed"};
    cr_assert_eq(store_cat_begin(c, &err), 0);
    cr_assert_eq(store_cat_price(c, &p, &err), 0, "%s", err.detail);
    store_cat_abort(c); /* the month's table is gone with the transaction */
    cr_assert_eq(count("SELECT count(*) FROM partitions WHERE name = 'price_history_p202503'"), 0);

    cr_assert_eq(store_cat_begin(c, &err), 0);
    cr_assert_eq(store_cat_price(c, &p, &err), 0, "re-created after the rollback: %s", err.detail);
    cr_assert_eq(store_cat_commit(c, &err), 0);
    cr_assert_eq(count("SELECT count(*) FROM price_history_p202503"), 1);
    store_cat_free(c);
}

Test(store_cat, two_tenants_same_ext_ids_stay_apart)
{
    struct store_cat *a, *b;
    struct error err;
    int64_t ta = new_tenant("A"), tb = new_tenant("B");
    cr_assert_eq(store_cat_open(db, ta, &a, &err), 0);
    cr_assert_eq(store_cat_open(db, tb, &b, &err), 0);
    cr_assert_eq(store_cat_begin(a, &err), 0);
    product(a, "P-0000001");
    cr_assert_eq(store_cat_commit(a, &err), 0);
    cr_assert_eq(store_cat_begin(b, &err), 0);
    product(b, "P-0000001");
    cr_assert_eq(store_cat_commit(b, &err), 0);
    cr_assert_eq(count("SELECT count(DISTINCT tenant_id) FROM products WHERE ext_id='P-0000001'"),
                 2);
    /* the same ext id twice for one tenant is refused, not duplicated */
    cr_assert_eq(store_cat_begin(a, &err), 0);
    int64_t id;
    struct store_cat_product p = {STR_LIT("P-0000001"), STR_LIT("x"), 0, "EUR", -1, 0, 1, 1};
    cr_assert_eq(store_cat_product(a, &p, &id, &err), -1);
    cr_assert_eq(err.code, ERR_CONFLICT);
    store_cat_abort(a);
    store_cat_free(a);
    store_cat_free(b);
    cr_assert_eq(count("SELECT count(*) FROM products"), 2);
}
