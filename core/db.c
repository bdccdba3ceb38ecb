/*
 * db.c: connection setup, statement cache, transactions, migrations (db.h).
 *
 * Statement cache: open addressing over DB_STMT_CACHE_SLOTS slots keyed by the
 * SQL text's address (pointer hash, linear probing). Each module's SQL lives in
 * a static array, so there are a few dozen distinct keys per process and a
 * lookup is one hash and usually one compare; a prepare happens once per
 * statement per worker.
 */
#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "migrations.h"
#include "timefmt.h"
#include "walbuf.h"
#include "writegate.h"
#include "xmalloc.h"

struct stmt_slot {
    const char *sql;
    sqlite3_stmt *stmt;
    int64_t t0;
};

struct db {
    sqlite3 *conn;
    int64_t busy_since_ns; /* start of the current wait for a lock */
    int64_t busy_deadline_ns; /* db_checkpoint: end of all its waits together (0: none) */
    char *path;
    int64_t lock_wait_ns;
    struct stmt_slot *last; /* most recent db_stmt(): db_done's usual match */
    bool gated;             /* db_begin() queues at the write gate (writegate.h) */
    bool gate_held;
    bool bulk;              /* db_bulk_begin: queue as WG_BULK, keep the gate per slice */
    int wal_frames;         /* frames in the WAL after the last commit (gated only) */
    int ckpt_step;          /* wal_frames / DB_CHECKPOINT_FRAMES at the last request */
    struct stmt_slot slots[DB_STMT_CACHE_SLOTS];
};

static db_observer_fn observer;
static db_txn_hook_fn txn_hook;

void db_set_txn_hook(db_txn_hook_fn fn)
{
    txn_hook = fn;
}

void db_set_observer(db_observer_fn fn)
{
    observer = fn;
}

static void observe(int kind, int64_t ns)
{
    if (observer)
        observer(kind, ns);
}

int db_fail(struct db *db, int rc, struct error *err, const char *what)
{
    const char *msg = db && db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        error_set(err, ERR_DB_BUSY, "database is busy (%s); retry shortly", what);
        if (err)
            err->retry_after_s = 1;
        return -1;
    case SQLITE_CONSTRAINT:
        return error_set(err, ERR_CONFLICT, "%s: %s", what, msg);
    case SQLITE_FULL:
        return error_set(err, ERR_UNAVAILABLE, "%s: disk full", what);
    default:
        return error_set(err, ERR_INTERNAL, "%s: %s", what, msg);
    }
}

