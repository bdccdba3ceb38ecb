/*
 * test_db.c: connection setup, migrations under concurrent start-up, the
 * statement cache, and partition creation with rollback.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "idem.h"
#include "migrations.h"
#include "partition.h"
#include "scratch.h"

static char dir[SCRATCH_DIR_MAX];
static char path[SCRATCH_PATH_MAX];

static void setup(void)
{
    scratch_make(dir, path, "db");
    partition_cache_reset();
}

static void teardown(void)
{
    scratch_remove(dir);
}

TestSuite(db, .init = setup, .fini = teardown);

Test(db, pragmas_are_set)
{
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
    int64_t v;
    cr_assert_eq(db_query_i64(db, "PRAGMA synchronous", &v, &err), 0);
    cr_assert_eq(v, 1, "synchronous=NORMAL");
    cr_assert_eq(db_query_i64(db, "PRAGMA foreign_keys", &v, &err), 0);
    cr_assert_eq(v, 1);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db_handle(db), "PRAGMA journal_mode", -1, &st, NULL);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    db_close(db);
}

/*
 * db_open() turns SQLite's memory statistics off before SQLite initialises
 * (db.c: a global mutex per allocation otherwise). With them on, a migrated
 * database and a query leave sqlite3_memory_used() well above zero; off, it
 * is never counted. Criterion runs each test in a process of its own, so
 * this open is the process's first use of SQLite.
 */
Test(db, memory_statistics_are_off)
{
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
    int64_t v;
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM sqlite_schema", &v, &err), 0);
    cr_assert_gt(v, 10, "the migrations ran");
    cr_assert_eq(sqlite3_memory_used(), 0, "memory statistics are kept: %lld bytes",
                 (long long)sqlite3_memory_used());
    db_close(db);
}

/*
 * Every worker migrates at start-up. Eight processes released at the same
 * instant against a new file must apply each migration exactly once.
 */
Test(db, concurrent_startup_migrates_exactly_once)
{
    enum { N = 8 };
    int gate[2];
    cr_assert_eq(pipe(gate), 0);
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            char c;
            close(gate[1]);
            if (read(gate[0], &c, 1) < 0)
                _exit(3);
            struct db *db;
            struct error err;
            if (db_open(path, DB_OPEN_MIGRATE, &db, &err)) {
                fprintf(stderr, "child: %s\n", err.detail);
                _exit(1);
            }
            db_close(db);
            _exit(0);
        }
    }
    close(gate[0]);
    close(gate[1]); /* EOF releases all children at once */
    for (int i = 0; i < N; i++) {
        int status;
        waitpid(kids[i], &status, 0);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
    }
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, 0, &db, &err), 0);
    int64_t n, distinct;
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM schema_migrations", &n, &err), 0);
    cr_assert_eq(db_query_i64(db, "SELECT count(DISTINCT version) FROM schema_migrations",
                              &distinct, &err),
                 0);
    cr_assert_eq(n, (int64_t)MIGRATIONS_COUNT);
    cr_assert_eq(distinct, n);
    cr_assert_eq(db_schema_version(db), db_schema_latest());
    db_close(db);
}

Test(db, migrate_twice_is_a_no_op)
{
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0);
    cr_assert_eq(db_migrate(db, &err), 0);
    int64_t n;
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM schema_migrations", &n, &err), 0);
    cr_assert_eq(n, (int64_t)MIGRATIONS_COUNT);
    db_close(db);
}

static const char *const SQL_ONE = "SELECT ?1 + 1";

Test(db, statement_cache_returns_the_same_reset_statement)
{
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0);
    sqlite3_stmt *a = db_stmt(db, SQL_ONE, &err);
    sqlite3_bind_int(a, 1, 41);
    cr_assert_eq(sqlite3_step(a), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(a, 0), 42);
    /* Not done: a second fetch must still hand back a reset, unbound statement. */
    sqlite3_stmt *b = db_stmt(db, SQL_ONE, &err);
    cr_assert_eq(a, b);
    cr_assert_eq(sqlite3_step(b), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_type(b, 0), SQLITE_NULL, "bindings were cleared");
    db_done(db, b);
    cr_assert_null(db_stmt(db, "SELEC nonsense", &err));
    cr_assert_eq(err.code, ERR_INTERNAL);
    db_close(db);
}

