/*
 * search_explain.c: EXPLAIN QUERY PLAN evidence for order search.
 *
 *   search_explain --db PATH [--tenant tn_...]      (markdown on stdout)
 *
 * Run by scripts/explain (`make explain`), which writes docs/explain.md: the
 * file is generated, never edited by hand. For every combination in
 * tests/fixtures/search_plans.h (the list the plan test guards) it fills the
 * placeholders from the loaded data (a real product, customer, name and
 * e-mail fragments, a three-week range near the newest order), prints the
 * drive chosen by core/search.c, the partitions the range touches, the plan
 * SQLite reports for the newest of them, and the time to read the first
 * 1000 rows. Exits 1 if any plan sorts, scans without an index, or misses
 * its expected index, so the target fails like the test does.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/fixtures/search_plans.h"
#include "db.h"
#include "filter.h"
#include "search.h"
#include "timefmt.h"

static int q_text(struct db *db, const char *sql, int64_t bind, char *out, size_t cap)
{
    sqlite3_stmt *st;
    out[0] = 0;
    if (sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, bind);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int null_write(struct sink *s, const void *p, size_t n)
{
    (void)s;
    (void)p;
    (void)n;
    return 0;
}

static size_t split(char *qs, struct filter_param *p, size_t cap)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(qs, "&", &save); t && n < cap; t = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(t, '=');
        p[n].name = eq ? (struct str){t, (size_t)(eq - t)} : str_from(t);
        p[n].value = eq ? str_from(eq + 1) : (struct str){"", 0};
        n++;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *tenant_pub = NULL;
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"tenant", required_argument, NULL, 't'}, {0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            path = optarg;
        else if (c == 't')
            tenant_pub = optarg;
        else
            return 2;
    }
    if (!path) {
        fprintf(stderr, "usage: search_explain --db PATH [--tenant tn_...]\n");
        return 2;
    }
    struct db *db;
    struct error err;
    if (db_open(path, 0, &db, &err)) {
        fprintf(stderr, "search_explain: %s\n", err.detail);
        return 1;
    }
    char buf[256], pub[64], P[128], P2[128], C[128], Q[128], W[128], F[16], T[16], month[16];
    int64_t tenant = 0, newest = 0, orders = 0;
    sqlite3_stmt *st;
    const char *pick = tenant_pub
                           ? "SELECT id, public_id FROM tenants WHERE public_id = ?1"
                           : "SELECT t.id, t.public_id FROM tenants t JOIN order_keys k "
                             "ON k.tenant_id = t.id GROUP BY t.id ORDER BY count(*) DESC LIMIT 1";
    sqlite3_prepare_v2(db_handle(db), pick, -1, &st, NULL);
    if (tenant_pub)
        sqlite3_bind_text(st, 1, tenant_pub, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "search_explain: no tenant with orders in %s\n", path);
        return 1;
    }
    tenant = sqlite3_column_int64(st, 0);
    snprintf(pub, sizeof(pub), "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    db_query_i64(db, "SELECT count(*) FROM order_keys", &orders, &err);
    q_text(db, "SELECT max(month) FROM partitions WHERE base = 'orders'", 0, month, sizeof(month));
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT max(created_at) FROM orders_p%s WHERE tenant_id = ?1",
             month);
    q_text(db, sql, tenant, buf, sizeof(buf));
    newest = atoll(buf);
    rfc3339_format(newest - 28 * 86400, buf);
    snprintf(F, sizeof(F), "%.10s", buf);
    rfc3339_format(newest - 7 * 86400, buf);
    snprintf(T, sizeof(T), "%.10s", buf);
    q_text(db, "SELECT ext_id FROM products WHERE tenant_id = ?1 ORDER BY id LIMIT 1", tenant, P,
           sizeof(P));
    q_text(db, "SELECT ext_id FROM products WHERE tenant_id = ?1 ORDER BY id LIMIT 1 OFFSET 1",
           tenant, P2, sizeof(P2));
    snprintf(sql, sizeof(sql),
             "SELECT c.ext_id FROM orders_p%s o JOIN customers c ON c.id = o.customer_id "
             "WHERE o.tenant_id = ?1 ORDER BY o.created_at DESC LIMIT 1",
             month);
    q_text(db, sql, tenant, C, sizeof(C));
    char email[256];
    snprintf(sql, sizeof(sql), "SELECT email FROM customers WHERE tenant_id = ?1 AND ext_id = '%s'",
             C);
    q_text(db, sql, tenant, email, sizeof(email));
    char *at = strchr(email, '@');
    snprintf(Q, sizeof(Q), "%.*s", at ? (int)(at - email) : 6, email);
    snprintf(W, sizeof(W), "%s", at ? at + 1 : "example");
    struct search_plan_values v = {P, P2, C, Q, W, F, T};

    printf("# EXPLAIN QUERY PLAN: order search\n\n");
    printf("Generated by `scripts/explain` (`make explain`) from `%s`; do not edit by hand.\n"
           "SQLite %s. %lld orders in the database; tenant `%s` (the one with most orders).\n"
           "Placeholders filled from the data: product `%s`, `%s`; customer `%s`; few-customer "
           "term `%s`; most-customer term `%s`; range %s .. %s.\n\n"
           "Each block: the drive (the index walked, chosen in core/search.c), the month "
           "partitions the range touches (all others are never opened), the plan of the "
           "statement for the newest of them, and the time to stream the first 1000 rows "
           "(limit=1000, default projection, output discarded). The same list is checked by "
           "`tests/unit/test_search.c` (plans_use_an_index_and_never_sort).\n\n",
           path, sqlite3_libversion(), (long long)orders, pub, P, P2, C, Q, W, F, T);
    int bad = 0;
    for (size_t i = 0; i < SEARCH_PLAN_CASES_COUNT; i++) {
        char qs[512], qs2[600];
        struct filter_param p[32];
        struct search_filter f;
        struct buf out = BUF_INIT;
        search_plan_expand(SEARCH_PLAN_CASES[i].qs, &v, qs, sizeof(qs));
        printf("## %s\n\n`?%s`\n\n", SEARCH_PLAN_CASES[i].name, qs);
        snprintf(qs2, sizeof(qs2), "%s", qs);
        if (filter_parse(p, split(qs2, p, 32), &f, &err) ||
            search_explain(db, tenant, &f, &out, &err)) {
            printf("error: %s\n\n", err.detail);
            bad++;
            continue;
        }
        const char *why = search_plan_problem(out.data, SEARCH_PLAN_CASES[i].index);
        /* Time the first 1000 rows. */
        struct search *s;
        struct sink sink = {0};
        sink.write = null_write;
        f.limit = 1000;
        static const uint8_t key[CURSOR_KEY_LEN];
        double ms = -1;
        uint64_t rows = 0;
        int64_t t0 = time_mono_ns();
        if (search_open(db, tenant, &f, key, 0, &s, &err) == 0) {
            if (search_run(s, &sink, FORMAT_NDJSON, &err) == 0) {
                ms = (double)(time_mono_ns() - t0) / 1e6;
                rows = search_count(s);
            }
            search_close(s);
        }
        /* The SQL line is long; print it separately, wrapped by the reader. */
        char *sqlpos = strstr(out.data, "sql: ");
        if (sqlpos)
            *sqlpos = 0;
        printf("expected index: `%s`; %s; first %llu rows in %.2f ms\n\n```\n%s```\n\n",
               SEARCH_PLAN_CASES[i].index, why ? why : "ok", (unsigned long long)rows, ms,
               out.data);
        if (sqlpos)
            printf("<details><summary>SQL</summary>\n\n```sql\n%s```\n</details>\n\n", sqlpos + 5);
        if (why)
            bad++;
        buf_fini(&out);
    }
    printf("%s\n", bad ? "**Some plans failed their check.**" : "All plans passed their check.");
    db_close(db);
    return bad ? 1 : 0;
}
