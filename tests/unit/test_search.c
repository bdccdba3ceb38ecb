/*
 * test_search.c: core/search.c against a brute-force answer.
 *
 * Every filter alone and in combination, both sort orders, must return the
 * same rows in the same order as a linear filter + sort over the fixture's C
 * arrays (tests/fixtures/search_fixture.h). Page walks must return every row
 * exactly once, also when rows are inserted and deleted between pages.
 */
#include "../fixtures/search_fixture.h"
#include "../fixtures/search_plans.h"
#include "order_json.h"

#define NOW 1800000000LL

static struct fx X;
static struct fx_result R;
static const struct fx_order *EXP[FX_MAX_ORDERS];

static void setup(void)
{
    fx_build(&X, 700);
}

static void teardown(void)
{
    buf_fini(&R.raw);
    fx_destroy(&X);
}

TestSuite(search, .init = setup, .fini = teardown, .timeout = 60);

static void check_against_brute_force(int tenant, const char *qs)
{
    struct search_filter f;
    fx_search(&X, tenant, qs, NOW, &R, &f);
    cr_assert_eq(R.rc, 0, "%s: %s", qs, R.err.detail);
    size_t n = fx_expected(&X, tenant, &f, EXP);
    size_t want = n > (size_t)f.limit ? (size_t)f.limit : n;
    cr_assert_eq(R.n, want, "%s: %zu rows, brute force %zu", qs, R.n, want);
    for (size_t i = 0; i < want; i++)
        cr_assert_str_eq(R.ext[i], EXP[i]->ext, "%s: row %zu", qs, i);
    cr_assert_eq(R.next_cursor[0] != 0, n > want, "%s: next_cursor iff more rows", qs);
}

static const char *const QUERIES[] = {
    "",
    "from=2025-02-01",
    "to=2025-02-15",
    "from=2025-02-01T06:00:00Z&to=2025-03-10T13:00:00Z",
    "to=2025-01-31",
    "status=paid",
    "status=paid,shipped",
    "status=refunded&status=pending&status=cancelled",
    "currency=JPY",
    "currency=EUR&min_total=100.00",
    "currency=EUR&max_total=150",
    "currency=USD&min_total=50&max_total=300.5",
    "product_id=P-003",
    "product_id=P-003,P-007",
    "product_id=P-999",
    "product_id=P-001&product_id=P-999",
    "customer_id=C-004",
    "customer_id=C-999",
    "q=zoë",
    "q=ZOË",
    "q=alice",
    "q=example.com",
    "q=user0",
    "q=user07.t",
    "q=ærø",
    "q=ÆRØ SK",
    "q=łukasz",
    "q=Müll",
    "q=nomatchhere",
    "q=o'b",
    "status=paid&from=2025-02-01&to=2025-04-01",
    "status=shipped&currency=EUR&min_total=20&max_total=400",
    "status=paid,delivered&currency=USD&min_total=10",
    "product_id=P-002&status=paid",
    "product_id=P-002,P-005,P-011&from=2025-03-01",
    "product_id=P-004&currency=EUR&max_total=200",
    "customer_id=C-003&status=paid,shipped",
    "customer_id=C-003&product_id=P-001",
    "customer_id=C-005&q=user05",
    "customer_id=C-005&q=user06",
    "q=alice&status=paid",
    "q=user1&from=2025-02-01&to=2025-03-01",
    "q=user&product_id=P-003",
    "q=brandt&product_id=P-003,P-004&currency=EUR",
    "q=example&status=delivered&to=2025-02-01",
    "from=2025-03-01&to=2025-03-02",
    "from=2030-01-01",
};

Test(search, every_filter_matches_brute_force_both_orders)
{
    char qs[512];
    for (size_t i = 0; i < sizeof(QUERIES) / sizeof(QUERIES[0]); i++) {
        for (int t = 0; t < FX_TENANTS; t++) {
            snprintf(qs, sizeof(qs), "%s%slimit=100000", QUERIES[i], QUERIES[i][0] ? "&" : "");
            check_against_brute_force(t, qs);
            snprintf(qs, sizeof(qs), "%s%slimit=100000&sort=created_at", QUERIES[i],
                     QUERIES[i][0] ? "&" : "");
            check_against_brute_force(t, qs);
        }
    }
}

