/*
 * test_ratelimit.c: GCRA in SQLite rows with a simulated clock: accuracy
 * (R·T + B within one request), Retry-After and RateLimit values, remaining
 * counts, unlimited policies, a changed policy, and header rendering.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "ratelimit.h"
#include "scratch.h"

static char dir[SCRATCH_DIR_MAX], path[SCRATCH_PATH_MAX];
static struct db *db;

static void setup(void)
{
    struct error err;
    scratch_make(dir, path, "rl");
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
}

static void teardown(void)
{
    db_close(db);
    scratch_remove(dir);
}

TestSuite(ratelimit, .init = setup, .fini = teardown);

/* One request at now_us against one bucket; returns 1 if allowed. */
static int hit(struct rl_check *c, int64_t now_us)
{
    struct error err;
    cr_assert_eq(db_begin(db, &err), 0);
    cr_assert_eq(rl_evaluate(db, c, now_us, &err), 0, "%s", err.detail);
    cr_assert_eq(rl_commit(db, c, &err), 0);
    cr_assert_eq(db_commit(db, &err), 0);
    return !c->limited;
}

static struct rl_check check(const char *bucket, int64_t rate, int64_t period, int64_t burst)
{
    struct rl_check c = {.name = "t", .policy = {rate, period, burst}};
    snprintf(c.bucket, sizeof(c.bucket), "%s", bucket);
    return c;
}

Test(ratelimit, accepted_count_is_rate_times_time_plus_burst)
{
    static const struct {
        int64_t rate, period, burst, seconds;
    } cases[] = {{10, 1, 5, 10}, {100, 1, 1, 3}, {3, 1, 7, 5}, {1, 2, 4, 20}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char name[32];
        snprintf(name, sizeof(name), "acc%zu", k);
        struct rl_check c = check(name, cases[k].rate, cases[k].period, cases[k].burst);
        int64_t t0 = 1700000000LL * 1000000, n = 0;
        /* a request every millisecond, for `seconds` seconds */
        for (int64_t t = 0; t < cases[k].seconds * 1000000; t += 1000)
            n += hit(&c, t0 + t);
        int64_t expect = cases[k].rate * cases[k].seconds / cases[k].period + cases[k].burst;
        cr_assert(n >= expect - 1 && n <= expect + 1, "case %zu: %lld accepted, expected %lld",
                  k, (long long)n, (long long)expect);
    }
}

Test(ratelimit, retry_after_is_the_wait_until_the_next_slot)
{
    struct rl_check c = check("ra", 1, 10, 1);
    int64_t t0 = 1700000000LL * 1000000;
    cr_assert(hit(&c, t0));
    cr_assert_eq(c.remaining, 0);
    cr_assert_eq(rl_seconds_ceil(c.retry_after_us), 10, "t: next request in 10 s");
    cr_assert(!hit(&c, t0 + 1));
    cr_assert_eq(c.retry_after_us, 10000000 - 1);
    cr_assert_eq(rl_seconds_ceil(c.retry_after_us), 10);
    cr_assert(!hit(&c, t0 + 9500000));
    cr_assert_eq(rl_seconds_ceil(c.retry_after_us), 1, "half a second left rounds up");
    cr_assert(hit(&c, t0 + 10000000), "allowed exactly at the slot");
}

Test(ratelimit, remaining_counts_down_the_burst)
{
    struct rl_check c = check("rem", 60, 60, 3);
    int64_t t0 = 1700000000LL * 1000000;
    cr_assert(hit(&c, t0));
    cr_assert_eq(c.remaining, 2);
    cr_assert(hit(&c, t0));
    cr_assert_eq(c.remaining, 1);
    cr_assert(hit(&c, t0));
    cr_assert_eq(c.remaining, 0);
    cr_assert(!hit(&c, t0));
    cr_assert_eq(rl_seconds_ceil(c.retry_after_us), 1);
    cr_assert(hit(&c, t0 + 1000000), "one per second refills");
}

Test(ratelimit, a_refused_request_consumes_nothing)
{
    struct error err;
    struct rl_check a = check("both_a", 10, 1, 10), b = check("both_b", 1, 60, 1);
    int64_t t0 = 1700000000LL * 1000000;
    cr_assert(hit(&b, t0)); /* b is now exhausted */
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(db_begin(db, &err), 0);
        cr_assert_eq(rl_evaluate(db, &a, t0, &err), 0);
        cr_assert_eq(rl_evaluate(db, &b, t0, &err), 0);
        cr_assert(!a.limited && b.limited);
        db_rollback(db); /* the caller commits neither */
    }
    struct rl_check a2 = check("both_a", 10, 1, 10);
    int n = 0;
    for (int i = 0; i < 20; i++)
        n += hit(&a2, t0);
    cr_assert_eq(n, 10, "a still has its whole burst");
}

Test(ratelimit, unlimited_policy_never_limits_and_writes_nothing)
{
    struct rl_check c = check("free", 0, 1, 1);
    for (int i = 0; i < 100; i++)
        cr_assert(hit(&c, 1));
    int64_t rows;
    struct error err;
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM rate_limit_tat", &rows, &err), 0);
    cr_assert_eq(rows, 0);
}

Test(ratelimit, raising_a_limit_takes_effect_at_once)
{
    int64_t t0 = 1700000000LL * 1000000;
    struct rl_check slow = check("chg", 1, 3600, 1);
    cr_assert(hit(&slow, t0));
    cr_assert(!hit(&slow, t0 + 1));
    struct rl_check fast = check("chg", 1000, 1, 10);
    cr_assert(hit(&fast, t0 + 2), "a TAT from the old policy does not block the new one");
}

Test(ratelimit, header_values)
{
    struct rl_check c[2] = {check("h1", 200, 1, 400), check("h2", 0, 1, 1)};
    struct buf pol = BUF_INIT, st = BUF_INIT;
    c[0].name = "tenant";
    c[1].name = "product";
    c[0].remaining = 399;
    c[0].retry_after_us = 0;
    rl_headers(c, 2, &pol, &st);
    cr_assert_str_eq(pol.data, "\"tenant\";q=200;w=1");
    cr_assert_str_eq(st.data, "\"tenant\";r=399;t=0");
    buf_fini(&pol);
    buf_fini(&st);
}
