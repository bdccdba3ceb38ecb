/*
 * gen_file.h: one output data file of gen_dataset, plain or gzip, with its
 * row count and SHA-256.
 *
 * The writer formats rows into f->buf (any gen_format.h function) and calls
 * gen_file_row() per row; past GEN_FILE_FLUSH_BYTES the buffer is compressed
 * (zlib deflate, gzip wrapper, level 1) and written with write(2). The SHA-256
 * is of the bytes on disk, so `sha256sum` checks the manifest directly.
 *
 * Why gzip level 1: deflate runs at 173 MB/s at level 1 and 58 MB/s at level 6
 * on this machine (REFERENCES §11); our rows are ~60-350 bytes, so level 6
 * would cap generation near 0.3M rows/s while level 1 keeps it near 1M; the
 * files are scratch data for ingest tests, where ~15% larger files cost less
 * than three times the time. The gzip header carries no name and mtime 0, so
 * compressed output is byte-identical for a seed (with the same zlib).
 *
 * Errors are sticky (STYLE rule 8): the first failed write is kept in f->err
 * and reported by gen_file_close().
 */
#ifndef CORE_GEN_FILE_H
#define CORE_GEN_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "buf.h"
#include "crypto.h"
#include "error.h"

#define GEN_FILE_FLUSH_BYTES (1024 * 1024)
#define GEN_FILE_PATH_MAX    512

struct gen_file {
    struct buf buf;         /* formatted, not yet written */
    char path[GEN_FILE_PATH_MAX];
    char rel[GEN_FILE_PATH_MAX]; /* path relative to the output directory */
    int fd;
    bool gzip;
    z_stream z;
    struct buf zbuf;        /* compressed bytes awaiting write */
    struct sha256 sha;
    uint64_t rows;
    uint64_t raw_bytes;     /* before compression */
    uint64_t bytes;         /* on disk */
    int err;                /* sticky: errno of the first failure */
    char sha256_hex[2 * SHA256_LEN + 1]; /* set by gen_file_close */
};

/* Create dir/rel (parent directories too). OUT f; -1 with err on failure. */
int gen_file_open(struct gen_file *f, const char *dir, const char *rel, bool gzip,
                  struct error *err);
/* Count one row and flush when the buffer is large. */
static inline void gen_file_row(struct gen_file *f);
/* Write the buffer out (compressing if gzip). */
void gen_file_flush(struct gen_file *f);
/* Flush, finish the gzip stream, close, fill sha256_hex. -1 with err if any write failed. */
int gen_file_close(struct gen_file *f, struct error *err);
/* Close without reporting, remove nothing (error paths). Safe on a closed file. */
void gen_file_discard(struct gen_file *f);

static inline void gen_file_row(struct gen_file *f)
{
    f->rows++;
    if (f->buf.len >= GEN_FILE_FLUSH_BYTES)
        gen_file_flush(f);
}

/* mkdir -p of dir; -1 with err on failure. */
int gen_mkdirs(const char *dir, struct error *err);

#endif
