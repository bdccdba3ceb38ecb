/*
 * catalog.c: product upsert and lookup (see catalog.h).
 *
 * The upsert is one BEGIN IMMEDIATE transaction of at most five statements
 * on primary-key or unique-index rows (category upsert, product read,
 * product insert/update), so it holds the write lock for microseconds. The
 * product's price_at (the observed_at of the current price) is cleared when a
 * price is given by hand: such a price is the baseline that price events
 * compare against, and any later event, whatever its observed_at, may
 * replace it.
 */
#include "catalog.h"

#include <stdio.h>
#include <string.h>

#include "money.h"
#include "timefmt.h"

enum {
    SQL_CATEGORY_UPSERT,
    SQL_CATEGORY_ID,
    SQL_PRODUCT_EXISTING,
    SQL_PRODUCT_INSERT,
    SQL_PRODUCT_UPDATE,
    SQL_PRODUCT_GET,
    SQL_PRODUCT_LOOKUP,
};

static const char *const SQL[] = {
    [SQL_CATEGORY_UPSERT] = "INSERT INTO categories(tenant_id, ext_id, name) VALUES (?1, ?2, ?2) "
                            "ON CONFLICT(tenant_id, ext_id) DO NOTHING",
    [SQL_CATEGORY_ID] = "SELECT id FROM categories WHERE tenant_id = ?1 AND ext_id = ?2",
    [SQL_PRODUCT_EXISTING] = "SELECT id, currency, price_minor, price_at FROM products "
                             "WHERE tenant_id = ?1 AND ext_id = ?2",
    [SQL_PRODUCT_INSERT] = "INSERT INTO products(tenant_id, ext_id, name, category_id, currency, "
                           "price_minor, price_at, created_at, updated_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    [SQL_PRODUCT_UPDATE] = "UPDATE products SET name = ?2, category_id = ?3, currency = ?4, "
                           "price_minor = ?5, price_at = ?6, updated_at = ?7 WHERE id = ?1",
    [SQL_PRODUCT_GET] = "SELECT p.id, p.ext_id, p.name, coalesce(c.ext_id, ''), p.currency, "
                        "p.price_minor, p.price_at, p.created_at, p.updated_at, "
                        "coalesce(s.quantity, 0), coalesce(s.version, 0), s.last_event_time "
                        "FROM products p LEFT JOIN categories c ON c.id = p.category_id "
                        "LEFT JOIN stock_levels s ON s.product_id = p.id "
                        "WHERE p.tenant_id = ?1 AND p.ext_id = ?2",
    [SQL_PRODUCT_LOOKUP] = "SELECT id, currency FROM products WHERE tenant_id = ?1 AND ext_id = ?2",
};

bool catalog_ext_id_valid(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max || !utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int step_done(struct db *db, sqlite3_stmt *st, struct error *err, const char *what)
{
    int rc = sqlite3_step(st);
    db_done(db, st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, what);
    return 0;
}

static int category_id(struct db *db, int64_t tenant_id, const char *cat, size_t n, int64_t *id,
                       struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_CATEGORY_UPSERT], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, cat, (int)n, SQLITE_STATIC);
    if (step_done(db, st, err, "category upsert"))
        return -1;
    if (!(st = db_stmt(db, SQL[SQL_CATEGORY_ID], err)))
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, cat, (int)n, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    db_done(db, st);
    if (rc != SQLITE_ROW)
        return db_fail(db, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, err, "category id");
    return 0;
}

int catalog_product_put(struct db *db, int64_t tenant_id, const char *ext_id, size_t ext_len,
                        const struct product_input *in, bool *created, struct product *p,
                        struct error *err)
{
    int64_t now = time_now_ms() / 1000, cat = 0, id = 0;
    bool same_currency = false, had_price = false;
    int64_t old_price = 0, old_price_at = 0;
    sqlite3_stmt *st;
    int rc;

