/*
 * test_ingest_formats.c: the streaming decoders of ingest — NDJSON lines,
 * gzip, multipart/form-data, zip — fed through a source that returns a few
 * bytes per read, so every boundary (line, delimiter, header, deflate block)
 * falls across reads somewhere. Plus truncated and corrupt inputs, and
 * thousands of mutated inputs through every decoder (hostile suite).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "inflate.h"
#include "io.h"
#include "multipart.h"
#include "arena.h"
#include "ndjson.h"
#include "order.h"
#include "zipread.h"

/* A memory source returning at most `step` bytes per read (step cycles 1..7 when 0). */
struct trickle {
    const char *p;
    size_t n, pos, step, k;
};

static ssize_t trickle_read(struct source *s, void *p, size_t n)
{
    struct trickle *t = s->ctx;
    size_t step = t->step ? t->step : 1 + (t->k++ % 7);
    size_t c = t->n - t->pos;
    if (c > step)
        c = step;
    if (c > n)
        c = n;
    memcpy(p, t->p + t->pos, c);
    t->pos += c;
    return (ssize_t)c;
}

static void trickle_init(struct source *s, struct trickle *t, const void *p, size_t n, size_t step)
{
    memset(s, 0, sizeof(*s));
    *t = (struct trickle){p, n, 0, step, 0};
    s->read = trickle_read;
    s->ctx = t;
}

static void read_all(struct source *s, struct buf *out, int expect_rc)
{
    char tmp[97];
    ssize_t r;
    while ((r = source_read(s, tmp, sizeof(tmp))) > 0)
        buf_append(out, tmp, (size_t)r);
    cr_assert_eq(r < 0 ? -1 : 0, expect_rc, "read result %zd (%s)", r, s->error.detail);
}

/* ======================== NDJSON ======================== */

Test(ndjson, lines_crlf_blank_and_final_line)
{
    const char *in = "a\r\n\n  \nbb\nccc";
    struct source s;
    struct trickle t;
    struct ndjson r;
    struct str l;
    bool tl;
    trickle_init(&s, &t, in, strlen(in), 0);
    ndjson_init(&r, &s, 100, 0, 0, false);
    cr_assert_eq(ndjson_next(&r, &l, &tl), 1);
    cr_assert(str_eq_cstr(l, "a"));
    cr_assert_eq(r.line_no, 1);
    cr_assert_eq(ndjson_next(&r, &l, &tl), 1);
    cr_assert(str_eq_cstr(l, "bb"));
    cr_assert_eq(r.line_no, 4, "blank lines count");
    cr_assert_eq(r.offset, 10);
    cr_assert_eq(ndjson_next(&r, &l, &tl), 1);
    cr_assert(str_eq_cstr(l, "ccc"), "final line without newline");
    cr_assert_eq(r.offset, strlen(in));
    cr_assert_eq(ndjson_next(&r, &l, &tl), 0);
    ndjson_fini(&r);
}

Test(ndjson, partial_tail_is_left_for_the_next_chunk)
{
    const char *in = "one\ntwo\nthr";
    struct source s;
    struct trickle t;
    struct ndjson r;
    struct str l;
    bool tl;
    trickle_init(&s, &t, in, strlen(in), 3);
    ndjson_init(&r, &s, 100, 1000, 10, true);
    cr_assert_eq(ndjson_next(&r, &l, &tl), 1);
    cr_assert_eq(ndjson_next(&r, &l, &tl), 1);
    cr_assert(str_eq_cstr(l, "two"));
    cr_assert_eq(ndjson_next(&r, &l, &tl), 0);
    cr_assert_eq(r.offset, 1008, "offset stops after the last whole line");
    cr_assert_eq(r.line_no, 12);
    ndjson_fini(&r);
}

Test(ndjson, over_long_lines_are_skipped_not_buffered)
{
    struct buf in = BUF_INIT;
    buf_puts(&in, "ok\n");
    for (int i = 0; i < 300000; i++)
        buf_putc(&in, 'x');
    buf_puts(&in, "\nafter\n");
    struct source s;
    struct trickle t;
    struct ndjson r;
    struct str l;
    bool tl;
    trickle_init(&s, &t, in.data, in.len, 4096);
    ndjson_init(&r, &s, 1000, 0, 0, false);
    cr_assert_eq(ndjson_next(&r, &l, &tl), 1);
    cr_assert(!tl);
    cr_assert_eq(ndjson_next(&r, &l, &tl), 1);
    cr_assert(tl, "line 2 is too long");
    cr_assert_eq(r.line_no, 2);
    cr_assert_leq(r.cap, 64 * 1024, "the window did not grow for it");
    cr_assert_eq(ndjson_next(&r, &l, &tl), 1);
    cr_assert(!tl);
    cr_assert(str_eq_cstr(l, "after"));
    cr_assert_eq(r.line_no, 3);
    ndjson_fini(&r);
    buf_fini(&in);
}

