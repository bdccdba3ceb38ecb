/*
 * price.c: price events, review and the anomaly stream (see price.h).
 *
 * Cost of one event (measured in docs/benchmarks.md): one write transaction
 * of ~8 cached statements on primary-key or leading-column index rows; the
 * history window reads at most PRICE_WINDOW_MAX rows of one product through
 * price_events(tenant_id, product_id, seq).
 */
#include "price.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "bounds.h"
#include "catalog.h"
#include "crypto.h"
#include "idem.h"
#include "money.h"
#include "partition.h"
#include "scoreboard.h"
#include "timefmt.h"
#include "xmalloc.h"

enum {
    SQL_PRODUCT,
    SQL_EVENT_BY_ID,
    SQL_HISTORY,
    SQL_INSERT,
    SQL_PRODUCT_PRICE,
    SQL_REVIEW_GET,
    SQL_REVIEW_SET,
    SQL_LIST_TENANT,
    SQL_LIST_PRODUCT,
    SQL_LIST_TENANT_DESC,
    SQL_LIST_PRODUCT_DESC,
    SQL_MAX_TENANT,
    SQL_MAX_PRODUCT,
    SQL_RECORD,
    SQL_IDEM_GET,
    SQL_IDEM_PUT,
};

#define RECORD_COLS                                                                        \
    "e.seq, e.event_id, p.ext_id, e.old_price_minor, e.new_price_minor, e.currency, "     \
    "e.change_bp, e.anomaly, e.mad_score_milli, e.observed_at, e.received_at, e.source, " \
    "e.metadata, e.review_status, e.reviewed_at, e.review_note "

static const char *const SQL[] = {
    [SQL_PRODUCT] = "SELECT id, currency, price_minor, price_at FROM products "
                    "WHERE tenant_id = ?1 AND ext_id = ?2",
    [SQL_EVENT_BY_ID] = "SELECT seq, product_id, old_price_minor, new_price_minor, currency, "
                        "change_bp, anomaly, mad_score_milli, observed_at FROM price_events "
                        "WHERE tenant_id = ?1 AND event_id = ?2",
    [SQL_HISTORY] = "SELECT new_price_minor FROM price_events "
                    "WHERE tenant_id = ?1 AND product_id = ?2 AND review_status IN (0, 2) "
                    "ORDER BY seq DESC LIMIT ?3",
    [SQL_INSERT] = "INSERT INTO price_events(tenant_id, product_id, event_id, old_price_minor, "
                   "new_price_minor, currency, change_bp, observed_at, received_at, source, "
                   "metadata, anomaly, mad_score_milli, review_status) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [SQL_PRODUCT_PRICE] = "UPDATE products SET price_minor = ?2, price_at = ?3, updated_at = ?4 "
                          "WHERE id = ?1 AND (price_at IS NULL OR price_at <= ?3)",
    [SQL_REVIEW_GET] = "SELECT e.seq, e.product_id, e.anomaly, e.review_status, "
                       "e.new_price_minor, e.currency, e.observed_at, e.source "
                       "FROM price_events e WHERE e.tenant_id = ?1 AND e.event_id = ?2",
    [SQL_REVIEW_SET] = "UPDATE price_events SET review_status = ?2, reviewed_at = ?3, "
                       "review_note = ?4 WHERE seq = ?1",
    [SQL_LIST_TENANT] = "SELECT " RECORD_COLS
                        "FROM price_events e JOIN products p ON p.id = e.product_id "
                        "WHERE e.tenant_id = ?1 AND e.anomaly != 0 AND e.seq > ?2 "
                        "AND e.observed_at >= ?3 AND e.observed_at < ?4 "
                        "AND (?5 < 0 OR e.review_status = ?5) ORDER BY e.seq LIMIT ?6",
    [SQL_LIST_PRODUCT] = "SELECT " RECORD_COLS
                         "FROM price_events e JOIN products p ON p.id = e.product_id "
                         "WHERE e.tenant_id = ?1 AND e.product_id = ?7 AND e.anomaly != 0 "
                         "AND e.seq > ?2 AND e.observed_at >= ?3 AND e.observed_at < ?4 "
                         "AND (?5 < 0 OR e.review_status = ?5) ORDER BY e.seq LIMIT ?6",
    [SQL_LIST_TENANT_DESC] = "SELECT " RECORD_COLS
                             "FROM price_events e JOIN products p ON p.id = e.product_id "
                             "WHERE e.tenant_id = ?1 AND e.anomaly != 0 AND e.seq < ?2 "
                             "AND e.observed_at >= ?3 AND e.observed_at < ?4 "
                             "AND (?5 < 0 OR e.review_status = ?5) ORDER BY e.seq DESC LIMIT ?6",
    [SQL_LIST_PRODUCT_DESC] = "SELECT " RECORD_COLS
                              "FROM price_events e JOIN products p ON p.id = e.product_id "
                              "WHERE e.tenant_id = ?1 AND e.product_id = ?7 AND e.anomaly != 0 "
                              "AND e.seq < ?2 AND e.observed_at >= ?3 AND e.observed_at < ?4 "
                              "AND (?5 < 0 OR e.review_status = ?5) ORDER BY e.seq DESC LIMIT ?6",
    [SQL_MAX_TENANT] = "SELECT max(seq) FROM price_events WHERE tenant_id = ?1 AND anomaly != 0",
    [SQL_MAX_PRODUCT] = "SELECT max(seq) FROM price_events "
                        "WHERE tenant_id = ?1 AND product_id = ?2 AND anomaly != 0",
    [SQL_IDEM_GET] = "SELECT fingerprint, status, body, created_at FROM idempotency_keys "
                     "WHERE tenant_id = ?1 AND route = 'price_event' AND key = ?2 AND state = 1",
    [SQL_IDEM_PUT] = "INSERT OR REPLACE INTO idempotency_keys(tenant_id, route, key, fingerprint, "
                     "state, owner, lease_until, status, content_type, body, created_at) "
                     "VALUES (?1, 'price_event', ?2, ?3, 1, 'price.c', 0, ?4, 'application/json', "
                     "?5, ?6)",
    [SQL_RECORD] = "SELECT " RECORD_COLS
                   "FROM price_events e JOIN products p ON p.id = e.product_id "
                   "WHERE e.seq = ?1",
};

