/*
 * cursor.h: opaque, signed keyset cursors for order search.
 *
 * A cursor says "continue after this row" for one tenant, one filter set and
 * one sort. It carries the sort key of the last row sent, (created_at, id),
 * never a row reference, so deleting that row does not break the walk
 * (REFERENCES §5: Stripe's starting_after does break).
 *
 * Format (version 1), 51 bytes of payload then a 32-byte tag, base64url
 * without padding (111 characters):
 *
 *   0      1  version (1)
 *   1      1  flags: bit 0 = ascending
 *   2      8  tenant id (internal), big-endian
 *   10    16  first 16 bytes of filter_fingerprint()
 *   26     8  created_at of the last row sent, big-endian two's complement
 *   34     8  id of the last row sent
 *   42     8  expires at, epoch seconds
 *   50     1  reserved (0)
 *   51    32  HMAC-SHA256(installation key, bytes 0..50)
 *
 * The tag is checked first and in constant time (crypto ct_equal), so a
 * modified token is rejected before any field is believed. The ids inside
 * are not secret (they are the server's own integers) but cannot be forged.
 * Rejections are ERR_INVALID_CURSOR (400) with a reason: malformed, bad
 * signature, another tenant, other filters or sort, expired.
 */
#ifndef CORE_CURSOR_H
#define CORE_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "str.h"

#define CURSOR_KEY_LEN   32
#define CURSOR_HASH_LEN  16
#define CURSOR_TOKEN_MAX 128 /* 111 characters and the NUL */

struct cursor {
    int64_t tenant_id;
    uint8_t filter_hash[CURSOR_HASH_LEN];
    bool ascending;
    int64_t last_created_at;
    int64_t last_id;
    int64_t expires_at;
};

/* Sign and encode c with key into out (NUL-terminated). */
void cursor_encode(const struct cursor *c, const uint8_t key[CURSOR_KEY_LEN],
                   char out[CURSOR_TOKEN_MAX]);

/*
 * Verify token with key and check that it belongs to tenant_id, to the filter
 * set whose fingerprint starts with filter_hash, to the same sort, and that it
 * has not expired at now_s. Returns 0 with *out, or -1 with ERR_INVALID_CURSOR.
 */
int cursor_decode(struct str token, const uint8_t key[CURSOR_KEY_LEN], int64_t tenant_id,
                  const uint8_t filter_hash[CURSOR_HASH_LEN], bool ascending, int64_t now_s,
                  struct cursor *out, struct error *err);

#endif
