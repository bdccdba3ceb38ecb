/*
 * io.c: sink and source plumbing and the memory/fd backends (see io.h).
 */
#include "io.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int sink_write(struct sink *s, const void *p, size_t n)
{
    if (s->err)
        return -1;
    if (n == 0)
        return 0;
    if (s->write(s, p, n)) {
        s->err = -1;
        return -1;
    }
    s->bytes += n;
    return 0;
}

int sink_puts(struct sink *s, const char *str)
{
    return sink_write(s, str, strlen(str));
}

int sink_flush(struct sink *s)
{
    if (s->err)
        return -1;
    if (s->flush && s->flush(s)) {
        s->err = -1;
        return -1;
    }
    return 0;
}

ssize_t source_read(struct source *s, void *p, size_t n)
{
    if (s->err)
        return -1;
    ssize_t r = s->read(s, p, n);
    if (r < 0) {
        s->err = -1;
        if (s->error.code == ERR_NONE)
            error_set(&s->error, ERR_BAD_REQUEST, "read failed");
        return -1;
    }
    s->bytes += (uint64_t)r;
    return r;
}

static int buf_sink_write(struct sink *s, const void *p, size_t n)
{
    buf_append(s->ctx, p, n);
    return 0;
}

void sink_init_buf(struct sink *s, struct buf *b)
{
    memset(s, 0, sizeof(*s));
    s->write = buf_sink_write;
    s->ctx = b;
}

static int fd_sink_write(struct sink *s, const void *p, size_t n)
{
    int fd = *(int *)s->ctx;
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

void sink_init_fd(struct sink *s, int *fd)
{
    memset(s, 0, sizeof(*s));
    s->write = fd_sink_write;
    s->ctx = fd;
}

static ssize_t mem_source_read(struct source *s, void *p, size_t n)
{
    struct mem_source *m = s->ctx;
    size_t left = m->len - m->pos;
    if (n > left)
        n = left;
    memcpy(p, m->p + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

void source_init_mem(struct source *s, struct mem_source *m, const void *p, size_t n)
{
    memset(s, 0, sizeof(*s));
    m->p = p;
    m->len = n;
    m->pos = 0;
    s->read = mem_source_read;
    s->ctx = m;
    error_clear(&s->error);
}

static ssize_t fd_source_read(struct source *s, void *p, size_t n)
{
    for (;;) {
        ssize_t r = read(*(int *)s->ctx, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            error_set(&s->error, ERR_INTERNAL, "read: %s", strerror(errno));
        return r;
    }
}

void source_init_fd(struct source *s, int *fd)
{
    memset(s, 0, sizeof(*s));
    s->read = fd_source_read;
    s->ctx = fd;
    error_clear(&s->error);
}