Test(search, limits_one_and_default_and_max)
{
    check_against_brute_force(0, "limit=1");
    cr_assert_eq(R.n, 1);
    cr_assert(R.next_cursor[0], "one row of many leaves a cursor");
    check_against_brute_force(0, "");
    cr_assert_eq(R.n, 700, "default limit 1000 covers the tenant's 700 orders");
    check_against_brute_force(1, "limit=100000&status=paid");
    cr_assert_eq(R.next_cursor[0], 0, "the last page has a null cursor");
    check_against_brute_force(0, "limit=700");
    cr_assert_eq(R.next_cursor[0], 0, "exactly all rows: no cursor (peek finds nothing)");
    check_against_brute_force(0, "limit=699");
    cr_assert_neq(R.next_cursor[0], 0);
}

/* Walk qs in pages of `page` rows; returns the concatenated ext ids. */
static size_t walk(int tenant, const char *qs, int page, char (*seen)[24], size_t cap,
                   void (*between)(int step))
{
    char q[1024];
    char cursor[CURSOR_TOKEN_MAX] = "";
    size_t n = 0;
    for (int step = 0; step < 10000; step++) {
        snprintf(q, sizeof(q), "%s&limit=%d%s%s", qs, page, cursor[0] ? "&cursor=" : "", cursor);
        fx_search(&X, tenant, q, NOW, &R, NULL);
        cr_assert_eq(R.rc, 0, "%s: %s", q, R.err.detail);
        for (size_t i = 0; i < R.n && n < cap; i++)
            memcpy(seen[n++], R.ext[i], 24);
        if (!R.next_cursor[0])
            break;
        cr_assert_eq(R.n, (size_t)page, "a page with a cursor is full");
        memcpy(cursor, R.next_cursor, sizeof(cursor));
        if (between)
            between(step);
    }
    return n;
}

static char SEEN[FX_MAX_ORDERS][24];

Test(search, page_walk_returns_every_row_once)
{
    static const char *const WALKS[] = {
        "sort=-created_at",
        "sort=created_at",
        "status=paid,shipped",
        "product_id=P-003",
        "q=alice",
        "customer_id=C-001",
        "currency=EUR&min_total=30&from=2025-02-10",
    };
    for (size_t w = 0; w < sizeof(WALKS) / sizeof(WALKS[0]); w++) {
        for (int page = 1; page <= 50; page += 24) {
            struct search_filter f;
            char q[256];
            snprintf(q, sizeof(q), "%s&limit=100000", WALKS[w]);
            fx_search(&X, 0, q, NOW, &R, &f);
            size_t n = fx_expected(&X, 0, &f, EXP);
            size_t got = walk(0, WALKS[w], page, SEEN, FX_MAX_ORDERS, NULL);
            cr_assert_eq(got, n, "%s page %d: %zu rows, expected %zu", WALKS[w], page, got, n);
            for (size_t i = 0; i < n; i++)
                cr_assert_str_eq(SEEN[i], EXP[i]->ext, "%s page %d row %zu", WALKS[w], page, i);
        }
    }
}

/* Between pages: insert orders at random times, delete some old ones. */
static size_t stable_before;
static void churn(int step)
{
    struct fx_order *victim = &X.orders[(size_t)(fx_rand(&X) % stable_before)];
    if (victim->tenant == 0 && !victim->deleted && step % 2 == 0)
        fx_delete_order(&X, victim);
    for (int k = 0; k < 3; k++)
        fx_add_order(&X, 0, FX_T0 + (int64_t)(fx_rand(&X) % FX_SPAN_HOURS) * 3600);
}

