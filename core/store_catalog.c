/*
 * store_catalog.c: bulk inserts for the catalog and the per-product time
 * series (see store_catalog.h).
 *
 * Partition statements: a small array per loader of (base, month, [lo, hi),
 * statement). The last hit is probed first, then the array; a miss calls
 * partition_ensure (which creates the month inside this transaction if
 * needed) and prepares the INSERT with the partition name, a whitelisted
 * identifier built from an integer month. At most STORE_CAT_PART_MAX months per
 * table family are kept (the least recently used is finalized beyond that),
 * so a 50-year range still works, only with re-prepares.
 */
#include "store_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partition.h"
#include "timefmt.h"
#include "xmalloc.h"

enum {
    SQL_CATEGORY,
    SQL_PRODUCT,
    SQL_CUSTOMER,
    SQL_STOCK_LEVEL,
    SQL_STOCK_KEY,
};

static const char *const SQL[] = {
    [SQL_CATEGORY] = "INSERT INTO categories(tenant_id, ext_id, name, parent_id) "
                     "VALUES (?1, ?2, ?3, ?4)",
    [SQL_PRODUCT] = "INSERT INTO products(tenant_id, ext_id, name, category_id, currency, "
                    "price_minor, price_at, created_at, updated_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [SQL_CUSTOMER] = "INSERT INTO customers(tenant_id, ext_id, name, email, created_at, "
                     "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_STOCK_LEVEL] = "INSERT INTO stock_levels(product_id, tenant_id, quantity, version, "
                        "last_event_time, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_STOCK_KEY] = "INSERT INTO stock_event_keys(tenant_id, event_id, product_id, month) "
                      "VALUES (?1, ?2, ?3, ?4)",
};

enum part_family { PART_PRICE, PART_STOCK, PART__COUNT };

static const char *const PART_BASE[PART__COUNT] = {"price_history", "stock_events"};
static const char *const PART_SQL[PART__COUNT] = {
    "INSERT INTO %s(tenant_id, product_id, price_minor, currency, observed_at, source) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "INSERT INTO %s(tenant_id, product_id, event_id, kind, mode, delta, quantity_after, "
    "version_after, event_time, event_time_ms, source, metadata, applied_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
};

#define STORE_CAT_PART_MAX 128

struct part_stmt {
    int month;
    int64_t lo, hi; /* [first second of the month, first of the next) */
    sqlite3_stmt *st;
    uint64_t used;
};

struct store_cat {
    struct db *db;
    int64_t tenant_id;
    size_t rows;
    uint64_t tick;
    struct part_stmt parts[PART__COUNT][STORE_CAT_PART_MAX];
    struct part_stmt *last[PART__COUNT];
};

static void parts_clear(struct store_cat *c)
{
    for (int f = 0; f < PART__COUNT; f++) {
        for (size_t i = 0; i < STORE_CAT_PART_MAX; i++) {
            sqlite3_finalize(c->parts[f][i].st);
            memset(&c->parts[f][i], 0, sizeof(c->parts[f][i]));
        }
        c->last[f] = NULL;
    }
}

int store_cat_open(struct db *db, int64_t tenant_id, struct store_cat **out, struct error *err)
{
    (void)err;
    struct store_cat *c = xcalloc(1, sizeof(*c));
    c->db = db;
    c->tenant_id = tenant_id;
    *out = c;
    return 0;
}

void store_cat_free(struct store_cat *c)
{
    if (!c)
        return;
    if (db_in_txn(c->db))
        db_rollback(c->db);
    parts_clear(c);
    free(c);
}

int store_cat_begin(struct store_cat *c, struct error *err)
{
    c->rows = 0;
    return db_begin(c->db, err);
}

int store_cat_commit(struct store_cat *c, struct error *err)
{
    if (db_commit(c->db, err)) {
        parts_clear(c); /* db_commit rolled back: months made in it are gone */
        return -1;
    }
    return 0;
}

void store_cat_abort(struct store_cat *c)
{
    db_rollback(c->db);
    parts_clear(c);
}

size_t store_cat_rows(const struct store_cat *c)
{
    return c->rows;
}

/* The INSERT statement of family f for the month holding t (seconds). */
static sqlite3_stmt *part_stmt(struct store_cat *c, int f, int64_t t, struct error *err)
{
    struct part_stmt *p = c->last[f];
    if (p && t >= p->lo && t < p->hi)
        return p->st;
    struct part_stmt *victim = &c->parts[f][0];
    for (size_t i = 0; i < STORE_CAT_PART_MAX; i++) {
        p = &c->parts[f][i];
        if (p->st && t >= p->lo && t < p->hi) {
            p->used = ++c->tick;
            c->last[f] = p;
            return p->st;
        }
        if (!p->st || p->used < victim->used)
            victim = p;
    }
    char name[PARTITION_NAME_MAX];
    if (partition_ensure(c->db, PART_BASE[f], t, name, err))
        return NULL;
    sqlite3_finalize(victim->st);
    memset(victim, 0, sizeof(*victim));
    char sql[512];
    snprintf(sql, sizeof(sql), PART_SQL[f], name);
    int rc = sqlite3_prepare_v3(db_handle(c->db), sql, -1, SQLITE_PREPARE_PERSISTENT,
                                &victim->st, NULL);
    if (rc != SQLITE_OK) {
        db_fail(c->db, rc, err, "prepare partition insert");
        victim->st = NULL;
        return NULL;
    }
    victim->month = time_month_of(t);
    victim->lo = time_month_start(victim->month);
    victim->hi = time_month_start(time_month_next(victim->month));
    victim->used = ++c->tick;
    c->last[f] = victim;
    return victim->st;
}

/* Step a bound insert to completion and reset it; -1 with err on failure. */
static int step(struct store_cat *c, sqlite3_stmt *st, bool cached, const char *what,
                struct error *err)
{
    int rc = sqlite3_step(st);
    if (cached)
        db_done(c->db, st);
    else
        sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(c->db, rc, err, what);
    c->rows++;
    return 0;
}

static void bind_str(sqlite3_stmt *st, int i, struct str s)
{
    sqlite3_bind_text(st, i, s.ptr, (int)s.len, SQLITE_STATIC);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int store_cat_category(struct store_cat *c, const struct store_cat_category *v, int64_t *id,
                     struct error *err)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL[SQL_CATEGORY], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, c->tenant_id);
    bind_str(st, 2, v->ext_id);
    bind_str(st, 3, v->name);
    if (v->parent_id > 0)
        sqlite3_bind_int64(st, 4, v->parent_id);
    else
        sqlite3_bind_null(st, 4);
    if (step(c, st, true, "insert category", err))
        return -1;
    *id = sqlite3_last_insert_rowid(db_handle(c->db));
    return 0;
}

int store_cat_product(struct store_cat *c, const struct store_cat_product *v, int64_t *id,
                    struct error *err)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL[SQL_PRODUCT], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, c->tenant_id);
    bind_str(st, 2, v->ext_id);
    bind_str(st, 3, v->name);
    if (v->category_id > 0)
        sqlite3_bind_int64(st, 4, v->category_id);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_text(st, 5, v->currency, 3, SQLITE_STATIC);
    if (v->price_minor >= 0) {
        sqlite3_bind_int64(st, 6, v->price_minor);
        sqlite3_bind_int64(st, 7, v->price_at);
    } else {
        sqlite3_bind_null(st, 6);
        sqlite3_bind_null(st, 7);
    }
    sqlite3_bind_int64(st, 8, v->created_at);
    sqlite3_bind_int64(st, 9, v->updated_at);
    if (step(c, st, true, "insert product", err))
        return -1;
    *id = sqlite3_last_insert_rowid(db_handle(c->db));
    return 0;
}