static const char *const STATUS_NAMES[] = {"accepted", "pending", "approved", "rejected"};

int price_review_status_parse(const char *s, size_t n)
{
    for (int i = 0; i < 4; i++)
        if (strlen(STATUS_NAMES[i]) == n && memcmp(STATUS_NAMES[i], s, n) == 0)
            return i;
    return -1;
}

const char *price_review_status_name(int status)
{
    return status >= 0 && status < 4 ? STATUS_NAMES[status] : "unknown";
}

void price_outcome_init(struct price_outcome *o)
{
    memset(o, 0, sizeof(*o));
    buf_init(&o->body);
    o->limited_index = -1;
}

void price_outcome_fini(struct price_outcome *o)
{
    buf_fini(&o->body);
}

/* ======================== rendering ======================== */

static void money_or_null(struct buf *b, sqlite3_stmt *st, int col, int exp)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        buf_puts(b, "null");
        return;
    }
    buf_putc(b, '"');
    buf_append_money(b, sqlite3_column_int64(st, col), exp);
    buf_putc(b, '"');
}

/* A fixed-point number with `decimals` digits as a JSON number, or null. */
static void fixed_or_null(struct buf *b, sqlite3_stmt *st, int col, int decimals)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        buf_puts(b, "null");
    else
        buf_append_money(b, sqlite3_column_int64(st, col), decimals);
}

static void rules_json(struct buf *b, unsigned flags)
{
    buf_putc(b, '[');
    if (flags & ANOMALY_CHANGE)
        buf_puts(b, "\"change_pct\"");
    if (flags & ANOMALY_MAD)
        buf_puts(b, flags & ANOMALY_CHANGE ? ",\"mad\"" : "\"mad\"");
    buf_putc(b, ']');
}

/*
 * The answer to a price event, from SQL_EVENT_BY_ID's columns:
 * seq, product_id, old, new, currency, change_bp, anomaly, mad_score, observed_at.
 */