Test(search, page_walk_under_inserts_and_deletes_has_no_duplicates_or_skips)
{
    for (int dir = 0; dir < 2; dir++) {
        const char *qs = dir ? "sort=created_at" : "sort=-created_at";
        struct search_filter f;
        char q[64];
        snprintf(q, sizeof(q), "%s&limit=100000", qs);
        fx_search(&X, 0, q, NOW, &R, &f);
        stable_before = X.norders;
        /* Remember the rows that exist now; those not deleted must all be seen once. */
        size_t n0 = fx_expected(&X, 0, &f, EXP);
        static const struct fx_order *before[FX_MAX_ORDERS];
        memcpy(before, EXP, n0 * sizeof(*EXP));
        size_t got = walk(0, qs, 25, SEEN, FX_MAX_ORDERS, churn);
        for (size_t i = 0; i < got; i++)
            for (size_t j = i + 1; j < got; j++)
                cr_assert_str_neq(SEEN[i], SEEN[j], "duplicate %s", SEEN[i]);
        for (size_t i = 0; i < n0; i++) {
            if (before[i]->deleted)
                continue;
            bool found = false;
            for (size_t j = 0; j < got && !found; j++)
                found = strcmp(SEEN[j], before[i]->ext) == 0;
            cr_assert(found, "row %s existed throughout and was skipped", before[i]->ext);
        }
        /* The walk is in order even with the churn. */
        for (size_t i = 1; i < got; i++) {
            const struct fx_order *a = NULL, *b = NULL;
            for (size_t k = 0; k < X.norders; k++) {
                if (strcmp(X.orders[k].ext, SEEN[i - 1]) == 0)
                    a = &X.orders[k];
                if (strcmp(X.orders[k].ext, SEEN[i]) == 0)
                    b = &X.orders[k];
            }
            cr_assert(a && b);
            int c = fx_cmp_asc(&a, &b);
            cr_assert(dir ? c < 0 : c > 0, "order kept at %zu", i);
        }
    }
}

Test(search, projection_customer_and_items)
{
    fx_search(&X, 1, "fields=order_id,customer,items,total,ingested_at&limit=5&sort=created_at",
              NOW, &R, NULL);
    cr_assert_eq(R.rc, 0);
    json_error_t je;
    const char *nl = strchr(R.raw.data, '\n');
    json_t *j = json_loadb(R.raw.data, (size_t)(nl - R.raw.data), 0, &je);
    cr_assert_not_null(j);
    const char *ext = json_string_value(json_object_get(j, "order_id"));
    const struct fx_order *o = NULL;
    for (size_t i = 0; i < X.norders; i++)
        if (strcmp(X.orders[i].ext, ext) == 0)
            o = &X.orders[i];
    cr_assert_not_null(o);
    const struct fx_customer *c = &X.customers[1][o->customer];
    json_t *cj = json_object_get(j, "customer");
    cr_assert_str_eq(json_string_value(json_object_get(cj, "id")), c->ext);
    cr_assert_str_eq(json_string_value(json_object_get(cj, "name")), c->name);
    cr_assert_str_eq(json_string_value(json_object_get(cj, "email")), c->email);
    json_t *items = json_object_get(j, "items");
    cr_assert_eq(json_array_size(items), (size_t)o->nitems);
    for (int i = 0; i < o->nitems; i++) {
        json_t *it = json_array_get(items, (size_t)i);
        char pext[16];
        snprintf(pext, sizeof(pext), "P-%03d", o->product[i]);
        cr_assert_str_eq(json_string_value(json_object_get(it, "product_id")), pext);
        cr_assert_eq(json_integer_value(json_object_get(it, "quantity")), o->qty[i]);
        int64_t minor;
        const char *up = json_string_value(json_object_get(it, "unit_price"));
        cr_assert_eq(money_parse(up, strlen(up), currency_exponent(o->currency, 3), &minor), 0);
        cr_assert_eq(minor, o->price[i]);
    }
    const char *tot = json_string_value(json_object_get(j, "total"));
    int64_t minor;
    cr_assert_eq(money_parse(tot, strlen(tot), currency_exponent(o->currency, 3), &minor), 0);
    cr_assert_eq(minor, o->total);
    cr_assert_null(json_object_get(j, "status"), "not projected");
    cr_assert_not_null(json_object_get(j, "ingested_at"));
    cr_assert_eq(json_object_size(j), 5);
    json_decref(j);

    fx_search(&X, 0, "fields=status&limit=3", NOW, &R, NULL);
    cr_assert(strncmp(R.raw.data, "{\"status\":\"", 11) == 0, "%s", R.raw.data);

    fx_search(&X, 0, "limit=2", NOW, &R, NULL);
    j = json_loadb(R.raw.data, (size_t)(strchr(R.raw.data, '\n') - R.raw.data), 0, &je);
    const char *want[] = {"order_id", "status", "currency", "total", "item_count", "created_at"};
    cr_assert_eq(json_object_size(j), 6, "default projection");
    for (size_t i = 0; i < 6; i++)
        cr_assert_not_null(json_object_get(j, want[i]));
    const char *ca = json_string_value(json_object_get(j, "created_at"));
    int64_t t;
    cr_assert_eq(rfc3339_parse(ca, strlen(ca), &t), 0);
    json_decref(j);
}