int store_cat_customer(struct store_cat *c, const struct store_cat_customer *v, int64_t *id,
                     struct error *err)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL[SQL_CUSTOMER], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, c->tenant_id);
    bind_str(st, 2, v->ext_id);
    bind_str(st, 3, v->name);
    bind_str(st, 4, v->email);
    sqlite3_bind_int64(st, 5, v->created_at);
    sqlite3_bind_int64(st, 6, v->updated_at);
    if (step(c, st, true, "insert customer", err))
        return -1;
    *id = sqlite3_last_insert_rowid(db_handle(c->db));
    return 0;
}

int store_cat_stock_level(struct store_cat *c, const struct store_cat_stock_level *v, struct error *err)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL[SQL_STOCK_LEVEL], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, v->product_id);
    sqlite3_bind_int64(st, 2, c->tenant_id);
    sqlite3_bind_int64(st, 3, v->quantity);
    sqlite3_bind_int64(st, 4, v->version);
    if (v->last_event_time_ms >= 0)
        sqlite3_bind_int64(st, 5, v->last_event_time_ms);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, v->updated_at);
    return step(c, st, true, "insert stock level", err);
}

int store_cat_price(struct store_cat *c, const struct store_cat_price *v, struct error *err)
{
    sqlite3_stmt *st = part_stmt(c, PART_PRICE, v->observed_at, err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, c->tenant_id);
    sqlite3_bind_int64(st, 2, v->product_id);
    sqlite3_bind_int64(st, 3, v->price_minor);
    sqlite3_bind_text(st, 4, v->currency, 3, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, v->observed_at);
    bind_text_or_null(st, 6, v->source);
    return step(c, st, false, "insert price history", err);
}

int store_cat_stock_event(struct store_cat *c, const struct store_cat_stock_event *v, struct error *err)
{
    int64_t t = v->event_time_ms >= 0 ? v->event_time_ms / 1000 : (v->event_time_ms - 999) / 1000;
    sqlite3_stmt *key = db_stmt(c->db, SQL[SQL_STOCK_KEY], err);
    if (!key)
        return -1;
    sqlite3_bind_int64(key, 1, c->tenant_id);
    bind_str(key, 2, v->event_id);
    sqlite3_bind_int64(key, 3, v->product_id);
    sqlite3_bind_int(key, 4, time_month_of(t));
    if (step(c, key, true, "register stock event", err))
        return -1;
    c->rows--; /* the registry row is part of the event, not a row of its own */
    sqlite3_stmt *st = part_stmt(c, PART_STOCK, t, err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, c->tenant_id);
    sqlite3_bind_int64(st, 2, v->product_id);
    bind_str(st, 3, v->event_id);
    sqlite3_bind_int(st, 4, v->kind);
    sqlite3_bind_int(st, 5, v->mode);
    sqlite3_bind_int64(st, 6, v->delta);
    sqlite3_bind_int64(st, 7, v->quantity_after);
    sqlite3_bind_int64(st, 8, v->version_after);
    sqlite3_bind_int64(st, 9, t);
    sqlite3_bind_int64(st, 10, v->event_time_ms);
    bind_text_or_null(st, 11, v->source);
    bind_text_or_null(st, 12, v->metadata);
    sqlite3_bind_int64(st, 13, v->applied_at_ms);
    return step(c, st, false, "insert stock event", err);
}