static void render_answer(struct buf *b, sqlite3_stmt *st, const char *event_id, size_t id_len,
                          const char *product, size_t product_len)
{
    const char *cur = (const char *)sqlite3_column_text(st, 4);
    int exp = currency_exponent(cur, 3);
    unsigned flags = (unsigned)sqlite3_column_int(st, 6);
    if (exp < 0)
        exp = 2;
    buf_puts(b, "{\"event_id\":");
    buf_append_json_str(b, event_id, id_len);
    buf_puts(b, ",\"product_id\":");
    buf_append_json_str(b, product, product_len);
    buf_appendf(b, ",\"sequence\":%lld,\"old_price\":", (long long)sqlite3_column_int64(st, 0));
    money_or_null(b, st, 2, exp);
    buf_puts(b, ",\"new_price\":");
    money_or_null(b, st, 3, exp);
    buf_puts(b, ",\"currency\":");
    buf_append_json_cstr(b, cur);
    buf_puts(b, ",\"change_pct\":");
    fixed_or_null(b, st, 5, 2);
    buf_appendf(b, ",\"anomaly\":%s,\"anomaly_rules\":", flags ? "true" : "false");
    rules_json(b, flags);
    buf_puts(b, ",\"mad_score\":");
    fixed_or_null(b, st, 7, 3);
    buf_puts(b, ",\"review_status\":");
    buf_append_json_cstr(b, flags ? "pending" : "accepted");
    buf_puts(b, ",\"observed_at\":\"");
    rfc3339_append(b, sqlite3_column_int64(st, 8));
    buf_puts(b, "\"}");
}

/* An anomaly record from RECORD_COLS. */
static void render_record(struct buf *b, sqlite3_stmt *st)
{
    const char *cur = (const char *)sqlite3_column_text(st, 5);
    int exp = currency_exponent(cur, 3);
    if (exp < 0)
        exp = 2;
    buf_appendf(b, "{\"sequence\":%lld,\"event_id\":", (long long)sqlite3_column_int64(st, 0));
    buf_append_json_str(b, (const char *)sqlite3_column_text(st, 1), sqlite3_column_bytes(st, 1));
    buf_puts(b, ",\"product_id\":");
    buf_append_json_str(b, (const char *)sqlite3_column_text(st, 2), sqlite3_column_bytes(st, 2));
    buf_puts(b, ",\"old_price\":");
    money_or_null(b, st, 3, exp);
    buf_puts(b, ",\"new_price\":");
    money_or_null(b, st, 4, exp);
    buf_puts(b, ",\"currency\":");
    buf_append_json_cstr(b, cur);
    buf_puts(b, ",\"change_pct\":");
    fixed_or_null(b, st, 6, 2);
    buf_puts(b, ",\"rules\":");
    rules_json(b, (unsigned)sqlite3_column_int(st, 7));
    buf_puts(b, ",\"mad_score\":");
    fixed_or_null(b, st, 8, 3);
    buf_puts(b, ",\"observed_at\":\"");
    rfc3339_append(b, sqlite3_column_int64(st, 9));
    buf_puts(b, "\",\"received_at\":\"");
    rfc3339_append_ms(b, sqlite3_column_int64(st, 10));
    buf_puts(b, "\",\"source\":");
    if (sqlite3_column_type(st, 11) == SQLITE_NULL)
        buf_puts(b, "null");
    else
        buf_append_json_str(b, (const char *)sqlite3_column_text(st, 11),
                            sqlite3_column_bytes(st, 11));
    buf_puts(b, ",\"metadata\":");
    if (sqlite3_column_type(st, 12) == SQLITE_NULL)
        buf_puts(b, "null");
    else /* stored as compact JSON produced by jansson */
        buf_append(b, sqlite3_column_text(st, 12), (size_t)sqlite3_column_bytes(st, 12));
    buf_puts(b, ",\"review_status\":");
    buf_append_json_cstr(b, price_review_status_name(sqlite3_column_int(st, 13)));
    buf_puts(b, ",\"reviewed_at\":");
    if (sqlite3_column_type(st, 14) == SQLITE_NULL) {
        buf_puts(b, "null");
    } else {
        buf_putc(b, '"');
        rfc3339_append_ms(b, sqlite3_column_int64(st, 14));
        buf_putc(b, '"');
    }
    buf_puts(b, ",\"review_note\":");
    if (sqlite3_column_type(st, 15) == SQLITE_NULL)
        buf_puts(b, "null");
    else
        buf_append_json_str(b, (const char *)sqlite3_column_text(st, 15),
                            sqlite3_column_bytes(st, 15));
    buf_putc(b, '}');
}

