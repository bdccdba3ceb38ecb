/*
 * stock.h: stock bulk updates with conflict modes (issue 6 A).
 *
 * A request is parsed whole before anything is written (a JSON document
 * {"mode", "allow_negative", "events": [...]} or an NDJSON stream of events),
 * validated (every invalid event is listed; one invalid event fails the whole
 * request with 400 and nothing applied), and grouped by product. Then every
 * product's events are applied atomically, each product in its own SAVEPOINT
 * inside a BEGIN IMMEDIATE transaction, products packed into commit groups of
 * at most STOCK_GROUP_EVENTS events / STOCK_GROUP_MAX_MS. A product's work
 * never spans two transactions (at most STOCK_PRODUCT_EVENTS_MAX events of one
 * product per request), so a killed worker leaves every product either fully
 * applied (its group committed) or untouched.
 *
 * Modes, per request and overridable per event ("mode" member):
 *   merge            "delta" added to the quantity;
 *   last_write_wins  "quantity" replaces it, unless the event is older than
 *                    the product's last applied event_time: then it is not
 *                    applied and reported as stale;
 *   reject           optimistic concurrency: "expected_version" is required
 *                    and must equal the product's version, else the product's
 *                    whole batch is rejected with the current version.
 * An expected_version given in any mode is checked the same way. A product's
 * version grows by one per request that applied at least one of its events.
 * Events of a product apply in event_time order (request order for ties).
 * A quantity below zero rejects the product unless allow_negative.
 * An event_id already applied (this request or any earlier one) is skipped
 * and counted as a duplicate, never applied twice.
 *
 * Concurrency: single-group requests are serialised by BEGIN IMMEDIATE.
 * Requests needing several groups first take advisory lock rows (table
 * locks, lease STOCK_LOCK_LEASE_MS, in sorted product order so two of them
 * never deadlock) on all their products and release them at the end, and a
 * single-group request waits while any of its products is locked: so any set
 * of concurrent requests ends in the state of some serial order (two-phase
 * locking). See docs/design.md §11.
 */
#ifndef CORE_STOCK_H
#define CORE_STOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "io.h"

#define STOCK_QUANTITY_MAX 1000000000000LL /* |quantity| and |delta| (10^12 units) */

enum stock_mode { STOCK_MERGE = 0, STOCK_LWW = 1, STOCK_REJECT = 2 };

struct stock_request;

/* "merge" | "last_write_wins" | "reject" → mode; -1 when unknown. */
int stock_mode_parse(const char *s, size_t n, enum stock_mode *out);
const char *stock_mode_name(enum stock_mode m);

/* A request with a default mode; free with stock_request_free (NULL ok). */
struct stock_request *stock_request_new(enum stock_mode mode, bool allow_negative);
void stock_request_free(struct stock_request *r);
/* Mode / allow_negative given by the JSON document override the defaults. */
enum stock_mode stock_request_mode(const struct stock_request *r);

/*
 * Parse an NDJSON stream of events from src (one object per line, blank
 * lines ignored, lines at most STOCK_LINE_MAX_BYTES). Event errors are
 * collected (see stock_request_invalid); -1 only for transport errors, a
 * line too long, or more than STOCK_REQUEST_EVENTS_MAX events.
 */
int stock_request_parse_ndjson(struct stock_request *r, struct source *src, struct error *err);
/* Parse a JSON document {"mode"?, "allow_negative"?, "events": [...]}. Same contract. */
int stock_request_parse_json(struct stock_request *r, const char *body, size_t len,
                             struct error *err);
/* Number of invalid events found by parsing (0: the request may be applied). */
size_t stock_request_invalid(const struct stock_request *r);
size_t stock_request_events(const struct stock_request *r);
/* Append the invalid events as a JSON array (first STOCK_ERRORS_MAX). */
void stock_request_errors_json(const struct stock_request *r, struct buf *out);

/* Called between commit groups, outside any transaction (lease renewals). */
typedef int (*stock_tick_fn)(void *ctx, struct error *err);

/*
 * Apply a valid request for tenant_id. Per-product outcomes are kept in r.
 * Returns -1 on a database failure (err; products of committed groups stay
 * applied, later ones untouched) or when product locks could not be taken
 * within STOCK_LOCK_WAIT_MAX_MS (ERR_STOCK_LOCKED).
 */
int stock_apply(struct db *db, int64_t tenant_id, struct stock_request *r, stock_tick_fn tick,
                void *tick_ctx, struct error *err);

/* Append {"mode", "results": [...], "summary": {...}} after stock_apply. */
void stock_results_json(const struct stock_request *r, struct buf *out);

#endif
