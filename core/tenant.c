/*
 * tenant.c: tenants and API keys (see tenant.h).
 */
#include "tenant.h"

#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "confcache.h"
#include "timefmt.h"

enum {
    SQL_TENANT_INSERT,
    SQL_KEY_INSERT,
    SQL_TENANT_BY_PUBLIC,
    SQL_TENANT_BY_KEY,
    SQL_KEYS_REVOKE_OTHERS,
    SQL_KEY_REVOKE,
    SQL_KEYS_LIST,
};

static const char *const SQL[] = {
    [SQL_TENANT_INSERT] = "INSERT INTO tenants(public_id, name, created_at) VALUES (?1, ?2, ?3)",
    [SQL_KEY_INSERT] = "INSERT INTO api_keys(tenant_id, key_hash, prefix, created_at) "
                       "VALUES (?1, ?2, ?3, ?4)",
    [SQL_TENANT_BY_PUBLIC] = "SELECT id, public_id, name, created_at FROM tenants "
                             "WHERE public_id = ?1",
    [SQL_TENANT_BY_KEY] = "SELECT t.id, t.public_id, t.name, t.created_at, k.key_hash "
                          "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
                          "WHERE k.key_hash = ?1 AND k.revoked_at IS NULL",
    [SQL_KEYS_REVOKE_OTHERS] = "UPDATE api_keys SET revoked_at = ?3 "
                               "WHERE tenant_id = ?1 AND id <> ?2 AND revoked_at IS NULL",
    [SQL_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?3) "
                       "WHERE tenant_id = ?1 AND id = ?2",
    [SQL_KEYS_LIST] = "SELECT id, prefix, created_at, coalesce(revoked_at, 0) FROM api_keys "
                      "WHERE tenant_id = ?1 ORDER BY id",
};

void api_key_generate(char out[API_KEY_LEN + 1])
{
    uint8_t raw[32];
    random_bytes(raw, sizeof(raw));
    memcpy(out, "cg_", 3);
    b64url_encode(raw, sizeof(raw), out + 3);
}

static void row_to_tenant(sqlite3_stmt *st, struct tenant *t)
{
    t->id = sqlite3_column_int64(st, 0);
    snprintf(t->public_id, sizeof(t->public_id), "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(t->name, sizeof(t->name), "%s", (const char *)sqlite3_column_text(st, 2));
    t->created_at = sqlite3_column_int64(st, 3);
}

static int key_insert(struct db *db, int64_t tenant_id, struct api_key_info *info,
                      char key[API_KEY_LEN + 1], struct error *err)
{
    uint8_t hash[SHA256_LEN];
    api_key_generate(key);
    sha256(key, API_KEY_LEN, hash);
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_KEY_INSERT], err);
    if (!st)
        return -1;
    int64_t now = time_now_ms() / 1000;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_blob(st, 2, hash, SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, key, API_KEY_PREFIX_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    int rc = sqlite3_step(st);
    db_done(db, st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "insert api key");
    if (info) {
        info->id = sqlite3_last_insert_rowid(db_handle(db));
        memcpy(info->prefix, key, API_KEY_PREFIX_LEN);
        info->prefix[API_KEY_PREFIX_LEN] = '\0';
        info->created_at = now;
        info->revoked_at = 0;
    }
    return 0;
}

int tenant_create(struct db *db, const char *name, struct tenant *t, char key[API_KEY_LEN + 1],
                  struct error *err)
{
    uint8_t raw[8];
    int rc;
    if (db_begin(db, err))
        return -1;
    random_bytes(raw, sizeof(raw));
    memcpy(t->public_id, "tn_", 3);
    hex_encode(raw, sizeof(raw), t->public_id + 3);
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->created_at = time_now_ms() / 1000;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_TENANT_INSERT], err);
    if (!st)
        goto fail;
    sqlite3_bind_text(st, 1, t->public_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, t->created_at);
    rc = sqlite3_step(st);
    db_done(db, st);
    if (rc != SQLITE_DONE) {
        db_fail(db, rc, err, "insert tenant");
        goto fail;
    }
    t->id = sqlite3_last_insert_rowid(db_handle(db));
    if (key_insert(db, t->id, NULL, key, err))
        goto fail;
    return db_commit(db, err);
fail:
    db_rollback(db);
    return -1;
}