/* ======================== price history partitions ======================== */

static const char *const HISTORY_INSERT =
    "INSERT INTO %s(tenant_id, product_id, price_minor, currency, observed_at, source) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static int history_add(struct db *db, int64_t tenant_id, int64_t product_id, int64_t price,
                       const char *currency, int64_t observed_at, const char *source,
                       size_t source_len, struct error *err)
{
    char table[PARTITION_NAME_MAX];
    if (partition_ensure(db, "price_history", observed_at, table, err))
        return -1;
    const char *sql = partition_sql(HISTORY_INSERT, table);
    if (!sql)
        return error_set(err, ERR_INTERNAL, "too many price history months in one process");
    sqlite3_stmt *st = db_stmt(db, sql, err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_int64(st, 2, product_id);
    sqlite3_bind_int64(st, 3, price);
    sqlite3_bind_text(st, 4, currency, 3, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, observed_at);
    if (source)
        sqlite3_bind_text(st, 6, source, (int)source_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    db_done(db, st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "price history insert");
}

static int set_current(struct db *db, int64_t product_id, int64_t price, int64_t observed_at,
                       int64_t now_s, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_PRODUCT_PRICE], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, product_id);
    sqlite3_bind_int64(st, 2, price);
    sqlite3_bind_int64(st, 3, observed_at);
    sqlite3_bind_int64(st, 4, now_s);
    int rc = sqlite3_step(st);
    db_done(db, st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "product price update");
}

/* ======================== submit ======================== */

struct product_row {
    int64_t id;
    char currency[4];
    bool has_price;
    int64_t price;
};

static int product_row(struct db *db, int64_t tenant_id, const char *ext, size_t len,
                       struct product_row *p, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_PRODUCT], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, ext, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        p->id = sqlite3_column_int64(st, 0);
        snprintf(p->currency, sizeof(p->currency), "%s",
                 (const char *)sqlite3_column_text(st, 1));
        p->has_price = sqlite3_column_type(st, 2) != SQLITE_NULL;
        p->price = sqlite3_column_int64(st, 2);
    }
    db_done(db, st);
    if (rc == SQLITE_DONE)
        return error_set(err, ERR_PRODUCT_NOT_FOUND, "no such product");
    if (rc != SQLITE_ROW)
        return db_fail(db, rc, err, "product read");
    return 0;
}

/* 1: a stored event answered (or conflicting: -1), 0: new. */
static int replay(struct db *db, int64_t tenant_id, const struct product_row *p,
                  const char *product, size_t product_len, const struct price_event_in *in,
                  struct price_outcome *out, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_EVENT_BY_ID], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, in->event_id, (int)in->event_id_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        db_done(db, st);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        db_done(db, st);
        return db_fail(db, rc, err, "price event lookup");
    }
    bool same = sqlite3_column_int64(st, 1) == p->id &&
                sqlite3_column_int64(st, 3) == in->price_minor &&
                strcmp((const char *)sqlite3_column_text(st, 4), in->currency) == 0 &&
                sqlite3_column_int64(st, 8) == in->observed_at;
    if (!same) {
        db_done(db, st);
        error_set_at(err, ERR_EVENT_ID_CONFLICT, "/event_id",
                     "event_id was already used for a different price event");
        return -1;
    }
    render_answer(&out->body, st, in->event_id, in->event_id_len, product, product_len);
    out->anomaly = sqlite3_column_int(st, 6) != 0;
    db_done(db, st);
    out->result = PRICE_REPLAYED;
    out->status = 201;
    return 1;
}

/* 1: answered from the key's stored response, 0: key new (or none), -1: 422 / error. */
static int key_replay(struct db *db, int64_t tenant_id, const struct price_event_in *in,
                      int64_t now_ms, struct price_outcome *out, struct error *err)
{
    if (!in->idem_key)
        return 0;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_IDEM_GET], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, in->idem_key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW && sqlite3_column_int64(st, 3) >= now_ms - IDEM_RETENTION_MS) {
        found = 1;
        if (sqlite3_column_bytes(st, 0) != SHA256_LEN ||
            !ct_equal(sqlite3_column_blob(st, 0), in->fingerprint, SHA256_LEN)) {
            db_done(db, st);
            return error_set_at(err, ERR_IDEM_MISMATCH, "Idempotency-Key",
                                "this Idempotency-Key was used with a different request");
        }
        out->status = sqlite3_column_int(st, 1);
        buf_append(&out->body, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
        out->result = PRICE_KEY_REPLAY;
    }
    db_done(db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, rc, err, "idempotency key read");
    return found;
}

