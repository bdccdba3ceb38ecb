/*
 * arena.h: per-request bump allocator (STYLE rule 10).
 *
 * Request-scoped data (copied parameters, header values, error text) is
 * allocated here and released all at once by arena_reset() after the request
 * is finished. Chunks are kept across resets (up to ARENA_KEEP_CHUNKS) so a
 * steady worker stops calling malloc for request data. Per-row data never goes
 * here: it would grow with the row count.
 */
#ifndef CORE_ARENA_H
#define CORE_ARENA_H

#include <stddef.h>

#include "str.h"

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* current chunk; older ones linked behind it */
    struct arena_chunk *free; /* chunks kept for reuse after reset */
};

void arena_init(struct arena *a);
void arena_fini(struct arena *a);
/* Release every allocation; keep a few chunks for the next request. */
void arena_reset(struct arena *a);
/* n bytes aligned for any type; never NULL (aborts on OOM). */
void *arena_alloc(struct arena *a, size_t n);
/* NUL-terminated copy of the slice. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_sprintf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
