/*
 * idem.c: the idempotency store (see idem.h).
 *
 * Claiming reads and writes the same row, so it must run in BEGIN IMMEDIATE:
 * a deferred transaction would take the read lock first and could fail its
 * upgrade with SQLITE_BUSY without the busy handler running (REFERENCES §10).
 * The transaction is a handful of statements on one primary-key row.
 */
#include "idem.h"

#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "timefmt.h"

enum {
    SQL_GET,
    SQL_INSERT,
    SQL_TAKEOVER,
    SQL_RENEW,
    SQL_COMPLETE,
    SQL_RELEASE,
    SQL_PURGE,
};

static const char *const SQL[] = {
    [SQL_GET] = "SELECT state, owner, lease_until, fingerprint, status, content_type, body, "
                "created_at FROM idempotency_keys WHERE tenant_id=?1 AND route=?2 AND key=?3",
    [SQL_INSERT] = "INSERT OR REPLACE INTO idempotency_keys(tenant_id, route, key, state, owner, "
                   "lease_until, created_at) VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)",
    [SQL_TAKEOVER] = "UPDATE idempotency_keys SET owner=?4, lease_until=?5 "
                     "WHERE tenant_id=?1 AND route=?2 AND key=?3 AND state=0",
    [SQL_RENEW] = "UPDATE idempotency_keys SET lease_until=?5 "
                  "WHERE tenant_id=?1 AND route=?2 AND key=?3 AND state=0 AND owner=?4",
    [SQL_COMPLETE] = "UPDATE idempotency_keys SET state=1, fingerprint=?5, status=?6, "
                     "content_type=?7, body=?8, lease_until=0 "
                     "WHERE tenant_id=?1 AND route=?2 AND key=?3 AND owner=?4",
    [SQL_RELEASE] = "DELETE FROM idempotency_keys "
                    "WHERE tenant_id=?1 AND route=?2 AND key=?3 AND owner=?4 AND state=0",
    /*
     * The oldest ?3 keys (plus any created in the same millisecond as the
     * last) by the created_at index: a range scan, no per-row key search.
     */
    [SQL_PURGE] = "DELETE FROM idempotency_keys WHERE created_at < ?1 AND created_at <= "
                  "coalesce((SELECT created_at FROM idempotency_keys WHERE created_at < ?1 "
                  "ORDER BY created_at LIMIT 1 OFFSET ?3), ?1) "
                  "AND (state=1 OR lease_until < ?2)",
};

static char owner_tag[64] = "0:0";

void idem_set_owner(const char *owner)
{
    snprintf(owner_tag, sizeof(owner_tag), "%s", owner);
}

int idem_key_parse(const char *h, char out[256], struct error *err)
{
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
        h++;
        n -= 2;
    }
    if (n == 0 || n > IDEM_KEY_MAX_BYTES)
        return error_set_at(err, ERR_IDEM_KEY_INVALID, "Idempotency-Key",
                            "Idempotency-Key must be 1-%d characters", IDEM_KEY_MAX_BYTES);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            return error_set_at(err, ERR_IDEM_KEY_INVALID, "Idempotency-Key",
                                "Idempotency-Key must be printable ASCII without quotes, "
                                "backslashes or spaces");
    }
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

void idem_claim_init(struct idem_claim *c)
{
    memset(c, 0, sizeof(*c));
    buf_init(&c->body);
}

void idem_claim_fini(struct idem_claim *c)
{
    buf_fini(&c->body);
}

static void bind_pk(sqlite3_stmt *st, const struct idem_claim *c)
{
    sqlite3_bind_int64(st, 1, c->tenant_id);
    sqlite3_bind_text(st, 2, c->route, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->key, -1, SQLITE_STATIC);
}

static void bind_owned(sqlite3_stmt *st, const struct idem_claim *c)
{
    bind_pk(st, c);
    sqlite3_bind_text(st, 4, owner_tag, -1, SQLITE_STATIC);
}

static int step_done(struct db *db, sqlite3_stmt *st, struct error *err, const char *what)
{
    int rc = sqlite3_step(st);
    db_done(db, st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, what);
}

