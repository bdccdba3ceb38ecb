/*
 * inflate.h: a gzip-decoding source stacked on another source (zlib).
 *
 * Input is read in 64 KiB slices and inflated into the caller's buffer, so
 * memory is the zlib window (32 KiB) plus one input slice whatever the size.
 * Concatenated gzip members (as `cat a.gz b.gz` or pigz produce) are decoded
 * one after the other. Corrupt or truncated input is ERR_CORRUPT_BODY; more
 * than INFLATE_MAX_OUT_BYTES of output is ERR_BODY_TOO_LARGE, so a small
 * "zip bomb" body cannot keep a worker busy for hours.
 */
#ifndef CORE_INFLATE_H
#define CORE_INFLATE_H

#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "io.h"

#define INFLATE_MAX_OUT_BYTES (64ULL << 30) /* decoded bytes of one body */
#define INFLATE_IN_BYTES      (64 * 1024)

struct inflate_source {
    struct source src;   /* read decoded bytes from here */
    struct source *in;
    z_stream z;
    bool ready, in_eof, member_done;
    unsigned char inbuf[INFLATE_IN_BYTES];
};

/* Start decoding gzip from in. The struct must stay put while used. */
void inflate_source_init(struct inflate_source *s, struct source *in);
void inflate_source_fini(struct inflate_source *s);

/* True when the first bytes are the gzip magic 1f 8b. */
static inline bool inflate_is_gzip(const unsigned char *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

#endif
