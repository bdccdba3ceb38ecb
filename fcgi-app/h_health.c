/*
 * h_health.c: GET /api/v1/health — liveness and readiness in one answer.
 *
 * It runs one real query (the schema version) so "ok" means this worker's
 * database connection works, not merely that the process is up. A database
 * failure answers 503 with the same shape and "status":"unavailable".
 */
#include <unistd.h>

#include "../core/timefmt.h"
#include "app.h"
#include "handlers.h"

int h_health(struct req *req, struct resp *resp, struct error *err)
{
    (void)err;
    int version = db_schema_version(req->db);
    int64_t now = time_now_ms();
    bool ok = version >= 0 && version == db_schema_latest();
    resp_json(resp, ok ? 200 : 503);
    resp_header(resp, "Cache-Control", "no-store");
    buf_appendf(&resp->body,
                "{\"status\":\"%s\",\"database\":\"%s\",\"schema_version\":%d,"
                "\"schema_latest\":%d,\"worker_pid\":%d,\"worker_slot\":%u,"
                "\"uptime_s\":%lld,\"worker_uptime_s\":%lld,\"version\":\"%s\","
                "\"sqlite\":\"%s\"}",
                ok ? "ok" : "unavailable", version >= 0 ? "ok" : "error", version,
                db_schema_latest(), (int)getpid(), app.slot,
                (long long)((now - app.started_ms) / 1000),
                (long long)((now - app.worker_started_ms) / 1000),
                APP_VERSION, db_engine_version());
    return 0;
}
