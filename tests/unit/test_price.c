/*
 * test_price.c: core/price.c and core/settings.c against a database file:
 * new events and their answers, event_id and Idempotency-Key replays,
 * conflicts, rate limiting inside the event transaction, pending anomalies
 * and review, out-of-order observations, the anomaly listing and its signed
 * cursors, and settings patches with their permission rule.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "db.h"
#include "partition.h"
#include "price.h"
#include "settings.h"
#include "tenant.h"
#include "scratch.h"

static char dir[SCRATCH_DIR_MAX], path[SCRATCH_PATH_MAX];
static struct db *db;
static int64_t tenant;
static struct tenant_settings S;

static void setup(void)
{
    struct error err;
    struct tenant t;
    char key[API_KEY_LEN + 1];
    scratch_make(dir, path, "price");
    partition_cache_reset();
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
    cr_assert_eq(tenant_create(db, "t", &t, key, &err), 0);
    tenant = t.id;
    settings_defaults(&S);
    S.price_tenant.rate = 0;
    S.price_product.rate = 0;
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof(id), "P%d", i);
        struct product_input in = {.name = id, .name_len = strlen(id), .currency = "EUR",
                                   .has_price = true, .price_minor = 1000};
        struct product p;
        bool created;
        cr_assert_eq(catalog_product_put(db, tenant, id, strlen(id), &in, &created, &p, &err), 0);
    }
}

static void teardown(void)
{
    db_close(db);
    scratch_remove(dir);
}

TestSuite(price, .init = setup, .fini = teardown);

static int submit(const char *product, const char *id, int64_t price, int64_t at,
                  const char *key, struct price_outcome *o, struct error *err)
{
    struct price_event_in in;
    memset(&in, 0, sizeof(in));
    in.event_id = id;
    in.event_id_len = strlen(id);
    in.price_minor = price;
    memcpy(in.currency, "EUR", 4);
    in.observed_at = at;
    in.idem_key = key;
    memset(in.fingerprint, (int)price & 0xff, sizeof(in.fingerprint));
    price_outcome_init(o);
    return price_event_submit(db, tenant, product, strlen(product), &in, &S, 1700000000000LL, o,
                              err);
}

static int64_t current(const char *product)
{
    struct product p;
    struct error err;
    cr_assert_eq(catalog_product_get(db, tenant, product, strlen(product), &p, &err), 0);
    return p.price_minor;
}

Test(price, event_answer_and_event_id_replay)
{
    struct price_outcome o, r;
    struct error err;
    cr_assert_eq(submit("P0", "e1", 1050, 1740000000, NULL, &o, &err), 0, "%s", err.detail);
    cr_assert_eq(o.result, PRICE_STORED);
    cr_assert(strstr(o.body.data, "\"old_price\":\"10.00\",\"new_price\":\"10.50\"") &&
                  strstr(o.body.data, "\"change_pct\":5.00,\"anomaly\":false"),
              "%s", o.body.data);
    cr_assert_eq(current("P0"), 1050);
    cr_assert_eq(submit("P0", "e1", 1050, 1740000000, NULL, &r, &err), 0);
    cr_assert_eq(r.result, PRICE_REPLAYED);
    cr_assert_str_eq(r.body.data, o.body.data, "byte-identical replay");
    price_outcome_fini(&r);
    cr_assert_eq(submit("P1", "e1", 1050, 1740000000, NULL, &r, &err), -1);
    cr_assert_eq(err.code, ERR_EVENT_ID_CONFLICT, "same id, other product");
    price_outcome_fini(&r);
    price_outcome_fini(&o);
}

Test(price, idempotency_key_replay_and_mismatch)
{
    struct price_outcome o, r;
    struct error err;
    cr_assert_eq(submit("P0", "k1", 1010, 1740000000, "key-1", &o, &err), 0);
    cr_assert_eq(submit("P0", "k1", 1010, 1740000000, "key-1", &r, &err), 0);
    cr_assert_eq(r.result, PRICE_KEY_REPLAY);
    cr_assert_str_eq(r.body.data, o.body.data);
    price_outcome_fini(&r);
    cr_assert_eq(submit("P0", "k2", 1020, 1740000000, "key-1", &r, &err), -1);
    cr_assert_eq(err.code, ERR_IDEM_MISMATCH);
    price_outcome_fini(&r);
    price_outcome_fini(&o);
}

Test(price, rate_limit_refuses_and_writes_nothing)
{
    struct price_outcome o;
    struct error err;
    int64_t n;
    S.price_product = (struct rl_policy){1, 60, 1};
    cr_assert_eq(submit("P0", "r1", 1001, 1740000000, NULL, &o, &err), 0);
    cr_assert_eq(o.result, PRICE_STORED);
    price_outcome_fini(&o);
    cr_assert_eq(submit("P0", "r2", 1002, 1740000000, NULL, &o, &err), 0);
    cr_assert_eq(o.result, PRICE_LIMITED);
    cr_assert_eq(o.limited_index, 1, "the product bucket");
    cr_assert_eq(rl_seconds_ceil(o.checks[1].retry_after_us), 60);
    price_outcome_fini(&o);
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM price_events", &n, &err), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(submit("P1", "r3", 1002, 1740000000, NULL, &o, &err), 0);
    cr_assert_eq(o.result, PRICE_STORED, "other products have their own bucket");
    price_outcome_fini(&o);
}

Test(price, anomaly_is_pending_until_reviewed)
{
    struct price_outcome o;
    struct error err;
    struct buf rec = BUF_INIT;
    S.anomaly.change_bp = 2000;
    cr_assert_eq(submit("P0", "a1", 1200, 1740000000, NULL, &o, &err), 0);
    cr_assert(strstr(o.body.data, "\"anomaly\":true,\"anomaly_rules\":[\"change_pct\"]") &&
                  strstr(o.body.data, "\"review_status\":\"pending\""),
              "%s", o.body.data);
    price_outcome_fini(&o);
    cr_assert_eq(current("P0"), 1000, "pending: the current price stays");
    cr_assert_eq(price_review(db, tenant, "P0", 2, "a1", 2, true, "ok", 2, &rec, &err), 0, "%s",
                 err.detail);
    cr_assert(strstr(rec.data, "\"review_status\":\"approved\""), "%s", rec.data);
    cr_assert_eq(current("P0"), 1200);
    buf_reset(&rec);
    cr_assert_eq(price_review(db, tenant, "P0", 2, "a1", 2, false, NULL, 0, &rec, &err), -1);
    cr_assert_eq(err.code, ERR_ALREADY_REVIEWED);
    cr_assert_eq(submit("P1", "a2", 100, 1740000000, NULL, &o, &err), 0);
    price_outcome_fini(&o);
    buf_reset(&rec);
    cr_assert_eq(price_review(db, tenant, "P1", 2, "a2", 2, false, NULL, 0, &rec, &err), 0);
    cr_assert_eq(current("P1"), 1000, "rejected: never current");
    buf_reset(&rec);
    cr_assert_eq(price_review(db, tenant, "P2", 2, "a2", 2, true, NULL, 0, &rec, &err), -1);
    cr_assert_eq(err.code, ERR_ANOMALY_NOT_FOUND, "another product's anomaly");
    buf_fini(&rec);
}

Test(price, an_older_observation_does_not_replace_the_current_price)
{
    struct price_outcome o;
    struct error err;
    cr_assert_eq(submit("P2", "o1", 1100, 1740000000, NULL, &o, &err), 0);
    price_outcome_fini(&o);
    cr_assert_eq(submit("P2", "o2", 1050, 1730000000, NULL, &o, &err), 0);
    price_outcome_fini(&o);
    cr_assert_eq(current("P2"), 1100);
}

struct collect {
    int n;
    int64_t seqs[16];
};

static int collect(void *ctx, int64_t seq, const char *json, size_t len)
{
    struct collect *c = ctx;
    (void)json;
    (void)len;
    c->seqs[c->n++] = seq;
    return 0;
}

Test(price, anomaly_listing_filters_and_cursors)
{
    struct price_outcome o;
    struct error err;
    S.anomaly.change_bp = 1000;
    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof(id), "l%d", i);
        cr_assert_eq(submit(i % 2 ? "P1" : "P0", id, 5000 + i, 1740000000 + i, NULL, &o, &err), 0);
        price_outcome_fini(&o);
    }
    struct anomaly_filter f = {0, INT64_MIN, INT64_MAX, -1, 0, false};
    struct collect c = {0};
    size_t n;
    int64_t last = 0;
    cr_assert_eq(price_anomalies_each(db, tenant, &f, 4, collect, &c, &n, &last, &err), 0);
    cr_assert_eq(n, 4);
    cr_assert(c.seqs[0] < c.seqs[1] && c.seqs[2] < c.seqs[3], "sequence order");
    char cur[48];
    uint8_t key[32] = {1, 2, 3};
    price_cursor_make(key, sizeof(key), tenant, &f, last, cur);
    int64_t after;
    cr_assert_eq(price_cursor_parse(key, sizeof(key), tenant, &f, cur, strlen(cur), &after, &err), 0);
    cr_assert_eq(after, last);
    struct anomaly_filter other = f;
    other.review_status = PRICE_PENDING;
    cr_assert_eq(price_cursor_parse(key, sizeof(key), tenant, &other, cur, strlen(cur), &after, &err),
                 -1, "bound to the filters");
    cr_assert_eq(price_cursor_parse(key, sizeof(key), tenant + 1, &f, cur, strlen(cur), &after, &err),
                 -1, "bound to the tenant");
    f.after_seq = last;
    c.n = 0;
    cr_assert_eq(price_anomalies_each(db, tenant, &f, 100, collect, &c, &n, &last, &err), 0);
    cr_assert_eq(n, 2, "the rest");
    int64_t pid;
    cr_assert_eq(catalog_product_lookup(db, tenant, "P1", 2, &pid, NULL, &err), 0);
    struct anomaly_filter fp = {pid, 1740000002, INT64_MAX, -1, 0, false};
    c.n = 0;
    cr_assert_eq(price_anomalies_each(db, tenant, &fp, 100, collect, &c, &n, &last, &err), 0);
    cr_assert_eq(n, 2, "P1 since +2 s: l3, l5");
    int64_t max;
    cr_assert_eq(price_anomaly_max_seq(db, tenant, 0, &max, &err), 0);
    cr_assert_eq(max, last);
    struct anomaly_filter fd = {0, INT64_MIN, INT64_MAX, -1, INT64_MAX, true};
    c.n = 0;
    cr_assert_eq(price_anomalies_each(db, tenant, &fd, 2, collect, &c, &n, &last, &err), 0);
    cr_assert(n == 2 && c.seqs[0] == max && c.seqs[1] < c.seqs[0], "newest first");
    fd.after_seq = last;
    c.n = 0;
    cr_assert_eq(price_anomalies_each(db, tenant, &fd, 100, collect, &c, &n, &last, &err), 0);
    cr_assert_eq(n, 4, "older ones after the keyset");
    price_cursor_make(key, sizeof(key), tenant, &fd, last, cur);
    cr_assert_eq(price_cursor_parse(key, sizeof(key), tenant, &f, cur, strlen(cur), &after, &err),
                 -1, "a desc cursor does not continue an asc listing");
}

Test(price, settings_patch_rules)
{
    struct tenant_settings s;
    struct error err;
    const char *rl = "{\"rate_limits\":{\"price_events_product\":{\"rate\":5}}}";
    cr_assert_eq(settings_patch(db, tenant, rl, strlen(rl), false, &s, &err), -1);
    cr_assert_eq(err.code, ERR_FORBIDDEN);
    cr_assert_eq(settings_patch(db, tenant, rl, strlen(rl), true, &s, &err), 0, "%s", err.detail);
    cr_assert_eq(s.price_product.rate, 5);
    cr_assert_eq(s.price_product.burst, 20, "unset members keep their defaults");
    const char *an = "{\"anomaly\":{\"change_pct\":12.5,\"mad_threshold\":3.25,\"mad_floor_pct\":5.0}}";
    cr_assert_eq(settings_patch(db, tenant, an, strlen(an), false, &s, &err), 0);
    cr_assert_eq(s.anomaly.change_bp, 1250);
    cr_assert_eq(s.anomaly.mad_k_milli, 3250);
    cr_assert_eq(s.anomaly.floor_bp, 500, "5.0 is an integral real, not 5e+00");
    const char *bad = "{\"anomaly\":{\"window\":3,\"min_history\":4}}";
    cr_assert_eq(settings_patch(db, tenant, bad, strlen(bad), false, &s, &err), -1);
    cr_assert_str_eq(err.pointer, "/anomaly/min_history");
    const char *reset = "{\"rate_limits\":null}";
    cr_assert_eq(settings_patch(db, tenant, reset, strlen(reset), true, &s, &err), 0);
    cr_assert_eq(s.price_product.rate, 10, "null restores the default");
    cr_assert_eq(settings_load(db, tenant, &s, &err), 0);
    cr_assert_eq(s.anomaly.change_bp, 1250, "stored");
}
