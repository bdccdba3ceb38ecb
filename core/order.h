/*
 * order.h: one NDJSON order line → struct order, or a row error.
 *
 * The wire shape is DESIGN §6: {"order_id", "customer": {"id", "name",
 * "email"}, "status", "currency", "created_at", "items": [{"product_id",
 * "quantity", "unit_price"}], "total"}. Validation rules (docs/design.md §9):
 *   - every field above is required; unknown members are ignored;
 *   - ids: strings of 1..ORDER_ID_MAX_BYTES bytes without control characters;
 *     name 1..NAME_MAX_BYTES; email 3..EMAIL_MAX_BYTES with one '@' inside;
 *   - status one of pending, paid, shipped, delivered, cancelled, refunded;
 *   - currency an ISO 4217 code we know (money.h), upper case;
 *   - created_at RFC 3339 (timefmt.h) within [2000-01-01, 2100-01-01);
 *   - items: 1..ORDER_ITEMS_MAX objects; quantity an integer in
 *     1..ORDER_QUANTITY_MAX; unit_price a decimal string or number >= 0 with
 *     at most the currency's minor digits;
 *   - total >= 0, same syntax, and exactly sum(quantity * unit_price) in minor
 *     units (no tolerance: both sides are exact integers, so any difference is
 *     a client bug, not rounding).
 * The first failure decides the row's error (code, JSON pointer, detail).
 */
#ifndef CORE_ORDER_H
#define CORE_ORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "error.h"
#include "store.h"

/*
 * Parse and validate one line (n bytes, not NUL-terminated). Strings of the
 * result are copied into a (the caller resets it per batch). Returns 0 and
 * fills *o, or -1 with err (code, pointer, detail); in both cases
 * o->order_id is the order id when it could be read (else empty), so row
 * errors can name the order.
 */
int order_parse(const char *line, size_t n, struct arena *a, struct order *o, struct error *err);

/*
 * Parse lines with jansson on a per-line bump arena (default true) or on
 * plain malloc; for benchmarks/bench_ingest_store.c, which measures both.
 */
void order_parse_line_arena(bool on);

/* Earliest and latest accepted created_at (epoch seconds). */
#define ORDER_TIME_MIN 946684800LL  /* 2000-01-01T00:00:00Z */
#define ORDER_TIME_MAX 4102444800LL /* 2100-01-01T00:00:00Z */

#endif
