/*
 * scoreboard.h: process-shared metrics (DESIGN §3, REFERENCES §7).
 *
 * The master maps one MAP_SHARED|MAP_ANONYMOUS region before it forks; every
 * worker owns one slot and updates it with relaxed atomic adds, never touching
 * the database or another slot. /metrics (served by any worker) sums all slots.
 * When a worker dies the master folds its counters and histograms into the
 * "retired" slot under a sequence lock and zeroes the slot for the replacement,
 * so totals never go backwards; gauges of a dead worker are dropped.
 *
 * Metrics are declared in the tables below (X-macros): adding one is one line.
 * Counters that share a Prometheus name must be adjacent (HELP/TYPE once).
 * Histograms use fixed buckets in seconds (SB_BUCKETS).
 *
 * Without sb_attach() (unit tests, CLI tools) every update is a no-op.
 */
#ifndef CORE_SCOREBOARD_H
#define CORE_SCOREBOARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define SB_ROUTES_MAX 64
#define SB_BUCKETS    15 /* + the implicit +Inf */

/*  id                         name                                    labels                   help */
#define SB_COUNTERS(X) \
    X(SBC_BYTES_IN,             "cartograph_http_request_bytes_total",  "",                      "Request body bytes read") \
    X(SBC_BYTES_OUT,            "cartograph_http_response_bytes_total", "",                      "Response bytes written") \
    X(SBC_DB_BUSY,              "cartograph_db_busy_total",             "",                      "Requests answered 503 because the database stayed locked") \
    X(SBC_INGEST_ROWS_INSERTED, "cartograph_ingest_rows_total",         "outcome=\"inserted\"",  "Order rows processed by ingest, by outcome") \
    X(SBC_INGEST_ROWS_DUP,      "cartograph_ingest_rows_total",         "outcome=\"duplicate\"", "Order rows processed by ingest, by outcome") \
    X(SBC_INGEST_ROWS_FAILED,   "cartograph_ingest_rows_total",         "outcome=\"failed\"",    "Order rows processed by ingest, by outcome") \
    X(SBC_INGEST_REJECTED,      "cartograph_ingest_overload_rejections_total", "",               "Ingest requests answered 429 because the queue was full") \
    X(SBC_SEARCH_ROWS,          "cartograph_search_rows_total",         "",                      "Order rows streamed by search") \
    X(SBC_SEARCH_CLIENT_GONE,   "cartograph_search_client_gone_total",  "",                      "Searches stopped because the client went away") \
    X(SBC_STOCK_APPLIED,        "cartograph_stock_events_total",        "outcome=\"applied\"",   "Stock events in bulk updates, by outcome") \
    X(SBC_STOCK_DUPLICATE,      "cartograph_stock_events_total",        "outcome=\"duplicate\"", "Stock events in bulk updates, by outcome") \
    X(SBC_STOCK_STALE,          "cartograph_stock_events_total",        "outcome=\"stale\"",     "Stock events in bulk updates, by outcome") \
    X(SBC_STOCK_REJECTED,       "cartograph_stock_events_total",        "outcome=\"rejected\"",  "Stock events in bulk updates, by outcome") \
    X(SBC_PRICE_ACCEPTED,       "cartograph_price_events_total",        "outcome=\"accepted\"",  "Price events, by outcome") \
    X(SBC_PRICE_ANOMALY,        "cartograph_price_events_total",        "outcome=\"anomaly\"",   "Price events, by outcome") \
    X(SBC_PRICE_DUPLICATE,      "cartograph_price_events_total",        "outcome=\"duplicate\"", "Price events, by outcome") \
    X(SBC_PRICE_RATE_LIMITED,   "cartograph_price_events_total",        "outcome=\"rate_limited\"", "Price events, by outcome") \
    /* end */

