/*
 * arena.c: chunked bump allocator (see arena.h).
 *
 * A chunk is a header followed by its bytes in one allocation. Requests larger
 * than a chunk get a dedicated chunk of their size, freed at reset rather than
 * kept, so one large request cannot pin memory for the worker's lifetime.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "xmalloc.h"

#define ARENA_KEEP_CHUNKS 4

struct arena_chunk {
    struct arena_chunk *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
};

static struct arena_chunk *chunk_new(size_t cap)
{
    struct arena_chunk *c = xmalloc(sizeof(*c) + cap);
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    return c;
}

void arena_init(struct arena *a)
{
    a->head = NULL;
    a->free = NULL;
}

static void chain_free(struct arena_chunk *c)
{
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
}

void arena_fini(struct arena *a)
{
    chain_free(a->head);
    chain_free(a->free);
    arena_init(a);
}

void arena_reset(struct arena *a)
{
    size_t kept = 0;
    for (struct arena_chunk *c = a->free; c; c = c->next)
        kept++;
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        if (c->cap == ARENA_CHUNK_BYTES && kept < ARENA_KEEP_CHUNKS) {
            c->used = 0;
            c->next = a->free;
            a->free = c;
            kept++;
        } else {
            free(c);
        }
        c = next;
    }
    a->head = NULL;
}

void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->cap - a->head->used < n) {
        struct arena_chunk *c;
        if (n > ARENA_CHUNK_BYTES) {
            c = chunk_new(n);
        } else if (a->free) {
            c = a->free;
            a->free = c->next;
        } else {
            c = chunk_new(ARENA_CHUNK_BYTES);
        }
        c->next = a->head;
        a->head = c;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_sprintf(struct arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, n > 0 ? (size_t)n + 1 : 1);
    vsnprintf(p, n > 0 ? (size_t)n + 1 : 1, fmt, ap2);
    va_end(ap2);
    return p;
}