Test(search, json_document_format)
{
    fx_search(&X, 0, "format=json&limit=10&fields=order_id", NOW, &R, NULL);
    json_error_t je;
    json_t *j = json_loadb(R.raw.data, R.raw.len, 0, &je);
    cr_assert_not_null(j, "%s: %s", je.text, R.raw.data);
    cr_assert_eq(json_array_size(json_object_get(j, "data")), 10);
    cr_assert(json_is_string(json_object_get(j, "next_cursor")));
    cr_assert_eq(json_integer_value(json_object_get(j, "count")), 10);
    json_decref(j);
    fx_search(&X, 0, "format=json&customer_id=C-999", NOW, &R, NULL);
    j = json_loadb(R.raw.data, R.raw.len, 0, &je);
    cr_assert_not_null(j, "%s", R.raw.data);
    cr_assert_eq(json_array_size(json_object_get(j, "data")), 0);
    cr_assert(json_is_null(json_object_get(j, "next_cursor")));
    json_decref(j);
}

Test(search, cursors_tampered_foreign_filtered_expired)
{
    char q[512], cur[CURSOR_TOKEN_MAX];
    fx_search(&X, 0, "status=paid&limit=3", NOW, &R, NULL);
    memcpy(cur, R.next_cursor, sizeof(cur));
    cr_assert(cur[0]);

    snprintf(q, sizeof(q), "status=paid&limit=3&cursor=%s", cur);
    fx_search(&X, 0, q, NOW, &R, NULL);
    cr_assert_eq(R.rc, 0, "the genuine cursor works");

    for (size_t i = 0; i < strlen(cur); i += 7) {
        char bad[CURSOR_TOKEN_MAX];
        memcpy(bad, cur, sizeof(bad));
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        snprintf(q, sizeof(q), "status=paid&limit=3&cursor=%s", bad);
        fx_search(&X, 0, q, NOW, &R, NULL);
        cr_assert_eq(R.rc, -1, "tampered at %zu", i);
        cr_assert_eq(R.err.code, ERR_INVALID_CURSOR);
    }
    snprintf(q, sizeof(q), "status=paid&limit=3&cursor=%s", cur);
    fx_search(&X, 1, q, NOW, &R, NULL);
    cr_assert_eq(R.rc, -1, "foreign tenant");
    cr_assert(strstr(R.err.detail, "another tenant"), "%s", R.err.detail);

    snprintf(q, sizeof(q), "status=shipped&limit=3&cursor=%s", cur);
    fx_search(&X, 0, q, NOW, &R, NULL);
    cr_assert_eq(R.rc, -1, "other filters");
    cr_assert(strstr(R.err.detail, "filter"), "%s", R.err.detail);

    snprintf(q, sizeof(q), "status=paid&limit=3&sort=created_at&cursor=%s", cur);
    fx_search(&X, 0, q, NOW, &R, NULL);
    cr_assert_eq(R.rc, -1, "other sort");

    snprintf(q, sizeof(q), "status=paid&limit=50&fields=order_id,customer&cursor=%s", cur);
    fx_search(&X, 0, q, NOW, &R, NULL);
    cr_assert_eq(R.rc, 0, "limit and fields may change between pages");

    snprintf(q, sizeof(q), "status=paid&limit=3&cursor=%s", cur);
    fx_search(&X, 0, q, NOW + SEARCH_CURSOR_TTL_S, &R, NULL);
    cr_assert_eq(R.rc, -1, "expired");
    cr_assert(strstr(R.err.detail, "expired"), "%s", R.err.detail);

    fx_search(&X, 0, "status=paid&cursor=bm90LWEtY3Vyc29y", NOW, &R, NULL);
    cr_assert_eq(R.err.code, ERR_INVALID_CURSOR, "garbage");
}

