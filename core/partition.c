/*
 * partition.c: month partitions (see partition.h).
 *
 * Creation takes the template DDL, substitutes {P} with YYYYMM, and runs it in
 * the caller's transaction; the catalog row is inserted in the same
 * transaction, so a partition is either fully there (table, indexes, row) or
 * not at all. Two workers racing to create the same month serialise on the
 * write lock: the second finds the catalog row and skips the DDL.
 */
#include "partition.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "timefmt.h"

enum {
    SQL_CATALOG_HAS,
    SQL_TEMPLATE,
    SQL_CATALOG_ADD,
    SQL_MONTHS,
};

static const char *const SQL[] = {
    [SQL_CATALOG_HAS] = "SELECT 1 FROM partitions WHERE base = ?1 AND month = ?2",
    [SQL_TEMPLATE] = "SELECT ddl FROM partition_templates WHERE base = ?1",
    [SQL_CATALOG_ADD] = "INSERT INTO partitions(base, month, name, created_at) "
                        "VALUES (?1, ?2, ?3, unixepoch())",
    [SQL_MONTHS] = "SELECT month FROM partitions WHERE base = ?1 AND month BETWEEN ?2 AND ?3 "
                   "ORDER BY month",
};

/* Process-local cache of known (base, month) pairs: small, linear. */
#define KNOWN_MAX 1024
static struct {
    char base[24];
    int month;
    const void *db; /* cache is per connection */
    int pending;    /* created by the open transaction: kept only if it commits */
} known[KNOWN_MAX];
static size_t nknown;

void partition_cache_reset(void)
{
    nknown = 0;
}

static void on_txn_end(struct db *db, bool committed)
{
    size_t w = 0;
    for (size_t i = 0; i < nknown; i++) {
        if (known[i].pending && known[i].db == db) {
            if (!committed)
                continue;
            known[i].pending = 0;
        }
        known[w++] = known[i];
    }
    nknown = w;
}

void partition_name(const char *base, int yyyymm, char out[PARTITION_NAME_MAX])
{
    snprintf(out, PARTITION_NAME_MAX, "%s_p%06d", base, yyyymm);
}

static int is_known(const struct db *db, const char *base, int month)
{
    for (size_t i = nknown; i-- > 0;)
        if (known[i].month == month && known[i].db == db && strcmp(known[i].base, base) == 0)
            return 1;
    return 0;
}

static void remember(const struct db *db, const char *base, int month, int pending)
{
    static int hooked;
    if (!hooked) {
        db_set_txn_hook(on_txn_end);
        hooked = 1;
    }
    if (nknown == KNOWN_MAX)
        nknown = 0; /* forget everything; the catalog is the truth */
    known[nknown].pending = pending;
    snprintf(known[nknown].base, sizeof(known[nknown].base), "%s", base);
    known[nknown].month = month;
    known[nknown].db = db;
    nknown++;
}

static int create(struct db *db, const char *base, int month, const char *name, struct error *err)
{
    struct buf ddl = BUF_INIT;
    char p[8];
    int rc = -1;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_TEMPLATE], err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, base, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        db_done(db, st);
        if (src == SQLITE_DONE)
            return error_set(err, ERR_INTERNAL, "no partition template for %s", base);
        return db_fail(db, src, err, "partition template");
    }
    const char *t = (const char *)sqlite3_column_text(st, 0);
    snprintf(p, sizeof(p), "%06d", month);
    for (const char *q; (q = strstr(t, "{P}")) != NULL; t = q + 3) {
        buf_append(&ddl, t, (size_t)(q - t));
        buf_puts(&ddl, p);
    }
    buf_puts(&ddl, t);
    db_done(db, st);
    if (db_exec(db, ddl.data, err))
        goto out;
    st = db_stmt(db, SQL[SQL_CATALOG_ADD], err);
    if (!st)
        goto out;
    sqlite3_bind_text(st, 1, base, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, month);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    db_done(db, st);
    if (src != SQLITE_DONE) {
        db_fail(db, src, err, "partition catalog");
        goto out;
    }
    rc = 0;
out:
    buf_fini(&ddl);
    return rc;
}

int partition_ensure(struct db *db, const char *base, int64_t epoch_s,
                     char name[PARTITION_NAME_MAX], struct error *err)
{
    int month = time_month_of(epoch_s);
    partition_name(base, month, name);
    if (is_known(db, base, month))
        return 0;
    if (!db_in_txn(db))
        return error_set(err, ERR_INTERNAL, "partition_ensure outside a transaction");
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_CATALOG_HAS], err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, base, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, month);
    int rc = sqlite3_step(st);
    db_done(db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, rc, err, "partition catalog");
    if (rc == SQLITE_DONE && create(db, base, month, name, err))
        return -1;
    /* Seen in the catalog or created now: the latter only counts once committed. */
    remember(db, base, month, rc == SQLITE_DONE);
    return 0;
}

/* (fmt, table) -> interned text; linear scan, newest first: writers hit few months. */
static struct {
    const char *fmt;
    char table[PARTITION_NAME_MAX];
    char *sql;
} interned[PARTITION_SQL_MAX];
static size_t ninterned;

const char *partition_sql(const char *fmt, const char *table)
{
    for (size_t i = ninterned; i-- > 0;)
        if (interned[i].fmt == fmt && strcmp(interned[i].table, table) == 0)
            return interned[i].sql;
    if (ninterned == PARTITION_SQL_MAX)
        return NULL;
    struct buf b = BUF_INIT;
    buf_appendf(&b, fmt, table);
    interned[ninterned].fmt = fmt;
    snprintf(interned[ninterned].table, PARTITION_NAME_MAX, "%s", table);
    interned[ninterned].sql = b.data; /* kept for the life of the process */
    return interned[ninterned++].sql;
}

int partition_months(struct db *db, const char *base, int64_t from_s, int64_t to_s, int *out,
                     size_t cap, size_t *n, struct error *err)
{
    int lo = from_s <= 0 ? 0 : time_month_of(from_s);
    int hi = to_s >= (int64_t)253402300799LL ? 999912 : time_month_of(to_s > 0 ? to_s - 1 : 0);
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_MONTHS], err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, base, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, lo);
    sqlite3_bind_int(st, 3, hi);
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count < cap)
            out[count] = sqlite3_column_int(st, 0);
        count++;
    }
    db_done(db, st);
    if (rc != SQLITE_DONE)
        return db_fail(db, rc, err, "partition months");
    *n = count;
    return 0;
}
