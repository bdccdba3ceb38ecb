/*
 * test_cursor.c: core/cursor.c: round trip, and rejection of every single
 * byte changed, another key, another tenant, other filters or sort, expiry.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "crypto.h"
#include "cursor.h"

static const uint8_t KEY[CURSOR_KEY_LEN] = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";
static const uint8_t HASH[CURSOR_HASH_LEN] = "hhhhhhhhhhhhhhhh";

static struct cursor sample(void)
{
    struct cursor c = {.tenant_id = 42,
                       .ascending = false,
                       .last_created_at = 1740787200,
                       .last_id = 123456789,
                       .expires_at = 2000};
    memcpy(c.filter_hash, HASH, CURSOR_HASH_LEN);
    return c;
}

Test(cursor, round_trip)
{
    struct cursor c = sample(), d;
    char tok[CURSOR_TOKEN_MAX];
    struct error err;
    cursor_encode(&c, KEY, tok);
    cr_assert_eq(strlen(tok), 111);
    cr_assert_eq(cursor_decode(str_from(tok), KEY, 42, HASH, false, 1999, &d, &err), 0, "%s",
                 err.detail);
    cr_assert_eq(d.last_created_at, c.last_created_at);
    cr_assert_eq(d.last_id, c.last_id);
    c.last_created_at = -5; /* negative times survive the big-endian encoding */
    cursor_encode(&c, KEY, tok);
    cr_assert_eq(cursor_decode(str_from(tok), KEY, 42, HASH, false, 0, &d, &err), 0);
    cr_assert_eq(d.last_created_at, -5);
}

Test(cursor, any_changed_byte_is_rejected)
{
    struct cursor c = sample(), d;
    char tok[CURSOR_TOKEN_MAX];
    uint8_t raw[96];
    size_t n;
    struct error err;
    cursor_encode(&c, KEY, tok);
    cr_assert_eq(b64url_decode(tok, strlen(tok), raw, sizeof(raw), &n), 0);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            uint8_t m[96];
            char bad[CURSOR_TOKEN_MAX];
            memcpy(m, raw, n);
            m[i] ^= (uint8_t)(1u << bit);
            b64url_encode(m, n, bad);
            cr_assert_eq(cursor_decode(str_from(bad), KEY, 42, HASH, false, 0, &d, &err), -1,
                         "byte %zu bit %d", i, bit);
            cr_assert_eq(err.code, ERR_INVALID_CURSOR);
        }
    }
    cr_assert_eq(cursor_decode(str_from("short"), KEY, 42, HASH, false, 0, &d, &err), -1);
    cr_assert_eq(cursor_decode(str_from(""), KEY, 42, HASH, false, 0, &d, &err), -1);
    tok[50] = '*';
    cr_assert_eq(cursor_decode(str_from(tok), KEY, 42, HASH, false, 0, &d, &err), -1);
}

Test(cursor, binding_and_expiry)
{
    struct cursor c = sample(), d;
    char tok[CURSOR_TOKEN_MAX];
    struct error err;
    uint8_t other_key[CURSOR_KEY_LEN], other_hash[CURSOR_HASH_LEN];
    memcpy(other_key, KEY, sizeof(other_key));
    other_key[0] ^= 1;
    memcpy(other_hash, HASH, sizeof(other_hash));
    other_hash[15] ^= 1;
    cursor_encode(&c, KEY, tok);
    struct str t = str_from(tok);
    cr_assert_eq(cursor_decode(t, other_key, 42, HASH, false, 0, &d, &err), -1);
    cr_assert(strstr(err.detail, "signature"));
    cr_assert_eq(cursor_decode(t, KEY, 43, HASH, false, 0, &d, &err), -1);
    cr_assert(strstr(err.detail, "another tenant"));
    cr_assert_eq(cursor_decode(t, KEY, 42, other_hash, false, 0, &d, &err), -1);
    cr_assert(strstr(err.detail, "filter"));
    cr_assert_eq(cursor_decode(t, KEY, 42, HASH, true, 0, &d, &err), -1);
    cr_assert_eq(cursor_decode(t, KEY, 42, HASH, false, 2000, &d, &err), -1);
    cr_assert(strstr(err.detail, "expired"));
    cr_assert_str_eq(err.pointer, "cursor");
}

Test(cursor, random_tokens_are_rejected)
{
    uint64_t x = 0x243F6A8885A308D3ull;
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.";
    for (int round = 0; round < 20000; round++) {
        char tok[160];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = round % 2 ? 111 : x % 150;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            tok[i] = b64[x % (sizeof(b64) - 1)];
        }
        struct cursor d;
        struct error err;
        cr_assert_eq(cursor_decode((struct str){tok, len}, KEY, 42, HASH, false, 0, &d, &err), -1);
        cr_assert_eq(err.code, ERR_INVALID_CURSOR);
    }
}
