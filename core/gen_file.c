/*
 * gen_file.c: plain or gzip output files with SHA-256 (gen_file.h).
 */
#include "gen_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int gen_mkdirs(const char *dir, struct error *err)
{
    char tmp[GEN_FILE_PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(tmp))
        return error_set(err, ERR_BAD_REQUEST, "bad directory name");
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return error_set(err, ERR_INTERNAL, "mkdir %s: %s", tmp, strerror(errno));
        tmp[i] = c;
    }
    return 0;
}

static void write_all(struct gen_file *f, const char *p, size_t n)
{
    if (f->err)
        return;
    sha256_update(&f->sha, p, n);
    f->bytes += n;
    while (n) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            f->err = errno;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void deflate_some(struct gen_file *f, const char *p, size_t n, int flush)
{
    f->z.next_in = (Bytef *)(uintptr_t)p;
    f->z.avail_in = (uInt)n;
    do {
        buf_reset(&f->zbuf);
        size_t cap = 256 * 1024;
        char *out = buf_reserve(&f->zbuf, cap);
        f->z.next_out = (Bytef *)out;
        f->z.avail_out = (uInt)cap;
        int rc = deflate(&f->z, flush);
        if (rc == Z_STREAM_ERROR) {
            f->err = EIO;
            return;
        }
        size_t have = cap - f->z.avail_out;
        buf_commit(&f->zbuf, have);
        write_all(f, f->zbuf.data, have);
    } while (f->z.avail_out == 0 || (flush == Z_FINISH && f->z.avail_in));
}

int gen_file_open(struct gen_file *f, const char *dir, const char *rel, bool gzip,
                  struct error *err)
{
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    if ((size_t)snprintf(f->path, sizeof(f->path), "%s/%s", dir, rel) >= sizeof(f->path))
        return error_set(err, ERR_BAD_REQUEST, "path too long: %s/%s", dir, rel);
    snprintf(f->rel, sizeof(f->rel), "%s", rel);
    char parent[GEN_FILE_PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", f->path);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        if (gen_mkdirs(parent, err))
            return -1;
    }
    f->fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0)
        return error_set(err, ERR_INTERNAL, "open %s: %s", f->path, strerror(errno));
    f->gzip = gzip;
    if (gzip) {
        /* windowBits 15 + 16: gzip wrapper; deflateInit2 writes mtime 0 and no name. */
        if (deflateInit2(&f->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            close(f->fd);
            f->fd = -1;
            return error_set(err, ERR_INTERNAL, "deflateInit2 failed");
        }
    }
    sha256_init(&f->sha);
    buf_reserve(&f->buf, GEN_FILE_FLUSH_BYTES + 64 * 1024);
    return 0;
}

void gen_file_flush(struct gen_file *f)
{
    if (!f->buf.len)
        return;
    f->raw_bytes += f->buf.len;
    if (f->gzip)
        deflate_some(f, f->buf.data, f->buf.len, Z_NO_FLUSH);
    else
        write_all(f, f->buf.data, f->buf.len);
    buf_reset(&f->buf);
}

int gen_file_close(struct gen_file *f, struct error *err)
{
    uint8_t digest[SHA256_LEN];
    gen_file_flush(f);
    if (f->gzip) {
        deflate_some(f, "", 0, Z_FINISH);
        deflateEnd(&f->z);
    }
    sha256_final(&f->sha, digest);
    sha256_fini(&f->sha);
    hex_encode(digest, SHA256_LEN, f->sha256_hex);
    if (close(f->fd) != 0 && !f->err)
        f->err = errno;
    f->fd = -1;
    buf_fini(&f->buf);
    buf_fini(&f->zbuf);
    if (f->err)
        return error_set(err, ERR_INTERNAL, "write %s: %s", f->path, strerror(f->err));
    return 0;
}

void gen_file_discard(struct gen_file *f)
{
    if (f->fd < 0)
        return;
    if (f->gzip)
        deflateEnd(&f->z);
    sha256_fini(&f->sha);
    close(f->fd);
    f->fd = -1;
    buf_fini(&f->buf);
    buf_fini(&f->zbuf);
}
