/*
 * housekeeper.c: checkpoints and expiry purges, off the request path.
 *
 * The one background child of the master, replaced like a worker:
 *
 *   on request    a worker's commit passed another DB_CHECKPOINT_FRAMES frames
 *                 of WAL (writegate.h): run a checkpoint round (below);
 *   every 100 ms  stat the -wal file; past CHECKPOINT_WAL_BYTES run a round
 *                 too (a WAL that grew while a long reader pinned it and then
 *                 saw no more writes, so no worker asks);
 *   every 60 s    purge expired idempotency keys and tus uploads.
 *
 * Workers no longer run SQLite's automatic checkpoint inside COMMIT. With it,
 * price events at 16 connections ran at 2.6-2.7k req/s with p99 18-62 ms;
 * with the rounds here and the write gate, 4.0-4.7k req/s with p99 6-9 ms
 * (alternated rounds, docs/benchmarks.md). The WAL size is read with stat(2),
 * never open(2): closing any descriptor of a database file drops this
 * process's POSIX locks on it (REFERENCES §10).
 */
#include "housekeeper.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/db.h"
#include "../core/idem.h"
#include "../core/log.h"
#include "../core/scoreboard.h"
#include "../core/timefmt.h"
#include "../core/tus.h"
#include "../core/writegate.h"
#include "app.h"

#define CHECKPOINT_WAL_BYTES (64LL << 20) /* = journal_size_limit */
/*
 * Twice CHECKPOINT_RESTART_FRAMES stays under journal_size_limit: a WAL that
 * passed it is truncated by the writer that restarts it, inside its write
 * lock (200-275 ms for a WAL of hundreds of MB; 2000/8192 frames let the WAL
 * reach 64-83 MB and p99 13-33 ms against 8-16 ms at 1000/4096, same run).
 */
#define TICK_MS              100
#define CHECKPOINT_RESTART_FRAMES 4096 /* 16 MiB of WAL: start it over (forced at twice that) */
#define CHECKPOINT_GATE_WAIT_MS 50     /* for the gate, before the restart pass */
#define CHECKPOINT_READER_WAIT_MS 2    /* for readers, with writers held */
#define CHECKPOINT_CATCHUP_PASSES 3    /* PASSIVE passes before the gated one ... */
#define CHECKPOINT_TAIL_FRAMES    256  /* ... unless this few frames are left */
#define PURGE_EVERY_MS       60000

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static long long wal_bytes(const char *wal_path)
{
    struct stat st;
    return stat(wal_path, &st) == 0 ? (long long)st.st_size : 0;
}

struct ckpt_stats {
    long long rounds, restarts, deferred, max_ms, max_gate_ms;
};

/*
 * One checkpoint round. A PASSIVE pass off the gate copies the bulk of the
 * WAL into the database while workers keep writing. Such a pass never leaves
 * the WAL empty under steady writes (they append while it runs), and SQLite
 * starts the WAL over only after one has, so past CHECKPOINT_RESTART_FRAMES
 * a second pass runs with the gate held: writers queue, the pass copies the
 * few frames appended meanwhile and (RESTART) waits up to
 * CHECKPOINT_READER_WAIT_MS for readers to leave the WAL. The next writer
 * then writes from the start of the file. A long reader (a search stream)
 * makes the second pass give up; the next round tries again.
 */
