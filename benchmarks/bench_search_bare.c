/*
 * bench_search_bare.c: the ceiling for order search: the same rows read
 * through SQLite and written as the same NDJSON to /dev/null by the simplest
 * loop that can do it, with no HTTP, FastCGI, keyset pages, cursor or
 * validation.
 *
 *   bench_search_bare --db PATH --tenant-id N [--limit L] [--repeat R]
 *       [--from S --to S] [--status-mask M] [--currency C --min M --max M]
 *       [--products P-1,P-2] [--q TERM]
 *   bench_search_bare --db PATH --tenant-id N --core 'QUERY STRING' [--repeat R]
 *
 * One statement per month partition (newest first), walking the
 * (tenant_id, created_at, id) index with the filters on the row, each row
 * encoded by core/order_json (default projection) into a 64 KiB buffer that
 * is written with write(2). Prints "rows seconds bytes" per repetition, the
 * numbers benchmarks/search_stream/run.sh divides the server's by.
 *
 * With --core, the same measurement goes through core/search.c in process
 * (filter_parse, search_open, search_run into /dev/null: keyset pages, page
 * buffer, cursor), which separates the cost of core from that of FastCGI,
 * lighttpd and curl in the end-to-end figure.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "filter.h"
#include "order_json.h"
#include "search.h"
#include "timefmt.h"

static struct {
    const char *db, *currency, *products, *q, *core;
    int64_t tenant, limit, from, to, min, max;
    unsigned status;
    int repeat;
} o = {.limit = 100000,
       .from = INT64_MIN,
       .to = INT64_MAX,
       .min = INT64_MIN,
       .max = INT64_MAX,
       .repeat = 1};

static void die(const char *what, sqlite3 *h)
{
    fprintf(stderr, "bench_search_bare: %s: %s\n", what, h ? sqlite3_errmsg(h) : "");
    exit(1);
}

static int fd_write(struct sink *s, const void *p, size_t n)
{
    return write(*(int *)s->ctx, p, n) == (ssize_t)n ? 0 : -1;
}

static int64_t run_core(struct db *db, int fd, uint64_t *bytes)
{
    static char qs[4096];
    struct filter_param p[64];
    struct search_filter f;
    struct search *s;
    struct error err;
    static const uint8_t key[CURSOR_KEY_LEN];
    size_t n = 0;
    char *save = NULL;
    snprintf(qs, sizeof(qs), "%s", o.core);
    for (char *t = strtok_r(qs, "&", &save); t && n < 64; t = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(t, '=');
        p[n].name = eq ? (struct str){t, (size_t)(eq - t)} : str_from(t);
        p[n].value = eq ? str_from(eq + 1) : (struct str){"", 0};
        n++;
    }
    if (filter_parse(p, n, &f, &err) || search_open(db, o.tenant, &f, key, 0, &s, &err)) {
        fprintf(stderr, "bench_search_bare: %s\n", err.detail);
        exit(1);
    }
    struct sink sink = {.write = fd_write, .ctx = &fd};
    if (search_run(s, &sink, FORMAT_NDJSON, &err)) {
        fprintf(stderr, "bench_search_bare: %s\n", err.detail);
        exit(1);
    }
    *bytes = sink.bytes;
    int64_t rows = (int64_t)search_count(s);
    search_close(s);
    return rows;
}

static int64_t run_once(struct db *db, int fd, uint64_t *bytes)
{
    sqlite3 *h = db_handle(db);
    sqlite3_stmt *months, *st;
    struct buf out = BUF_INIT, sql = BUF_INIT;
    struct order_json enc;
    int64_t rows = 0;
    order_json_init(&enc, FIELDS_DEFAULT);
    if (o.q) {
        char phrase[600];
        snprintf(phrase, sizeof(phrase), "\"%s\"", o.q);
        sqlite3_exec(h,
                     "CREATE TEMP TABLE IF NOT EXISTS bare_c(id INTEGER PRIMARY KEY);"
                     "DELETE FROM bare_c;",
                     NULL, NULL, NULL);
        if (sqlite3_prepare_v2(h,
                               "INSERT INTO bare_c SELECT c.id FROM customers_fts f CROSS JOIN "
                               "customers c ON c.id = f.rowid WHERE customers_fts MATCH ?1 AND "
                               "c.tenant_id = ?2",
                               -1, &st, NULL))
            die("prepare fts", h);
        sqlite3_bind_text(st, 1, phrase, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, o.tenant);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("fts", h);
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(h,
                           "SELECT month FROM partitions WHERE base = 'orders' ORDER BY month DESC",
                           -1, &months, NULL))
        die("months", h);
    while (rows < o.limit && sqlite3_step(months) == SQLITE_ROW) {
        int m = sqlite3_column_int(months, 0);
        buf_reset(&sql);
        buf_appendf(
            &sql,
            "SELECT o.created_at, o.id, o.ext_id, o.status, o.currency, o.total_minor, "
            "o.item_count FROM orders_p%06d o WHERE o.tenant_id = ?1 AND o.created_at >= ?2 "
            "AND o.created_at < ?3",
            m);
        if (o.status)
            buf_puts(&sql, " AND ((?4 >> o.status) & 1) = 1");
        if (o.currency)
            buf_puts(&sql, " AND o.currency = ?5 AND o.total_minor BETWEEN ?6 AND ?7");
        if (o.q)
            buf_puts(&sql, " AND +o.customer_id IN (SELECT id FROM temp.bare_c)");
        if (o.products) {
            buf_appendf(&sql,
                        " AND EXISTS (SELECT 1 FROM order_items_p%06d x WHERE x.order_id = o.id "
                        "AND +x.product_id IN (SELECT id FROM products WHERE tenant_id = ?1 AND "
                        "ext_id IN (SELECT value FROM json_each(?8))))",
                        m);
        }
        buf_puts(&sql, " ORDER BY o.created_at DESC, o.id DESC LIMIT ?9");
        if (sqlite3_prepare_v2(h, sql.data, -1, &st, NULL))
            die("prepare", h);
        sqlite3_bind_int64(st, 1, o.tenant);
        sqlite3_bind_int64(st, 2, o.from);
        sqlite3_bind_int64(st, 3, o.to);
        if (o.status)
            sqlite3_bind_int64(st, 4, o.status);
        if (o.currency) {
            sqlite3_bind_text(st, 5, o.currency, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 6, o.min);
            sqlite3_bind_int64(st, 7, o.max);
        }
        if (o.products) {
            /* "P-1,P-2" -> ["P-1","P-2"] */
            struct buf js = BUF_INIT;
            buf_puts(&js, "[\"");
            for (const char *p = o.products; *p; p++)
                buf_puts(&js, *p == ',' ? "\",\"" : (char[]){*p, 0});
            buf_puts(&js, "\"]");
            sqlite3_bind_text(st, 8, js.data, -1, SQLITE_TRANSIENT);
            buf_fini(&js);
        }
        sqlite3_bind_int64(st, 9, o.limit - rows);
        while (sqlite3_step(st) == SQLITE_ROW) {
            struct order_row r = {0};
            r.created_at = sqlite3_column_int64(st, 0);
            r.order_id = (const char *)sqlite3_column_text(st, 2);
            r.order_id_len = (size_t)sqlite3_column_bytes(st, 2);
            r.status = sqlite3_column_int(st, 3);
            r.currency = (const char *)sqlite3_column_text(st, 4);
            r.total_minor = sqlite3_column_int64(st, 5);
            r.item_count = sqlite3_column_int64(st, 6);
            order_json_row(&enc, &out, &r);
            buf_putc(&out, '\n');
            rows++;
            if (out.len >= 65536) {
                if (write(fd, out.data, out.len) < 0)
                    die("write", NULL);
                *bytes += out.len;
                buf_reset(&out);
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_finalize(months);
    if (out.len && write(fd, out.data, out.len) < 0)
        die("write", NULL);
    *bytes += out.len;
    buf_fini(&out);
    buf_fini(&sql);
    return rows;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, NULL, 'd'},          {"tenant-id", 1, NULL, 't'},
                                         {"limit", 1, NULL, 'l'},       {"repeat", 1, NULL, 'r'},
                                         {"from", 1, NULL, 'f'},        {"to", 1, NULL, 'T'},
                                         {"status-mask", 1, NULL, 's'}, {"currency", 1, NULL, 'c'},
                                         {"min", 1, NULL, 'm'},         {"max", 1, NULL, 'M'},
                                         {"products", 1, NULL, 'p'},    {"q", 1, NULL, 'q'},
                                         {"core", 1, NULL, 'C'},        {0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.db = optarg;
            break;
        case 't':
            o.tenant = atoll(optarg);
            break;
        case 'l':
            o.limit = atoll(optarg);
            break;
        case 'r':
            o.repeat = atoi(optarg);
            break;
        case 'f':
            o.from = atoll(optarg);
            break;
        case 'T':
            o.to = atoll(optarg);
            break;
        case 's':
            o.status = (unsigned)atoi(optarg);
            break;
        case 'c':
            o.currency = optarg;
            break;
        case 'm':
            o.min = atoll(optarg);
            break;
        case 'M':
            o.max = atoll(optarg);
            break;
        case 'p':
            o.products = optarg;
            break;
        case 'q':
            o.q = optarg;
            break;
        case 'C':
            o.core = optarg;
            break;
        default:
            return 2;
        }
    }
    if (!o.db || !o.tenant) {
        fprintf(stderr, "usage: bench_search_bare --db PATH --tenant-id N [filters]\n");
        return 2;
    }
    struct db *db;
    struct error err;
    if (db_open(o.db, 0, &db, &err)) {
        fprintf(stderr, "bench_search_bare: %s\n", err.detail);
        return 1;
    }
    int fd = open("/dev/null", O_WRONLY);
    for (int i = 0; i < o.repeat; i++) {
        uint64_t bytes = 0;
        int64_t t0 = time_mono_ns();
        int64_t rows = o.core ? run_core(db, fd, &bytes) : run_once(db, fd, &bytes);
        double s = (double)(time_mono_ns() - t0) / 1e9;
        printf("%lld %.6f %llu\n", (long long)rows, s, (unsigned long long)bytes);
    }
    close(fd);
    db_close(db);
    return 0;
}
