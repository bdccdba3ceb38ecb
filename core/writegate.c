/*
 * writegate.c: the shared write gate and checkpoint requests (see
 * writegate.h).
 *
 * The region is one MAP_SHARED|MAP_ANONYMOUS page inherited across fork():
 *
 *   mu            robust, process-shared, error-checking pthread mutex
 *   waiting       bit per process slot: inside wg_lock() (cleared by the
 *                 master for a slot whose process died, wg_slot_reset)
 *   bulk          bit per process slot: waiting as WG_BULK (set before and
 *                 cleared after its waiting bit)
 *   last_pid      the last holder; also the futex word a process waits on
 *                 while it hands the gate over
 *   bulk_pid      the last WG_BULK holder: its slice goes on across small
 *                 writers' turns
 *   ckpt          futex word: 1 while a checkpoint request is pending
 *
 * Every wait is bounded: the mutex by the caller's timeout
 * (pthread_mutex_clocklock on CLOCK_MONOTONIC), the hand-over by
 * WG_HANDOFF_MAX_US, the housekeeper's futex by its tick.
 */
#include "writegate.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "timefmt.h"

struct wg_region {
    pthread_mutex_t mu;
    _Atomic uint64_t waiting;
    _Atomic uint64_t bulk;
    _Atomic int32_t last_pid;
    _Atomic int32_t bulk_pid;
    _Atomic int32_t handoff_waiters;
    _Atomic uint32_t ckpt;
    _Atomic uint64_t owner_deaths;
};

static struct wg_region *wg;
static uint64_t my_bit;
static int32_t my_pid; /* getpid() is a system call; set by wg_attach() after fork */
static int64_t slice_start_ns; /* when this process's current bulk slice began */

static long futex(void *word, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static struct timespec ns_to_ts(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    return ts;
}

int wg_create(void)
{
    pthread_mutexattr_t a;
    void *p = mmap(NULL, sizeof(struct wg_region), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    wg = p;
    if (pthread_mutexattr_init(&a) || pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) ||
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) ||
        pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK) ||
        pthread_mutex_init(&wg->mu, &a)) {
        munmap(p, sizeof(struct wg_region));
        wg = NULL;
        return -1;
    }
    pthread_mutexattr_destroy(&a);
    return 0;
}

void wg_destroy(void)
{
    if (!wg)
        return;
    munmap(wg, sizeof(struct wg_region));
    wg = NULL;
}

bool wg_active(void)
{
    return wg != NULL;
}

void wg_attach(unsigned slot)
{
    my_bit = slot < 64 ? 1ull << slot : 0;
    my_pid = (int32_t)getpid();
}

void wg_slot_reset(unsigned slot)
{
    if (wg && slot < 64) {
        atomic_fetch_and(&wg->waiting, ~(1ull << slot));
        atomic_fetch_and(&wg->bulk, ~(1ull << slot));
    }
}

static bool slice_over(void)
{
    return time_mono_ns() - slice_start_ns >= (int64_t)WG_BULK_SLICE_MS * 1000000;
}

/* Processes other than this one waiting as WG_SMALL. */
static uint64_t small_waiters(void)
{
    return atomic_load(&wg->waiting) & ~atomic_load(&wg->bulk) & ~my_bit;
}

/*
 * If the caller held the gate last and others are queued, let one of them
 * in first: always when the caller is a small writer or a small writer
 * waits, and once its slice is over when only bulk writers wait. Woken by
 * the next holder (last_pid changes); bounded in time and re-checked every
 * 200 µs in case the waiters gave up.
 */
static bool owes_a_turn(int32_t me, enum wg_class cls)
{
    if (atomic_load(&wg->last_pid) != me)
        return false;
    if (!(atomic_load(&wg->waiting) & ~my_bit))
        return false;
    return cls == WG_SMALL || small_waiters() || slice_over();
}

static void hand_over(int32_t me, enum wg_class cls)
{
    if (!owes_a_turn(me, cls))
        return;
    int64_t deadline = time_mono_ns() + (int64_t)WG_HANDOFF_MAX_US * 1000;
    atomic_fetch_add(&wg->handoff_waiters, 1);
    while (owes_a_turn(me, cls)) {
        int64_t left = deadline - time_mono_ns();
        if (left <= 0)
            break;
        struct timespec ts = ns_to_ts(left < 200000 ? left : 200000);
        futex(&wg->last_pid, FUTEX_WAIT, (uint32_t)me, &ts);
    }
    atomic_fetch_sub(&wg->handoff_waiters, 1);
}

int wg_lock(int64_t timeout_ms, enum wg_class cls)
{
    if (!wg)
        return 0;
    int32_t me = my_pid ? my_pid : (int32_t)getpid();
    struct timespec deadline = ns_to_ts(time_mono_ns() + timeout_ms * 1000000);
    if (cls == WG_BULK)
        atomic_fetch_or(&wg->bulk, my_bit);
    atomic_fetch_or(&wg->waiting, my_bit);
    hand_over(me, cls);
    int rc = pthread_mutex_clocklock(&wg->mu, CLOCK_MONOTONIC, &deadline);
    atomic_fetch_and(&wg->waiting, ~my_bit);
    atomic_fetch_and(&wg->bulk, ~my_bit);
    if (rc == EOWNERDEAD) {
        /* The dead holder's SQLite transaction never committed; nothing to repair. */
        pthread_mutex_consistent(&wg->mu);
        atomic_fetch_add(&wg->owner_deaths, 1);
        rc = 0;
    }
    if (rc) {
        errno = rc;
        return -1;
    }
    atomic_store(&wg->last_pid, me);
    if (cls == WG_BULK && atomic_exchange(&wg->bulk_pid, me) != me)
        slice_start_ns = time_mono_ns();
    if (atomic_load(&wg->handoff_waiters))
        futex(&wg->last_pid, FUTEX_WAKE, INT_MAX, NULL);
    return 0;
}

void wg_unlock(void)
{
    if (!wg)
        return;
    int rc = pthread_mutex_unlock(&wg->mu);
    if (rc) {
        /*
         * Only a caller that does not hold the gate gets here (EPERM: another
         * thread took it). Left alone, every writer would wait on a gate no
         * one can release; dying hands it on through EOWNERDEAD instead.
         */
        fprintf(stderr, "writegate: unlock failed (%s); aborting\n", strerror(rc));
        abort();
    }
}

bool wg_keep(void)
{
    return wg && !slice_over() && !small_waiters();
}

uint64_t wg_owner_deaths(void)
{
    return wg ? atomic_load(&wg->owner_deaths) : 0;
}

bool wg_checkpoint_request(void)
{
    if (!wg || atomic_exchange(&wg->ckpt, 1) != 0)
        return false;
    futex(&wg->ckpt, FUTEX_WAKE, 1, NULL);
    return true;
}

bool wg_checkpoint_wait(int64_t timeout_ms)
{
    struct timespec ts = ns_to_ts(timeout_ms * 1000000);
    if (!wg) {
        nanosleep(&ts, NULL); /* still a wait: callers loop on this */
        return false;
    }
    if (atomic_load(&wg->ckpt) == 0)
        futex(&wg->ckpt, FUTEX_WAIT, 0, &ts);
    return atomic_exchange(&wg->ckpt, 0) != 0;
}
