/*
 * scoreboard.c: the shared-memory metrics region (see scoreboard.h).
 *
 * Layout: a header (fold sequence, restart count, slot count) then
 * nslots + 1 slots; slot index nslots is "retired". A slot is ~20 KB
 * (64 routes x 5 status classes + 5 histograms x 17 words + counters), so
 * 64 workers fit in about 1.3 MB.
 *
 * Concurrency: a worker writes only its own slot with relaxed atomic adds; a
 * scrape reads every slot with relaxed loads. The master's fold (retired +=
 * slot; slot = 0) runs between two increments of `seq`; a scrape that sees an
 * odd or changed seq reads again, so it never counts a dead worker twice or
 * not at all.
 */
#include "scoreboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "timefmt.h"

/* Upper bounds in seconds; the same for every histogram. */
static const double sb_bounds[SB_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10,
                                             30};

struct sb_hist {
    uint64_t bucket[SB_BUCKETS + 1]; /* non-cumulative; last is +Inf */
    uint64_t sum_ns;
};

struct sb_slot {
    int64_t pid;
    int64_t housekeeper; /* 1: not a request worker */
    int64_t started_ms;
    uint64_t requests[SB_ROUTES_MAX][5]; /* status class 1xx..5xx */
    uint64_t counters[SBC__COUNT];
    int64_t gauges[SBG__COUNT];
    int64_t rss_bytes;
    int64_t rss_peak_bytes;
    uint64_t handled;
    struct sb_hist hist[SBH__COUNT];
};

struct sb_region {
    uint64_t seq;
    uint64_t restarts;
    uint32_t nslots;
    int64_t started_ms;
    struct sb_slot slots[]; /* nslots live + 1 retired */
};

static struct sb_region *sb;
static struct sb_slot *me;
static int64_t rss_checked_ns;

#define LOAD(p)      __atomic_load_n((p), __ATOMIC_RELAXED)
#define ADD(p, v)    __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define STORE(p, v)  __atomic_store_n((p), (v), __ATOMIC_RELAXED)

int sb_create(unsigned nslots)
{
    size_t size = sizeof(struct sb_region) + (nslots + 1) * sizeof(struct sb_slot);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    sb = p;
    sb->nslots = nslots;
    sb->started_ms = time_now_ms();
    return 0;
}

void sb_attach(unsigned slot, pid_t pid)
{
    if (!sb || slot >= sb->nslots)
        return;
    me = &sb->slots[slot];
    STORE(&me->pid, (int64_t)pid);
    STORE(&me->started_ms, time_now_ms());
    sb_update_rss(1);
}

void sb_mark_housekeeper(void)
{
    if (me)
        STORE(&me->housekeeper, 1);
}

void sb_retire(unsigned slot)
{
    if (!sb || slot >= sb->nslots)
        return;
    struct sb_slot *s = &sb->slots[slot], *r = &sb->slots[sb->nslots];
    __atomic_fetch_add(&sb->seq, 1, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < SB_ROUTES_MAX; i++)
        for (size_t j = 0; j < 5; j++)
            ADD(&r->requests[i][j], LOAD(&s->requests[i][j]));
    for (size_t i = 0; i < SBC__COUNT; i++)
        ADD(&r->counters[i], LOAD(&s->counters[i]));
    for (size_t h = 0; h < SBH__COUNT; h++) {
        for (size_t b = 0; b <= SB_BUCKETS; b++)
            ADD(&r->hist[h].bucket[b], LOAD(&s->hist[h].bucket[b]));
        ADD(&r->hist[h].sum_ns, LOAD(&s->hist[h].sum_ns));
    }
    ADD(&r->handled, LOAD(&s->handled));
    memset(s, 0, sizeof(*s));
    __atomic_fetch_add(&sb->seq, 1, __ATOMIC_SEQ_CST);
}

void sb_count_restart(void)
{
    if (sb)
        ADD(&sb->restarts, 1);
}

void sb_count(enum sb_counter c, uint64_t n)
{
    if (me)
        ADD(&me->counters[c], n);
}

void sb_gauge_add(enum sb_gauge g, int64_t delta)
{
    if (me)
        ADD(&me->gauges[g], delta);
}

void sb_gauge_set(enum sb_gauge g, int64_t v)
{
    if (me)
        STORE(&me->gauges[g], v);
}