static void checkpoint_round(struct db *db, struct ckpt_stats *cs)
{
    struct error err;
    int log = 0, done = 0;
    int64_t t0 = time_mono_ns(), gate_ns = 0;
    /* Catch up off the gate while writers append, so the gated pass has little left. */
    for (int pass = 0; pass < CHECKPOINT_CATCHUP_PASSES; pass++) {
        if (db_checkpoint(db, DB_CHECKPOINT_PASSIVE, 0, &log, &done, &err)) {
            /* BUSY: a worker is checkpointing itself (this process was slow to answer). */
            if (err.code != ERR_DB_BUSY)
                log_msg("warn", "housekeeper: checkpoint: %s", err.detail);
            return;
        }
        if (log - done <= CHECKPOINT_TAIL_FRAMES)
            break;
    }
    /*
     * Caught up (nothing left to copy): the next writer starts the WAL over
     * by itself unless a reader is still on it, and holding the writers for a
     * RESTART took 1-20 ms even then (waiting out readers). Force it only when
     * the catch-up could not finish or the WAL kept growing anyway.
     */
    bool caught_up = log == done;
    if (log >= CHECKPOINT_RESTART_FRAMES && (!caught_up || log >= 2 * CHECKPOINT_RESTART_FRAMES) &&
        wg_lock(CHECKPOINT_GATE_WAIT_MS, WG_SMALL) == 0) {
        int64_t g0 = time_mono_ns();
        int rc = db_checkpoint(db, DB_CHECKPOINT_RESTART, CHECKPOINT_READER_WAIT_MS, &log,
                               &done, &err);
        wg_unlock();
        gate_ns = time_mono_ns() - g0;
        sb_observe(SBH_CHECKPOINT_GATE, gate_ns);
        if (rc == 0)
            cs->restarts++;
        else
            cs->deferred++;
    }
    int64_t ns = time_mono_ns() - t0;
    sb_observe(SBH_CHECKPOINT, ns);
    cs->rounds++;
    if (ns / 1000000 > cs->max_ms)
        cs->max_ms = ns / 1000000;
    if (gate_ns / 1000000 > cs->max_gate_ms)
        cs->max_gate_ms = gate_ns / 1000000;
}

int housekeeper_main(unsigned slot)
{
    struct db *db = NULL;
    struct error err;
    char wal[700];
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    prctl(PR_SET_NAME, "cartograph-hk"); /* tell it from the workers in ps/top */
    sb_attach(slot, getpid());
    sb_mark_housekeeper();
    if (db_open(app.db_path, DB_OPEN_MIGRATE, &db, &err)) {
        log_msg("error", "housekeeper: %s", err.detail);
        return 1;
    }
    db_use_gate(db);
    snprintf(wal, sizeof(wal), "%s-wal", app.db_path);
    log_msg("info", "housekeeper ready");

    int64_t last_ckpt = 0, last_tick = 0, last_purge = 0, last_log = time_now_ms();
    struct ckpt_stats cs = {0};
    while (!stopping) {
        bool asked = wg_checkpoint_wait(TICK_MS);
        if (stopping)
            break;
        int64_t now = time_now_ms();
        /* Asked by a worker's commit, or the WAL grew while a reader pinned it. */
        bool big = false;
        if (now - last_tick >= TICK_MS) {
            last_tick = now;
            big = wal_bytes(wal) > CHECKPOINT_WAL_BYTES && now - last_ckpt >= 1000;
        }
        if (asked || big) {
            checkpoint_round(db, &cs);
            last_ckpt = now;
        }
        if (now - last_purge >= PURGE_EVERY_MS) {
            last_purge = now;
            if (idem_purge(db, now, &err) < 0)
                log_msg("warn", "housekeeper: idempotency purge: %s", err.detail);
            if (tus_purge(db, app.var_dir, now, &err) < 0)
                log_msg("warn", "housekeeper: upload purge: %s", err.detail);
        }
        if (now - last_log >= PURGE_EVERY_MS && cs.rounds) {
            log_msg("info",
                    "housekeeper: %lld checkpoints (%lld restarts, %lld deferred by readers), "
                    "longest %lld ms, writers held up to %lld ms, in %lld s",
                    cs.rounds, cs.restarts, cs.deferred, cs.max_ms, cs.max_gate_ms,
                    (long long)(now - last_log) / 1000);
            memset(&cs, 0, sizeof(cs));
            last_log = now;
        }
        sb_update_rss(0);
    }
    /* Leave a small WAL behind for the next start. */
    db_checkpoint(db, DB_CHECKPOINT_PASSIVE, 0, NULL, NULL, &err);
    db_close(db);
    log_msg("info", "housekeeper stopping");
    return 0;
}