int tenant_get(struct db *db, const char *public_id, size_t len, struct tenant *t,
               struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_TENANT_BY_PUBLIC], err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, public_id, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row_to_tenant(st, t);
        db_done(db, st);
        return 0;
    }
    db_done(db, st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "tenant lookup");
    return error_set(err, ERR_TENANT_NOT_FOUND, "no such tenant");
}

int tenant_by_key(struct db *db, const char *key, size_t len, struct tenant *t, struct error *err)
{
    uint8_t hash[SHA256_LEN];
    if (len != API_KEY_LEN || memcmp(key, "cg_", 3) != 0)
        return error_set(err, ERR_UNAUTHORIZED, "invalid API key");
    sha256(key, len, hash);
    uint64_t epoch = 0;
    if (cc_key_get(hash, t, &epoch))
        return 0;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_TENANT_BY_KEY], err);
    if (!st)
        return -1;
    sqlite3_bind_blob(st, 1, hash, SHA256_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *stored = sqlite3_column_blob(st, 4);
        bool ok = stored && sqlite3_column_bytes(st, 4) == SHA256_LEN &&
                  ct_equal(stored, hash, SHA256_LEN);
        if (ok) {
            row_to_tenant(st, t);
            cc_key_put(hash, t, epoch);
        }
        db_done(db, st);
        return ok ? 0 : error_set(err, ERR_UNAUTHORIZED, "invalid API key");
    }
    db_done(db, st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "key lookup");
    return error_set(err, ERR_UNAUTHORIZED, "invalid or revoked API key");
}

int tenant_key_create(struct db *db, int64_t tenant_id, bool revoke_others,
                      struct api_key_info *info, char key[API_KEY_LEN + 1], struct error *err)
{
    if (db_begin(db, err))
        return -1;
    if (key_insert(db, tenant_id, info, key, err))
        goto fail;
    if (revoke_others) {
        sqlite3_stmt *st = db_stmt(db, SQL[SQL_KEYS_REVOKE_OTHERS], err);
        if (!st)
            goto fail;
        sqlite3_bind_int64(st, 1, tenant_id);
        sqlite3_bind_int64(st, 2, info->id);
        sqlite3_bind_int64(st, 3, time_now_ms() / 1000);
        int rc = sqlite3_step(st);
        db_done(db, st);
        if (rc != SQLITE_DONE) {
            db_fail(db, rc, err, "revoke keys");
            goto fail;
        }
    }
    if (db_commit(db, err))
        return -1;
    if (revoke_others)
        cc_bump();
    return 0;
fail:
    db_rollback(db);
    return -1;
}

int tenant_key_revoke(struct db *db, int64_t tenant_id, int64_t key_id, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_KEY_REVOKE], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_int64(st, 2, key_id);
    sqlite3_bind_int64(st, 3, time_now_ms() / 1000);
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(db_handle(db));
    db_done(db, st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "revoke key");
    if (!changed)
        return error_set(err, ERR_NOT_FOUND, "no such key");
    cc_bump();
    return 0;
}

int tenant_keys_json(struct db *db, int64_t tenant_id, struct buf *out, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_KEYS_LIST], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    buf_putc(out, '[');
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++)
            buf_putc(out, ',');
        buf_appendf(out, "{\"id\":%lld,\"prefix\":", (long long)sqlite3_column_int64(st, 0));
        buf_append_json_cstr(out, (const char *)sqlite3_column_text(st, 1));
        buf_puts(out, ",\"created_at\":\"");
        rfc3339_append(out, sqlite3_column_int64(st, 2));
        buf_puts(out, "\",\"revoked_at\":");
        int64_t rev = sqlite3_column_int64(st, 3);
        if (rev) {
            buf_putc(out, '"');
            rfc3339_append(out, rev);
            buf_putc(out, '"');
        } else {
            buf_puts(out, "null");
        }
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
    db_done(db, st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "list keys");
}

void tenant_json(const struct tenant *t, struct buf *out)
{
    buf_puts(out, "{\"id\":");
    buf_append_json_cstr(out, t->public_id);
    buf_puts(out, ",\"name\":");
    buf_append_json_cstr(out, t->name);
    buf_puts(out, ",\"created_at\":\"");
    rfc3339_append(out, t->created_at);
    buf_puts(out, "\"}");
}

bool admin_key_matches(const uint8_t admin_hash[SHA256_LEN], const char *key, size_t len)
{
    uint8_t h[SHA256_LEN];
    sha256(key, len, h);
    return ct_equal(h, admin_hash, SHA256_LEN);
}
