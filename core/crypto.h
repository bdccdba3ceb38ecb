/*
 * crypto.h: hashing, HMAC, randomness and the text encodings of their output.
 *
 * Thin wrappers over OpenSSL libcrypto with fixed algorithms (SHA-256,
 * HMAC-SHA256). The incremental SHA-256 context lets request bodies be hashed
 * as they stream (idempotency fingerprints) without holding them.
 */
#ifndef CORE_CRYPTO_H
#define CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
    void *ctx; /* EVP_MD_CTX */
};

void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *p, size_t n);
/* Writes 32 bytes and resets the context for reuse. */
void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN]);
void sha256_fini(struct sha256 *h);
/* One-shot digest. */
void sha256(const void *p, size_t n, uint8_t out[SHA256_LEN]);
void hmac_sha256(const void *key, size_t keylen, const void *p, size_t n, uint8_t out[SHA256_LEN]);

/* Fill with cryptographically secure random bytes; aborts if the RNG fails. */
void random_bytes(void *p, size_t n);

/* Constant-time equality of two equal-length byte strings. */
bool ct_equal(const void *a, const void *b, size_t n);

/* Value of one hex digit (either case), or -1. */
int hex_digit(char c);
/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void hex_encode(const uint8_t *p, size_t n, char *out);
/* Decode 2n hex digits into n bytes; -1 on a bad digit or odd length. */
int hex_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen);

/* base64url without padding (RFC 4648 §5). out must hold 4*ceil(n/3)+1. */
size_t b64url_encode(const uint8_t *p, size_t n, char *out);
/* Decode base64url (padding optional); -1 on bad input or overflow of outcap. */
int b64url_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen);
/* Standard base64 with padding, for tus Upload-Metadata and checksums. */
int b64std_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen);
size_t b64std_encode(const uint8_t *p, size_t n, char *out);

#endif