int64_t sb_gauge_total(enum sb_gauge g)
{
    int64_t t = 0;
    if (!sb)
        return 0;
    for (unsigned i = 0; i < sb->nslots; i++)
        if (LOAD(&sb->slots[i].pid))
            t += LOAD(&sb->slots[i].gauges[g]);
    return t;
}

static unsigned bucket_of(int64_t ns)
{
    double s = (double)ns / 1e9;
    unsigned b = 0;
    while (b < SB_BUCKETS && s > sb_bounds[b])
        b++;
    return b;
}

void sb_observe(enum sb_histogram h, int64_t ns)
{
    if (!me)
        return;
    if (ns < 0)
        ns = 0;
    ADD(&me->hist[h].bucket[bucket_of(ns)], 1);
    ADD(&me->hist[h].sum_ns, (uint64_t)ns);
}

void sb_request(unsigned route, int status, int64_t duration_ns)
{
    if (!me)
        return;
    unsigned cls = status >= 100 && status < 600 ? (unsigned)status / 100 - 1 : 4;
    if (route >= SB_ROUTES_MAX)
        route = SB_ROUTES_MAX - 1;
    ADD(&me->requests[route][cls], 1);
    ADD(&me->handled, 1);
    sb_observe(SBH_REQUEST, duration_ns);
}

uint64_t sb_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, rss = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t sb_update_rss(int force)
{
    if (!me)
        return sb_rss_bytes();
    int64_t now = time_mono_ns();
    if (!force && now - rss_checked_ns < 1000000000)
        return (uint64_t)LOAD(&me->rss_bytes);
    rss_checked_ns = now;
    struct rusage ru;
    STORE(&me->rss_bytes, (int64_t)sb_rss_bytes());
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        STORE(&me->rss_peak_bytes, (int64_t)ru.ru_maxrss * 1024);
    return (uint64_t)LOAD(&me->rss_bytes);
}

/* ======================== exposition ======================== */

/* A consistent copy of every slot: retried while a fold is in progress. */
static void snapshot(struct sb_slot *copy, uint64_t *restarts)
{
    for (int tries = 0; tries < 100; tries++) {
        uint64_t s1 = __atomic_load_n(&sb->seq, __ATOMIC_SEQ_CST);
        if (s1 & 1) {
            usleep(100);
            continue;
        }
        for (unsigned i = 0; i <= sb->nslots; i++)
            memcpy(&copy[i], &sb->slots[i], sizeof(struct sb_slot));
        *restarts = LOAD(&sb->restarts);
        if (__atomic_load_n(&sb->seq, __ATOMIC_SEQ_CST) == s1)
            return;
    }
}