int idem_claim(struct db *db, int64_t tenant_id, const char *route, const char *key,
               struct idem_claim *c, struct error *err)
{
    c->tenant_id = tenant_id;
    snprintf(c->route, sizeof(c->route), "%s", route);
    snprintf(c->key, sizeof(c->key), "%s", key);
    c->taken_over = false;
    if (db_begin(db, err))
        return -1;
    int64_t now = time_now_ms();
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_GET], err);
    if (!st)
        goto fail;
    bind_pk(st, c);
    int rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW;
    int state = 0;
    int64_t lease = 0, created = 0;
    if (found) {
        state = sqlite3_column_int(st, 0);
        lease = sqlite3_column_int64(st, 2);
        created = sqlite3_column_int64(st, 7);
        if (state == 1) {
            c->has_fingerprint = sqlite3_column_bytes(st, 3) == SHA256_LEN;
            if (c->has_fingerprint)
                memcpy(c->fingerprint, sqlite3_column_blob(st, 3), SHA256_LEN);
            c->status = sqlite3_column_int(st, 4);
            const unsigned char *ct = sqlite3_column_text(st, 5);
            snprintf(c->content_type, sizeof(c->content_type), "%s",
                     ct ? (const char *)ct : "application/json");
            buf_reset(&c->body);
            buf_append(&c->body, sqlite3_column_blob(st, 6), (size_t)sqlite3_column_bytes(st, 6));
        }
    }
    db_done(db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_fail(db, rc, err, "idempotency lookup");
        goto fail;
    }

    if (found && state == 1 && created >= now - IDEM_RETENTION_MS) {
        c->state = IDEM_DONE;
        db_rollback(db);
        return 0;
    }
    if (found && state == 0 && lease > now) {
        c->state = IDEM_BUSY;
        c->retry_after_s = (int)((lease - now + 999) / 1000);
        if (c->retry_after_s > 5)
            c->retry_after_s = 5; /* the owner renews; a client should look again soon */
        db_rollback(db);
        return 0;
    }
    /* New, expired, or abandoned by a dead owner: take it. */
    st = db_stmt(db, SQL[found && state == 0 ? SQL_TAKEOVER : SQL_INSERT], err);
    if (!st)
        goto fail;
    bind_owned(st, c);
    sqlite3_bind_int64(st, 5, now + IDEM_LEASE_MS);
    sqlite3_bind_int64(st, 6, now);
    if (step_done(db, st, err, "idempotency claim"))
        goto fail;
    c->taken_over = found && state == 0;
    c->state = IDEM_CLAIMED;
    return db_commit(db, err);
fail:
    db_rollback(db);
    return -1;
}

int idem_renew(struct db *db, struct idem_claim *c, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_RENEW], err);
    if (!st)
        return -1;
    bind_owned(st, c);
    sqlite3_bind_int64(st, 5, time_now_ms() + IDEM_LEASE_MS);
    return step_done(db, st, err, "idempotency renew");
}

int idem_complete(struct db *db, struct idem_claim *c, const uint8_t fp[SHA256_LEN], int status,
                  const char *content_type, const char *body, size_t len, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_COMPLETE], err);
    if (!st)
        return -1;
    bind_owned(st, c);
    sqlite3_bind_blob(st, 5, fp, SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, status);
    sqlite3_bind_text(st, 7, content_type, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, body ? body : "", (int)len, SQLITE_STATIC);
    return step_done(db, st, err, "idempotency complete");
}

void idem_release(struct db *db, struct idem_claim *c)
{
    struct error e;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_RELEASE], &e);
    if (!st)
        return;
    bind_owned(st, c);
    step_done(db, st, &e, "idempotency release");
}

/*
 * In transactions of at most IDEM_PURGE_BATCH rows: a day of keys at a few
 * thousand requests per second is hundreds of thousands of rows a minute, and
 * one DELETE of them all would hold the write lock for seconds. (2000 of
 * 300k keys: 25 ms this way, 164 ms through a row-value IN subquery.)
 */
int idem_purge(struct db *db, int64_t now_ms, struct error *err)
{
    int total = 0, n;
    do {
        if (db_begin(db, err))
            return -1;
        sqlite3_stmt *st = db_stmt(db, SQL[SQL_PURGE], err);
        if (!st) {
            db_rollback(db);
            return -1;
        }
        sqlite3_bind_int64(st, 1, now_ms - IDEM_RETENTION_MS);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_int(st, 3, IDEM_PURGE_BATCH);
        if (step_done(db, st, err, "idempotency purge")) {
            db_rollback(db);
            return -1;
        }
        n = sqlite3_changes(db_handle(db));
        if (db_commit(db, err))
            return -1;
        total += n;
    } while (n > 0);
    return total;
}
