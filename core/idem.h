/*
 * idem.h: Idempotency-Key reservations shared by all workers (DESIGN §6,
 * REFERENCES §1).
 *
 * A key is scoped by (tenant, route, key). idem_claim() runs one BEGIN
 * IMMEDIATE transaction and returns one of:
 *   IDEM_CLAIMED  the caller owns the key (new, expired, or taken over from a
 *                 worker whose lease ran out) and must execute the request,
 *                 then idem_complete() or idem_release();
 *   IDEM_BUSY     another worker holds a live lease: answer 409 + Retry-After;
 *   IDEM_DONE     a finished response is stored: compare fingerprints, then
 *                 replay it (Idempotent-Replayed: true) or answer 422.
 * Long requests renew their lease (idem_renew) so a live owner is never taken
 * over, and a dead one blocks others for at most the lease.
 *
 * Only successful responses (< 400) are stored; a 4xx/5xx releases the key,
 * so a corrected retry with the same key runs (as Stripe: a request that
 * failed validation or conflicted saves nothing). Rows live IDEM_RETENTION_MS.
 */
#ifndef CORE_IDEM_H
#define CORE_IDEM_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "error.h"

#define IDEM_RETENTION_MS (24LL * 3600 * 1000)
#define IDEM_PURGE_BATCH  2000 /* expired keys deleted per write transaction */
#define IDEM_LEASE_MS     15000 /* renewed by long requests at least this often */
#define IDEM_ROUTE_MAX    64

enum idem_state { IDEM_CLAIMED, IDEM_BUSY, IDEM_DONE };

struct idem_claim {
    int64_t tenant_id;
    char route[IDEM_ROUTE_MAX];
    char key[256];
    enum idem_state state;
    bool taken_over;     /* CLAIMED from a dead owner */
    int retry_after_s;   /* BUSY */
    /* DONE: the stored response. */
    bool has_fingerprint;
    uint8_t fingerprint[SHA256_LEN];
    int status;
    char content_type[128];
    struct buf body;
};

/* A process-unique owner tag "pid:start_ms"; set once per worker. */
void idem_set_owner(const char *owner);
/*
 * Validate a header value: an RFC 8941 sf-string ("...") or a bare token of
 * 1-255 printable ASCII characters. OUT: the unquoted key, NUL-terminated.
 */
int idem_key_parse(const char *header, char out[256], struct error *err);

void idem_claim_init(struct idem_claim *c);
void idem_claim_fini(struct idem_claim *c);
int idem_claim(struct db *db, int64_t tenant_id, const char *route, const char *key,
               struct idem_claim *c, struct error *err);
int idem_renew(struct db *db, struct idem_claim *c, struct error *err);
/* Store the final response; the caller must not be inside a transaction. */
int idem_complete(struct db *db, struct idem_claim *c, const uint8_t fp[SHA256_LEN], int status,
                  const char *content_type, const char *body, size_t len, struct error *err);
/* Drop our reservation (failed request). Never fails the caller. */
void idem_release(struct db *db, struct idem_claim *c);
/* Delete rows older than the retention; returns rows removed or -1. */
int idem_purge(struct db *db, int64_t now_ms, struct error *err);

#endif
