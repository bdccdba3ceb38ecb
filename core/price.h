/*
 * price.h: price events (webhook), anomaly review and the anomaly stream
 * (issue 6 B).
 *
 * One event is one BEGIN IMMEDIATE transaction of about eight statements:
 *   1. product by client id (404 product_not_found; 422 currency_mismatch);
 *   2. event_id lookup: a retried event is answered from the stored row
 *      (same status and body, never stored twice; 409 event_id_conflict if
 *      the id comes back with another product, price, currency or time).
 *      Retries are answered before the rate limit, so a webhook sender's
 *      retry storm costs reads, not quota;
 *   3. GCRA per tenant and per (tenant, product) (core/ratelimit.c),
 *      all-or-nothing; limited → PRICE_LIMITED, nothing written;
 *   4. the product's last `window` accepted prices and its current price →
 *      core/anomaly.c;
 *   5. insert into price_events (seq = the change-stream sequence), with
 *      review_status accepted, or pending when a rule fired;
 *   6. accepted and not older than the current price: it becomes the
 *      product's price, and every accepted price goes to price_history
 *      (month partitions).
 * A pending anomaly leaves the product's current price untouched until it
 * is approved (then it becomes current if it is still the newest
 * observation) or rejected (never used, not in the history window).
 *
 * The stored response is re-rendered from the row's immutable columns
 * (review_status as it was at creation), so a replay is byte-identical.
 *
 * Idempotency-Key is handled here, not by the router: the key's row in
 * idempotency_keys is read first and written with the answer in the same
 * transaction as the event (REFERENCES §1: purely local work maps to one
 * ACID transaction). The wire semantics are the router's (replay with
 * Idempotent-Replayed, 422 idempotency_key_reused for another body, only
 * successes stored, 24 h retention by idem_purge); there is no 409 window,
 * since duplicates serialise on the write lock. It saves two of the three
 * write transactions a routed key costs per event.
 */
#ifndef CORE_PRICE_H
#define CORE_PRICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "ratelimit.h"
#include "settings.h"

enum price_review_status {
    PRICE_ACCEPTED = 0,
    PRICE_PENDING = 1,
    PRICE_APPROVED = 2,
    PRICE_REJECTED = 3,
};

/* "accepted" ... ; -1 when unknown. */
int price_review_status_parse(const char *s, size_t n);
const char *price_review_status_name(int status);

struct price_event_in {
    const char *event_id;
    size_t event_id_len;
    int64_t price_minor;
    char currency[4];
    int64_t observed_at; /* seconds */
    const char *source;  /* NULL if absent */
    size_t source_len;
    const char *metadata; /* compact JSON object or NULL */
    size_t metadata_len;
    /*
     * Idempotency-Key (unquoted) or NULL, and the request fingerprint
     * (SHA-256 of method, path, query and body, as the router computes it).
     * The key is claimed, used and stored inside the event's own transaction.
     */
    const char *idem_key;
    uint8_t fingerprint[32];
};

enum price_result {
    PRICE_STORED,     /* new event */
    PRICE_REPLAYED,   /* event_id seen before: its stored answer */
    PRICE_KEY_REPLAY, /* Idempotency-Key seen with the same request: its stored answer */
    PRICE_LIMITED,    /* rate limited, nothing written */
};

struct price_outcome {
    enum price_result result;
    int status;     /* HTTP status of the stored answer (201) */
    struct buf body; /* STORED / REPLAYED: the answer */
    bool anomaly;
    struct rl_check checks[2]; /* [0] tenant, [1] product */
    int limited_index;         /* LIMITED: which check refused */
};

void price_outcome_init(struct price_outcome *o);
void price_outcome_fini(struct price_outcome *o);

int price_event_submit(struct db *db, int64_t tenant_id, const char *product, size_t product_len,
                       const struct price_event_in *in, const struct tenant_settings *s,
                       int64_t now_ms, struct price_outcome *out, struct error *err);

/*
 * Settle the pending anomaly event_id of the product: approve (it may become
 * the current price) or reject. Repeating the same decision is a no-op;
 * the other decision answers 409 already_reviewed. OUT out: the anomaly record.
 */
int price_review(struct db *db, int64_t tenant_id, const char *product, size_t product_len,
                 const char *event_id, size_t event_id_len, bool approve, const char *note,
                 size_t note_len, struct buf *out, struct error *err);

/* ======================== anomaly stream ======================== */

struct anomaly_filter {
    int64_t product_id; /* internal id; 0 = every product of the tenant */
    int64_t since;      /* observed_at >= since (seconds) */
    int64_t until;      /* observed_at < until */
    int review_status;  /* -1 = any */
    int64_t after_seq;  /* keyset: seq > after_seq (ascending) or seq < after_seq (desc) */
    bool desc;          /* newest first; after_seq starts at INT64_MAX */
};

/* Called per anomaly with its sequence and its JSON record (no newline). 0 continue, -1 stop. */
typedef int (*anomaly_row_fn)(void *ctx, int64_t seq, const char *json, size_t len);

/*
 * Up to limit anomalies matching f in sequence order. OUT *count rows seen,
 * *last_seq the last one's sequence (unchanged when none).
 */
int price_anomalies_each(struct db *db, int64_t tenant_id, const struct anomaly_filter *f,
                         size_t limit, anomaly_row_fn fn, void *ctx, size_t *count,
                         int64_t *last_seq, struct error *err);
/* The highest anomaly sequence of the tenant (or product), 0 if none. */
int price_anomaly_max_seq(struct db *db, int64_t tenant_id, int64_t product_id, int64_t *seq,
                          struct error *err);

/*
 * Keyset cursors: base64url(seq as 8 bytes big-endian || first 16 bytes of
 * HMAC-SHA256(key, tenant, filter, seq)), so a cursor only continues the
 * listing it came from.
 */
void price_cursor_make(const uint8_t *key, size_t keylen, int64_t tenant_id,
                       const struct anomaly_filter *f, int64_t seq, char out[48]);
int price_cursor_parse(const uint8_t *key, size_t keylen, int64_t tenant_id,
                       const struct anomaly_filter *f, const char *s, size_t n, int64_t *seq,
                       struct error *err);

#endif
