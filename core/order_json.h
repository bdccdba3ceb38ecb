/*
 * order_json.h: the order row encoder (search results now, exports later).
 *
 * One order becomes one JSON object with the projected fields, in the fixed
 * whitelist order, written straight into a struct buf:
 *
 *   {"order_id":"ORD-1","status":"paid","currency":"EUR","total":"39.98",
 *    "item_count":2,"created_at":"2025-03-01T12:34:56Z",
 *    "ingested_at":"2025-03-01T12:35:00Z",
 *    "customer":{"id":"C-9","name":"Zoë Brandt","email":"zoe@example.com"},
 *    "items":[{"product_id":"P-42","quantity":2,"unit_price":"19.99"}]}
 *
 * These are the names of the ingest line (DESIGN §6), so a search result can
 * be fed back to ingest. Money is a decimal string in the currency's major
 * units; time is RFC 3339 UTC. The encoder is the hot loop of a 100k-row
 * stream, so it avoids printf: integers and timestamps are formatted by hand
 * (the date part is cached per day, since consecutive rows mostly share it)
 * and strings go through buf_append_json_str.
 *
 * Framing (NDJSON newline, JSON array commas, the trailer) is the caller's;
 * the trailer and error writers for both formats are here so every streamer
 * ends a stream the same way.
 */
#ifndef CORE_ORDER_JSON_H
#define CORE_ORDER_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* One row's values. Strings borrow from the SQLite row; NULL ptr = JSON null. */
struct order_row {
    const char *order_id;
    size_t order_id_len;
    int status;           /* 0..5 */
    const char *currency; /* 3 bytes */
    int64_t total_minor;
    int64_t item_count;
    int64_t created_at;
    int64_t ingested_at;
    const char *customer_id, *customer_name, *customer_email;
    size_t customer_id_len, customer_name_len, customer_email_len;
};

/* Per-stream encoder state: caches that make the hot loop cheap. */
struct order_json {
    unsigned fields; /* FIELD_BIT mask (filter.h) */
    int64_t day;     /* cached day number of `date` */
    char date[12];   /* "YYYY-MM-DDT" */
    char cur[3];     /* cached currency and its exponent */
    int cur_exp;
    int item_exp; /* exponent for the items of the current row */
    int nitems;   /* items written in the open array */
};

void order_json_init(struct order_json *e, unsigned fields);

/*
 * Append the object for r, without the closing brace when items are
 * projected (FIELD_ITEMS): then call order_json_item() per item and
 * order_json_row_end(). Without items the object is complete.
 */
void order_json_row(struct order_json *e, struct buf *b, const struct order_row *r);
void order_json_item(struct order_json *e, struct buf *b, const char *product_id, size_t len,
                     int64_t quantity, int64_t unit_price_minor);
void order_json_row_end(struct order_json *e, struct buf *b);

/* Append "YYYY-MM-DDTHH:MM:SSZ" (with the per-day cache of e). */
void order_json_time(struct order_json *e, struct buf *b, int64_t t);

/* Trailers: NDJSON `{"next_cursor":...,"count":n}\n`; JSON document `],"next_cursor":...}`. */
void order_json_ndjson_trailer(struct buf *b, const char *next_cursor, uint64_t count);
void order_json_doc_begin(struct buf *b);
void order_json_doc_trailer(struct buf *b, const char *next_cursor, uint64_t count);
/* The end of a JSON document whose stream failed after the headers were sent. */
void order_json_doc_error(struct buf *b, uint64_t count, const struct error *err,
                          const char *request_id);

#endif
