/*
 * ingest.h: bulk order ingest runs (DESIGN §3 "Ingest", docs/design.md §9).
 *
 * A run is one POST /api/v1/ingest/orders/ body or one tus upload. It is a
 * row in ingest_runs (public token, counters, checkpoint) created before the
 * first byte is parsed. Bytes go in as a source; ingest_body() decodes the
 * container (gzip, zip, multipart; sniffed by magic when the media type does
 * not say), splits lines, validates each line (order.c) outside any
 * transaction into a pending list, and writes the list in batches
 * (store_orders.c) of at most INGEST_BATCH_MAX_ROWS rows and
 * INGEST_BATCH_MAX_MS of lock hold. Each batch transaction also stores its
 * row errors (ingest_errors) and the run's new counters and checkpoint, so
 * what the run row says is exactly what was committed, crash or not.
 *
 * Between batches the write lock is free and hooks.between runs (the handler
 * renews its Idempotency-Key lease there). Memory: one pending batch (its
 * parsed rows in an arena, ~2 MB at 2000 rows) plus the decoders' windows;
 * nothing grows with the body.
 */
#ifndef CORE_INGEST_H
#define CORE_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "io.h"

#define INGEST_TOKEN_LEN 25 /* "in_" + 22 base64url characters (16 random bytes) */

enum ingest_kind { INGEST_REQUEST = 0, INGEST_UPLOAD = 1 };
enum ingest_state { INGEST_RUNNING = 0, INGEST_COMPLETE = 1, INGEST_FAILED = 2,
                    INGEST_TERMINATED = 3 };

struct ingest_hooks {
    /*
     * Called after each committed batch, outside any transaction, on the
     * thread that stores the batches (it owns the connection meanwhile, see
     * ingest_lines); may use the run's connection; -1 stops the run.
     */
    int (*between)(void *ctx, struct error *err);
    /*
     * Called on the caller's thread each time a batch of parsed lines is
     * handed to the store thread; must not touch the database. May be NULL.
     */
    void (*progress)(void *ctx);
    void *ctx;
};

struct ingest_totals {
    uint64_t received, inserted, duplicate, failed;
};

struct ingest;

/* Create a run for tenant_id (own short transaction). idem_key may be NULL. */
int ingest_create(struct db *db, int64_t tenant_id, enum ingest_kind kind, const char *idem_key,
                  struct ingest **out, struct error *err);
/*
 * Open an existing run of tenant_id by token (a tus upload between PATCHes).
 * ERR_NOT_FOUND when the tenant has no such run.
 */
int ingest_open(struct db *db, int64_t tenant_id, const char *token, size_t token_len,
                struct ingest **out, struct error *err);
void ingest_free(struct ingest *ing);
void ingest_set_hooks(struct ingest *ing, const struct ingest_hooks *h);

const char *ingest_token(const struct ingest *ing);
int64_t ingest_id(const struct ingest *ing);
struct ingest_totals ingest_totals(const struct ingest *ing);

/*
 * Decode and ingest a whole body. content_type / content_encoding are the
 * request's headers (NULL when absent). Returns 0 when the body was read to
 * its end (row errors are counted, not failures), or -1 with err when the
 * body itself is unusable (unsupported media type 415, corrupt or truncated
 * compression 400, too large 413, database failure 5xx); rows committed
 * before a failure stay committed and counted.
 */
int ingest_body(struct ingest *ing, struct source *body, const char *content_type,
                const char *content_encoding, struct error *err);

/*
 * Ingest NDJSON lines from src, numbering from base_line and tracking byte
 * offsets from base_offset; with final, a last line without '\n' counts,
 * otherwise it is left for the next call. The committed checkpoint (offset
 * after the last committed line, and its line number) is stored with every
 * batch and readable with ingest_checkpoint(). For resumable uploads.
 *
 * Lines are parsed on the calling thread and stored by a second thread that
 * uses the run's connection until this returns (ingest.c, "the pipeline"):
 * the caller must not use that connection from another thread meanwhile.
 * ingest_body() runs through here too.
 */
int ingest_lines(struct ingest *ing, struct source *src, uint64_t base_offset,
                 uint64_t base_line, bool final, struct error *err);
void ingest_checkpoint(const struct ingest *ing, uint64_t *offset, uint64_t *line);

/* Mark the run complete (or failed) and store its summary; own transaction. */
int ingest_finish(struct ingest *ing, enum ingest_state state, struct error *err);

/*
 * Append the summary JSON object: ingest_id, state, rows_*, processing_time_ms,
 * idempotency_key, the first INGEST_ERRORS_INLINE_MAX errors, error_counts,
 * errors_url when any row failed, and `extra` members (raw JSON, may be NULL).
 */
int ingest_summary_json(struct ingest *ing, struct buf *out, const char *extra,
                        struct error *err);

/*
 * Stream every stored error of the tenant's run `token` as NDJSON to sink,
 * in input order. ERR_NOT_FOUND when there is no such run.
 */
int ingest_errors_ndjson(struct db *db, int64_t tenant_id, const char *token, size_t token_len,
                         struct sink *out, struct error *err);

/* Delete runs (and their errors) past expires_at, a few thousand rows per transaction. */
int ingest_purge(struct db *db, int64_t now_ms, struct error *err);

#endif
