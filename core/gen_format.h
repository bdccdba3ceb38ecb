/*
 * gen_format.h: the byte formats gen_dataset writes.
 *
 * Orders as NDJSON lines in exactly the request format of the bulk ingest API
 * (DESIGN §6 "Wire shapes"): compact JSON, items nested, money as decimal
 * strings with the currency's exponent, times RFC 3339 UTC, one line per
 * order ending in "\n". Every other table as CSV (RFC 4180: a header line,
 * comma separated, fields quoted only when they hold a comma, quote or line
 * break; money as decimal strings, times RFC 3339) so files load into any
 * tool and round-trip through the same parsers as the API.
 *
 * Speed: every writer appends to a struct buf with memcpy and hand-rolled
 * integer formatting, no printf per field and no JSON library: ~100-150 ns
 * per order line on this machine. Generated names need no JSON escaping
 * (they hold no quotes, backslashes or control characters), but customer
 * names still go through the escaping writer: it costs little and keeps the
 * output valid whatever the tables hold.
 *
 * Bad lines (gen_fmt_bad_line) are the valid line of an order mutated into
 * one malformed kind each (gen_model.h enum gen_bad_kind), with an order id of
 * their own ("ORD-B0000001") so that they never collide with a valid order.
 */
#ifndef CORE_GEN_FORMAT_H
#define CORE_GEN_FORMAT_H

#include "buf.h"
#include "gen_model.h"

/* One NDJSON order line. */
void gen_fmt_order_line(struct buf *b, const struct gen_order *o, const struct gen_customer *c);
/*
 * One malformed line derived from order o (its kind and variant in bad).
 * products is the tenant's product count (an unknown product id lies beyond it).
 */
void gen_fmt_bad_line(struct buf *b, const struct gen_order *o, const struct gen_customer *c,
                      const struct gen_bad *bad, int64_t products);

/* CSV headers and rows, one function pair per table. */
void gen_csv_tenants_header(struct buf *b);
void gen_csv_tenant(struct buf *b, const struct gen_tenant *t);
void gen_csv_categories_header(struct buf *b);
void gen_csv_category(struct buf *b, const struct gen_category *c);
void gen_csv_products_header(struct buf *b);
/* price_minor/price_at: the current price (last history sample). */
void gen_csv_product(struct buf *b, const struct gen_product *p, const struct gen_tenant *t,
                     int64_t price_minor, int64_t price_at);
void gen_csv_customers_header(struct buf *b);
void gen_csv_customer(struct buf *b, const struct gen_customer *c);
void gen_csv_orders_header(struct buf *b);
void gen_csv_order(struct buf *b, const struct gen_order *o, const struct gen_customer *c);
void gen_csv_order_items_header(struct buf *b);
void gen_csv_order_items(struct buf *b, const struct gen_order *o);
void gen_csv_prices_header(struct buf *b);
void gen_csv_price(struct buf *b, const struct gen_product *p, const struct gen_tenant *t,
                   const struct gen_price *s);
void gen_csv_stock_events_header(struct buf *b);
void gen_csv_stock_event(struct buf *b, const struct gen_product *p,
                         const struct gen_stock_event *e);
void gen_csv_stock_levels_header(struct buf *b);
void gen_csv_stock_level(struct buf *b, const struct gen_product *p, int64_t quantity,
                         int64_t version, int64_t last_event_time);

/* "SE-000000001": the per-tenant stock event id, into out[GEN_ID_MAX]. */
void gen_stock_event_id(int64_t seq, char out[GEN_ID_MAX]);
/* {"reason":"sale"}: the metadata JSON of a stock event, into out (>= 48 bytes). */
void gen_stock_event_metadata(const struct gen_stock_event *e, char *out, size_t cap);

#endif