static int key_store(struct db *db, int64_t tenant_id, const struct price_event_in *in,
                     int64_t now_ms, const struct price_outcome *out, struct error *err)
{
    if (!in->idem_key)
        return 0;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_IDEM_PUT], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, in->idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, in->fingerprint, SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, out->status);
    sqlite3_bind_blob(st, 5, out->body.data, (int)out->body.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now_ms);
    int rc = sqlite3_step(st);
    db_done(db, st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "idempotency key write");
}

int price_event_submit(struct db *db, int64_t tenant_id, const char *product, size_t product_len,
                       const struct price_event_in *in, const struct tenant_settings *s,
                       int64_t now_ms, struct price_outcome *out, struct error *err)
{
    struct product_row p;
    int64_t hist[PRICE_WINDOW_MAX];
    size_t nhist = 0;
    struct anomaly_verdict v;
    sqlite3_stmt *st;
    int rc;

    if (db_begin(db, err))
        return -1;
    rc = key_replay(db, tenant_id, in, now_ms, out, err);
    if (rc != 0) {
        db_rollback(db); /* a replay writes nothing */
        return rc > 0 ? 0 : -1;
    }
    if (product_row(db, tenant_id, product, product_len, &p, err))
        goto fail;
    if (strcmp(p.currency, in->currency) != 0) {
        error_set_at(err, ERR_CURRENCY_MISMATCH, "/currency",
                     "the product is priced in %s, the event is in %s", p.currency,
                     in->currency);
        goto fail;
    }
    rc = replay(db, tenant_id, &p, product, product_len, in, out, err);
    if (rc < 0)
        goto fail;
    if (rc > 0) {
        /* Nothing new: only the key, if any, is recorded with the answer. */
        if (key_store(db, tenant_id, in, now_ms, out, err) || db_commit(db, err))
            goto fail;
        sb_count(SBC_PRICE_DUPLICATE, 1);
        return 0;
    }

    /* Rate limits: both buckets or neither. */
    struct rl_check *c = out->checks;
    snprintf(c[0].bucket, sizeof(c[0].bucket), "price:t%lld", (long long)tenant_id);
    c[0].name = "tenant";
    c[0].policy = s->price_tenant;
    snprintf(c[1].bucket, sizeof(c[1].bucket), "price:t%lld:p%lld", (long long)tenant_id,
             (long long)p.id);
    c[1].name = "product";
    c[1].policy = s->price_product;
    for (int i = 0; i < 2; i++) {
        if (rl_evaluate(db, &c[i], now_ms * 1000, err))
            goto fail;
        if (c[i].limited && out->limited_index < 0)
            out->limited_index = i;
    }
    if (out->limited_index >= 0) {
        db_rollback(db);
        out->result = PRICE_LIMITED;
        sb_count(SBC_PRICE_RATE_LIMITED, 1);
        return 0;
    }
    for (int i = 0; i < 2; i++)
        if (rl_commit(db, &c[i], err))
            goto fail;

    /* History window and the rules. */
    if (!(st = db_stmt(db, SQL[SQL_HISTORY], err)))
        goto fail;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_int64(st, 2, p.id);
    sqlite3_bind_int(st, 3, s->anomaly.window);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && nhist < PRICE_WINDOW_MAX)
        hist[nhist++] = sqlite3_column_int64(st, 0);
    db_done(db, st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        db_fail(db, rc, err, "price history window");
        goto fail;
    }
    anomaly_evaluate(&s->anomaly, p.has_price, p.price, in->price_minor, hist, nhist, &v);

    if (!(st = db_stmt(db, SQL[SQL_INSERT], err)))
        goto fail;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_int64(st, 2, p.id);
    sqlite3_bind_text(st, 3, in->event_id, (int)in->event_id_len, SQLITE_STATIC);
    if (p.has_price)
        sqlite3_bind_int64(st, 4, p.price);
    sqlite3_bind_int64(st, 5, in->price_minor);
    sqlite3_bind_text(st, 6, in->currency, 3, SQLITE_STATIC);
    if (v.has_change)
        sqlite3_bind_int64(st, 7, v.change_bp);
    sqlite3_bind_int64(st, 8, in->observed_at);
    sqlite3_bind_int64(st, 9, now_ms);
    if (in->source)
        sqlite3_bind_text(st, 10, in->source, (int)in->source_len, SQLITE_STATIC);
    if (in->metadata)
        sqlite3_bind_text(st, 11, in->metadata, (int)in->metadata_len, SQLITE_STATIC);
    sqlite3_bind_int(st, 12, (int)v.flags);
    if (v.has_score)
        sqlite3_bind_int64(st, 13, v.score_milli);
    sqlite3_bind_int(st, 14, v.flags ? PRICE_PENDING : PRICE_ACCEPTED);
    rc = sqlite3_step(st);
    db_done(db, st);
    if (rc != SQLITE_DONE) {
        db_fail(db, rc, err, "price event insert");
        goto fail;
    }
    if (!v.flags &&
        (set_current(db, p.id, in->price_minor, in->observed_at, now_ms / 1000, err) ||
         history_add(db, tenant_id, p.id, in->price_minor, in->currency, in->observed_at,
                     in->source, in->source_len, err)))
        goto fail;
    /* The answer, rendered from the stored row exactly as a replay will render it. */
    rc = replay(db, tenant_id, &p, product, product_len, in, out, err);
    if (rc <= 0) {
        if (rc == 0)
            error_set(err, ERR_INTERNAL, "stored price event not found");
        goto fail;
    }
    out->result = PRICE_STORED;
    if (key_store(db, tenant_id, in, now_ms, out, err))
        goto fail;
    if (db_commit(db, err))
        return -1;
    sb_count(v.flags ? SBC_PRICE_ANOMALY : SBC_PRICE_ACCEPTED, 1);
    return 0;
