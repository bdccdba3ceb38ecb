/*
 * test_writegate.c: the cross-process write gate (mutual exclusion, a dead
 * holder, the timeout, hand-over between back-to-back writers) and the
 * checkpoint request word; then gated db_begin() in two processes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "timefmt.h"
#include "writegate.h"
#include "scratch.h"

static char dir[SCRATCH_DIR_MAX];
static char path[SCRATCH_PATH_MAX];

static void setup(void)
{
    scratch_make(dir, path, "wg");
    cr_assert_eq(wg_create(), 0);
}

static void teardown(void)
{
    wg_destroy();
    scratch_remove(dir);
}

TestSuite(writegate, .init = setup, .fini = teardown);

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int wait_child(pid_t pid)
{
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Two processes increment a shared counter non-atomically under the gate. */
Test(writegate, excludes_across_processes)
{
    enum { N = 20000 };
    void *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(map, MAP_FAILED);
    volatile long *counter = map;
    pid_t pid = fork();
    if (pid == 0) {
        wg_attach(1);
        for (int i = 0; i < N; i++) {
            if (wg_lock(5000, WG_SMALL))
                _exit(1);
            long v = *counter;
            *counter = v + 1;
            wg_unlock();
        }
        _exit(0);
    }
    wg_attach(0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(wg_lock(5000, WG_SMALL), 0);
        long v = *counter;
        *counter = v + 1;
        wg_unlock();
    }
    cr_assert_eq(wait_child(pid), 0);
    cr_assert_eq(*counter, 2 * N);
}

Test(writegate, dead_holder_hands_the_gate_on)
{
    pid_t pid = fork();
    if (pid == 0) {
        wg_attach(1);
        _exit(wg_lock(1000, WG_SMALL) == 0 ? 0 : 1); /* exits holding it */
    }
    wg_attach(0);
    cr_assert_eq(wait_child(pid), 0);
    int64_t t0 = time_mono_ns();
    cr_assert_eq(wg_lock(1000, WG_SMALL), 0);
    cr_assert_lt(time_mono_ns() - t0, 100 * 1000000LL, "taken over at once");
    cr_assert_eq(wg_owner_deaths(), 1);
    wg_unlock();
    cr_assert_eq(wg_lock(1000, WG_SMALL), 0, "consistent again");
    wg_unlock();
}

Test(writegate, waits_no_longer_than_the_timeout)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        wg_attach(1);
        wg_lock(1000, WG_SMALL);
        char c = 1;
        (void)!write(p[1], &c, 1);
        sleep_ms(400);
        wg_unlock();
        _exit(0);
    }
    wg_attach(0);
    char c;
    cr_assert_eq(read(p[0], &c, 1), 1);
    int64_t t0 = time_mono_ns();
    cr_assert_eq(wg_lock(60, WG_SMALL), -1);
    cr_assert_eq(errno, ETIMEDOUT);
    int64_t ms = (time_mono_ns() - t0) / 1000000;
    cr_assert(ms >= 55 && ms < 300, "waited %lld ms for a 60 ms timeout", (long long)ms);
    cr_assert_eq(wg_lock(2000, WG_SMALL), 0, "free once the holder lets go");
    wg_unlock();
    cr_assert_eq(wait_child(pid), 0);
    close(p[0]);
    close(p[1]);
}

/*
 * A process that takes the gate back-to-back must let a queued one in: the
 * child loops on lock/unlock for 300 ms while the parent asks 30 times; no
 * wait may approach the child's whole run.
 */
Test(writegate, back_to_back_holder_lets_a_waiter_in)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        wg_attach(1);
        char c = 1;
        (void)!write(p[1], &c, 1);
        int64_t end = time_mono_ns() + 300 * 1000000LL;
        while (time_mono_ns() < end) {
            if (wg_lock(5000, WG_SMALL))
                _exit(1);
            int64_t busy = time_mono_ns() + 20000; /* 20 µs "transaction" */
            while (time_mono_ns() < busy)
                ;
            wg_unlock();
        }
        _exit(0);
    }
    wg_attach(0);
    char c;
    cr_assert_eq(read(p[0], &c, 1), 1);
    int64_t worst = 0;
    for (int i = 0; i < 30; i++) {
        int64_t t0 = time_mono_ns();
        cr_assert_eq(wg_lock(5000, WG_SMALL), 0);
        int64_t w = time_mono_ns() - t0;
        wg_unlock();
        if (w > worst)
            worst = w;
        sleep_ms(2);
    }
    cr_assert_eq(wait_child(pid), 0);
    cr_assert_lt(worst, 20 * 1000000LL, "worst wait %lld µs", (long long)worst / 1000);
    close(p[0]);
    close(p[1]);
}

Test(writegate, checkpoint_request_is_taken_once)
{
    cr_assert_eq(wg_checkpoint_wait(0), false);
    cr_assert_eq(wg_checkpoint_request(), true);
    cr_assert_eq(wg_checkpoint_request(), false, "still pending");
    cr_assert_eq(wg_checkpoint_wait(0), true);
    cr_assert_eq(wg_checkpoint_wait(0), false);

    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(50);
        _exit(wg_checkpoint_request() ? 0 : 1);
    }
    int64_t t0 = time_mono_ns();
    cr_assert_eq(wg_checkpoint_wait(2000), true, "woken by the other process");
    cr_assert_lt(time_mono_ns() - t0, 1000 * 1000000LL);
    cr_assert_eq(wait_child(pid), 0);
}

/*
 * Gated connections in two processes: every increment lands (BEGIN IMMEDIATE
 * behind the gate), and the gate is released by commit and by rollback.
 */
