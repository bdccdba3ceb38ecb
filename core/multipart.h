/*
 * multipart.h: a streaming multipart/form-data reader (RFC 7578, RFC 2046 §5.1).
 *
 * Parts are visited in order; each part's body is a source that yields bytes
 * up to the next delimiter, so a file part of any size passes through one
 * 64 KiB window. Part headers are capped at MULTIPART_HEADER_MAX_BYTES. A
 * body that ends before the closing delimiter is ERR_CORRUPT_BODY (the rows
 * of earlier parts stay ingested). Moving to the next part skips whatever the
 * caller did not read of the current one.
 */
#ifndef CORE_MULTIPART_H
#define CORE_MULTIPART_H

#include <stdbool.h>

#include "error.h"
#include "io.h"

struct multipart;

struct multipart_part {
    int index;              /* 1-based */
    char name[128];         /* form field name ("" if none) */
    char filename[256];     /* "" if not a file */
    char content_type[128]; /* "" if not given */
    bool is_file;           /* has a filename, or an NDJSON/gzip/zip/octet-stream type */
    struct source *body;    /* valid until the next multipart_next() */
};

/* Read parts from in; content_type is the request's (it names the boundary). */
int multipart_open(struct source *in, const char *content_type, struct multipart **out,
                   struct error *err);
/* 1 and *p for the next part, 0 after the closing delimiter, -1 with err. */
int multipart_next(struct multipart *m, struct multipart_part *p, struct error *err);
void multipart_free(struct multipart *m);

#endif