fail:
    db_rollback(db);
    return -1;
}

/* ======================== review ======================== */

static int record_json(struct db *db, int64_t seq, struct buf *out, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_RECORD], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, seq);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        render_record(out, st);
    db_done(db, st);
    return rc == SQLITE_ROW ? 0 : db_fail(db, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, err,
                                          "anomaly record");
}

int price_review(struct db *db, int64_t tenant_id, const char *product, size_t product_len,
                 const char *event_id, size_t event_id_len, bool approve, const char *note,
                 size_t note_len, struct buf *out, struct error *err)
{
    struct product_row p;
    int64_t now_ms = time_now_ms();
    int want = approve ? PRICE_APPROVED : PRICE_REJECTED;
    if (db_begin(db, err))
        return -1;
    if (product_row(db, tenant_id, product, product_len, &p, err))
        goto fail;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_REVIEW_GET], err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, event_id, (int)event_id_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW || sqlite3_column_int64(st, 1) != p.id ||
        sqlite3_column_int(st, 2) == 0) {
        db_done(db, st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            db_fail(db, rc, err, "anomaly read");
        } else {
            error_set(err, ERR_ANOMALY_NOT_FOUND, "no anomaly with this event_id for the product");
        }
        goto fail;
    }
    int64_t seq = sqlite3_column_int64(st, 0);
    int status = sqlite3_column_int(st, 3);
    int64_t price = sqlite3_column_int64(st, 4);
    char currency[4];
    snprintf(currency, sizeof(currency), "%s", (const char *)sqlite3_column_text(st, 5));
    int64_t observed = sqlite3_column_int64(st, 6);
    char source[SOURCE_MAX_BYTES + 1];
    bool has_source = sqlite3_column_type(st, 7) != SQLITE_NULL;
    snprintf(source, sizeof(source), "%s",
             has_source ? (const char *)sqlite3_column_text(st, 7) : "");
    db_done(db, st);
    if (status != PRICE_PENDING) {
        if (status != want) {
            error_set(err, ERR_ALREADY_REVIEWED, "this anomaly was already %s",
                      price_review_status_name(status));
            goto fail;
        }
    } else {
        if (!(st = db_stmt(db, SQL[SQL_REVIEW_SET], err)))
            goto fail;
        sqlite3_bind_int64(st, 1, seq);
        sqlite3_bind_int(st, 2, want);
        sqlite3_bind_int64(st, 3, now_ms);
        if (note)
            sqlite3_bind_text(st, 4, note, (int)note_len, SQLITE_STATIC);
        rc = sqlite3_step(st);
        db_done(db, st);
        if (rc != SQLITE_DONE) {
            db_fail(db, rc, err, "review update");
            goto fail;
        }
        if (approve &&
            (set_current(db, p.id, price, observed, now_ms / 1000, err) ||
             history_add(db, tenant_id, p.id, price, currency, observed,
                         has_source ? source : NULL, strlen(source), err)))
            goto fail;
    }
    if (record_json(db, seq, out, err))
        goto fail;
    return db_commit(db, err);