Test(search, text_search_is_tenant_scoped_and_case_insensitive)
{
    /* "Zoë" exists in both tenants; each sees only its own. */
    struct search_filter f;
    fx_search(&X, 0, "q=ZOË&limit=100000&fields=order_id,customer_name", NOW, &R, &f);
    cr_assert_gt(R.n, 0);
    cr_assert_eq(R.n, fx_expected(&X, 0, &f, EXP));
    cr_assert(strstr(R.raw.data, "Zoë Brandt"));
    fx_search(&X, 0, "q=zo", NOW, &R, NULL);
    cr_assert_eq(R.rc, -1);
    cr_assert_eq(R.err.code, ERR_SEARCH_TERM_TOO_SHORT);
    fx_search(&X, 0, "q=t1@example", NOW, &R, NULL);
    cr_assert_eq(R.n, 0, "tenant 1's e-mails are invisible to tenant 0");
    /* FTS5 syntax in the term is text, not query language. */
    static const char *const literal[] = {"q=zo\"ë",     "q=\"\"\"", "q=AND OR NOT",
                                          "q=NEAR(a b)", "q=bra*",   "q=name:zoe",
                                          "q=^zoë",      "q=(((",    "q=o'b"};
    for (size_t i = 0; i < sizeof(literal) / sizeof(literal[0]); i++) {
        fx_search(&X, 0, literal[i], NOW, &R, &f);
        cr_assert_eq(R.rc, 0, "%s: %s", literal[i], R.err.detail);
        cr_assert_eq(R.n, fx_expected(&X, 0, &f, EXP), "%s", literal[i]);
    }
}

Test(search, client_gone_stops_the_walk)
{
    struct search_filter f;
    struct filter_param p[4];
    char qs[] = "limit=100000";
    size_t n = fx_params(qs, p, 4);
    struct error err;
    cr_assert_eq(filter_parse(p, n, &f, &err), 0);
    struct search *s;
    cr_assert_eq(search_open(X.db, X.tenant[0], &f, FX_KEY, NOW, &s, &err), 0);
    struct sink dead = {0};
    dead.err = -1; /* as after a failed write */
    dead.write = NULL;
    cr_assert_eq(search_run(s, &dead, FORMAT_NDJSON, &err), 0);
    cr_assert(search_client_gone(s));
    cr_assert_eq(search_pages(s), 1, "stopped after the first page");
    search_close(s);
}

/* The plan test: each listed combination keeps its index and never sorts. */
Test(search, plans_use_an_index_and_never_sort)
{
    const struct search_plan_values v = {"P-001",       "P-002",      "C-001",     "alice",
                                         "example.com", "2025-02-01", "2025-02-20"};
    for (size_t i = 0; i < SEARCH_PLAN_CASES_COUNT; i++) {
        struct search_filter f;
        struct filter_param p[16];
        char qs[256];
        struct error err;
        struct buf out = BUF_INIT;
        search_plan_expand(SEARCH_PLAN_CASES[i].qs, &v, qs, sizeof(qs));
        size_t n = fx_params(qs, p, 16);
        cr_assert_eq(filter_parse(p, n, &f, &err), 0, "%s", err.detail);
        cr_assert_eq(search_explain(X.db, X.tenant[0], &f, &out, &err), 0, "%s", err.detail);
        const char *why = search_plan_problem(out.data, SEARCH_PLAN_CASES[i].index);
        cr_assert_null(why, "%s (%s): %s\n%s", SEARCH_PLAN_CASES[i].name, qs, why, out.data);
        buf_fini(&out);
    }
    /* The merge of a few customers' index walks (q matching 2..32 customers). */
    struct search_filter f;
    struct filter_param p[4];
    char qs[] = "q=user0&to=2025-01-31";
    struct error err;
    struct buf out = BUF_INIT;
    size_t n = fx_params(qs, p, 4);
    cr_assert_eq(filter_parse(p, n, &f, &err), 0);
    cr_assert_eq(search_explain(X.db, X.tenant[0], &f, &out, &err), 0);
    cr_assert(strstr(out.data, "MERGE (UNION ALL)") && strstr(out.data, "orders_p202501_customer"),
              "%s", out.data);
    cr_assert_null(search_plan_problem(out.data, "_customer"), "%s", out.data);
    buf_fini(&out);
}

Test(search, partitions_outside_the_range_are_not_listed)
{
    struct search_filter f;
    struct filter_param p[4];
    char qs[] = "from=2025-02-10&to=2025-03-20";
    struct error err;
    struct buf out = BUF_INIT;
    size_t n = fx_params(qs, p, 4);
    cr_assert_eq(filter_parse(p, n, &f, &err), 0);
    cr_assert_eq(search_explain(X.db, X.tenant[0], &f, &out, &err), 0);
    cr_assert(strstr(out.data, "partitions: 202502 202503\n"), "%s", out.data);
    buf_fini(&out);
}