/* One gauge per live process slot: its current or its peak RSS. */
static void render_rss(struct buf *o, const char *name, const char *help, const struct sb_slot *s,
                       unsigned n, bool peak)
{
    buf_appendf(o, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (unsigned i = 0; i + 1 < n; i++)
        if (s[i].pid)
            buf_appendf(o, "%s{slot=\"%u\",pid=\"%lld\",role=\"%s\"} %lld\n", name, i,
                        (long long)s[i].pid, s[i].housekeeper ? "housekeeper" : "worker",
                        (long long)(peak ? s[i].rss_peak_bytes : s[i].rss_bytes));
}

static void render_hist(struct buf *o, const char *name, const char *help, struct sb_slot *slots,
                        unsigned n, size_t h)
{
    uint64_t bucket[SB_BUCKETS + 1] = {0}, sum_ns = 0, cum = 0;
    for (unsigned i = 0; i < n; i++) {
        for (size_t b = 0; b <= SB_BUCKETS; b++)
            bucket[b] += slots[i].hist[h].bucket[b];
        sum_ns += slots[i].hist[h].sum_ns;
    }
    buf_appendf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (size_t b = 0; b < SB_BUCKETS; b++) {
        cum += bucket[b];
        buf_appendf(o, "%s_bucket{le=\"%g\"} %llu\n", name, sb_bounds[b], (unsigned long long)cum);
    }
    cum += bucket[SB_BUCKETS];
    buf_appendf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    buf_appendf(o, "%s_sum %.9f\n%s_count %llu\n", name, (double)sum_ns / 1e9, name,
                (unsigned long long)cum);
}

void sb_render(struct buf *o, const char *const *route_names, const char *const *route_methods,
               size_t nroutes)
{
    static const char *const classes[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    if (!sb) {
        buf_puts(o, "# scoreboard not attached\n");
        return;
    }
    unsigned n = sb->nslots + 1;
    struct sb_slot *s = calloc(n, sizeof(*s));
    uint64_t restarts = 0;
    if (!s)
        return;
    snapshot(s, &restarts);

    buf_puts(o, "# HELP cartograph_http_requests_total Requests answered, by route and status class\n"
                "# TYPE cartograph_http_requests_total counter\n");
    for (size_t r = 0; r < nroutes && r < SB_ROUTES_MAX; r++) {
        for (size_t c = 0; c < 5; c++) {
            uint64_t v = 0;
            for (unsigned i = 0; i < n; i++)
                v += s[i].requests[r][c];
            if (v)
                buf_appendf(o,
                            "cartograph_http_requests_total{route=\"%s\",method=\"%s\","
                            "status=\"%s\"} %llu\n",
                            route_names[r], route_methods[r], classes[c], (unsigned long long)v);
        }
    }

    static const struct {
        const char *name, *labels, *help;
    } ctab[SBC__COUNT] = {
#define SB_CROW(id, name, labels, help) {name, labels, help},
        SB_COUNTERS(SB_CROW)
#undef SB_CROW
    };
    for (size_t c = 0; c < SBC__COUNT; c++) {
        uint64_t v = 0;
        for (unsigned i = 0; i < n; i++)
            v += s[i].counters[c];
        if (c == 0 || strcmp(ctab[c].name, ctab[c - 1].name) != 0)
            buf_appendf(o, "# HELP %s %s\n# TYPE %s counter\n", ctab[c].name, ctab[c].help,
                        ctab[c].name);
        if (ctab[c].labels[0])
            buf_appendf(o, "%s{%s} %llu\n", ctab[c].name, ctab[c].labels, (unsigned long long)v);
        else
            buf_appendf(o, "%s %llu\n", ctab[c].name, (unsigned long long)v);
    }

    static const struct {
        const char *name, *help;
    } gtab[SBG__COUNT] = {
#define SB_GROW(id, name, help) {name, help},
        SB_GAUGES(SB_GROW)
#undef SB_GROW
    };
    for (size_t g = 0; g < SBG__COUNT; g++) {
        int64_t v = 0;
        for (unsigned i = 0; i + 1 < n; i++)
            if (s[i].pid)
                v += s[i].gauges[g];
        buf_appendf(o, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", gtab[g].name, gtab[g].help,
                    gtab[g].name, gtab[g].name, (long long)v);
    }

    static const struct {
        const char *name, *help;
    } htab[SBH__COUNT] = {
#define SB_HROW(id, name, help) {name, help},
        SB_HISTOGRAMS(SB_HROW)
#undef SB_HROW
    };
    for (size_t h = 0; h < SBH__COUNT; h++)
        render_hist(o, htab[h].name, htab[h].help, s, n, h);

    render_rss(o, "cartograph_worker_resident_memory_bytes", "Resident set size of each worker",
               s, n, false);
    render_rss(o, "cartograph_worker_peak_resident_memory_bytes", "Peak RSS of each worker", s, n,
               true);
    buf_puts(o, "# HELP cartograph_workers Live request worker processes\n"
                "# TYPE cartograph_workers gauge\n");
    unsigned live = 0;
    for (unsigned i = 0; i + 1 < n; i++)
        live += s[i].pid != 0 && !s[i].housekeeper;
    buf_appendf(o, "cartograph_workers %u\n", live);
    buf_appendf(o,
                "# HELP cartograph_worker_restarts_total Workers replaced after dying\n"
                "# TYPE cartograph_worker_restarts_total counter\n"
                "cartograph_worker_restarts_total %llu\n",
                (unsigned long long)restarts);
    buf_appendf(o,
                "# HELP cartograph_start_time_seconds Start time of the master process\n"
                "# TYPE cartograph_start_time_seconds gauge\n"
                "cartograph_start_time_seconds %lld\n",
                (long long)(sb->started_ms / 1000));
    free(s);
}
