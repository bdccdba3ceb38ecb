/*
 * writegate.h: a queue in front of SQLite's write lock shared by the worker
 * processes, and the workers' checkpoint requests to the housekeeper.
 *
 * SQLite's WAL write lock has no waiting list: a connection that finds it
 * taken can only sleep and try again (db.c polls every 100-250 µs). With two
 * workers writing short transactions the lock sat idle between one release
 * and the other worker's next poll. The gate is a robust process-shared
 * pthread mutex in a page the master maps before it forks: db_begin() takes
 * it before BEGIN IMMEDIATE and db_commit()/db_rollback() release it, so a
 * release wakes the next writer through the futex at once. A holder killed
 * with SIGKILL hands it on (EOWNERDEAD; SQLite itself recovers the dead
 * transaction). Writers outside the gate (the sqlite3 shell, gen_dataset
 * --load) still meet SQLite's lock and the busy handler.
 *
 * Fairness: a mutex lets the process that just released it take it again
 * before a woken waiter runs, so a loop of back-to-back transactions (stock
 * groups, ingest batches) could starve the others. A process that held the
 * gate last and finds others waiting therefore waits, up to
 * WG_HANDOFF_MAX_US, until one of them has had it.
 *
 * Bulk writers (WG_BULK: ingest batches) take turns among themselves in
 * slices of WG_BULK_SLICE_MS rather than transaction by transaction: a
 * connection's page cache is emptied whenever another process commits
 * (SQLite re-reads every page after a change it did not make), so two
 * ingests alternating batch by batch started every batch cold: 891 vs 364
 * page misses per 625-row batch, 18.2 vs 14.8 µs per order. A small writer
 * (WG_SMALL) waiting still gets the gate after the current transaction.
 *
 * Checkpoints: a worker's COMMIT used to run SQLite's automatic checkpoint
 * inline (write-back plus fdatasync, 5-200 ms) while its client waited. Gated
 * connections turn that off; after a commit that leaves at least
 * DB_CHECKPOINT_FRAMES frames in the WAL they raise a request word in the
 * shared page and wake the housekeeper (futex), which runs the PASSIVE
 * checkpoint. A WAL past DB_CHECKPOINT_SELF_FRAMES (housekeeper dead or
 * stuck) is checkpointed by the committing worker itself, after it has left
 * the gate.
 *
 * Without wg_create() (tests, tools) every call is a no-op and db.c behaves
 * as a plain SQLite connection.
 */
#ifndef CORE_WRITEGATE_H
#define CORE_WRITEGATE_H

#include <stdbool.h>
#include <stdint.h>

/* Map and initialise the shared page. Call once, before forking. 0 / -1. */
int wg_create(void);
/* Unmap (tests). */
void wg_destroy(void);
bool wg_active(void);
/* Each child after fork: its process slot (fairness bookkeeping). */
void wg_attach(unsigned slot);
/* Master, after reaping the process of slot: forget that it was waiting. */
void wg_slot_reset(unsigned slot);

enum wg_class {
    WG_SMALL, /* a transaction someone waits for: hand over after each one */
    WG_BULK,  /* one of a stream of batches: hand over to bulk writers per slice */
};

/*
 * Take the gate, waiting at most timeout_ms. 0: held; -1: timed out (or a
 * nested call, a bug: errno EDEADLK). A no-op returning 0 without a gate.
 * The thread that took it must release it (a mutex); wg_unlock() from any
 * other thread aborts the process rather than leave the gate stuck.
 */
int wg_lock(int64_t timeout_ms, enum wg_class cls);
void wg_unlock(void);
/*
 * The holder, after committing a WG_BULK transaction: true when it may keep
 * the gate for its next one (its slice is not over and no small writer
 * waits). Keeping it is what makes a slice: a released gate goes to the
 * woken waiter more often than not before the holder's next wg_lock().
 */
bool wg_keep(void);
/* Holders that died with the gate (taken over with EOWNERDEAD). */
uint64_t wg_owner_deaths(void);

/*
 * Ask the housekeeper for a checkpoint. false: no gate, or the previous
 * request has not been taken yet (the housekeeper is busy, stuck or dead).
 */
bool wg_checkpoint_request(void);
/*
 * Housekeeper: wait up to timeout_ms for a request. Returns true (and clears
 * it) when one was made. Without a gate it sleeps timeout_ms and returns false.
 */
bool wg_checkpoint_wait(int64_t timeout_ms);

#endif
