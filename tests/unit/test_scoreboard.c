/*
 * test_scoreboard.c: the shared-memory metrics: updates from forked workers
 * are visible to the scrape, a retired worker's counts are kept, and the
 * exposition passes promtool.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scoreboard.h"

static const char *const names[] = {"health", "search", "unmatched"};
static const char *const methods[] = {"GET", "GET", "any"};

static long long metric(const char *text, const char *prefix)
{
    /* Sample lines start a line; HELP/TYPE lines mention the name too. */
    char needle[256];
    snprintf(needle, sizeof(needle), "\n%s", prefix);
    const char *p = strstr(text, needle);
    cr_assert_not_null(p, "no %s in exposition", prefix);
    return atoll(p + strlen(needle));
}

Test(scoreboard, counts_survive_worker_death_and_render_cleanly)
{
    cr_assert_eq(sb_create(2), 0);
    for (unsigned slot = 0; slot < 2; slot++) {
        pid_t pid = fork();
        if (pid == 0) {
            sb_attach(slot, getpid());
            for (int i = 0; i < 1000; i++)
                sb_request(0, 200, 1500000);
            sb_request(1, 404, 100);
            sb_count(SBC_INGEST_ROWS_INSERTED, 7);
            sb_gauge_add(SBG_INGEST_QUEUE, 3);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        cr_assert(WIFEXITED(status));
    }
    /* Slot 1's worker is gone: fold it; slot 0 is treated as alive. */
    sb_retire(1);
    sb_count_restart();
    struct buf out = BUF_INIT;
    sb_render(&out, names, methods, 3);
    cr_assert_eq(metric(out.data, "cartograph_http_requests_total{route=\"health\",method=\"GET\","
                                  "status=\"2xx\"} "),
                 2000);
    cr_assert_eq(metric(out.data, "cartograph_http_requests_total{route=\"search\",method=\"GET\","
                                  "status=\"4xx\"} "),
                 2);
    cr_assert_eq(metric(out.data, "cartograph_ingest_rows_total{outcome=\"inserted\"} "), 14);
    cr_assert_eq(metric(out.data, "cartograph_http_request_duration_seconds_count "), 2002);
    cr_assert_eq(metric(out.data, "cartograph_http_request_duration_seconds_bucket{le=\"0.0025\"} "),
                 2002);
    cr_assert_eq(metric(out.data, "cartograph_http_request_duration_seconds_bucket{le=\"0.001\"} "),
                 2);
    cr_assert_eq(metric(out.data, "cartograph_worker_restarts_total "), 1);
    /* The retired worker's gauge is dropped; the live slot's stays. */
    cr_assert_eq(metric(out.data, "cartograph_ingest_queue_length "), 3);

    FILE *p = popen("promtool check metrics >/dev/null 2>&1", "w");
    cr_assert_not_null(p);
    fwrite(out.data, 1, out.len, p);
    int rc = pclose(p);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "promtool rejected the exposition:\n%s",
              out.data);
    buf_fini(&out);
}

Test(scoreboard, updates_without_a_scoreboard_are_no_ops)
{
    sb_count(SBC_BYTES_IN, 1);
    sb_observe(SBH_DB_STMT, 5);
    sb_request(0, 200, 1);
    cr_assert_eq(sb_gauge_total(SBG_INFLIGHT), 0);
}