    if (db_begin(db, err))
        return -1;
    if (in->category && category_id(db, tenant_id, in->category, in->category_len, &cat, err))
        goto fail;
    if (!(st = db_stmt(db, SQL[SQL_PRODUCT_EXISTING], err)))
        goto fail;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, ext_id, (int)ext_len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        same_currency = strcmp((const char *)sqlite3_column_text(st, 1), in->currency) == 0;
        had_price = sqlite3_column_type(st, 2) != SQLITE_NULL;
        old_price = sqlite3_column_int64(st, 2);
        old_price_at = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 3);
    }
    db_done(db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_fail(db, rc, err, "product read");
        goto fail;
    }
    *created = id == 0;
    /* The price kept or set, and when it became current. */
    bool has_price = in->has_price || (had_price && same_currency);
    int64_t price = in->has_price ? in->price_minor : old_price;
    bool has_price_at = in->has_price ? false : had_price && same_currency && old_price_at;
    if (id == 0) {
        if (!(st = db_stmt(db, SQL[SQL_PRODUCT_INSERT], err)))
            goto fail;
        sqlite3_bind_int64(st, 1, tenant_id);
        sqlite3_bind_text(st, 2, ext_id, (int)ext_len, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, in->name, (int)in->name_len, SQLITE_STATIC);
        if (cat)
            sqlite3_bind_int64(st, 4, cat);
        sqlite3_bind_text(st, 5, in->currency, 3, SQLITE_STATIC);
        if (has_price)
            sqlite3_bind_int64(st, 6, price);
        sqlite3_bind_int64(st, 8, now);
        if (step_done(db, st, err, "product insert"))
            goto fail;
    } else {
        if (!(st = db_stmt(db, SQL[SQL_PRODUCT_UPDATE], err)))
            goto fail;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, in->name, (int)in->name_len, SQLITE_STATIC);
        if (cat)
            sqlite3_bind_int64(st, 3, cat);
        sqlite3_bind_text(st, 4, in->currency, 3, SQLITE_STATIC);
        if (has_price)
            sqlite3_bind_int64(st, 5, price);
        if (has_price && has_price_at)
            sqlite3_bind_int64(st, 6, old_price_at);
        sqlite3_bind_int64(st, 7, now);
        if (step_done(db, st, err, "product update"))
            goto fail;
    }
    if (db_commit(db, err))
        return -1;
    return catalog_product_get(db, tenant_id, ext_id, ext_len, p, err);
fail:
    db_rollback(db);
    return -1;
}

int catalog_product_get(struct db *db, int64_t tenant_id, const char *ext_id, size_t ext_len,
                        struct product *p, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_PRODUCT_GET], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, ext_id, (int)ext_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(p, 0, sizeof(*p));
        p->id = sqlite3_column_int64(st, 0);
        snprintf(p->ext_id, sizeof(p->ext_id), "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(p->name, sizeof(p->name), "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(p->category, sizeof(p->category), "%s",
                 (const char *)sqlite3_column_text(st, 3));
        snprintf(p->currency, sizeof(p->currency), "%s",
                 (const char *)sqlite3_column_text(st, 4));
        p->has_price = sqlite3_column_type(st, 5) != SQLITE_NULL;
        p->price_minor = sqlite3_column_int64(st, 5);
        p->price_at = sqlite3_column_int64(st, 6);
        p->created_at = sqlite3_column_int64(st, 7);
        p->updated_at = sqlite3_column_int64(st, 8);
        p->quantity = sqlite3_column_int64(st, 9);
        p->version = sqlite3_column_int64(st, 10);
        p->has_stock_time = sqlite3_column_type(st, 11) != SQLITE_NULL;
        p->last_event_time_ms = sqlite3_column_int64(st, 11);
    }
    db_done(db, st);
    if (rc == SQLITE_DONE)
        return error_set(err, ERR_PRODUCT_NOT_FOUND, "no such product");
    if (rc != SQLITE_ROW)
        return db_fail(db, rc, err, "product get");
    return 0;
}

int catalog_product_lookup(struct db *db, int64_t tenant_id, const char *ext_id, size_t ext_len,
                           int64_t *id, char currency[4], struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_PRODUCT_LOOKUP], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, ext_id, (int)ext_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *id = 0;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        if (currency)
            snprintf(currency, 4, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    db_done(db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, rc, err, "product lookup");
    return 0;
}

void catalog_product_json(const struct product *p, struct buf *out)
{
    int exp = currency_exponent(p->currency, 3);
    buf_puts(out, "{\"product_id\":");
    buf_append_json_cstr(out, p->ext_id);
    buf_puts(out, ",\"name\":");
    buf_append_json_cstr(out, p->name);
    buf_puts(out, ",\"category\":");
    if (p->category[0])
        buf_append_json_cstr(out, p->category);
    else
        buf_puts(out, "null");
    buf_puts(out, ",\"currency\":");
    buf_append_json_cstr(out, p->currency);
    buf_puts(out, ",\"price\":");
    if (p->has_price) {
        buf_putc(out, '"');
        buf_append_money(out, p->price_minor, exp < 0 ? 2 : exp);
        buf_puts(out, "\",\"price_at\":");
        if (p->price_at) {
            buf_putc(out, '"');
            rfc3339_append(out, p->price_at);
            buf_putc(out, '"');
        } else {
            buf_puts(out, "null");
        }
    } else {
        buf_puts(out, "null,\"price_at\":null");
    }
    buf_appendf(out, ",\"stock\":{\"quantity\":%lld,\"version\":%lld,\"last_event_time\":",
                (long long)p->quantity, (long long)p->version);
    if (p->has_stock_time) {
        buf_putc(out, '"');
        rfc3339_append_ms(out, p->last_event_time_ms);
        buf_putc(out, '"');
    } else {
        buf_puts(out, "null");
    }
    buf_puts(out, "},\"created_at\":\"");
    rfc3339_append(out, p->created_at);
    buf_puts(out, "\",\"updated_at\":\"");
    rfc3339_append(out, p->updated_at);
    buf_puts(out, "\"}");
}