/*  id                         name                                        help */
#define SB_GAUGES(X) \
    X(SBG_INFLIGHT,             "cartograph_requests_in_flight",            "Requests being served") \
    X(SBG_INGEST_QUEUE,         "cartograph_ingest_queue_length",           "Ingest requests running or waiting for the database") \
    X(SBG_INGEST_ROWS_RATE,     "cartograph_ingest_rows_per_second",        "Order rows/s of the running ingests (EWMA over batches)") \
    X(SBG_INGEST_BYTES_RATE,    "cartograph_ingest_body_bytes_per_second",  "Body bytes/s read by the running ingests") \
    X(SBG_INGEST_BACKLOG_BYTES, "cartograph_ingest_backlog_bytes",          "Body bytes the running ingests have yet to read (known lengths)") \
    X(SBG_SSE_FOLLOWERS,        "cartograph_sse_followers",                 "Anomaly followers (SSE) holding a worker") \
    /* end */

/*  id                         name                                              help */
#define SB_HISTOGRAMS(X) \
    X(SBH_REQUEST,              "cartograph_http_request_duration_seconds",       "Request duration, first byte in to last byte out") \
    X(SBH_DB_STMT,              "cartograph_db_statement_duration_seconds",       "Time a prepared statement was in use, bind to reset") \
    X(SBH_DB_LOCK_WAIT,         "cartograph_db_write_lock_wait_seconds",          "Time BEGIN IMMEDIATE waited for the write lock") \
    X(SBH_DB_COMMIT,            "cartograph_db_commit_duration_seconds",          "COMMIT duration") \
    X(SBH_CHECKPOINT,           "cartograph_db_checkpoint_duration_seconds",      "WAL checkpoint duration (housekeeper)") \
    X(SBH_CHECKPOINT_GATE,      "cartograph_db_checkpoint_gate_seconds",          "Writers held by a WAL restart checkpoint") \
    X(SBH_INGEST_BATCH,         "cartograph_ingest_batch_commit_duration_seconds", "Ingest batch duration, write lock taken to COMMIT") \
    X(SBH_STOCK_GROUP,          "cartograph_stock_group_duration_seconds",        "Stock bulk-update commit group apply time, write lock taken to COMMIT issued") \
    /* end */

enum sb_counter {
#define SB_ENUM(id, ...) id,
    SB_COUNTERS(SB_ENUM) SBC__COUNT
};
enum sb_gauge { SB_GAUGES(SB_ENUM) SBG__COUNT };
enum sb_histogram { SB_HISTOGRAMS(SB_ENUM) SBH__COUNT };
#undef SB_ENUM

/* Map the region for nslots workers; master only, before forking. -1 on failure. */
int sb_create(unsigned nslots);
/* Worker: take slot i (0-based) for this process. */
void sb_attach(unsigned slot, pid_t pid);
/* The process in this slot is the housekeeper, not a request worker. */
void sb_mark_housekeeper(void);
/* Master: a worker died; fold its slot into the retired totals and free it. */
void sb_retire(unsigned slot);
/* Master: count one worker replacement. */
void sb_count_restart(void);

void sb_count(enum sb_counter c, uint64_t n);
void sb_gauge_add(enum sb_gauge g, int64_t delta);
void sb_gauge_set(enum sb_gauge g, int64_t v);
/* Sum of a gauge over live workers (e.g. the ingest queue length). */
int64_t sb_gauge_total(enum sb_gauge g);
void sb_observe(enum sb_histogram h, int64_t ns);
/* Count one request of route r (index in the route table) with its status. */
void sb_request(unsigned route, int status, int64_t duration_ns);
/*
 * Refresh this worker's RSS gauges (reads /proc at most once a second unless
 * force) and return the latest RSS in bytes.
 */
uint64_t sb_update_rss(int force);
/* This process's resident set size in bytes (from /proc/self/statm). */
uint64_t sb_rss_bytes(void);

/*
 * Append the Prometheus text exposition (version 0.0.4) of all slots.
 * route_names[i] labels route i; method_names[i] its method.
 */
void sb_render(struct buf *out, const char *const *route_names, const char *const *route_methods,
               size_t nroutes);

#endif
