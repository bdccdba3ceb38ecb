/*
 * housekeeper.c: WAL checkpoints and expiry, off the request path.
 *
 * With automatic checkpoints, whichever request's COMMIT crosses 1000 WAL
 * pages copies the WAL into the database and fsyncs it: a price event or a
 * stock update pays tens of milliseconds for everyone's writes, and a long
 * reader can make the WAL grow without bound (REFERENCES §10). Here the
 * workers open their connections with DB_OPEN_EXTERNAL_CHECKPOINT (automatic
 * checkpoints only past 256 MiB, as a safety net) and this process, forked
 * and replaced by the master like a worker, does the work:
 *
 *   every 100 ms  stat the -wal file; past CHECKPOINT_WAL_BYTES, or at least
 *                 once a second when it is not empty, run a PASSIVE
 *                 checkpoint (never waits for locks, never blocks a writer);
 *   every 60 s    purge expired idempotency keys and tus uploads.
 *
 * A fully checkpointed WAL is rewound by the next writer and truncated to
 * journal_size_limit (64 MiB). The WAL size is read with stat(2), never
 * open(2): closing any descriptor of a database file drops this process's
 * POSIX locks on it (REFERENCES §10).
 */
#include "housekeeper.h"

#include <signal.h>
#include <stdio.h>
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
#include "app.h"

#define CHECKPOINT_WAL_BYTES (4LL << 20)
#define TICK_MS              100
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
    snprintf(wal, sizeof(wal), "%s-wal", app.db_path);
    log_msg("info", "housekeeper ready");

    int64_t last_ckpt = 0, last_purge = 0, last_log = time_now_ms();
    long long ckpts = 0, frames = 0, max_ms = 0;
    while (!stopping) {
        struct timespec tick = {0, TICK_MS * 1000000L};
        nanosleep(&tick, NULL);
        int64_t now = time_now_ms();
        long long size = wal_bytes(wal);
        if (size > CHECKPOINT_WAL_BYTES || (size > 0 && now - last_ckpt >= 1000)) {
            int log_frames = 0, done = 0;
            int64_t t0 = time_mono_ns();
            if (db_checkpoint(db, false, &log_frames, &done, &err) == 0) {
                int64_t ns = time_mono_ns() - t0;
                sb_observe(SBH_CHECKPOINT, ns);
                ckpts++;
                frames += done;
                if (ns / 1000000 > max_ms)
                    max_ms = ns / 1000000;
            }
            last_ckpt = now;
        }
        if (now - last_purge >= PURGE_EVERY_MS) {
            last_purge = now;
            if (idem_purge(db, now, &err) < 0)
                log_msg("warn", "housekeeper: idempotency purge: %s", err.detail);
            if (tus_purge(db, app.var_dir, now, &err) < 0)
                log_msg("warn", "housekeeper: upload purge: %s", err.detail);
        }
        if (now - last_log >= PURGE_EVERY_MS && ckpts) {
            log_msg("info", "housekeeper: %lld checkpoints, %lld frames, longest %lld ms in %lld s",
                    ckpts, frames, max_ms, (long long)(now - last_log) / 1000);
            ckpts = frames = max_ms = 0;
            last_log = now;
        }
        sb_update_rss(0);
    }
    /* Leave a small WAL behind for the next start. */
    db_checkpoint(db, false, NULL, NULL, &err);
    db_close(db);
    log_msg("info", "housekeeper stopping");
    return 0;
}