/* A failure after rows were sent: -1 with the reason, rows before it kept, and
 * the JSON document closed with an error member. */
Test(search, error_midway_ends_the_stream_with_an_error_record)
{
    struct search_filter f;
    struct filter_param p[4];
    char qs[] = "limit=100000&format=json&fields=order_id";
    struct error err;
    size_t n = fx_params(qs, p, 4);
    cr_assert_eq(filter_parse(p, n, &f, &err), 0);
    struct search *s;
    cr_assert_eq(search_open(X.db, X.tenant[0], &f, FX_KEY, NOW, &s, &err), 0);
    /* The oldest partition disappears between open and run. */
    fx_exec(&X, "DROP TABLE orders_p202501");
    struct buf out = BUF_INIT;
    struct sink sink;
    sink_init_buf(&sink, &out);
    cr_assert_eq(search_run(s, &sink, FORMAT_JSON, &err), -1);
    cr_assert_eq(err.code, ERR_INTERNAL, "%s", err.detail);
    cr_assert_gt(search_count(s), 0, "newer months were streamed first");
    order_json_doc_error(&out, search_count(s), &err, "rid-1");
    json_error_t je;
    json_t *j = json_loadb(out.data, out.len, 0, &je);
    cr_assert_not_null(j, "still one JSON document: %s", je.text);
    cr_assert_eq(json_array_size(json_object_get(j, "data")), search_count(s));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                     "internal_error");
    cr_assert(json_is_null(json_object_get(j, "next_cursor")));
    json_decref(j);
    buf_fini(&out);
    search_close(s);
}

/*
 * Pages do not pin the WAL: whenever a page reaches the sink, the search's
 * connection holds no read snapshot, so another connection can write and then
 * checkpoint the whole WAL (TRUNCATE needs every reader gone).
 */
struct wal_probe {
    sqlite3 *other;
    int writes, pinned;
};

static int wal_probe_write(struct sink *s, const void *p, size_t n)
{
    struct wal_probe *w = s->ctx;
    (void)p;
    (void)n;
    char sql[128];
    snprintf(sql, sizeof(sql), "INSERT INTO rate_limits(bucket, tat_ms) VALUES ('probe%d', 0)",
             w->writes++);
    cr_assert_eq(sqlite3_exec(w->other, sql, NULL, NULL, NULL), SQLITE_OK, "%s",
                 sqlite3_errmsg(w->other));
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(w->other, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL),
                 SQLITE_OK);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW || sqlite3_column_int(st, 0) != 0)
        w->pinned++;
    sqlite3_finalize(st);
    return 0;
}

Test(search, pages_do_not_pin_the_wal)
{
    struct search_filter f;
    struct filter_param p[4];
    char qs[] = "limit=100000&fields=order_id,customer,items";
    struct error err;
    size_t n = fx_params(qs, p, 4);
    cr_assert_eq(filter_parse(p, n, &f, &err), 0);
    struct wal_probe w = {0};
    cr_assert_eq(sqlite3_open_v2(X.path, &w.other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(w.other, 0);
    /* Control: the probe does notice a reader holding a snapshot. */
    struct sink probe = {.write = wal_probe_write, .ctx = &w};
    int64_t v;
    cr_assert_eq(db_begin_read(X.db, &err), 0);
    cr_assert_eq(db_query_i64(X.db, "SELECT count(*) FROM tenants", &v, &err), 0);
    wal_probe_write(&probe, "", 0);
    db_rollback(X.db);
    cr_assert_eq(w.pinned, 1, "the probe sees an open snapshot");
    w.pinned = 0;
    int before = w.writes;
    struct search *s;
    cr_assert_eq(search_open(X.db, X.tenant[0], &f, FX_KEY, NOW, &s, &err), 0);
    struct sink sink = {.write = wal_probe_write, .ctx = &w};
    cr_assert_eq(search_run(s, &sink, FORMAT_NDJSON, &err), 0, "%s", err.detail);
    cr_assert_eq(search_count(s), 700);
    cr_assert_gt(w.writes - before, 3, "several pages (%d)", w.writes - before);
    cr_assert_eq(w.pinned, 0, "a checkpoint was blocked %d times", w.pinned);
    search_close(s);
    sqlite3_close(w.other);
}
