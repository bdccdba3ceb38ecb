/*
 * tenant.h: tenants, their API keys, and authentication.
 *
 * A key is "cg_" + 43 base64url characters (32 random bytes). Only its SHA-256
 * is stored; the key itself is returned once, by the call that creates it.
 * Lookup goes through the unique index on the hash, then the stored hash is
 * compared in constant time. A tenant is addressed on the wire by its public
 * id "tn_" + 16 hex characters; the integer id never leaves the server.
 */
#ifndef CORE_TENANT_H
#define CORE_TENANT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "error.h"

#define TENANT_PUBLIC_ID_LEN 19 /* "tn_" + 16 hex */
#define API_KEY_LEN          46 /* "cg_" + 43 */
#define API_KEY_PREFIX_LEN   10 /* shown in listings: "cg_" + 7 */

struct tenant {
    int64_t id;
    char public_id[TENANT_PUBLIC_ID_LEN + 1];
    char name[256];
    int64_t created_at;
};

struct api_key_info {
    int64_t id;
    char prefix[API_KEY_PREFIX_LEN + 1];
    int64_t created_at;
    int64_t revoked_at; /* 0 while valid */
};

/* A new random key into out (API_KEY_LEN + 1 bytes). */
void api_key_generate(char out[API_KEY_LEN + 1]);

/*
 * Create a tenant and its first key in one transaction.
 * OUT t: the tenant; OUT key: the key in clear, to show once.
 */
int tenant_create(struct db *db, const char *name, struct tenant *t, char key[API_KEY_LEN + 1],
                  struct error *err);
/* Find a tenant by public id; ERR_TENANT_NOT_FOUND if none. */
int tenant_get(struct db *db, const char *public_id, size_t len, struct tenant *t,
               struct error *err);
/* Authenticate a presented key: 0 and *t, or -1 with ERR_UNAUTHORIZED. */
int tenant_by_key(struct db *db, const char *key, size_t len, struct tenant *t, struct error *err);
/* Issue a new key for the tenant; with revoke_others, revoke all its other keys. */
int tenant_key_create(struct db *db, int64_t tenant_id, bool revoke_others,
                      struct api_key_info *info, char key[API_KEY_LEN + 1], struct error *err);
/* Revoke one key of the tenant; ERR_NOT_FOUND if it is not the tenant's. */
int tenant_key_revoke(struct db *db, int64_t tenant_id, int64_t key_id, struct error *err);
/* Append the tenant's keys as a JSON array of {id, prefix, created_at, revoked_at}. */
int tenant_keys_json(struct db *db, int64_t tenant_id, struct buf *out, struct error *err);
/* Append {"id","name","created_at"} of t. */
void tenant_json(const struct tenant *t, struct buf *out);

/* Admin key check: SHA-256 of the presented key equals the configured hash. */
bool admin_key_matches(const uint8_t admin_hash[SHA256_LEN], const char *key, size_t len);

#endif