/* ======================== gzip ======================== */

static void gzip_into(struct buf *out, const char *p, size_t n)
{
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    char *dst = buf_reserve(out, n + 1024);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)dst;
    z.avail_out = (uInt)(n + 1024);
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    buf_commit(out, (size_t)(z.next_out - (Bytef *)dst));
    deflateEnd(&z);
}

Test(inflate, members_concatenate_and_truncation_is_an_error)
{
    struct buf gz = BUF_INIT, out = BUF_INIT;
    gzip_into(&gz, "hello\n", 6);
    gzip_into(&gz, "world\n", 6);
    cr_assert(inflate_is_gzip((const unsigned char *)gz.data, gz.len));
    struct source s;
    struct trickle t;
    struct inflate_source z;
    trickle_init(&s, &t, gz.data, gz.len, 0);
    inflate_source_init(&z, &s);
    read_all(&z.src, &out, 0);
    cr_assert_str_eq(out.data, "hello\nworld\n");
    inflate_source_fini(&z);

    buf_reset(&out);
    trickle_init(&s, &t, gz.data, gz.len - 5, 0);
    inflate_source_init(&z, &s);
    read_all(&z.src, &out, -1);
    cr_assert_eq(z.src.error.code, ERR_CORRUPT_BODY);
    inflate_source_fini(&z);

    gz.data[12] ^= 0x55; /* flip bits inside the first deflate stream */
    buf_reset(&out);
    trickle_init(&s, &t, gz.data, gz.len, 0);
    inflate_source_init(&z, &s);
    read_all(&z.src, &out, -1);
    cr_assert_eq(z.src.error.code, ERR_CORRUPT_BODY);
    inflate_source_fini(&z);
    buf_fini(&gz);
    buf_fini(&out);
}

/* ======================== multipart ======================== */

Test(multipart, parts_stream_across_tiny_reads)
{
    const char *body = "preamble\r\n--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
                       "just a field\r\n--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"f\"; filename=\"a.ndjson\"\r\n"
                       "Content-Type: application/x-ndjson\r\n\r\n"
                       "{\"a\":1}\n--XyZ-not-a-delimiter\n{\"b\":2}\n\r\n--XyZ--\r\nepilogue";
    struct source s;
    struct trickle t;
    struct multipart *m;
    struct multipart_part p;
    struct error err;
    struct buf out = BUF_INIT;
    for (size_t step = 0; step < 4; step++) {
        trickle_init(&s, &t, body, strlen(body), step);
        cr_assert_eq(multipart_open(&s, "multipart/form-data; boundary=XyZ", &m, &err), 0);
        cr_assert_eq(multipart_next(m, &p, &err), 1);
        cr_assert_str_eq(p.name, "note");
        cr_assert(!p.is_file);
        cr_assert_eq(multipart_next(m, &p, &err), 1, "the unread field is skipped");
        cr_assert_str_eq(p.filename, "a.ndjson");
        cr_assert(p.is_file);
        buf_reset(&out);
        read_all(p.body, &out, 0);
        cr_assert_str_eq(out.data, "{\"a\":1}\n--XyZ-not-a-delimiter\n{\"b\":2}\n",
                         "a boundary prefix inside the data is data");
        cr_assert_eq(multipart_next(m, &p, &err), 0);
        multipart_free(m);
    }
    buf_fini(&out);
}

Test(multipart, missing_close_is_corrupt)
{
    const char *body = "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n"
                       "data without end";
    struct source s;
    struct trickle t;
    struct multipart *m;
    struct multipart_part p;
    struct error err;
    struct buf out = BUF_INIT;
    trickle_init(&s, &t, body, strlen(body), 5);
    cr_assert_eq(multipart_open(&s, "multipart/form-data; boundary=\"b\"", &m, &err), 0);
    cr_assert_eq(multipart_next(m, &p, &err), 1);
    read_all(p.body, &out, -1);
    cr_assert_eq(p.body->error.code, ERR_CORRUPT_BODY);
    multipart_free(m);
    cr_assert_eq(multipart_open(&s, "multipart/form-data", &m, &err), -1, "no boundary");
    buf_fini(&out);
}

