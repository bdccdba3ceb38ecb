/*
 * bench_bare_insert.c: the floor under gen_dataset --load. The same rows
 * (core/gen_model.c, same preset and seed), the same schema, indexes,
 * triggers and month partitions (migrated by db_open), inserted the barest
 * way: one INSERT statement per table (per month partition), prepared once
 * with sqlite3_prepare_v2, bind/step/reset, BEGIN IMMEDIATE every
 * --batch-rows rows, integer ids known in advance (no lookups), no
 * validation, no statement cache, no per-batch maps.
 *
 * gen_dataset --load differs only where the product does: orders go through
 * store_order (product and customer resolution by ext id, the order_keys
 * duplicate check, per-batch customer reconciliation), the catalog through
 * store_catalog. benchmarks/gen_dataset/run.sh runs both on fresh databases
 * in the same run and prints the ratio; both include the row generation
 * (identical code), which gen_dataset's file mode shows costs ~3% of a load.
 *
 *   bench_bare_insert --preset medium --db /tmp/bare.db [--batch-rows 50000]
 *                     [--seed N] [--stats FILE]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "gen_format.h"
#include "gen_model.h"
#include "partition.h"
#include "tenant.h"
#include "timefmt.h"
#include "xmalloc.h"

enum table {
    T_CATEGORIES, T_PRODUCTS, T_STOCK_LEVELS, T_CUSTOMERS, T_PRICE_HISTORY, T_STOCK_EVENTS,
    T_ORDERS, T_ORDER_ITEMS, T__COUNT,
};

static const char *const TABLE_NAME[T__COUNT] = {
    "categories",    "products",     "stock_levels", "customers",
    "price_history", "stock_events", "orders",       "order_items",
};

struct bench {
    struct db *db;
    sqlite3 *conn;
    int64_t batch_rows;
    int64_t in_txn;
    int64_t rows[T__COUNT];
    int64_t ns[T__COUNT];
};

static void die(const char *what, struct bench *b)
{
    fprintf(stderr, "bench_bare_insert: %s: %s\n", what,
            b && b->conn ? sqlite3_errmsg(b->conn) : "");
    exit(1);
}

static sqlite3_stmt *prep(struct bench *b, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->conn, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, b);
    return st;
}

static void run(struct bench *b, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die("insert", b);
    sqlite3_reset(st);
}

static void begin(struct bench *b)
{
    struct error err;
    if (db_begin(b->db, &err))
        die(err.detail, b);
    b->in_txn = 0;
}

static void commit(struct bench *b)
{
    struct error err;
    if (db_commit(b->db, &err))
        die(err.detail, b);
}

static void tick(struct bench *b, int64_t n)
{
    b->in_txn += n;
    if (b->in_txn >= b->batch_rows) {
        commit(b);
        begin(b);
    }
}

/* One prepared INSERT per month partition of a family, created on first use. */
struct parts {
    const char *base;
    const char *sql_fmt;
    int month[256];
    sqlite3_stmt *st[256];
    int n;
};

static sqlite3_stmt *part(struct bench *b, struct parts *p, int64_t t)
{
    int month = time_month_of(t);
    for (int i = p->n - 1; i >= 0; i--)
        if (p->month[i] == month)
            return p->st[i];
    char name[PARTITION_NAME_MAX], sql[512];
    struct error err;
    if (partition_ensure(b->db, p->base, t, name, &err))
        die(err.detail, b);
    if (p->n == 256)
        die("too many months", b);
    snprintf(sql, sizeof(sql), p->sql_fmt, name);
    p->month[p->n] = month;
    p->st[p->n] = prep(b, sql);
    return p->st[p->n++];
}

static void parts_free(struct parts *p)
{
    for (int i = 0; i < p->n; i++)
        sqlite3_finalize(p->st[i]);
    p->n = 0;
}

