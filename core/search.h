/*
 * search.h: streaming order search with keyset pages (docs/design.md §10).
 *
 * Life of one request:
 *   search_open()   checks the cursor, resolves client ids (customer,
 *                   products, the q term through FTS5) to internal ids for the
 *                   tenant, picks the driving index and lists the month
 *                   partitions inside the time range. Every client error is
 *                   found here, before the caller sends any byte.
 *   search_run()    streams rows into a sink in NDJSON or as one JSON
 *                   document, then the trailer with next_cursor and count.
 *   search_close()  releases everything; also after a failed run.
 *
 * Rows are read in keyset pages: each page is one execution of a prepared
 * statement (so one short read transaction, autocommit), bounded by
 * SEARCH_PAGE_ROWS rows and SEARCH_PAGE_BYTES of output, encoded into a page
 * buffer and written to the sink only after the statement is reset. A slow
 * client therefore never holds a read snapshot open (the WAL can checkpoint
 * between pages) and worker memory is one page whatever the limit. A sink
 * error (client gone) stops the walk after the page in hand.
 */
#ifndef CORE_SEARCH_H
#define CORE_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "cursor.h"
#include "db.h"
#include "error.h"
#include "filter.h"
#include "io.h"

struct search;

/*
 * Prepare a search of tenant_id's orders. f (and the bytes it points into)
 * must outlive the search. key signs and checks cursors; now_s is the clock
 * for cursor expiry. OUT *out, or NULL and err (400 invalid_cursor, or a
 * database error).
 */
int search_open(struct db *db, int64_t tenant_id, const struct search_filter *f,
                const uint8_t key[CURSOR_KEY_LEN], int64_t now_s, struct search **out,
                struct error *err);

/*
 * Stream the rows and the trailer into out as fmt (FORMAT_NDJSON or
 * FORMAT_JSON). Returns 0 when the stream is complete or the client went away
 * (search_client_gone), -1 with err when reading failed midway: the caller
 * then ends the stream with an error record (order_json_doc_error for JSON).
 */
int search_run(struct search *s, struct sink *out, enum filter_format fmt, struct error *err);

uint64_t search_count(const struct search *s);
bool search_client_gone(const struct search *s);
/* Pages read (statement executions) by search_run, for tests and metrics. */
uint64_t search_pages(const struct search *s);

void search_close(struct search *s);

/*
 * EXPLAIN QUERY PLAN of the statement search_run would execute first for f
 * (newest partition in range), one "partition: detail" line per plan row,
 * appended to out; plus a first line naming the drive. For scripts/explain
 * and the plan test.
 */
int search_explain(struct db *db, int64_t tenant_id, const struct search_filter *f, struct buf *out,
                   struct error *err);

#endif