/* ======================== zip ======================== */

static void put16(struct buf *b, unsigned v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    buf_append(b, x, 2);
}

static void put32(struct buf *b, uint32_t v)
{
    put16(b, v & 0xffff);
    put16(b, v >> 16);
}

/* One entry: deflate with a data descriptor (as streaming writers do), or stored. */
static void zip_entry(struct buf *b, const char *name, const char *data, bool deflate_it)
{
    size_t n = strlen(data);
    uint32_t crc = (uint32_t)crc32(0, (const Bytef *)data, (uInt)n);
    unsigned char comp[4096];
    size_t clen = n;
    if (deflate_it) {
        z_stream z = {0};
        cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = (Bytef *)(uintptr_t)data;
        z.avail_in = (uInt)n;
        z.next_out = comp;
        z.avail_out = sizeof(comp);
        cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
        clen = sizeof(comp) - z.avail_out;
        deflateEnd(&z);
    }
    put32(b, 0x04034b50);
    put16(b, 20);
    put16(b, deflate_it ? 8 : 0); /* flags: data descriptor for deflate */
    put16(b, deflate_it ? 8 : 0);
    put16(b, 0);
    put16(b, 0);
    put32(b, deflate_it ? 0 : crc);
    put32(b, deflate_it ? 0 : (uint32_t)clen);
    put32(b, deflate_it ? 0 : (uint32_t)n);
    put16(b, (unsigned)strlen(name));
    put16(b, 0);
    buf_puts(b, name);
    buf_append(b, deflate_it ? (const char *)comp : data, clen);
    if (deflate_it) {
        put32(b, 0x08074b50);
        put32(b, crc);
        put32(b, (uint32_t)clen);
        put32(b, (uint32_t)n);
    }
}

Test(zipread, entries_deflate_stored_and_directories)
{
    struct buf z = BUF_INIT, out = BUF_INIT;
    zip_entry(&z, "a.ndjson", "{\"a\":1}\n{\"a\":2}\n", true);
    zip_entry(&z, "dir/", "", false);
    zip_entry(&z, "b.ndjson", "{\"b\":1}\n", false);
    put32(&z, 0x02014b50); /* start of a central directory: the reader stops here */
    struct source s;
    struct trickle t;
    struct zipread *zr;
    struct zip_entry e;
    struct error err;
    trickle_init(&s, &t, z.data, z.len, 0);
    cr_assert_eq(zipread_open(&s, &zr, &err), 0);
    cr_assert_eq(zipread_next(zr, &e, &err), 1, "%s", err.detail);
    cr_assert_str_eq(e.name, "a.ndjson");
    read_all(e.body, &out, 0);
    cr_assert_str_eq(out.data, "{\"a\":1}\n{\"a\":2}\n");
    cr_assert_eq(zipread_next(zr, &e, &err), 1, "%s", err.detail);
    cr_assert_str_eq(e.name, "b.ndjson", "the directory entry is skipped");
    buf_reset(&out);
    read_all(e.body, &out, 0);
    cr_assert_str_eq(out.data, "{\"b\":1}\n");
    cr_assert_eq(zipread_next(zr, &e, &err), 0);
    zipread_free(zr);

    /* A corrupted stored byte fails the CRC check. */
    char *p = memmem(z.data, z.len, "{\"b\":1}", 7);
    p[2] = 'c';
    trickle_init(&s, &t, z.data, z.len, 0);
    cr_assert_eq(zipread_open(&s, &zr, &err), 0);
    cr_assert_eq(zipread_next(zr, &e, &err), 1);
    cr_assert_eq(zipread_next(zr, &e, &err), 1);
    buf_reset(&out);
    read_all(e.body, &out, -1);
    cr_assert_eq(e.body->error.code, ERR_CORRUPT_BODY);
    zipread_free(zr);

    /* Truncated inside the first entry. */
    trickle_init(&s, &t, z.data, 40, 0);
    cr_assert_eq(zipread_open(&s, &zr, &err), 0);
    cr_assert_eq(zipread_next(zr, &e, &err), 1);
    buf_reset(&out);
    read_all(e.body, &out, -1);
    zipread_free(zr);
    buf_fini(&z);
    buf_fini(&out);
}

