/*
 * settings.c: tenant settings, defaults, merge-patch and validation (see
 * settings.h).
 *
 * Reading costs one primary-key SELECT and a jansson parse of a document of
 * a few hundred bytes (about 3 µs): cheaper than any cache invalidation
 * scheme across worker processes, and a PATCH is visible to the next request.
 */
#include "settings.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "confcache.h"
#include "money.h"

enum { SQL_GET, SQL_PUT };

static const char *const SQL[] = {
    [SQL_GET] = "SELECT settings FROM tenants WHERE id = ?1",
    [SQL_PUT] = "UPDATE tenants SET settings = ?2 WHERE id = ?1",
};

void settings_defaults(struct tenant_settings *s)
{
    s->price_tenant = (struct rl_policy){200, 1, 400};
    s->price_product = (struct rl_policy){10, 1, 20};
    s->anomaly = (struct anomaly_rules){
        .change_bp = 5000, .mad_k_milli = 3500, .window = 20, .min_history = 5, .floor_bp = 500};
}

/* A JSON number as a fixed-point integer with `decimals` fraction digits. */
static int fixed(json_t *v, int decimals, int64_t lo, int64_t hi, int64_t *out)
{
    char text[64];
    if (json_is_integer(v)) {
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == (double)(long long)d && d > -1e15 && d < 1e15) {
            snprintf(text, sizeof(text), "%lld", (long long)d); /* 20.0 */
        } else {
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(text, sizeof(text), "%.*g", prec, d);
                if (strtod(text, NULL) == d)
                    break;
            }
        }
        if (strchr(text, 'e') || strchr(text, 'E'))
            return -1;
    } else {
        return -1;
    }
    if (money_parse(text, strlen(text), decimals, out) || *out < lo || *out > hi)
        return -1;
    return 0;
}

static int bad(struct error *err, const char *ptr, const char *what)
{
    return error_set_at(err, ERR_INVALID_FIELD, ptr, "%s: %s", ptr, what);
}

static int parse_policy(json_t *o, const char *ptr, struct rl_policy *p, struct error *err)
{
    const char *k;
    json_t *v;
    char sub[96];
    if (!json_is_object(o))
        return bad(err, ptr, "must be an object {rate, period_s, burst}");
    json_object_foreach(o, k, v)
    {
        snprintf(sub, sizeof(sub), "%s/%s", ptr, k);
        int64_t x;
        if (strcmp(k, "rate") == 0) {
            if (fixed(v, 0, 0, RL_RATE_MAX, &x))
                return bad(err, sub, "must be an integer 0 (unlimited) .. 10000000");
            p->rate = x;
        } else if (strcmp(k, "period_s") == 0) {
            if (fixed(v, 0, 1, RL_PERIOD_MAX, &x))
                return bad(err, sub, "must be an integer 1 .. 86400");
            p->period_s = x;
        } else if (strcmp(k, "burst") == 0) {
            if (fixed(v, 0, 1, RL_BURST_MAX, &x))
                return bad(err, sub, "must be an integer 1 .. 10000000");
            p->burst = x;
        } else {
            return bad(err, sub, "unknown setting");
        }
    }
    return 0;
}

static int parse_anomaly(json_t *o, struct anomaly_rules *a, struct error *err)
{
    const char *k;
    json_t *v;
    char sub[96];
    if (!json_is_object(o))
        return bad(err, "/anomaly", "must be an object");
    json_object_foreach(o, k, v)
    {
        snprintf(sub, sizeof(sub), "/anomaly/%s", k);
        int64_t x;
        if (strcmp(k, "change_pct") == 0) {
            if (fixed(v, 2, 0, 100000000, &x))
                return bad(err, sub, "must be a percentage >= 0 with at most 2 decimals");
            a->change_bp = x;
        } else if (strcmp(k, "mad_threshold") == 0) {
            if (fixed(v, 3, 0, 1000000000, &x))
                return bad(err, sub, "must be a number >= 0 with at most 3 decimals");
            a->mad_k_milli = x;
        } else if (strcmp(k, "window") == 0) {
            if (fixed(v, 0, 1, PRICE_WINDOW_MAX, &x))
                return bad(err, sub, "must be an integer 1 .. 100");
            a->window = (int)x;
        } else if (strcmp(k, "min_history") == 0) {
            if (fixed(v, 0, 1, PRICE_WINDOW_MAX, &x))
                return bad(err, sub, "must be an integer 1 .. 100");
            a->min_history = (int)x;
        } else if (strcmp(k, "mad_floor_pct") == 0) {
            if (fixed(v, 2, 0, 10000, &x))
                return bad(err, sub, "must be a percentage 0 .. 100 with at most 2 decimals");
            a->floor_bp = x;
        } else {
            return bad(err, sub, "unknown setting");
        }
    }
    if (a->min_history > a->window)
        return bad(err, "/anomaly/min_history", "must not exceed window");
    return 0;
}