Test(db, partition_created_in_a_rolled_back_txn_is_forgotten)
{
    struct db *db;
    struct error err;
    char name[PARTITION_NAME_MAX];
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0);
    cr_assert_eq(partition_ensure(db, "orders", 1740832496, name, &err), -1, "outside a txn");
    cr_assert_eq(db_begin(db, &err), 0);
    cr_assert_eq(partition_ensure(db, "orders", 1740832496, name, &err), 0, "%s", err.detail);
    cr_assert_str_eq(name, "orders_p202503");
    db_rollback(db);
    int64_t n;
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM sqlite_schema WHERE name='orders_p202503'",
                              &n, &err),
                 0);
    cr_assert_eq(n, 0);
    /* The cache must not claim it exists: the next ensure recreates it. */
    cr_assert_eq(db_begin(db, &err), 0);
    cr_assert_eq(partition_ensure(db, "orders", 1740832496, name, &err), 0);
    cr_assert_eq(partition_ensure(db, "order_items", 1740832496, name, &err), 0);
    cr_assert_eq(db_commit(db, &err), 0);
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM orders_p202503", &n, &err), 0);
    int months[4];
    size_t nm;
    cr_assert_eq(partition_months(db, "orders", 1735689600, 1767225600, months, 4, &nm, &err), 0);
    cr_assert_eq(nm, 1);
    cr_assert_eq(months[0], 202503);
    cr_assert_eq(partition_months(db, "orders", 1743465600, 1767225600, months, 4, &nm, &err), 0);
    cr_assert_eq(nm, 0, "April onwards prunes March");
    db_close(db);
}

/*
 * Regression: a migration numbered below one already applied (user_version
 * ahead of it) must still run once; only schema_migrations says what ran.
 */
Test(db, migration_below_user_version_still_runs)
{
    struct db *db;
    struct error err;
    cr_assert_geq(MIGRATIONS_COUNT, 3, "needs at least three migrations");
    cr_assert_eq(db_open(path, 0, &db, &err), 0);
    const struct migration *first = &MIGRATIONS[0], *last = &MIGRATIONS[MIGRATIONS_COUNT - 1];
    cr_assert_eq(db_exec(db, first->sql, &err), 0, "%s", err.detail);
    char sql[256];
    /* Pretend the newest migration ran and the ones between did not. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO schema_migrations VALUES (%d, '%s', 0), (%d, '%s', 0);"
             "PRAGMA user_version=%d;",
             first->version, first->name, last->version, last->name, last->version);
    cr_assert_eq(db_exec(db, sql, &err), 0, "%s", err.detail);
    cr_assert_eq(db_migrate(db, &err), 0, "%s", err.detail);
    int64_t n;
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM schema_migrations", &n, &err), 0);
    cr_assert_eq(n, (int64_t)MIGRATIONS_COUNT, "every skipped migration ran once");
    cr_assert_eq(db_schema_version(db), last->version);
    cr_assert_eq(db_migrate(db, &err), 0, "and nothing runs twice");
    db_close(db);
}

/* Expired keys go in bounded transactions; fresh ones and live claims stay. */
Test(db, idempotency_purge_deletes_in_batches)
{
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
    int64_t now = 10LL * IDEM_RETENTION_MS, old = now - IDEM_RETENTION_MS - 1;
    char sql[600];
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) "
             "INSERT INTO idempotency_keys(tenant_id, route, key, state, owner, lease_until, "
             "created_at) SELECT 1, 'r', 'old-' || i, 1, 'o', 0, %lld - i / 3 FROM s",
             2 * IDEM_PURGE_BATCH + 500, (long long)old);
    cr_assert_eq(db_exec(db, sql, &err), 0, "%s", err.detail);
    snprintf(sql, sizeof(sql),
             "INSERT INTO idempotency_keys(tenant_id, route, key, state, owner, lease_until, "
             "created_at) VALUES (1, 'r', 'fresh', 1, 'o', 0, %lld), "
             "(1, 'r', 'old-claim-alive', 0, 'o', %lld, %lld)",
             (long long)now, (long long)now + 5000, (long long)old);
    cr_assert_eq(db_exec(db, sql, &err), 0, "%s", err.detail);
    int purged = idem_purge(db, now, &err);
    cr_assert_eq(purged, 2 * IDEM_PURGE_BATCH + 500, "%d: %s", purged, err.detail);
    int64_t n;
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM idempotency_keys", &n, &err), 0);
    cr_assert_eq(n, 2, "the fresh key and the live claim stay");
    cr_assert_eq(idem_purge(db, now, &err), 0);
    db_close(db);
}