/* ======================== hostile input ======================== */

/*
 * Mutated versions of valid inputs (random byte flips, truncations, inserted
 * delimiters) through every decoder and the order parser: each must end with
 * a clean result or a clean error, never a crash or a hang (run under
 * SANITIZE=address,undefined too). Deterministic seed, so a failure replays.
 */
static uint64_t fuzz_state = 0x9E3779B97F4A7C15ull;
static uint32_t fuzz_next(void)
{
    fuzz_state ^= fuzz_state << 13;
    fuzz_state ^= fuzz_state >> 7;
    fuzz_state ^= fuzz_state << 17;
    return (uint32_t)fuzz_state;
}

static void mutate(struct buf *out, const char *p, size_t n)
{
    buf_reset(out);
    buf_append(out, p, n);
    int edits = 1 + (int)(fuzz_next() % 6);
    for (int e = 0; e < edits && out->len; e++) {
        size_t at = fuzz_next() % out->len;
        switch (fuzz_next() % 4) {
        case 0: out->data[at] = (char)fuzz_next(); break;
        case 1: out->len = at; break; /* truncate */
        case 2: out->data[at] = "\n\r-{}\"\\"[fuzz_next() % 7]; break;
        default: out->data[at] ^= (char)(1u << (fuzz_next() % 8)); break;
        }
    }
}

static void drain_all(struct source *s)
{
    char tmp[4096];
    while (source_read(s, tmp, sizeof(tmp)) > 0)
        ;
}

Test(hostile, mutated_inputs_never_crash_the_decoders)
{
    struct buf gz = BUF_INIT, zip = BUF_INIT, m = BUF_INIT;
    const char *lines = "{\"order_id\":\"O-1\",\"customer\":{\"id\":\"C\",\"name\":\"N\",\"email\":"
                        "\"a@b\"},\"status\":\"paid\",\"currency\":\"EUR\",\"created_at\":"
                        "\"2025-03-01T00:00:00Z\",\"items\":[{\"product_id\":\"P\",\"quantity\":1,"
                        "\"unit_price\":\"1.00\"}],\"total\":\"1.00\"}\n";
    const char *mp = "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n"
                     "{\"a\":1}\n\r\n--b--\r\n";
    gzip_into(&gz, lines, strlen(lines));
    zip_entry(&zip, "a.ndjson", lines, true);
    zip_entry(&zip, "b.ndjson", lines, false);
    struct arena a;
    arena_init(&a);
    for (int round = 0; round < 3000; round++) {
        struct source s;
        struct trickle t;
        struct error err;

        mutate(&m, lines, strlen(lines));
        struct order o;
        order_parse(m.data, m.len, &a, &o, &err);
        arena_reset(&a);

        mutate(&m, gz.data, gz.len);
        struct inflate_source z;
        trickle_init(&s, &t, m.data, m.len, 0);
        inflate_source_init(&z, &s);
        drain_all(&z.src);
        inflate_source_fini(&z);

        mutate(&m, zip.data, zip.len);
        struct zipread *zr;
        struct zip_entry e;
        trickle_init(&s, &t, m.data, m.len, 0);
        cr_assert_eq(zipread_open(&s, &zr, &err), 0);
        while (zipread_next(zr, &e, &err) == 1)
            drain_all(e.body);
        zipread_free(zr);

        mutate(&m, mp, strlen(mp));
        struct multipart *mu;
        struct multipart_part p;
        trickle_init(&s, &t, m.data, m.len, 0);
        if (multipart_open(&s, "multipart/form-data; boundary=b", &mu, &err) == 0) {
            while (multipart_next(mu, &p, &err) == 1)
                drain_all(p.body);
            multipart_free(mu);
        }

        mutate(&m, lines, strlen(lines));
        struct ndjson r;
        struct str l;
        bool tl;
        trickle_init(&s, &t, m.data, m.len, 0);
        ndjson_init(&r, &s, 64, 0, 0, round % 2);
        while (ndjson_next(&r, &l, &tl) == 1)
            ;
        ndjson_fini(&r);
    }
    arena_fini(&a);
    buf_fini(&gz);
    buf_fini(&zip);
    buf_fini(&m);
}