/* Validate doc over the defaults into s. */
static int parse_doc(json_t *doc, struct tenant_settings *s, struct error *err)
{
    const char *k;
    json_t *v;
    settings_defaults(s);
    if (!json_is_object(doc))
        return bad(err, "", "settings must be a JSON object");
    json_object_foreach(doc, k, v)
    {
        if (strcmp(k, "anomaly") == 0) {
            if (parse_anomaly(v, &s->anomaly, err))
                return -1;
        } else if (strcmp(k, "rate_limits") == 0) {
            const char *k2;
            json_t *v2;
            if (!json_is_object(v))
                return bad(err, "/rate_limits", "must be an object");
            json_object_foreach(v, k2, v2)
            {
                if (strcmp(k2, "price_events_tenant") == 0) {
                    if (parse_policy(v2, "/rate_limits/price_events_tenant", &s->price_tenant,
                                     err))
                        return -1;
                } else if (strcmp(k2, "price_events_product") == 0) {
                    if (parse_policy(v2, "/rate_limits/price_events_product", &s->price_product,
                                     err))
                        return -1;
                } else {
                    char sub[96];
                    snprintf(sub, sizeof(sub), "/rate_limits/%s", k2);
                    return bad(err, sub, "unknown rate limit");
                }
            }
        } else {
            char sub[96];
            snprintf(sub, sizeof(sub), "/%s", k);
            return bad(err, sub, "unknown setting");
        }
    }
    return 0;
}

static json_t *load_doc(struct db *db, int64_t tenant_id, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_GET], err);
    json_error_t je;
    json_t *doc = NULL;
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, tenant_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        doc = json_loads(t ? t : "{}", 0, &je);
        if (!doc)
            doc = json_object(); /* unreadable stored text: fall back to defaults */
    }
    db_done(db, st);
    if (rc == SQLITE_DONE)
        error_set(err, ERR_TENANT_NOT_FOUND, "no such tenant");
    else if (rc != SQLITE_ROW)
        db_fail(db, rc, err, "settings read");
    return doc;
}

int settings_load(struct db *db, int64_t tenant_id, struct tenant_settings *s, struct error *err)
{
    uint64_t epoch = 0;
    if (cc_settings_get(tenant_id, s, &epoch))
        return 0;
    json_t *doc = load_doc(db, tenant_id, err);
    if (!doc)
        return -1;
    struct error ignored;
    if (parse_doc(doc, s, &ignored))
        settings_defaults(s); /* stored text was validated when written; be safe anyway */
    json_decref(doc);
    cc_settings_put(tenant_id, s, epoch);
    return 0;
}

/* RFC 7396: merge patch into target (both objects). */
static void merge_patch(json_t *target, json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            json_t *t = json_object_get(target, k);
            if (!json_is_object(t)) {
                t = json_object();
                json_object_set_new(target, k, t);
            }
            merge_patch(t, v);
            if (json_object_size(t) == 0)
                json_object_del(target, k);
        } else {
            json_object_set(target, k, v);
        }
    }
}

int settings_patch(struct db *db, int64_t tenant_id, const char *patch, size_t len, bool is_admin,
                   struct tenant_settings *s, struct error *err)
{
    json_error_t je;
    json_t *p = NULL, *doc = NULL;
    char *text = NULL;
    int rc = -1;
    if (!utf8_valid(patch, len))
        return error_set(err, ERR_INVALID_UTF8, "request body is not valid UTF-8");
    if (!(p = json_loadb(patch, len, JSON_REJECT_DUPLICATES, &je)))
        return error_set(err, ERR_INVALID_JSON, "invalid JSON at line %d, column %d: %s",
                         je.line, je.column, je.text);
    if (!json_is_object(p)) {
        error_set_at(err, ERR_INVALID_JSON, "", "a settings patch must be a JSON object");
        goto out;
    }
    if (!is_admin && json_object_get(p, "rate_limits")) {
        error_set_at(err, ERR_FORBIDDEN, "/rate_limits",
                     "rate limits are set by the operator (admin key)");
        goto out;
    }
    if (db_begin(db, err))
        goto out;
    if (!(doc = load_doc(db, tenant_id, err)))
        goto fail;
    merge_patch(doc, p);
    if (parse_doc(doc, s, err))
        goto fail;
    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_PUT], err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    db_done(db, st);
    if (src != SQLITE_DONE) {
        db_fail(db, src, err, "settings write");
        goto fail;
    }
    if (db_commit(db, err))
        goto out;
    cc_bump();
    rc = 0;
    goto out;
fail:
    db_rollback(db);
out:
    free(text);
    json_decref(doc);
    json_decref(p);
    return rc;
}

static void policy_json(struct buf *o, const char *name, const struct rl_policy *p)
{
    buf_appendf(o, "\"%s\":{\"rate\":%lld,\"period_s\":%lld,\"burst\":%lld}", name,
                (long long)p->rate, (long long)p->period_s, (long long)p->burst);
}

static void fixed_json(struct buf *o, int64_t v, int decimals)
{
    buf_append_money(o, v, decimals);
}

void settings_json(const struct tenant_settings *s, struct buf *o)
{
    buf_puts(o, "{\"rate_limits\":{");
    policy_json(o, "price_events_tenant", &s->price_tenant);
    buf_putc(o, ',');
    policy_json(o, "price_events_product", &s->price_product);
    buf_puts(o, "},\"anomaly\":{\"change_pct\":");
    fixed_json(o, s->anomaly.change_bp, 2);
    buf_puts(o, ",\"mad_threshold\":");
    fixed_json(o, s->anomaly.mad_k_milli, 3);
    buf_appendf(o, ",\"window\":%d,\"min_history\":%d,\"mad_floor_pct\":", s->anomaly.window,
                s->anomaly.min_history);
    fixed_json(o, s->anomaly.floor_bp, 2);
    buf_puts(o, "}}");
}