int db_exec(struct db *db, const char *sql, struct error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->conn, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
            sqlite3_free(msg);
            return db_fail(db, rc, err, "exec");
        }
        error_set(err, ERR_INTERNAL, "sql: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/*
 * Busy handler: poll for the lock every 100 µs for the first 2 ms, then every
 * 250 µs, then every 1 ms past 100 ms, up to DB_BUSY_TIMEOUT_MS. SQLite's own
 * handler sleeps 1, 2, 5, 10 … 100 ms: a small write queued behind a bulk
 * writer that releases the lock between short batches kept missing the gaps
 * (worst case 644 ms measured with stock groups of 25 ms; 32-38 ms with a
 * 250 µs poll). Polling costs CPU only while a process actually waits.
 */
static int busy_wait(void *arg, int count)
{
    struct db *db = arg;
    int64_t now = time_mono_ns();
    if (count == 0)
        db->busy_since_ns = now;
    int64_t waited_us = (now - db->busy_since_ns) / 1000;
    if (waited_us >= (int64_t)DB_BUSY_TIMEOUT_MS * 1000 ||
        (db->busy_deadline_ns && now >= db->busy_deadline_ns))
        return 0;
    long sleep_us = waited_us < 2000 ? 100 : waited_us < 100000 ? 250 : 1000;
    struct timespec ts = {0, sleep_us * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

/*
 * Switch a new database to WAL. Processes opening a fresh file at the same
 * moment can deadlock on the rollback-journal locks this needs, and SQLite
 * then answers SQLITE_BUSY at once instead of calling the busy handler
 * (test_db's eight racing processes hit it about one time in ten), so retry
 * for the busy timeout.
 */
static int wal_on(struct db *db, struct error *err)
{
    int64_t deadline = time_mono_ns() + (int64_t)DB_BUSY_TIMEOUT_MS * 1000000;
    for (;;) {
        int rc = sqlite3_exec(db->conn, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_BUSY || time_mono_ns() > deadline)
            return rc == SQLITE_OK ? 0 : db_fail(db, rc, err, "journal_mode=WAL");
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/*
 * Process-wide SQLite settings, made before SQLite initialises (the first
 * open, or the VFS registration just before it). Memory statistics off: with
 * them on, every allocation and free inside SQLite takes a global mutex and
 * updates counters for sqlite3_memory_used(), which nothing here reads. Off:
 * 81.7k vs 75.4k orders/s end to end (1 request per tenant, 1 client, medians
 * of 5 alternated rounds) and 73.0k vs 68.5k for gen_dataset --load (3
 * rounds). If SQLite was initialised already (a caller used it before
 * db_open), the call fails and the default stays: a cost, not an error.
 */
static void sqlite_global_config(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int db_open(const char *path, int flags, struct db **out, struct error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_global_config);
    struct db *db = xcalloc(1, sizeof(*db));
    char pragmas[512];
    int oflags = (flags & DB_OPEN_READONLY) ? SQLITE_OPEN_READONLY
                                            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    *out = NULL;
    db->path = xstrdup(path);
    int rc = sqlite3_open_v2(path, &db->conn, oflags | SQLITE_OPEN_NOMUTEX, walbuf_vfs_name());
    if (rc != SQLITE_OK) {
        error_set(err, ERR_INTERNAL, "cannot open database %s: %s", path,
                  db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_handler(db->conn, busy_wait, db);
    sqlite3_extended_result_codes(db->conn, 1);
    /*
     * journal_mode=WAL is persistent in the file; the others are per
     * connection and must be set every time. Debian builds SQLite with WAL
     * synchronous=FULL by default, so NORMAL is set explicitly (REFERENCES §10).
     *
     * mmap stays off. A WAL read transaction that finds the database changed
     * by another connection unmaps the whole mapping and faults it back in
     * page by page: one munmap of the mapped size (40 µs for 38 MB) per small
     * write transaction once two workers take turns. Measured: price events
     * 2.2-2.5k req/s with a 256 MB mmap, 2.7-2.8k without, in alternated
     * rounds; search streams as fast without it (1.45M vs 1.29M rows/s
     * unfiltered, the same within noise for the other mixes), the page cache
     * copies counting as worker memory instead (6-10 MB).
     */
    if (!(flags & DB_OPEN_READONLY) && wal_on(db, err))
        goto fail;
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA synchronous=NORMAL;"
             "PRAGMA foreign_keys=ON;"
             "PRAGMA temp_store=MEMORY;"
             "PRAGMA cache_size=-%d;"
             "PRAGMA mmap_size=0;"
             "PRAGMA journal_size_limit=67108864;",
             DB_CACHE_KIB);
    if (!(flags & DB_OPEN_READONLY) && db_exec(db, pragmas, err))
        goto fail;
    if ((flags & DB_OPEN_MIGRATE) && db_migrate(db, err))
        goto fail;
    *out = db;
    return 0;
fail:
    db_close(db);
    return -1;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < DB_STMT_CACHE_SLOTS; i++)
        if (db->slots[i].stmt)
            sqlite3_finalize(db->slots[i].stmt);
    sqlite3_close_v2(db->conn);
    free(db->path);
    free(db);
}

sqlite3 *db_handle(struct db *db)
{
    return db->conn;
}

const char *db_path(const struct db *db)
{
    return db->path;
}

static size_t slot_hash(const char *sql)
{
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) % DB_STMT_CACHE_SLOTS;
}

static struct stmt_slot *slot_find(struct db *db, const char *sql)
{
    size_t i = slot_hash(sql);
    for (size_t n = 0; n < DB_STMT_CACHE_SLOTS; n++, i = (i + 1) % DB_STMT_CACHE_SLOTS) {
        if (db->slots[i].sql == sql || db->slots[i].sql == NULL)
            return &db->slots[i];
    }
    return NULL;
}

sqlite3_stmt *db_stmt(struct db *db, const char *sql, struct error *err)
{
    struct stmt_slot *s = slot_find(db, sql);
    if (!s) {
        error_set(err, ERR_INTERNAL, "statement cache full (%d)", DB_STMT_CACHE_SLOTS);
        return NULL;
    }
    if (!s->stmt) {
        int rc = sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt, NULL);
        if (rc != SQLITE_OK) {
            db_fail(db, rc, err, "prepare");
            s->stmt = NULL;
            return NULL;
        }
        s->sql = sql;
    } else {
        sqlite3_reset(s->stmt);
        sqlite3_clear_bindings(s->stmt);
    }
    s->t0 = time_mono_ns();
    db->last = s;
    return s->stmt;
}

void db_done(struct db *db, sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st);
    struct stmt_slot *s = db->last;
    if (!s || s->stmt != st) {
        s = NULL;
        for (size_t i = 0; i < DB_STMT_CACHE_SLOTS; i++)
            if (db->slots[i].stmt == st) {
                s = &db->slots[i];
                break;
            }
    }
    if (s && s->t0) {
        observe(DB_OBSERVE_STMT, time_mono_ns() - s->t0);
        s->t0 = 0;
    }
}

static int wal_hook(void *arg, sqlite3 *conn, const char *name, int frames)
{
    (void)conn;
    (void)name;
    ((struct db *)arg)->wal_frames = frames;
    return SQLITE_OK;
}

void db_use_gate(struct db *db)
{
    if (!wg_active())
        return;
    db->gated = true;
    sqlite3_wal_hook(db->conn, wal_hook, db); /* replaces the automatic checkpoint */
}

bool db_gated(const struct db *db)
{
    return db->gated;
}

static void gate_release(struct db *db)
{
    if (!db->gate_held)
        return;
    db->gate_held = false;
    wg_unlock();
}

void db_bulk_begin(struct db *db)
{
    db->bulk = true;
}

void db_bulk_pause(struct db *db)
{
    if (!db_in_txn(db))
        gate_release(db);
}

void db_bulk_end(struct db *db)
{
    db_bulk_pause(db);
    db->bulk = false;
}

int db_begin(struct db *db, struct error *err)
{
    int64_t t0 = time_mono_ns();
    if (db->gated && !db->gate_held) {
        if (wg_lock(DB_BUSY_TIMEOUT_MS, db->bulk ? WG_BULK : WG_SMALL)) {
            db->lock_wait_ns = time_mono_ns() - t0;
            observe(DB_OBSERVE_LOCK_WAIT, db->lock_wait_ns);
            return error_set(err, ERR_DB_BUSY, "database is busy (write gate: %s); retry shortly",
                             strerror(errno));
        }
        db->gate_held = true;
    }
    int rc = sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    db->lock_wait_ns = time_mono_ns() - t0;
    observe(DB_OBSERVE_LOCK_WAIT, db->lock_wait_ns);
    if (rc != SQLITE_OK) {
        gate_release(db);
        return db_fail(db, rc, err, "begin");
    }
    return 0;
}

int db_begin_read(struct db *db, struct error *err)
{
    int rc = sqlite3_exec(db->conn, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, err, "begin");
    return 0;
}

int db_commit(struct db *db, struct error *err)
{
    int64_t t0 = time_mono_ns();
    int rc = sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL);
    observe(DB_OBSERVE_COMMIT, time_mono_ns() - t0);
    if (rc != SQLITE_OK) {
        db_fail(db, rc, err, "commit");
        db_rollback(db);
        return -1;
    }
    if (!db->bulk || !wg_keep())
        gate_release(db);
    if (txn_hook)
        txn_hook(db, true);
    if (db->gated) {
        /*
         * One request per DB_CHECKPOINT_FRAMES new frames, not one per commit
         * past the mark: while readers keep the WAL from restarting, the count
         * stays high and SQLite's own hook would checkpoint (and fdatasync)
         * after every commit.
         */
        int step = db->wal_frames / DB_CHECKPOINT_FRAMES;
        if (step != db->ckpt_step) {
            db->ckpt_step = step;
            /* A request still pending from the last step: the housekeeper is not there. */
            if (step > 0 && !wg_checkpoint_request() &&
                db->wal_frames >= DB_CHECKPOINT_SELF_FRAMES) {
                gate_release(db); /* a bulk commit may have kept it */
                sqlite3_wal_checkpoint_v2(db->conn, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
            }
        }
    }
    return 0;
}

void db_rollback(struct db *db)
{
    if (!sqlite3_get_autocommit(db->conn))
        sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    gate_release(db);
    if (txn_hook)
        txn_hook(db, false);
}

int db_reset_busy(struct db *db, const char **first_sql)
{
    int n = 0;
    for (sqlite3_stmt *st = sqlite3_next_stmt(db->conn, NULL); st;
         st = sqlite3_next_stmt(db->conn, st)) {
        if (!sqlite3_stmt_busy(st))
            continue;
        if (n++ == 0 && first_sql)
            *first_sql = sqlite3_sql(st);
        sqlite3_reset(st);
    }
    return n;
}

bool db_in_txn(struct db *db)
{
    return !sqlite3_get_autocommit(db->conn);
}

int64_t db_lock_wait_ns(const struct db *db)
{
    return db->lock_wait_ns;
}

int db_checkpoint(struct db *db, enum db_checkpoint_mode mode, int64_t max_wait_ms,
                  int *wal_frames, int *done_frames, struct error *err)
{
    int log = 0, ckpt = 0;
    /*
     * RESTART waits for each read mark in turn, each a new busy episode; the
     * deadline bounds them together.
     */
    db->busy_deadline_ns = time_mono_ns() + max_wait_ms * 1000000;
    int rc = sqlite3_wal_checkpoint_v2(db->conn, NULL,
                                       mode == DB_CHECKPOINT_RESTART ? SQLITE_CHECKPOINT_RESTART
                                                                     : SQLITE_CHECKPOINT_PASSIVE,
                                       &log, &ckpt);
    db->busy_deadline_ns = 0;
    if (wal_frames)
        *wal_frames = log;
    if (done_frames)
        *done_frames = ckpt;
    if (rc != SQLITE_OK)
        return db_fail(db, rc, err, "checkpoint");
    return 0;
}

int db_query_i64(struct db *db, const char *sql, int64_t *out, struct error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, err, "prepare");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : db_fail(db, rc, err, "query");
}

static const char *const SQL_USER_VERSION = "PRAGMA user_version";

int db_schema_version(struct db *db)
{
    struct error e;
    sqlite3_stmt *st = db_stmt(db, SQL_USER_VERSION, &e);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    int v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    db_done(db, st);
    return v;
}

const char *db_engine_version(void)
{
    return sqlite3_libversion();
}

int db_schema_latest(void)
{
    return MIGRATIONS_COUNT ? MIGRATIONS[MIGRATIONS_COUNT - 1].version : 0;
}

/* Is migration `version` recorded in schema_migrations? (Table exists once 001 ran.) */
static int migration_applied(struct db *db, int version, bool *applied, struct error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->conn, "SELECT 1 FROM schema_migrations WHERE version = ?1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, err, "migration lookup");
    sqlite3_bind_int(st, 1, version);
    rc = sqlite3_step(st);
    *applied = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, "migration lookup");
}

