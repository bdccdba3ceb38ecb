/*
 * ratelimit.h: GCRA rate limits held in SQLite rows shared by all workers
 * (REFERENCES §4).
 *
 * A policy is `rate` requests per `period_s` seconds with a burst of `burst`
 * requests at once; over any window of D seconds a client gets at most
 * burst + rate·D/period_s requests through. The state of a bucket is one
 * theoretical arrival time (TAT, microseconds) in rate_limit_tat:
 *
 *   T   = period / rate                  emission interval
 *   tau = T · (burst - 1)                 how far the TAT may run ahead of now
 *   tat = max(stored, now)
 *   allowed  iff  tat - now <= tau;  then stored := tat + T
 *   retry_after = tat - tau - now        (limited)
 *   remaining   = floor((tau - (tat' - now)) / T) + 1   (after an allowed request)
 *
 * O(1) per check, no background refill, exact rolling window; the rows are
 * read and written inside the caller's BEGIN IMMEDIATE transaction, so
 * checks from different workers serialise. Several buckets are checked
 * all-or-nothing: rl_evaluate() each, then rl_commit() each only if none was
 * limited (a refused request consumes no quota anywhere).
 */
#ifndef CORE_RATELIMIT_H
#define CORE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "error.h"

#define RL_RATE_MAX   10000000 /* requests per period */
#define RL_PERIOD_MAX 86400    /* seconds */
#define RL_BURST_MAX  10000000

struct rl_policy {
    int64_t rate;     /* requests per period; 0 = unlimited */
    int64_t period_s; /* 1..RL_PERIOD_MAX */
    int64_t burst;    /* 1..RL_BURST_MAX */
};

struct rl_check {
    char bucket[64];
    const char *name; /* policy name for the RateLimit headers ("tenant", "product") */
    struct rl_policy policy;
    /* filled by rl_evaluate */
    bool limited;
    int64_t new_tat_us;
    int64_t remaining;      /* requests still allowed now (after this one if allowed) */
    int64_t retry_after_us; /* limited: until this request would be allowed */
};

/* Read the bucket and decide, at now_us; writes nothing. Unlimited policies never limit. */
int rl_evaluate(struct db *db, struct rl_check *c, int64_t now_us, struct error *err);
/* Store the bucket's new TAT (only after every bucket of the request allowed it). */
int rl_commit(struct db *db, const struct rl_check *c, struct error *err);

/* Seconds for Retry-After / RateLimit t: ceil(us / 1e6), at least 1 when us > 0. */
int64_t rl_seconds_ceil(int64_t us);
/*
 * Header values for checks[0..n): RateLimit-Policy ("name";q=rate;w=period)
 * and RateLimit ("name";r=remaining;t=seconds until the next request is
 * allowed). Unlimited policies are left out; out_policy and out_state are
 * appended to (empty when nothing applies).
 */
void rl_headers(const struct rl_check *checks, int n, struct buf *out_policy,
                struct buf *out_state);

#endif
