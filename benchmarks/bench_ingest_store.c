/*
 * bench_ingest_store.c: the measurements behind the ingest design choices
 * (docs/design.md §9): what parsing costs per line (jansson on malloc, or
 * with order.c's per-line bump arena: --arena), and what the
 * store costs per order for a batch size, a page cache size and an index set.
 *
 *   bench_ingest_store [--rows N] [--batch B] [--cache-mib M] [--arena]
 *                      [--no-cache] [--autocheckpoint PAGES] [--drop INDEXSUFFIX]...
 *                      [--mode parse|store|both] [--db PATH]
 *
 * Orders are synthetic and shaped like gen_dataset's medium preset: 25k
 * products, 50k customers, 1 + binomial items (mean 3), created_at increasing
 * over 12 months (so keys arrive in index order, as real feeds do). --drop
 * removes an index from every partition before the timed run (e.g. --drop
 * _status --drop _customer), to price each index. Prints one JSON line.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "db.h"
#include "order.h"
#include "partition.h"
#include "store.h"
#include "tenant.h"
#include "timefmt.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void make_line(struct buf *b, long i)
{
    int items = 1;
    for (int k = 0; k < 4; k++)
        items += (next() % 2);
    int64_t t = 1735689600 + (int64_t)i * (365LL * 86400 / 1000000) % (365LL * 86400);
    char ts[21];
    rfc3339_format(t, ts);
    long c = (long)(next() % 50000);
    buf_appendf(b,
                "{\"order_id\":\"ORD-%08ld\",\"customer\":{\"id\":\"C-%06ld\",\"name\":\"Customer "
                "Name %ld\",\"email\":\"customer%ld@example.com\"},\"status\":\"paid\","
                "\"currency\":\"EUR\",\"created_at\":\"%s\",\"items\":[",
                i, c, c, c, ts);
    int64_t total = 0;
    for (int k = 0; k < items; k++) {
        int q = 1 + (int)(next() % 3);
        int64_t price = 100 + (int64_t)(next() % 9900);
        total += q * price;
        buf_appendf(b, "%s{\"product_id\":\"P-%07ld\",\"quantity\":%d,\"unit_price\":\"%lld.%02lld\"}",
                    k ? "," : "", (long)(next() % 25000) + 1, q, (long long)(price / 100),
                    (long long)(price % 100));
    }
    buf_appendf(b, "],\"total\":\"%lld.%02lld\"}\n", (long long)(total / 100),
                (long long)(total % 100));
}

int main(int argc, char **argv)
{
    long rows = 200000, batch = 2000, cache_mib = 64, autockpt = 1000;
    int use_arena = 0, use_cache = 1;
    const char *mode = "both", *path = NULL;
    const char *drops[8];
    int ndrops = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = atol(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atol(argv[++i]);
        else if (!strcmp(argv[i], "--cache-mib") && i + 1 < argc)
            cache_mib = atol(argv[++i]);
        else if (!strcmp(argv[i], "--autocheckpoint") && i + 1 < argc)
            autockpt = atol(argv[++i]);
        else if (!strcmp(argv[i], "--no-cache"))
            use_cache = 0;
        else if (!strcmp(argv[i], "--arena"))
            use_arena = 1;
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode = argv[++i];
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--drop") && i + 1 < argc && ndrops < 8)
            drops[ndrops++] = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--rows N] [--batch B] [--cache-mib M] [--arena] "
                            "[--drop SUFFIX]... [--mode parse|store|both] [--db PATH]\n",
                    argv[0]);
            return 2;
        }
    }
    char dbpath[256];
    snprintf(dbpath, sizeof(dbpath), "%s", path ? path : "/tmp/bench_ingest_store.db");
    unlink(dbpath);
    char side[300];
    snprintf(side, sizeof(side), "%s-wal", dbpath);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", dbpath);
    unlink(side);

    struct buf text = BUF_INIT;
    size_t *starts = malloc(((size_t)rows + 1) * sizeof(*starts));
    for (long i = 0; i < rows; i++) {
        starts[i] = text.len;
        make_line(&text, i);
    }
    starts[rows] = text.len;

    order_parse_line_arena(use_arena);
    struct arena a;
    arena_init(&a);
    struct order *orders = malloc((size_t)rows * sizeof(*orders));
    struct error err;
    int64_t t0 = time_mono_ns();
    long bad = 0;
    for (long i = 0; i < rows; i++) {
        if (order_parse(text.data + starts[i], starts[i + 1] - starts[i] - 1, &a, &orders[i], &err))
            bad++;
    }
    double parse_s = (double)(time_mono_ns() - t0) / 1e9;
    if (!strcmp(mode, "parse")) {
        printf("{\"mode\":\"parse\",\"rows\":%ld,\"arena\":%d,\"bad\":%ld,\"seconds\":%.3f,"
               "\"lines_per_s\":%.0f,\"us_per_line\":%.2f,\"mb_per_s\":%.1f}\n",
               rows, use_arena, bad, parse_s, rows / parse_s, parse_s * 1e6 / rows,
               text.len / parse_s / 1e6);
        return 0;
    }

    struct db *db;
    struct tenant t;
    char key[API_KEY_LEN + 1];
    if (db_open(dbpath, DB_OPEN_MIGRATE, &db, &err) || tenant_create(db, "bench", &t, key, &err)) {
        fprintf(stderr, "%s\n", err.detail);
        return 1;
    }
    char sql[512];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%ld; PRAGMA wal_autocheckpoint=%ld",
             cache_mib * 1024, autockpt);
    db_exec(db, sql, &err);
    db_exec(db, "BEGIN", &err);
    for (int p = 1; p <= 25000; p++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO products(tenant_id, ext_id, name, currency, created_at, updated_at) "
                 "VALUES (%lld, 'P-%07d', 'product', 'EUR', 0, 0)",
                 (long long)t.id, p);
        db_exec(db, sql, &err);
    }
    /* Customers exist before their orders, as after a catalog load (gen_dataset --orders 0). */
    for (int c = 0; c < 50000; c++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO customers(tenant_id, ext_id, name, email, created_at, updated_at) "
                 "VALUES (%lld, 'C-%06d', 'Customer Name %d', 'customer%d@example.com', 0, 0)",
                 (long long)t.id, c, c, c);
        db_exec(db, sql, &err);
    }
    db_exec(db, "COMMIT", &err);
    /* Create every month's partitions up front, then drop the indexes asked for. */
    if (db_begin(db, &err))
        return 1;
    for (int m = 0; m < 13; m++) {
        char name[PARTITION_NAME_MAX];
        partition_ensure(db, "orders", 1735689600 + (int64_t)m * 28 * 86400, name, &err);
        partition_ensure(db, "order_items", 1735689600 + (int64_t)m * 28 * 86400, name, &err);
    }
    db_commit(db, &err);
    for (int d = 0; d < ndrops; d++) {
        for (int m = 1; m <= 12; m++) {
            snprintf(sql, sizeof(sql), "DROP INDEX IF EXISTS orders_p2025%02d%s", m, drops[d]);
            db_exec(db, sql, &err);
            snprintf(sql, sizeof(sql), "DROP INDEX IF EXISTS order_items_p2025%02d%s", m,
                     drops[d]);
            db_exec(db, sql, &err);
        }
    }

    struct store_cache *cache = use_cache ? store_cache_new() : NULL;
    t0 = time_mono_ns();
    int64_t worst = 0;
    long inserted = 0;
    for (long i = 0; i < rows;) {
        struct store_batch *b;
        int64_t b0 = time_mono_ns();
        if (store_batch_begin(db, t.id, &b, &err)) {
            fprintf(stderr, "%s\n", err.detail);
            return 1;
        }
        if (cache)
            store_batch_set_cache(b, cache);
        for (long k = 0; k < batch && i < rows; k++, i++) {
            enum store_outcome oc;
            if (store_order(b, &orders[i], &oc, &err)) {
                fprintf(stderr, "%s\n", err.detail);
                return 1;
            }
            inserted += oc == STORE_INSERTED;
        }
        if (store_batch_commit(b, &err)) {
            fprintf(stderr, "%s\n", err.detail);
            return 1;
        }
        int64_t d = time_mono_ns() - b0;
        if (d > worst)
            worst = d;
    }
    double store_s = (double)(time_mono_ns() - t0) / 1e9;
    printf("{\"mode\":\"%s\",\"rows\":%ld,\"inserted\":%ld,\"batch\":%ld,\"cache_mib\":%ld,"
           "\"autocheckpoint\":%ld,\"product_cache\":%d,\"dropped\":\"",
           mode, rows, inserted, batch, cache_mib, autockpt, use_cache);
    for (int d = 0; d < ndrops; d++)
        printf("%s%s", d ? "," : "", drops[d]);
    printf("\",\"parse_us_per_line\":%.2f,\"store_s\":%.3f,\"store_orders_per_s\":%.0f,"
           "\"worst_batch_ms\":%.1f,\"both_orders_per_s\":%.0f}\n",
           parse_s * 1e6 / rows, store_s, rows / store_s, worst / 1e6, rows / (parse_s + store_s));
    db_close(db);
    return 0;
}
