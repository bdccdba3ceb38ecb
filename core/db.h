/*
 * db.h: one SQLite connection per worker, its statement cache, transactions
 * and migrations.
 *
 * Every process opens its own connection after fork (never before: SQLite
 * connections must not cross fork(), REFERENCES §10). The connection is set up
 * with explicit pragmas (WAL, synchronous=NORMAL, busy_timeout, foreign_keys,
 * temp_store, cache_size, mmap) and owns a cache of prepared statements keyed
 * by the address of the SQL text: modules keep their SQL in a static array
 * beside an enum (STYLE rule 18) and fetch statements with db_stmt(), which
 * prepares once and returns the statement reset and unbound on every later
 * call. db_done() resets it and records how long it was in use.
 *
 * Writes use db_begin() (BEGIN IMMEDIATE: a read-then-write transaction in
 * DEFERRED mode can fail with SQLITE_BUSY without the busy handler ever
 * running); the time spent waiting for the write lock is measured and fed to
 * the lock-wait histogram and the backpressure decision.
 */
#ifndef CORE_DB_H
#define CORE_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct db;

enum db_open_flags {
    DB_OPEN_MIGRATE = 1 << 0, /* apply pending migrations before returning */
    DB_OPEN_READONLY = 1 << 1,
};

/*
 * Open (creating if needed) the database at path with the pragmas above.
 * OUT *out: the connection, or NULL on failure (err says why).
 */
int db_open(const char *path, int flags, struct db **out, struct error *err);
/* Finalize cached statements and close. NULL is a no-op. */
void db_close(struct db *db);
sqlite3 *db_handle(struct db *db);
const char *db_path(const struct db *db);

/*
 * The cached statement for sql, which must be a string with static storage
 * (its address is the cache key). Returns NULL and fills err on a prepare error.
 * The statement is reset, its bindings cleared, and its use timer started.
 */
sqlite3_stmt *db_stmt(struct db *db, const char *sql, struct error *err);
/* Reset a statement from db_stmt() and record its duration. NULL is a no-op. */
void db_done(struct db *db, sqlite3_stmt *st);

/*
 * Server processes: queue at the shared write gate in db_begin() and hand
 * checkpoints to the housekeeper instead of running SQLite's automatic one in
 * db_commit() (writegate.h). A no-op when the process has no gate.
 */
void db_use_gate(struct db *db);
/* True once db_use_gate() has put the connection behind the gate. */
bool db_gated(const struct db *db);
/*
 * Bulk mode (writegate.h, WG_BULK), for a thread committing a stream of
 * batches: its transactions queue as bulk, and a commit keeps the gate for
 * the next transaction while the slice lasts and no small writer waits.
 * The thread must call db_bulk_pause() before it blocks on anything but the
 * database (a kept gate stalls every other writer), and db_bulk_end() (which
 * pauses) before it stops; both are no-ops when nothing is kept.
 */
void db_bulk_begin(struct db *db);
void db_bulk_pause(struct db *db);
void db_bulk_end(struct db *db);

/*
 * BEGIN IMMEDIATE (after the write gate, if any), measuring the lock wait
 * (last wait in db_lock_wait_ns()).
 */
int db_begin(struct db *db, struct error *err);
/* BEGIN (deferred): for read-only snapshots. */
int db_begin_read(struct db *db, struct error *err);
int db_commit(struct db *db, struct error *err);
/* Roll back if a transaction is open; never fails. */
void db_rollback(struct db *db);
bool db_in_txn(struct db *db);
/*
 * Reset every statement left between steps. Such a statement holds a read
 * snapshot open, and a snapshot held across requests keeps checkpoints from
 * finishing and the WAL from restarting. Returns how many; *first_sql: the
 * SQL of the first.
 */
int db_reset_busy(struct db *db, const char **first_sql);
int64_t db_lock_wait_ns(const struct db *db);

/* Run one or more statements without results (DDL, pragmas). */
int db_exec(struct db *db, const char *sql, struct error *err);

/*
 * Turn a failed sqlite3 return code into err: SQLITE_BUSY/LOCKED become
 * ERR_DB_BUSY (503 with Retry-After), constraint failures ERR_CONFLICT,
 * everything else ERR_INTERNAL with the SQLite message. Returns -1.
 */
int db_fail(struct db *db, int rc, struct error *err, const char *what);

/* Apply every embedded migration newer than PRAGMA user_version, once. */
int db_migrate(struct db *db, struct error *err);
/* PRAGMA user_version, or -1. */
int db_schema_version(struct db *db);
/* The SQLite library version ("3.40.1"). */
const char *db_engine_version(void);
/* Highest migration compiled into this binary. */
int db_schema_latest(void);

/*
 * Checkpoint the WAL. PASSIVE copies what no reader still needs and never
 * waits. RESTART also takes the write lock and waits until no reader uses the
 * WAL, so that the next writer starts it again from the beginning; it waits
 * at most max_wait_ms for either (SQLITE_BUSY → ERR_DB_BUSY). OUT: frames in
 * the WAL and frames checkpointed.
 */
enum db_checkpoint_mode { DB_CHECKPOINT_PASSIVE, DB_CHECKPOINT_RESTART };
int db_checkpoint(struct db *db, enum db_checkpoint_mode mode, int64_t max_wait_ms,
                  int *wal_frames, int *done_frames, struct error *err);

/* Convenience: run a single-value query "SELECT ..." with no parameters. */
int db_query_i64(struct db *db, const char *sql, int64_t *out, struct error *err);

/*
 * Called after every COMMIT (committed=true) and ROLLBACK through db_commit /
 * db_rollback, so caches of schema facts (partition.c) can keep or drop what
 * the transaction created. One hook per process.
 */
typedef void (*db_txn_hook_fn)(struct db *db, bool committed);
void db_set_txn_hook(db_txn_hook_fn fn);

/* Observer for statement and lock-wait durations (metrics); NULL to clear. */
typedef void (*db_observer_fn)(int kind, int64_t ns);
enum { DB_OBSERVE_STMT = 0, DB_OBSERVE_LOCK_WAIT = 1, DB_OBSERVE_COMMIT = 2 };
void db_set_observer(db_observer_fn fn);

#endif