/*
 * All workers may start at the same instant against a new file. The check and
 * every pending migration run inside one BEGIN IMMEDIATE, so exactly one
 * process applies them and the others find them recorded once they get the
 * lock. A migration is pending when schema_migrations has no row for it, not
 * merely when its number is above user_version: a file numbered below one
 * already applied (written on another branch, say) still runs once.
 * user_version ends at the highest number applied and is the cheap "is there
 * anything to do" test on every start.
 */
int db_migrate(struct db *db, struct error *err)
{
    if (db_begin(db, err))
        return -1;
    int current = db_schema_version(db);
    if (current < 0) {
        db_rollback(db);
        return error_set(err, ERR_INTERNAL, "cannot read schema version");
    }
    int latest = current;
    for (size_t i = 0; i < MIGRATIONS_COUNT; i++) {
        const struct migration *m = &MIGRATIONS[i];
        bool applied = false;
        if (current > 0 && migration_applied(db, m->version, &applied, err)) {
            db_rollback(db);
            return -1;
        }
        if (applied)
            continue;
        if (db_exec(db, m->sql, err)) {
            char what[ERROR_DETAIL_MAX];
            snprintf(what, sizeof(what), "%s", err->detail);
            error_set(err, ERR_INTERNAL, "migration %s failed: %s", m->name, what);
            db_rollback(db);
            return -1;
        }
        if (m->version > latest)
            latest = m->version;
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO schema_migrations(version, name, applied_at) "
                 "VALUES (%d, '%s', unixepoch()); PRAGMA user_version=%d;",
                 m->version, m->name, latest);
        if (db_exec(db, sql, err)) {
            db_rollback(db);
            return -1;
        }
    }
    return db_commit(db, err);
}
