/*
 * test_walbuf.c: the WAL write-gathering VFS keeps SQLite's guarantees:
 * frames are in the file before another process can see them, a killed
 * writer loses only uncommitted work, and rollbacks of spilled transactions
 * (frames written, never committed) leave a sound database.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "scratch.h"

static char dir[SCRATCH_DIR_MAX];
static char path[SCRATCH_PATH_MAX];

static void setup(void)
{
    scratch_make(dir, path, "wb");
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, 0, &db, &err), 0, "%s", err.detail);
    cr_assert_eq(db_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, batch INTEGER, pad BLOB)", &err),
                 0);
    db_close(db);
}

static void teardown(void)
{
    scratch_remove(dir);
}

TestSuite(walbuf, .init = setup, .fini = teardown);

static int64_t q(struct db *db, const char *sql)
{
    struct error err;
    int64_t v = -1;
    cr_assert_eq(db_query_i64(db, sql, &v, &err), 0, "%s: %s", sql, err.detail);
    return v;
}

static void integrity_ok(struct db *db)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db_handle(db), "PRAGMA integrity_check", -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
}

/* One batch: n rows of ~1 KB in one transaction (many WAL frames). */
static int write_batch(struct db *db, int batch, int n)
{
    struct error err;
    char sql[160];
    if (db_begin(db, &err))
        return -1;
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) "
             "INSERT INTO t(batch, pad) SELECT %d, randomblob(1000) FROM s",
             n, batch);
    if (db_exec(db, sql, &err)) {
        db_rollback(db);
        return -1;
    }
    return db_commit(db, &err);
}

/*
 * A reader in another process polls while a writer commits batches of 200
 * rows: it must only ever see whole batches, counts never going back, and
 * every row it counts must be readable (a frame published before its bytes
 * reached the file would read as garbage or a short read).
 */
Test(walbuf, another_process_sees_only_whole_committed_batches)
{
    enum { BATCHES = 60, ROWS = 200 };
    pid_t pid = fork();
    if (pid == 0) {
        struct db *db;
        struct error err;
        if (db_open(path, 0, &db, &err))
            _exit(2);
        for (int b = 1; b <= BATCHES; b++)
            if (write_batch(db, b, ROWS))
                _exit(3);
        db_close(db);
        _exit(0);
    }
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, 0, &db, &err), 0);
    int64_t last = 0;
    int status;
    for (;;) {
        bool done = waitpid(pid, &status, WNOHANG) == pid;
        /* One statement, one snapshot: -1 if a counted row does not read back whole. */
        int64_t n = q(db, "SELECT CASE WHEN coalesce(sum(length(pad)), 0) = count(*) * 1000 "
                          "THEN count(*) ELSE -1 END FROM t");
        cr_assert_geq(n, 0, "rows that do not read back");
        cr_assert_eq(n % ROWS, 0, "a partial batch is visible: %lld rows", (long long)n);
        cr_assert_geq(n, last);
        last = n;
        if (done)
            break;
    }
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(q(db, "SELECT count(*) FROM t"), BATCHES * ROWS);
    integrity_ok(db);
    db_close(db);
}

/*
 * A writer killed with SIGKILL at a random moment, many times: each reopen
 * finds a sound database holding exactly the batches the writer reported
 * committed (it reports after db_commit returns), or one more (killed
 * between the commit and the report).
 */
Test(walbuf, a_killed_writer_loses_only_uncommitted_batches)
{
    int next = 1;
    srand(42);
    for (int round = 0; round < 12; round++) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            struct db *db;
            struct error err;
            if (db_open(path, 0, &db, &err))
                _exit(2);
            for (int b = next;; b++) {
                if (write_batch(db, b, 300))
                    _exit(3);
                if (write(p[1], &b, sizeof(b)) != sizeof(b))
                    _exit(4);
            }
        }
        close(p[1]);
        struct timespec ts = {0, (long)(5 + rand() % 40) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status, b, reported = next - 1;
        waitpid(pid, &status, 0);
        while (read(p[0], &b, sizeof(b)) == sizeof(b))
            reported = b;
        close(p[0]);

        struct db *db;
        struct error err;
        cr_assert_eq(db_open(path, 0, &db, &err), 0, "%s", err.detail);
        int64_t maxb = q(db, "SELECT coalesce(max(batch), 0) FROM t");
        cr_assert(maxb == reported || maxb == reported + 1, "round %d: %lld batches, %d reported",
                  round, (long long)maxb, reported);
        cr_assert_eq(q(db, "SELECT count(*) FROM t"), maxb * 300, "whole batches only");
        integrity_ok(db);
        db_close(db);
        next = (int)maxb + 1;
    }
}

/* A transaction larger than the page cache spills frames, then rolls back. */
Test(walbuf, a_spilled_transaction_rolls_back_cleanly)
{
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, 0, &db, &err), 0);
    cr_assert_eq(db_exec(db, "PRAGMA cache_size=-256", &err), 0);
    cr_assert_eq(write_batch(db, 1, 100), 0);
    cr_assert_eq(db_begin(db, &err), 0);
    cr_assert_eq(db_exec(db,
                         "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
                         "WHERE i < 20000) INSERT INTO t(batch, pad) SELECT 2, randomblob(1000) "
                         "FROM s",
                         &err),
                 0, "%s", err.detail);
    db_rollback(db);
    cr_assert_eq(q(db, "SELECT count(*) FROM t"), 100);
    cr_assert_eq(write_batch(db, 3, 100), 0);
    cr_assert_eq(q(db, "SELECT count(*) FROM t"), 200);
    integrity_ok(db);
    db_close(db);
    cr_assert_eq(db_open(path, 0, &db, &err), 0);
    cr_assert_eq(q(db, "SELECT count(*) FROM t WHERE batch = 3"), 100);
    integrity_ok(db);
    db_close(db);
}
