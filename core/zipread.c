/*
 * zipread.c: the streaming zip reader (see zipread.h; APPNOTE.TXT 6.3 §4.3).
 *
 * Layout read here: local file header (30 bytes + name + extra), entry data,
 * optional data descriptor ([0x08074b50] crc32, sizes 4+4 or 8+8 with zip64).
 * Deflate data is decoded with zlib's raw inflate (windowBits -15) straight
 * from the window, so input bytes past the end of an entry stay in the window
 * for the next header.
 */
#include "zipread.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "xmalloc.h"

#define ZIP_WINDOW (64 * 1024)

struct zipread {
    struct source *in;
    unsigned char *buf;
    size_t start, end;
    bool eof;
    z_stream z;
    bool z_ready;
    /* current entry */
    bool active, done;
    int method;
    bool descriptor, zip64;
    uint32_t crc_expected, crc;
    uint64_t remaining; /* stored: bytes left */
    int index;
    struct source entry;
};

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int fill(struct zipread *z, struct error *err)
{
    if (z->eof)
        return 0;
    if (z->start) {
        memmove(z->buf, z->buf + z->start, z->end - z->start);
        z->end -= z->start;
        z->start = 0;
    }
    if (z->end == ZIP_WINDOW)
        return 1;
    ssize_t r = source_read(z->in, z->buf + z->end, ZIP_WINDOW - z->end);
    if (r < 0) {
        *err = z->in->error;
        return -1;
    }
    if (r == 0) {
        z->eof = true;
        return 0;
    }
    z->end += (size_t)r;
    return 1;
}

/* 1 when n bytes are in the window, 0 at EOF before that, -1 on error. */
static int want(struct zipread *z, size_t n, struct error *err)
{
    while (z->end - z->start < n) {
        int r = fill(z, err);
        if (r <= 0)
            return r;
    }
    return 1;
}

static int finish_entry(struct zipread *z, struct error *err)
{
    if (z->descriptor) {
        size_t len = z->zip64 ? 20 : 12;
        int r = want(z, 4, err);
        if (r < 0)
            return -1;
        bool sig = r > 0 && le32(z->buf + z->start) == 0x08074b50;
        r = want(z, len + (sig ? 4 : 0), err);
        if (r <= 0)
            return r < 0 ? -1 : error_set(err, ERR_CORRUPT_BODY, "zip data descriptor truncated");
        z->crc_expected = le32(z->buf + z->start + (sig ? 4 : 0));
        z->start += len + (sig ? 4 : 0);
    }
    z->done = true;
    if (z->crc != z->crc_expected)
        return error_set(err, ERR_CORRUPT_BODY, "zip entry %d fails its CRC-32 check", z->index);
    return 0;
}

static ssize_t entry_read(struct source *s, void *p, size_t n)
{
    struct zipread *z = s->ctx;
    if (n > 1u << 30)
        n = 1u << 30;
    while (!z->done) {
        if (z->method == 0) {
            if (z->remaining == 0) {
                if (finish_entry(z, &s->error))
                    return -1;
                break;
            }
            if (z->end == z->start) {
                int r = fill(z, &s->error);
                if (r < 0)
                    return -1;
                if (r == 0) {
                    error_set(&s->error, ERR_CORRUPT_BODY, "zip entry %d is truncated", z->index);
                    return -1;
                }
            }
            size_t c = z->end - z->start;
            if (c > n)
                c = n;
            if (c > z->remaining)
                c = (size_t)z->remaining;
            memcpy(p, z->buf + z->start, c);
            z->start += c;
            z->remaining -= c;
            z->crc = (uint32_t)crc32(z->crc, p, (uInt)c);
            return (ssize_t)c;
        }
        if (z->end == z->start) {
            int r = fill(z, &s->error);
            if (r < 0)
                return -1;
            if (r == 0) {
                error_set(&s->error, ERR_CORRUPT_BODY, "zip entry %d is truncated", z->index);
                return -1;
            }
        }
        z->z.next_in = z->buf + z->start;
        z->z.avail_in = (uInt)(z->end - z->start);
        z->z.next_out = p;
        z->z.avail_out = (uInt)n;
        int rc = inflate(&z->z, Z_NO_FLUSH);
        z->start = (size_t)(z->z.next_in - z->buf);
        size_t got = n - z->z.avail_out;
        z->crc = (uint32_t)crc32(z->crc, p, (uInt)got);
        if (rc == Z_STREAM_END) {
            if (finish_entry(z, &s->error))
                return -1;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            error_set(&s->error, ERR_CORRUPT_BODY, "zip entry %d is corrupt: %s", z->index,
                      z->z.msg ? z->z.msg : "inflate failed");
            return -1;
        }
        if (got)
            return (ssize_t)got;
    }
    return 0;
}

