/*
 * h_debug.c: operator probes for the streaming and process guarantees.
 *
 *   GET  /api/v1/_debug/stream?bytes=N      N bytes of NDJSON filler, streamed
 *   POST /api/v1/_debug/upload?sleep_ms=M   reads the body as it arrives and
 *        reports when the first byte came; writes VAR/tmp/upload-first-byte
 *        the moment it does, so a test can see it while the client still sends
 *   POST /api/v1/_debug/write-hold?ms=M     opens a write transaction (the write
 *        gate and SQLite's lock), writes VAR/tmp/write-hold with its pid, holds
 *        it M ms and rolls back: a test kills the worker in the middle
 *
 * They exist to prove, against the real front server, that responses and
 * Content-Length uploads stream (DESIGN §3) and that SIGTERM drains. They are
 * admin-only and answer 404 unless CARTOGRAPH_DEBUG_ROUTES=1 at start-up.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/db.h"
#include "../core/timefmt.h"
#include "app.h"
#include "handlers.h"

#define DEBUG_STREAM_MAX_BYTES (4ULL << 30)

static int debug_enabled(struct error *err)
{
    if (!app.debug_routes)
        return error_set(err, ERR_NOT_FOUND, "no such endpoint");
    return 0;
}

int h_debug_stream(struct req *req, struct resp *resp, struct error *err)
{
    if (debug_enabled(err))
        return -1;
    const struct query_param *p = req_param(req, "bytes");
    long long total = 1 << 20;
    if (p && (str_to_i64(p->value, &total) || total < 0 ||
              (unsigned long long)total > DEBUG_STREAM_MAX_BYTES))
        return error_set_at(err, ERR_INVALID_PARAM, "bytes", "bytes must be 0..%llu",
                            DEBUG_STREAM_MAX_BYTES);
    char line[1024];
    memset(line, 'x', sizeof(line));
    line[sizeof(line) - 1] = '\n';
    resp_status(resp, 200);
    resp_header(resp, "Content-Type", "application/x-ndjson");
    if (resp_stream_begin(resp))
        return 0;
    struct sink *s = resp_sink(resp);
    for (long long left = total; left > 0 && !s->err;) {
        size_t n = left < (long long)sizeof(line) ? (size_t)left : sizeof(line);
        sink_write(s, line, n);
        left -= (long long)n;
    }
    return 0;
}

/* A duration parameter in milliseconds, 0..60000; *ms keeps its default when absent. */
static int ms_param(struct req *req, const char *name, long long *ms, struct error *err)
{
    const struct query_param *p = req_param(req, name);
    if (p && (str_to_i64(p->value, ms) || *ms < 0 || *ms > 60000))
        return error_set_at(err, ERR_INVALID_PARAM, name, "%s must be 0..60000", name);
    return 0;
}

static void sleep_ms(long long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* VAR/tmp/<name> holding text: the moment a test waits for. */
static void marker_write(const char *name, const char *text)
{
    char path[1100];
    snprintf(path, sizeof(path), "%.1000s/tmp/%s", app.var_dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    (void)!write(fd, text, strlen(text));
    close(fd);
}

int h_debug_upload(struct req *req, struct resp *resp, struct error *err)
{
    if (debug_enabled(err))
        return -1;
    long long sleep = 0;
    if (ms_param(req, "sleep_ms", &sleep, err))
        return -1;
    char marker[700], buf[65536];
    snprintf(marker, sizeof(marker), "%s/tmp/upload-first-byte", app.var_dir);
    unlink(marker);
    int64_t t0 = time_mono_ns(), first = -1;
    uint64_t total = 0;
    for (;;) {
        ssize_t r = req_read(req, buf, sizeof(buf), err);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        if (first < 0) {
            first = time_mono_ns();
            marker_write("upload-first-byte", "");
        }
        total += (uint64_t)r;
    }
    sleep_ms(sleep);
    int64_t t1 = time_mono_ns();
    resp_json(resp, 200);
    buf_appendf(&resp->body,
                "{\"bytes\":%llu,\"content_length\":%lld,\"first_byte_ms\":%.3f,"
                "\"total_ms\":%.3f,\"worker_pid\":%d}",
                (unsigned long long)total, (long long)req->content_length,
                first < 0 ? -1.0 : (double)(first - t0) / 1e6, (double)(t1 - t0) / 1e6,
                (int)getpid());
    return 0;
}

int h_debug_write_hold(struct req *req, struct resp *resp, struct error *err)
{
    if (debug_enabled(err))
        return -1;
    long long ms = 1000;
    if (ms_param(req, "ms", &ms, err) || db_begin(req->db, err))
        return -1;
    char pid[32];
    snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    marker_write("write-hold", pid);
    sleep_ms(ms);
    db_rollback(req->db);
    resp_json(resp, 200);
    buf_appendf(&resp->body, "{\"held_ms\":%lld}", ms);
    return 0;
}
