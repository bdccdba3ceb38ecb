/*
 * test_stock.c: core/stock.c against a real database file: each conflict
 * mode, per-product atomicity with a failing product in the middle, event_id
 * dedupe, validation, multi-group requests with product locks, waiting for
 * another request's lock, and 8 processes racing merges on one product.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog.h"
#include "db.h"
#include "partition.h"
#include "stock.h"
#include "tenant.h"
#include "timefmt.h"
#include "scratch.h"

static char dir[SCRATCH_DIR_MAX], path[SCRATCH_PATH_MAX];
static struct db *db;
static int64_t tenant;

static void product(const char *id)
{
    struct product_input in = {.name = id, .name_len = strlen(id), .currency = "EUR"};
    struct product p;
    struct error err;
    bool created;
    cr_assert_eq(catalog_product_put(db, tenant, id, strlen(id), &in, &created, &p, &err), 0,
                 "%s", err.detail);
}

static void setup(void)
{
    struct error err;
    struct tenant t;
    char key[API_KEY_LEN + 1];
    scratch_make(dir, path, "stock");
    partition_cache_reset();
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
    cr_assert_eq(tenant_create(db, "t", &t, key, &err), 0);
    tenant = t.id;
    for (const char *const *p = (const char *const[]){"A", "B", "C", "D", NULL}; *p; p++)
        product(*p);
}

static void teardown(void)
{
    db_close(db);
    scratch_remove(dir);
}

TestSuite(stock, .init = setup, .fini = teardown);

/* Run a JSON request; returns the response JSON (caller frees). */
static char *run(const char *body)
{
    struct error err;
    struct buf out = BUF_INIT;
    struct stock_request *r = stock_request_new(STOCK_MERGE, false);
    cr_assert_eq(stock_request_parse_json(r, body, strlen(body), &err), 0, "%s", err.detail);
    cr_assert_eq(stock_request_invalid(r), 0, "invalid events");
    cr_assert_eq(stock_apply(db, tenant, r, NULL, NULL, &err), 0, "%s", err.detail);
    stock_results_json(r, &out);
    stock_request_free(r);
    return out.data;
}

static void level(const char *id, int64_t *q, int64_t *v)
{
    struct product p;
    struct error err;
    cr_assert_eq(catalog_product_get(db, tenant, id, strlen(id), &p, &err), 0);
    *q = p.quantity;
    *v = p.version;
}

#define EV(id, prod, what, t) \
    "{\"event_id\":\"" id "\",\"product_id\":\"" prod "\"," what ",\"event_time\":\"" t "\"}"

Test(stock, merge_adds_and_bumps_the_version_once_per_request)
{
    free(run("{\"mode\":\"merge\",\"events\":[" EV("1", "A", "\"delta\":5", "2025-01-01T00:00:00Z")
             "," EV("2", "A", "\"delta\":-2", "2025-01-01T00:00:01Z") "]}"));
    int64_t q, v;
    level("A", &q, &v);
    cr_assert_eq(q, 3);
    cr_assert_eq(v, 1);
}

Test(stock, last_write_wins_reports_stale_events)
{
    free(run("{\"mode\":\"last_write_wins\",\"events\":[" EV("1", "A", "\"quantity\":7",
                                                             "2025-01-02T00:00:00Z") "]}"));
    char *out = run("{\"mode\":\"last_write_wins\",\"events\":[" EV(
        "2", "A", "\"quantity\":1", "2025-01-01T23:59:59.999Z") "]}");
    cr_assert(strstr(out, "\"reason\":\"stale\"") && strstr(out, "\"stale_event_ids\":[\"2\"]"),
              "%s", out);
    free(out);
    int64_t q, v;
    level("A", &q, &v);
    cr_assert_eq(q, 7);
    cr_assert_eq(v, 1);
}

Test(stock, reject_mode_answers_the_current_version)
{
    free(run("{\"mode\":\"reject\",\"events\":[" EV("1", "A", "\"quantity\":4,\"expected_version\":0",
                                                    "2025-01-01T00:00:00Z") "]}"));
    char *out = run("{\"mode\":\"reject\",\"events\":[" EV(
        "2", "A", "\"delta\":1,\"expected_version\":0", "2025-01-01T00:00:01Z") "]}");
    cr_assert(strstr(out, "\"reason\":\"version_conflict\"") &&
                  strstr(out, "\"current_version\":1"),
              "%s", out);
    free(out);
}