int zipread_open(struct source *in, struct zipread **out, struct error *err)
{
    struct zipread *z = xcalloc(1, sizeof(*z));
    z->in = in;
    z->buf = xmalloc(ZIP_WINDOW);
    if (inflateInit2(&z->z, -MAX_WBITS) != Z_OK) {
        free(z->buf);
        free(z);
        *out = NULL;
        return error_set(err, ERR_INTERNAL, "zlib init failed");
    }
    z->z_ready = true;
    z->entry.read = entry_read;
    z->entry.ctx = z;
    *out = z;
    return 0;
}

void zipread_free(struct zipread *z)
{
    if (!z)
        return;
    if (z->z_ready)
        inflateEnd(&z->z);
    free(z->buf);
    free(z);
}

static int drain(struct zipread *z, struct error *err)
{
    char tmp[16384];
    ssize_t r;
    while ((r = source_read(&z->entry, tmp, sizeof(tmp))) > 0)
        ;
    if (r < 0) {
        *err = z->entry.error;
        return -1;
    }
    return 0;
}

int zipread_next(struct zipread *z, struct zip_entry *e, struct error *err)
{
    for (;;) {
        if (z->active && !z->done && drain(z, err))
            return -1;
        z->active = false;
        int r = want(z, 4, err);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (z->end == z->start && z->index > 0)
                return 0; /* ends without a central directory: accept what was read */
            return error_set(err, ERR_CORRUPT_BODY, "zip archive is truncated");
        }
        uint32_t sig = le32(z->buf + z->start);
        if (sig == 0x02014b50 || sig == 0x06054b50 || sig == 0x06064b50)
            return 0;
        if (sig != 0x04034b50)
            return error_set(err, ERR_CORRUPT_BODY, "not a zip local file header");
        if ((r = want(z, 30, err)) <= 0)
            return r < 0 ? -1 : error_set(err, ERR_CORRUPT_BODY, "zip archive is truncated");
        const unsigned char *h = z->buf + z->start;
        uint16_t flags = le16(h + 6), method = le16(h + 8);
        uint32_t crc = le32(h + 14), csize = le32(h + 18);
        size_t nlen = le16(h + 26), xlen = le16(h + 28);
        if (nlen > ZIP_NAME_MAX_BYTES)
            return error_set(err, ERR_CORRUPT_BODY, "zip entry name longer than %d bytes",
                             ZIP_NAME_MAX_BYTES);
        if ((r = want(z, 30 + nlen + xlen, err)) <= 0)
            return r < 0 ? -1 : error_set(err, ERR_CORRUPT_BODY, "zip archive is truncated");
        h = z->buf + z->start;
        if (flags & 1)
            return error_set(err, ERR_CORRUPT_BODY, "encrypted zip entries are not supported");
        if (method != 0 && method != 8)
            return error_set(err, ERR_CORRUPT_BODY,
                             "zip compression method %u is not supported (use deflate)", method);
        if (method == 0 && (flags & 8))
            return error_set(err, ERR_CORRUPT_BODY,
                             "stored zip entries with a data descriptor cannot be streamed");
        memcpy(e->name, h + 30, nlen);
        e->name[nlen] = '\0';
        uint64_t size = csize;
        z->zip64 = false;
        for (size_t x = 0; x + 4 <= xlen;) {
            const unsigned char *f = h + 30 + nlen + x;
            size_t fl = le16(f + 2);
            if (x + 4 + fl > xlen)
                break;
            if (le16(f) == 0x0001) {
                z->zip64 = true;
                /* usize then csize, present only where the header says 0xFFFFFFFF */
                size_t o = 4;
                if (le32(h + 22) == 0xFFFFFFFFu && o + 8 <= 4 + fl)
                    o += 8;
                if (csize == 0xFFFFFFFFu && o + 8 <= 4 + fl)
                    size = le64(f + o);
            }
            x += 4 + fl;
        }
        z->start += 30 + nlen + xlen;
        z->active = true;
        z->done = false;
        z->method = method;
        z->descriptor = (flags & 8) != 0;
        z->crc_expected = crc;
        z->crc = 0;
        z->remaining = size;
        z->index++;
        inflateReset(&z->z);
        memset(&z->entry.error, 0, sizeof(z->entry.error));
        z->entry.err = 0;
        z->entry.bytes = 0;
        bool skip = (nlen && e->name[nlen - 1] == '/') || strncmp(e->name, "__MACOSX/", 9) == 0;
        if (skip)
            continue;
        e->index = z->index;
        e->body = &z->entry;
        return 1;
    }
}
