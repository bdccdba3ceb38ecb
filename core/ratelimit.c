/*
 * ratelimit.c: GCRA over rate_limit_tat rows (see ratelimit.h for the
 * algorithm). Two statements per bucket: a primary-key read and, when the
 * request passes, an upsert. Microseconds keep rates up to 10^6/s exact to
 * one part in 10^6 of the emission interval.
 */
#include "ratelimit.h"

#include <stdio.h>
#include <string.h>

enum { SQL_GET, SQL_PUT };

static const char *const SQL[] = {
    [SQL_GET] = "SELECT tat_us FROM rate_limit_tat WHERE bucket = ?1",
    [SQL_PUT] = "INSERT INTO rate_limit_tat(bucket, tat_us) VALUES (?1, ?2) "
                "ON CONFLICT(bucket) DO UPDATE SET tat_us = excluded.tat_us",
};

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int rl_evaluate(struct db *db, struct rl_check *c, int64_t now_us, struct error *err)
{
    c->limited = false;
    c->retry_after_us = 0;
    c->remaining = 0;
    if (c->policy.rate <= 0)
        return 0;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_GET], err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, c->bucket, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t stored = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    db_done(db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, rc, err, "rate limit read");
    int64_t t = c->policy.period_s * 1000000 / c->policy.rate;
    if (t < 1)
        t = 1;
    int64_t tau = t * (c->policy.burst - 1);
    /*
     * Under one policy the TAT never runs more than tau + T ahead of now; a
     * TAT further ahead was written under another policy (the limit was
     * changed since): the bucket starts afresh under the current one.
     */
    if (stored > now_us + tau + t)
        stored = now_us;
    int64_t tat = stored > now_us ? stored : now_us;
    if (tat - now_us > tau) {
        c->limited = true;
        c->retry_after_us = tat - tau - now_us;
        c->remaining = 0;
        return 0;
    }
    c->new_tat_us = tat + t;
    int64_t rem = floor_div(tau - (c->new_tat_us - now_us), t) + 1;
    c->remaining = rem < 0 ? 0 : rem;
    /* t for the headers: until one more request is allowed. */
    c->retry_after_us = c->remaining > 0 ? 0 : c->new_tat_us - tau - now_us;
    return 0;
}

int rl_commit(struct db *db, const struct rl_check *c, struct error *err)
{
    if (c->policy.rate <= 0 || c->limited)
        return 0;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_PUT], err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, c->bucket, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c->new_tat_us);
    int rc = sqlite3_step(st);
    db_done(db, st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "rate limit write");
}

int64_t rl_seconds_ceil(int64_t us)
{
    if (us <= 0)
        return 0;
    return (us + 999999) / 1000000;
}

void rl_headers(const struct rl_check *checks, int n, struct buf *policy, struct buf *state)
{
    for (int i = 0; i < n; i++) {
        const struct rl_check *c = &checks[i];
        if (c->policy.rate <= 0)
            continue;
        if (policy->len)
            buf_puts(policy, ", ");
        buf_appendf(policy, "\"%s\";q=%lld;w=%lld", c->name, (long long)c->policy.rate,
                    (long long)c->policy.period_s);
        if (state->len)
            buf_puts(state, ", ");
        buf_appendf(state, "\"%s\";r=%lld;t=%lld", c->name, (long long)c->remaining,
                    (long long)rl_seconds_ceil(c->retry_after_us));
    }
}
