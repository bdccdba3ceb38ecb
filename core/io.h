/*
 * io.h: byte sources and sinks, so core never sees FastCGI (STYLE rule 12).
 *
 * A sink is a write function plus a sticky error: once a write fails (client
 * gone, disk full) every later write is a no-op returning -1, and the encoder
 * loop checks sink.err once per row. A source is a read function with the same
 * sticky error; decoders stack sources (body → gunzip → lines). Backends:
 * memory (struct buf) and file descriptors here; the FastCGI backends live in
 * fcgi-app/request.c and response.c.
 */
#ifndef CORE_IO_H
#define CORE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"

struct sink {
    /* Write all n bytes or fail: returns 0 or -1. */
    int (*write)(struct sink *s, const void *p, size_t n);
    /* Push buffered bytes toward the client; may be NULL. */
    int (*flush)(struct sink *s);
    void *ctx;
    int err;        /* sticky: 0 ok, -1 failed */
    uint64_t bytes; /* accepted so far */
};

struct source {
    /* Read up to n bytes: > 0 count, 0 end of input, -1 error (see err/error). */
    ssize_t (*read)(struct source *s, void *p, size_t n);
    void *ctx;
    int err;            /* sticky */
    struct error error; /* why, when err */
    uint64_t bytes;     /* delivered so far */
};

/* Write through the sink's function, honouring and setting the sticky error. */
int sink_write(struct sink *s, const void *p, size_t n);
int sink_puts(struct sink *s, const char *str);
int sink_flush(struct sink *s);
/* Read through the source's function, honouring the sticky error. */
ssize_t source_read(struct source *s, void *p, size_t n);

/* A sink appending to b (never fails). */
void sink_init_buf(struct sink *s, struct buf *b);
/* A sink writing to a file descriptor (retries short writes and EINTR). */
void sink_init_fd(struct sink *s, int *fd);
/* A source reading from a memory range; the bytes must outlive the source. */
struct mem_source {
    const char *p;
    size_t len, pos;
};
void source_init_mem(struct source *s, struct mem_source *m, const void *p, size_t n);
/* A source reading a file descriptor. */
void source_init_fd(struct source *s, int *fd);

#endif