int main(int argc, char **argv)
{
    const char *preset = "medium", *db_path = NULL, *stats = NULL;
    int64_t seed = 1;
    struct bench b;
    memset(&b, 0, sizeof(b));
    b.batch_rows = 50000;
    static const struct option opts[] = {
        {"preset", required_argument, NULL, 'p'}, {"db", required_argument, NULL, 'd'},
        {"batch-rows", required_argument, NULL, 'b'}, {"seed", required_argument, NULL, 's'},
        {"stats", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': preset = optarg; break;
        case 'd': db_path = optarg; break;
        case 'b': b.batch_rows = atoll(optarg); break;
        case 's': seed = atoll(optarg); break;
        case 'o': stats = optarg; break;
        default:
            fprintf(stderr, "usage: bench_bare_insert --preset NAME --db PATH "
                            "[--batch-rows N] [--seed N] [--stats FILE]\n");
            return 2;
        }
    }
    struct gen_config cfg;
    if (!db_path || gen_config_preset(&cfg, preset) || b.batch_rows < 1) {
        fprintf(stderr, "bench_bare_insert: need --db and a known --preset\n");
        return 2;
    }
    cfg.seed = (uint64_t)seed;
    struct gen_model m;
    gen_model_init(&m, &cfg);
    struct error err;
    if (db_open(db_path, DB_OPEN_MIGRATE, &b.db, &err)) {
        fprintf(stderr, "bench_bare_insert: %s\n", err.detail);
        return 1;
    }
    b.conn = db_handle(b.db);

    sqlite3_stmt *s_cat = prep(&b, "INSERT INTO categories(id, tenant_id, ext_id, name, parent_id) "
                                   "VALUES (?1, ?2, ?3, ?4, ?5)");
    sqlite3_stmt *s_prod = prep(&b, "INSERT INTO products(id, tenant_id, ext_id, name, category_id, "
                                    "currency, price_minor, price_at, created_at, updated_at) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    sqlite3_stmt *s_level = prep(&b, "INSERT INTO stock_levels(product_id, tenant_id, quantity, "
                                     "version, last_event_time, updated_at) "
                                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    sqlite3_stmt *s_cust = prep(&b, "INSERT INTO customers(id, tenant_id, ext_id, name, email, "
                                    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
    sqlite3_stmt *s_skey = prep(&b, "INSERT INTO stock_event_keys(tenant_id, event_id, product_id, "
                                    "month) VALUES (?1, ?2, ?3, ?4)");
    sqlite3_stmt *s_okey = prep(&b, "INSERT INTO order_keys(id, tenant_id, ext_id, month) "
                                    "VALUES (?1, ?2, ?3, ?4)");
    struct parts p_price = {"price_history",
                            "INSERT INTO %s(tenant_id, product_id, price_minor, currency, "
                            "observed_at, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", {0}, {0}, 0};
    struct parts p_stock = {"stock_events",
                            "INSERT INTO %s(tenant_id, product_id, event_id, kind, mode, delta, "
                            "quantity_after, version_after, event_time, event_time_ms, source, "
                            "metadata, applied_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, "
                            "?9, ?10, ?11, ?12)", {0}, {0}, 0};
    struct parts p_ord = {"orders",
                          "INSERT INTO %s(id, tenant_id, ext_id, customer_id, status, currency, "
                          "total_minor, item_count, created_at, ingested_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", {0}, {0}, 0};
    struct parts p_item = {"order_items",
                           "INSERT INTO %s(order_id, line, tenant_id, product_id, quantity, "
                           "unit_price_minor, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           {0}, {0}, 0};

    struct gen_price *prices = xmalloc((size_t)(cfg.price_samples + 1) * sizeof(*prices));
    struct gen_stock_event *events =
        xmalloc((size_t)(cfg.stock_events / cfg.products + 1) * sizeof(*events));
    int64_t next_id[4]; /* categories, products, customers, order_keys: max(id) + 1 */
    static const char *const maxq[4] = {
        "SELECT coalesce(max(id), 0) + 1 FROM categories",
        "SELECT coalesce(max(id), 0) + 1 FROM products",
        "SELECT coalesce(max(id), 0) + 1 FROM customers",
        "SELECT coalesce(max(id), 0) + 1 FROM order_keys",
    };
    int64_t t_all = time_mono_ns();
    for (int t = 0; t < cfg.tenants; t++) {
        struct gen_tenant tn;
        struct tenant dbt;
        char key[API_KEY_LEN + 1];
        gen_tenant(&m, t, &tn);
        if (tenant_create(b.db, tn.name, &dbt, key, &err))
            die(err.detail, &b);
        for (int k = 0; k < 4; k++)
            if (db_query_i64(b.db, maxq[k], &next_id[k], &err))
                die(err.detail, &b);
        int64_t cat0 = next_id[0], prod0 = next_id[1], cust0 = next_id[2], ord0 = next_id[3];
        int64_t now = cfg.to, t0;

        t0 = time_mono_ns();
        begin(&b);
        for (int64_t i = 0; i < cfg.categories; i++) {
            struct gen_category g;
            gen_category(&m, t, i, &g);
            sqlite3_bind_int64(s_cat, 1, cat0 + i);
            sqlite3_bind_int64(s_cat, 2, dbt.id);
            sqlite3_bind_text(s_cat, 3, g.ext_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s_cat, 4, g.name, -1, SQLITE_STATIC);
            if (g.parent >= 0)
                sqlite3_bind_int64(s_cat, 5, cat0 + g.parent);
            else
                sqlite3_bind_null(s_cat, 5);
            run(&b, s_cat);
        }
        commit(&b);
        b.rows[T_CATEGORIES] += cfg.categories;
        b.ns[T_CATEGORIES] += time_mono_ns() - t0;

        t0 = time_mono_ns();
        begin(&b);
        for (int64_t i = 0; i < cfg.products; i++) {
            struct gen_product p;
            gen_product(&m, t, i, &p);
            int64_t n = gen_prices(&m, t, &p, prices);
            sqlite3_bind_int64(s_prod, 1, prod0 + i);
            sqlite3_bind_int64(s_prod, 2, dbt.id);
            sqlite3_bind_text(s_prod, 3, p.ext_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s_prod, 4, p.name, -1, SQLITE_STATIC);
            if (p.category >= 0)
                sqlite3_bind_int64(s_prod, 5, cat0 + p.category);
            else
                sqlite3_bind_null(s_prod, 5);
            sqlite3_bind_text(s_prod, 6, tn.currency, 3, SQLITE_STATIC);
            sqlite3_bind_int64(s_prod, 7, n ? prices[n - 1].price_minor : p.price_minor);
            sqlite3_bind_int64(s_prod, 8, n ? prices[n - 1].observed_at : cfg.from);
            sqlite3_bind_int64(s_prod, 9, p.created_at);
            sqlite3_bind_int64(s_prod, 10, now);
            run(&b, s_prod);
            tick(&b, 1);
        }
        commit(&b);
        b.rows[T_PRODUCTS] += cfg.products;
        b.ns[T_PRODUCTS] += time_mono_ns() - t0;

        t0 = time_mono_ns();
        begin(&b);
        for (int64_t i = 0; i < cfg.products; i++) {
            int64_t n = gen_stock_events(&m, t, i, events);
            sqlite3_bind_int64(s_level, 1, prod0 + i);
            sqlite3_bind_int64(s_level, 2, dbt.id);
            sqlite3_bind_int64(s_level, 3, n ? events[n - 1].quantity_after : 0);
            sqlite3_bind_int64(s_level, 4, n);
            if (n)
                sqlite3_bind_int64(s_level, 5, events[n - 1].event_time * 1000);
            else
                sqlite3_bind_null(s_level, 5);
            sqlite3_bind_int64(s_level, 6, n ? events[n - 1].event_time : now);
            run(&b, s_level);
            tick(&b, 1);
        }
        commit(&b);
        b.rows[T_STOCK_LEVELS] += cfg.products;
        b.ns[T_STOCK_LEVELS] += time_mono_ns() - t0;

        t0 = time_mono_ns();
        begin(&b);
        for (int64_t i = 0; i < cfg.customers; i++) {
            struct gen_customer cu;
            gen_customer(&m, t, i, &cu);
            sqlite3_bind_int64(s_cust, 1, cust0 + i);
            sqlite3_bind_int64(s_cust, 2, dbt.id);
            sqlite3_bind_text(s_cust, 3, cu.ext_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s_cust, 4, cu.name, -1, SQLITE_STATIC);
            sqlite3_bind_text(s_cust, 5, cu.email, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s_cust, 6, cu.created_at);
            run(&b, s_cust);
            tick(&b, 1);
        }
        commit(&b);
        b.rows[T_CUSTOMERS] += cfg.customers;
        b.ns[T_CUSTOMERS] += time_mono_ns() - t0;

        t0 = time_mono_ns();
        begin(&b);
        for (int64_t i = 0; i < cfg.products; i++) {
            struct gen_product p;
            gen_product(&m, t, i, &p);
            int64_t n = gen_prices(&m, t, &p, prices);
            for (int64_t k = 0; k < n; k++) {
                sqlite3_stmt *st = part(&b, &p_price, prices[k].observed_at);
                sqlite3_bind_int64(st, 1, dbt.id);
                sqlite3_bind_int64(st, 2, prod0 + i);
                sqlite3_bind_int64(st, 3, prices[k].price_minor);
                sqlite3_bind_text(st, 4, tn.currency, 3, SQLITE_STATIC);
                sqlite3_bind_int64(st, 5, prices[k].observed_at);
                sqlite3_bind_text(st, 6, prices[k].source, -1, SQLITE_STATIC);
                run(&b, st);
            }
            b.rows[T_PRICE_HISTORY] += n;
            tick(&b, n);
        }
        commit(&b);
        b.ns[T_PRICE_HISTORY] += time_mono_ns() - t0;

        t0 = time_mono_ns();
        begin(&b);
        for (int64_t i = 0; i < cfg.products; i++) {
            int64_t n = gen_stock_events(&m, t, i, events);
            for (int64_t k = 0; k < n; k++) {
                char eid[GEN_ID_MAX], meta[64];
                gen_stock_event_id(events[k].seq, eid);
                gen_stock_event_metadata(&events[k], meta, sizeof(meta));
                int64_t et = events[k].event_time;
                sqlite3_bind_int64(s_skey, 1, dbt.id);
                sqlite3_bind_text(s_skey, 2, eid, -1, SQLITE_STATIC);
                sqlite3_bind_int64(s_skey, 3, prod0 + i);
                sqlite3_bind_int(s_skey, 4, time_month_of(et));
                run(&b, s_skey);
                sqlite3_stmt *st = part(&b, &p_stock, et);
                sqlite3_bind_int64(st, 1, dbt.id);
                sqlite3_bind_int64(st, 2, prod0 + i);
                sqlite3_bind_text(st, 3, eid, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 4, events[k].kind);
                sqlite3_bind_int64(st, 5, events[k].delta);
                sqlite3_bind_int64(st, 6, events[k].quantity_after);
                sqlite3_bind_int64(st, 7, k + 1);
                sqlite3_bind_int64(st, 8, et);
                sqlite3_bind_int64(st, 9, et * 1000);
                sqlite3_bind_text(st, 10, events[k].source, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 11, meta, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 12, et * 1000);
                run(&b, st);
            }
            b.rows[T_STOCK_EVENTS] += n;
            tick(&b, n);
        }
        commit(&b);
        b.ns[T_STOCK_EVENTS] += time_mono_ns() - t0;

        t0 = time_mono_ns();
        begin(&b);
        struct gen_orders it;
        struct gen_order o;
        int64_t ingested = time_now_ms() / 1000;
        gen_orders_init(&it, &m, t);
        while (gen_orders_next(&it, &o)) {
            struct gen_customer cu;
            gen_customer(&m, t, o.customer, &cu); /* as the loader does, for the same work */
            int64_t id = ord0 + o.index;
            sqlite3_bind_int64(s_okey, 1, id);
            sqlite3_bind_int64(s_okey, 2, dbt.id);
            sqlite3_bind_text(s_okey, 3, o.order_id, -1, SQLITE_STATIC);
            sqlite3_bind_int(s_okey, 4, time_month_of(o.created_at));
            run(&b, s_okey);
            sqlite3_stmt *st = part(&b, &p_ord, o.created_at);
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, dbt.id);
            sqlite3_bind_text(st, 3, o.order_id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, cust0 + o.customer);
            sqlite3_bind_int(st, 5, o.status);
            sqlite3_bind_text(st, 6, o.currency, 3, SQLITE_STATIC);
            sqlite3_bind_int64(st, 7, o.total_minor);
            sqlite3_bind_int(st, 8, o.nitems);
            sqlite3_bind_int64(st, 9, o.created_at);
            sqlite3_bind_int64(st, 10, ingested);
            run(&b, st);
            sqlite3_stmt *si = part(&b, &p_item, o.created_at);
            for (int k = 0; k < o.nitems; k++) {
                sqlite3_bind_int64(si, 1, id);
                sqlite3_bind_int(si, 2, k + 1);
                sqlite3_bind_int64(si, 3, dbt.id);
                sqlite3_bind_int64(si, 4, prod0 + o.items[k].product);
                sqlite3_bind_int64(si, 5, o.items[k].quantity);
                sqlite3_bind_int64(si, 6, o.items[k].unit_price_minor);
                sqlite3_bind_int64(si, 7, o.created_at);
                run(&b, si);
            }
            b.rows[T_ORDERS]++;
            b.rows[T_ORDER_ITEMS] += o.nitems;
            tick(&b, 1 + o.nitems);
        }
        gen_orders_fini(&it);
        commit(&b);
        b.ns[T_ORDERS] += time_mono_ns() - t0;
        fprintf(stderr, "bare: tenant %s done\n", tn.slug);
    }
    int64_t total_ns = time_mono_ns() - t_all;

    struct buf js = BUF_INIT;
    int64_t all = 0;
    printf("bare insert: %s (preset %s)\n", db_path, preset);
    printf("%-14s %12s %9s %12s\n", "table", "rows", "seconds", "rows/s");
    buf_appendf(&js, "{\"mode\":\"bare\",\"preset\":\"%s\",\"tables\":{", preset);
    for (int k = 0; k < T__COUNT; k++) {
        int64_t ns = k == T_ORDER_ITEMS ? b.ns[T_ORDERS] : b.ns[k];
        double s = (double)ns / 1e9, rate = s > 0 ? (double)b.rows[k] / s : 0;
        all += b.rows[k];
        printf("%-14s %12lld %9.2f %12.0f\n", TABLE_NAME[k], (long long)b.rows[k], s, rate);
        buf_appendf(&js, "%s\"%s\":{\"rows\":%lld,\"seconds\":%.3f,\"rows_per_s\":%.0f}",
                    k ? "," : "", TABLE_NAME[k], (long long)b.rows[k], s, rate);
    }
    double s = (double)total_ns / 1e9;
    printf("%-14s %12lld %9.2f %12.0f\n", "total", (long long)all, s, (double)all / s);
    buf_appendf(&js, "},\"total\":{\"rows\":%lld,\"seconds\":%.3f,\"rows_per_s\":%.0f}}\n",
                (long long)all, s, (double)all / s);
    if (stats) {
        FILE *f = fopen(stats, "w");
        if (!f || fwrite(js.data, 1, js.len, f) != js.len || fclose(f) != 0)
            die("write stats", &b);
    }
    buf_fini(&js);
    sqlite3_stmt *fixed[] = {s_cat, s_prod, s_level, s_cust, s_skey, s_okey};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        sqlite3_finalize(fixed[i]);
    parts_free(&p_price);
    parts_free(&p_stock);
    parts_free(&p_ord);
    parts_free(&p_item);
    free(prices);
    free(events);
    db_close(b.db);
    gen_model_fini(&m);
    return 0;
}