fail:
    db_rollback(db);
    return -1;
}

/* ======================== anomaly stream ======================== */

int price_anomalies_each(struct db *db, int64_t tenant_id, const struct anomaly_filter *f,
                         size_t limit, anomaly_row_fn fn, void *ctx, size_t *count,
                         int64_t *last_seq, struct error *err)
{
    struct buf row = BUF_INIT;
    int which = f->product_id ? (f->desc ? SQL_LIST_PRODUCT_DESC : SQL_LIST_PRODUCT)
                              : (f->desc ? SQL_LIST_TENANT_DESC : SQL_LIST_TENANT);
    sqlite3_stmt *st = db_stmt(db, SQL[which], err);
    int rc;
    *count = 0;
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_int64(st, 2, f->after_seq);
    sqlite3_bind_int64(st, 3, f->since);
    sqlite3_bind_int64(st, 4, f->until);
    sqlite3_bind_int(st, 5, f->review_status);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)limit);
    if (f->product_id)
        sqlite3_bind_int64(st, 7, f->product_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        buf_reset(&row);
        render_record(&row, st);
        int64_t seq = sqlite3_column_int64(st, 0);
        (*count)++;
        *last_seq = seq;
        if (fn(ctx, seq, row.data, row.len)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    db_done(db, st);
    buf_fini(&row);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "anomaly list");
}

int price_anomaly_max_seq(struct db *db, int64_t tenant_id, int64_t product_id, int64_t *seq,
                          struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[product_id ? SQL_MAX_PRODUCT : SQL_MAX_TENANT], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    if (product_id)
        sqlite3_bind_int64(st, 2, product_id);
    int rc = sqlite3_step(st);
    *seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    db_done(db, st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "anomaly max seq");
}

static void cursor_mac(const uint8_t *key, size_t keylen, int64_t tenant_id,
                       const struct anomaly_filter *f, int64_t seq, uint8_t mac[SHA256_LEN])
{
    char msg[160];
    int n = snprintf(msg, sizeof(msg), "anomalies|%lld|%lld|%lld|%lld|%d|%d|%lld",
                     (long long)tenant_id, (long long)f->product_id, (long long)f->since,
                     (long long)f->until, f->review_status, f->desc ? 1 : 0, (long long)seq);
    hmac_sha256(key, keylen, msg, (size_t)n, mac);
}

void price_cursor_make(const uint8_t *key, size_t keylen, int64_t tenant_id,
                       const struct anomaly_filter *f, int64_t seq, char out[48])
{
    uint8_t raw[24], mac[SHA256_LEN];
    for (int i = 0; i < 8; i++)
        raw[i] = (uint8_t)((uint64_t)seq >> (56 - 8 * i));
    cursor_mac(key, keylen, tenant_id, f, seq, mac);
    memcpy(raw + 8, mac, 16);
    b64url_encode(raw, sizeof(raw), out);
}

int price_cursor_parse(const uint8_t *key, size_t keylen, int64_t tenant_id,
                       const struct anomaly_filter *f, const char *s, size_t n, int64_t *seq,
                       struct error *err)
{
    uint8_t raw[32], mac[SHA256_LEN];
    size_t len;
    if (b64url_decode(s, n, raw, sizeof(raw), &len) || len != 24)
        return error_set_at(err, ERR_INVALID_CURSOR, "cursor", "cursor is malformed");
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | raw[i];
    *seq = (int64_t)v;
    cursor_mac(key, keylen, tenant_id, f, *seq, mac);
    if (*seq < 0 || !ct_equal(mac, raw + 8, 16))
        return error_set_at(err, ERR_INVALID_CURSOR, "cursor",
                            "cursor does not belong to this listing (tenant, product or filters)");
    return 0;
}
