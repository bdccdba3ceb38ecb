/*
 * inflate.c: the gzip source (see inflate.h).
 *
 * zlib's windowBits 16+MAX_WBITS decodes exactly one gzip member and checks
 * its CRC-32 and length trailer; at Z_STREAM_END the decoder is reset and, if
 * more input follows, the next member is decoded. Input that ends inside a
 * member is truncation, not a clean end. Measured inflate speed on this
 * machine is 430-550 MB/s (REFERENCES §11): never the bottleneck of ingest.
 */
#include "inflate.h"

#include <string.h>

static ssize_t inflate_read(struct source *src, void *p, size_t n)
{
    struct inflate_source *s = src->ctx;
    if (!s->ready)
        return 0;
    if (src->bytes >= INFLATE_MAX_OUT_BYTES) {
        error_set(&src->error, ERR_BODY_TOO_LARGE, "decompressed body exceeds %llu bytes",
                  (unsigned long long)INFLATE_MAX_OUT_BYTES);
        return -1;
    }
    if (n > 1u << 30)
        n = 1u << 30;
    s->z.next_out = p;
    s->z.avail_out = (uInt)n;
    while (s->z.avail_out == n) {
        if (s->z.avail_in == 0 && !s->in_eof) {
            ssize_t r = source_read(s->in, s->inbuf, sizeof(s->inbuf));
            if (r < 0) {
                src->error = s->in->error;
                return -1;
            }
            if (r == 0)
                s->in_eof = true;
            s->z.next_in = s->inbuf;
            s->z.avail_in = (uInt)r;
        }
        if (s->member_done) {
            if (s->z.avail_in == 0 && s->in_eof)
                return 0; /* clean end after a whole member */
            if (s->z.avail_in == 0)
                continue;
            inflateReset(&s->z);
            s->member_done = false;
        }
        if (s->z.avail_in == 0 && s->in_eof) {
            error_set(&src->error, ERR_CORRUPT_BODY, "gzip body is truncated");
            return -1;
        }
        int rc = inflate(&s->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            s->member_done = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            error_set(&src->error, ERR_CORRUPT_BODY, "gzip body is corrupt: %s",
                      s->z.msg ? s->z.msg : "inflate failed");
            return -1;
        }
    }
    return (ssize_t)(n - s->z.avail_out);
}

void inflate_source_init(struct inflate_source *s, struct source *in)
{
    memset(&s->src, 0, sizeof(s->src));
    memset(&s->z, 0, sizeof(s->z));
    s->src.read = inflate_read;
    s->src.ctx = s;
    error_clear(&s->src.error);
    s->in = in;
    s->in_eof = s->member_done = false;
    s->ready = inflateInit2(&s->z, 16 + MAX_WBITS) == Z_OK;
    if (!s->ready) {
        s->src.err = -1;
        error_set(&s->src.error, ERR_INTERNAL, "zlib init failed");
    }
}

void inflate_source_fini(struct inflate_source *s)
{
    if (s->ready)
        inflateEnd(&s->z);
    s->ready = false;
}