Test(stock, a_failing_product_in_the_middle_changes_nothing_of_itself_only)
{
    char *out = run(
        "{\"mode\":\"merge\",\"events\":[" EV("1", "A", "\"delta\":1", "2025-01-01T00:00:00Z")
        "," EV("2", "B", "\"delta\":2", "2025-01-01T00:00:00Z") "," EV(
            "3", "B", "\"delta\":-5", "2025-01-01T00:00:01Z") "," EV("4", "C", "\"delta\":3",
                                                                     "2025-01-01T00:00:00Z") "]}");
    cr_assert(strstr(out, "\"product_id\":\"B\",\"status\":\"rejected\",\"reason\":\"negative_stock\""),
              "%s", out);
    free(out);
    int64_t q, v;
    level("A", &q, &v);
    cr_assert_eq(q, 1);
    level("B", &q, &v);
    cr_assert_eq(q + v, 0, "B untouched");
    level("C", &q, &v);
    cr_assert_eq(q, 3);
    /* B's event ids were not registered: the corrected retry applies. */
    free(run("{\"mode\":\"merge\",\"events\":[" EV("2", "B", "\"delta\":2", "2025-01-01T00:00:00Z") "]}"));
    level("B", &q, &v);
    cr_assert_eq(q, 2);
}

Test(stock, an_event_id_is_never_applied_twice)
{
    const char *b = "{\"mode\":\"merge\",\"events\":[" EV("x", "A", "\"delta\":1",
                                                          "2025-01-01T00:00:00Z") "," EV(
        "x", "A", "\"delta\":1", "2025-01-01T00:00:00Z") "]}";
    free(run(b));
    free(run(b));
    int64_t q, v;
    level("A", &q, &v);
    cr_assert_eq(q, 1);
    cr_assert_eq(v, 1);
}

Test(stock, invalid_events_are_all_listed)
{
    struct error err;
    const char *b = "{\"events\":[{\"product_id\":\"A\"},{\"event_id\":\"e\",\"product_id\":\"A\","
                    "\"delta\":1,\"quantity\":2,\"event_time\":\"2025-01-01T00:00:00Z\"}]}";
    struct stock_request *r = stock_request_new(STOCK_MERGE, false);
    cr_assert_eq(stock_request_parse_json(r, b, strlen(b), &err), 0);
    cr_assert_eq(stock_request_invalid(r), 4, "missing id, delta/quantity, time; both given");
    stock_request_free(r);
}

Test(stock, ndjson_and_multi_group_requests)
{
    struct buf body = BUF_INIT, out = BUF_INIT;
    struct error err;
    struct source src;
    struct mem_source ms;
    for (int i = 0; i < 16000; i++)
        buf_appendf(&body,
                    "{\"event_id\":\"n%d\",\"product_id\":\"%c\",\"delta\":1,"
                    "\"event_time\":\"2025-0%d-01T00:00:00Z\"}\n",
                    i, "ABCD"[i % 4], 1 + i % 3);
    struct stock_request *r = stock_request_new(STOCK_MERGE, false);
    source_init_mem(&src, &ms, body.data, body.len);
    cr_assert_eq(stock_request_parse_ndjson(r, &src, &err), 0, "%s", err.detail);
    cr_assert_eq(stock_apply(db, tenant, r, NULL, NULL, &err), 0, "%s", err.detail);
    stock_results_json(r, &out);
    cr_assert(strstr(out.data, "\"events_applied\":16000") && strstr(out.data, "\"product_locks\":true"),
              "%s", out.data);
    int64_t q, v, locks;
    level("D", &q, &v);
    cr_assert_eq(q, 4000);
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM locks", &locks, &err), 0);
    cr_assert_eq(locks, 0, "locks released");
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM partitions WHERE base='stock_events'",
                              &locks, &err), 0);
    cr_assert_eq(locks, 3, "three month partitions");
    stock_request_free(r);
    buf_fini(&body);
    buf_fini(&out);
}

