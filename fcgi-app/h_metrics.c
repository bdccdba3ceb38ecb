/*
 * h_metrics.c: GET /metrics — Prometheus text exposition of the scoreboard.
 *
 * Unauthenticated by design, like most exporters: it reveals counts and
 * timings, no tenant data, and the front server binds to loopback. Put it
 * behind the front server's access rules if it must be exposed further.
 */
#include "../core/scoreboard.h"
#include "../core/writegate.h"
#include "handlers.h"

int h_metrics(struct req *req, struct resp *resp, struct error *err)
{
    (void)req;
    (void)err;
    sb_update_rss(1);
    resp_status(resp, 200);
    resp_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    resp_header(resp, "Cache-Control", "no-store");
    sb_render(&resp->body, ROUTE_NAMES, ROUTE_METHODS, ROUTES_COUNT + 1);
    buf_appendf(&resp->body,
                "# HELP cartograph_write_gate_owner_deaths_total Processes that died holding the "
                "write gate (taken over)\n"
                "# TYPE cartograph_write_gate_owner_deaths_total counter\n"
                "cartograph_write_gate_owner_deaths_total %llu\n",
                (unsigned long long)wg_owner_deaths());
    return 0;
}