Test(writegate, gated_transactions_in_two_processes)
{
    enum { N = 300 };
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
    cr_assert_eq(db_exec(db, "CREATE TABLE c(n INTEGER); INSERT INTO c VALUES (0);", &err), 0);
    db_close(db);
    pid_t pids[2];
    for (int k = 0; k < 2; k++) {
        pids[k] = fork();
        if (pids[k] == 0) {
            wg_attach((unsigned)k);
            if (db_open(path, 0, &db, &err))
                _exit(2);
            db_use_gate(db);
            for (int i = 0; i < N; i++) {
                if (db_begin(db, &err) || db_exec(db, "UPDATE c SET n = n + 1", &err))
                    _exit(3);
                if (i % 10 == 0) {
                    db_rollback(db); /* releases the gate as well */
                    if (db_begin(db, &err) || db_exec(db, "UPDATE c SET n = n + 1", &err))
                        _exit(4);
                }
                if (db_commit(db, &err))
                    _exit(5);
            }
            db_close(db);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++)
        cr_assert_eq(wait_child(pids[k]), 0);
    cr_assert_eq(db_open(path, 0, &db, &err), 0);
    int64_t n;
    cr_assert_eq(db_query_i64(db, "SELECT n FROM c", &n, &err), 0);
    cr_assert_eq(n, 2 * N);
    db_close(db);
    cr_assert_eq(wg_lock(100, WG_SMALL), 0, "no process left the gate held");
    wg_unlock();
}

/* One transaction of a bulk or small writer: log the holder, hold ~hold_us. */
static int logged_txn(struct db *db, int who, int64_t hold_us, struct error *err)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "INSERT INTO log(who) VALUES (%d)", who);
    if (db_begin(db, err) || db_exec(db, sql, err))
        return -1;
    int64_t end = time_mono_ns() + hold_us * 1000;
    while (time_mono_ns() < end)
        ;
    return db_commit(db, err);
}

static void make_log_table(void)
{
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
    cr_assert_eq(db_exec(db, "CREATE TABLE log(seq INTEGER PRIMARY KEY, who INTEGER)", &err), 0);
    db_close(db);
}

/*
 * A child that commits ms_total worth of hold_us transactions in bulk mode,
 * with 200 µs of work between them (an ingest's bookkeeping and next batch):
 * long enough for a woken waiter to take a released gate.
 */
static pid_t bulk_child(unsigned slot, int64_t hold_us, int64_t ms_total)
{
    pid_t pid = fork();
    if (pid)
        return pid;
    struct db *db;
    struct error err;
    wg_attach(slot);
    if (db_open(path, 0, &db, &err))
        _exit(2);
    db_use_gate(db);
    db_bulk_begin(db);
    int64_t end = time_mono_ns() + ms_total * 1000000;
    while (time_mono_ns() < end) {
        if (logged_txn(db, (int)slot, hold_us, &err))
            _exit(3);
        int64_t gap = time_mono_ns() + 200000;
        while (time_mono_ns() < gap)
            ;
    }
    db_bulk_end(db);
    db_close(db);
    _exit(0);
}

/*
 * Two bulk writers take turns in slices, not transaction by transaction:
 * 2 ms transactions for 1.2 s each. Alternating (every other transaction,
 * what a released gate gives) would make runs of ~1; slices of
 * WG_BULK_SLICE_MS make runs of tens. Both must progress.
 */
Test(writegate, bulk_writers_take_turns_in_slices)
{
    make_log_table();
    pid_t a = bulk_child(1, 2000, 1200), b = bulk_child(2, 2000, 1200);
    cr_assert_eq(wait_child(a), 0);
    cr_assert_eq(wait_child(b), 0);
    struct db *db;
    struct error err;
    cr_assert_eq(db_open(path, 0, &db, &err), 0);
    int64_t total, runs, by_a;
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM log", &total, &err), 0);
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM log WHERE who = 1", &by_a, &err), 0);
    cr_assert_eq(db_query_i64(db,
                              "SELECT 1 + count(*) FROM log l JOIN log p ON p.seq = l.seq - 1 "
                              "WHERE p.who != l.who",
                              &runs, &err),
                 0);
    db_close(db);
    cr_assert_gt(total, 200);
    cr_assert_gt(total / runs, 10, "%lld transactions in %lld runs", (long long)total,
                 (long long)runs);
    cr_assert(by_a > total / 5 && by_a < total * 4 / 5, "A had %lld of %lld", (long long)by_a,
              (long long)total);
    cr_assert_eq(wg_lock(100, WG_SMALL), 0, "released by db_bulk_end");
    wg_unlock();
}

/*
 * A small writer does not wait for a bulk writer's slice: it gets the gate
 * after the transaction in progress (10 ms here), against a 200 ms slice.
 */
Test(writegate, small_writer_gets_in_during_a_bulk_slice)
{
    make_log_table();
    pid_t a = bulk_child(1, 10000, 800);
    struct db *db;
    struct error err;
    wg_attach(0);
    cr_assert_eq(db_open(path, 0, &db, &err), 0);
    db_use_gate(db);
    sleep_ms(50);
    int64_t worst = 0;
    for (int i = 0; i < 20; i++) {
        int64_t t0 = time_mono_ns();
        cr_assert_eq(logged_txn(db, 0, 0, &err), 0, "%s", err.detail);
        int64_t w = time_mono_ns() - t0;
        if (w > worst)
            worst = w;
        sleep_ms(7);
    }
    db_close(db);
    cr_assert_eq(wait_child(a), 0);
    cr_assert_lt(worst, 40 * 1000000LL, "worst wait %lld µs", (long long)worst / 1000);
}