Test(stock, eight_processes_racing_merges_end_at_the_sum)
{
    enum { PROCS = 8, EACH = 50 };
    for (int p = 0; p < PROCS; p++) {
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            struct db *mine;
            struct error err;
            if (db_open(path, 0, &mine, &err))
                _exit(2);
            for (int i = 0; i < EACH; i++) {
                char b[256];
                snprintf(b, sizeof(b),
                         "{\"events\":[{\"event_id\":\"r%d-%d\",\"product_id\":\"D\",\"delta\":1,"
                         "\"event_time\":\"2025-01-01T00:00:00Z\"}]}",
                         p, i);
                struct stock_request *r = stock_request_new(STOCK_MERGE, false);
                if (stock_request_parse_json(r, b, strlen(b), &err) ||
                    stock_apply(mine, tenant, r, NULL, NULL, &err))
                    _exit(3);
                stock_request_free(r);
            }
            db_close(mine);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int st;
        wait(&st);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    int64_t q, v;
    level("D", &q, &v);
    cr_assert_eq(q, PROCS * EACH);
    cr_assert_eq(v, PROCS * EACH);
}

Test(stock, a_locked_product_waits_for_the_lock_and_others_do_not)
{
    struct error err;
    char sql[256];
    int64_t now = time_now_ms(), q, v;
    /* Another bulk update holds A for 300 ms more (or died holding it). */
    snprintf(sql, sizeof(sql),
             "INSERT INTO locks(name, owner, lease_until) VALUES ('stock:%lld:A', 'other', %lld)",
             (long long)tenant, (long long)(now + 300));
    cr_assert_eq(db_exec(db, sql, &err), 0, "%s", err.detail);
    int64_t t0 = time_now_ms();
    free(run("{\"events\":[" EV("w1", "B", "\"delta\":1", "2025-01-01T00:00:00Z") "]}"));
    cr_assert_lt(time_now_ms() - t0, 200, "B is not locked");
    t0 = time_now_ms();
    free(run("{\"events\":[" EV("w2", "A", "\"delta\":1", "2025-01-01T00:00:00Z") "," EV(
        "w3", "B", "\"delta\":1", "2025-01-01T00:00:00Z") "]}"));
    int64_t waited = time_now_ms() - t0;
    cr_assert_geq(waited, 250, "waited for the lease (%lld ms)", (long long)waited);
    level("A", &q, &v);
    cr_assert_eq(q, 1);
    level("B", &q, &v);
    cr_assert_eq(q, 2, "B waited with A: the request is atomic with respect to the lock");
}

Test(stock, a_multi_group_request_waits_for_a_held_product_lock_then_releases_all)
{
    struct buf body = BUF_INIT;
    struct error err;
    struct source src;
    struct mem_source ms;
    char sql[256];
    int64_t locks;
    snprintf(sql, sizeof(sql),
             "INSERT INTO locks(name, owner, lease_until) VALUES ('stock:%lld:C', 'other', %lld)",
             (long long)tenant, (long long)(time_now_ms() + 300));
    cr_assert_eq(db_exec(db, sql, &err), 0, "%s", err.detail);
    for (int i = 0; i < 16000; i++)
        buf_appendf(&body,
                    "{\"event_id\":\"g%d\",\"product_id\":\"%c\",\"delta\":1,"
                    "\"event_time\":\"2025-01-01T00:00:00Z\"}\n",
                    i, "ABCD"[i % 4]);
    struct stock_request *r = stock_request_new(STOCK_MERGE, false);
    source_init_mem(&src, &ms, body.data, body.len);
    cr_assert_eq(stock_request_parse_ndjson(r, &src, &err), 0);
    int64_t t0 = time_now_ms();
    cr_assert_eq(stock_apply(db, tenant, r, NULL, NULL, &err), 0, "%s", err.detail);
    cr_assert_geq(time_now_ms() - t0, 250, "waited for C's lease");
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM locks WHERE owner <> 'other'", &locks,
                              &err), 0);
    cr_assert_eq(locks, 0, "every lock row of the request released");
    int64_t q, v;
    level("C", &q, &v);
    cr_assert_eq(q, 4000);
    stock_request_free(r);
    buf_fini(&body);
}
