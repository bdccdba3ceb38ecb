/*
 * tus.c: resumable uploads (see tus.h for the model and its invariants).
 *
 * The append path stacks sources: the request body → `tee` (writes every
 * byte to the upload file at the next offset, hashes it, and hands it on,
 * after first replaying the unparsed tail already in the file) → ingest_lines.
 * The body is always read to its end through the tee even when the parser
 * stopped early, so everything that arrived is stored (tus: "SHOULD store as
 * much of a broken body as possible").
 */
#include "tus.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "crypto.h"
#include "timefmt.h"
#include "xmalloc.h"

enum {
    SQL_SET_UPLOAD,
    SQL_GET,
    SQL_SET_OFFSET,
    SQL_SET_LENGTH,
    SQL_TERMINATE,
    SQL_EXPIRED,
    SQL_EXPIRE,
};

static const char *const SQL[] = {
    [SQL_SET_UPLOAD] = "UPDATE ingest_runs SET upload_length = ?2, metadata = ?3 WHERE id = ?1",
    [SQL_GET] = "SELECT id, state, upload_length, upload_offset, expires_at, metadata "
                "FROM ingest_runs WHERE tenant_id = ?1 AND token = ?2 AND kind = 1",
    [SQL_SET_OFFSET] = "UPDATE ingest_runs SET upload_offset = ?2 WHERE id = ?1",
    [SQL_SET_LENGTH] = "UPDATE ingest_runs SET upload_length = ?2 WHERE id = ?1 AND "
                       "upload_length IS NULL",
    [SQL_TERMINATE] = "UPDATE ingest_runs SET state = 3, finished_at = ?2, expires_at = ?3 "
                      "WHERE id = ?1",
    [SQL_EXPIRED] = "SELECT id, token FROM ingest_runs WHERE kind = 1 AND state = 0 AND "
                    "expires_at < ?1 LIMIT 100",
    [SQL_EXPIRE] = "UPDATE ingest_runs SET state = 2, finished_at = ?2, expires_at = ?3 "
                   "WHERE id = ?1 AND state = 0",
};

#define TUS_LOCK_WAIT_MS 3000 /* a PATCH waits this long for the previous one to finish */

/* ======================== small helpers ======================== */

static int step_done(struct db *db, sqlite3_stmt *st, struct error *err, const char *what)
{
    int rc = sqlite3_step(st);
    db_done(db, st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, what);
}

/* One UPDATE with (id, value) in its own write transaction. */
static int update_one(struct db *db, int which, int64_t id, int64_t v, struct error *err)
{
    if (db_begin(db, err))
        return -1;
    sqlite3_stmt *st = db_stmt(db, SQL[which], err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, v);
    if (step_done(db, st, err, "upload update"))
        goto fail;
    return db_commit(db, err);
fail:
    db_rollback(db);
    return -1;
}

static void upload_path(const char *var_dir, const char *token, char *out, size_t cap)
{
    snprintf(out, cap, "%.600s/uploads/%.40s.part", var_dir, token);
}

static int io_fail(struct error *err, const char *what)
{
    if (errno == ENOSPC || errno == EDQUOT)
        return error_set(err, ERR_UNAVAILABLE, "%s: disk full", what);
    return error_set(err, ERR_INTERNAL, "%s: %s", what, strerror(errno));
}

int tus_checksum_parse(const char *h, struct tus_checksum *ck, struct error *err)
{
    memset(ck, 0, sizeof(*ck));
    const char *sp = strchr(h, ' ');
    if (!sp)
        return error_set_at(err, ERR_BAD_REQUEST, "Upload-Checksum",
                            "Upload-Checksum must be '<algorithm> <base64 digest>'");
    size_t al = (size_t)(sp - h);
    size_t want;
    if (al == 4 && strncmp(h, "sha1", 4) == 0) {
        ck->alg = TUS_CK_SHA1;
        want = 20;
    } else if (al == 6 && strncmp(h, "sha256", 6) == 0) {
        ck->alg = TUS_CK_SHA256;
        want = 32;
    } else {
        return error_set_at(err, ERR_BAD_REQUEST, "Upload-Checksum",
                            "checksum algorithm %.*s is not supported (sha1, sha256)",
                            (int)(al > 16 ? 16 : al), h);
    }
    const char *v = sp + 1;
    if (b64std_decode(v, strlen(v), ck->digest, sizeof(ck->digest), &ck->len) || ck->len != want)
        return error_set_at(err, ERR_BAD_REQUEST, "Upload-Checksum",
                            "Upload-Checksum digest is not valid base64 of the right length");
    return 0;
}

/* ======================== open / create ======================== */

static int load(struct tus_upload *u, int64_t tenant_id, const char *token, size_t len,
                struct error *err)
{
    sqlite3_stmt *st = db_stmt(u->db, SQL[SQL_GET], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, token, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        u->id = sqlite3_column_int64(st, 0);
        u->state = sqlite3_column_int(st, 1);
        u->length = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2);
        u->offset = (uint64_t)sqlite3_column_int64(st, 3);
        u->expires_at_ms = sqlite3_column_int64(st, 4);
        const unsigned char *m = sqlite3_column_text(st, 5);
        snprintf(u->metadata, sizeof(u->metadata), "%s", m ? (const char *)m : "");
    }
    db_done(u->db, st);
    if (rc == SQLITE_DONE)
        return error_set(err, ERR_NOT_FOUND, "no such upload");
    if (rc != SQLITE_ROW)
        return db_fail(u->db, rc, err, "upload lookup");
    return 0;
}

int tus_open(struct db *db, const char *var_dir, int64_t tenant_id, const char *token,
             size_t token_len, struct tus_upload **out, struct error *err)
{
    *out = NULL;
    if (token_len != INGEST_TOKEN_LEN || memchr(token, '/', token_len) ||
        memchr(token, '.', token_len))
        return error_set(err, ERR_NOT_FOUND, "no such upload");
    struct tus_upload *u = xcalloc(1, sizeof(*u));
    u->db = db;
    u->tenant_id = tenant_id;
    memcpy(u->token, token, token_len);
    if (load(u, tenant_id, token, token_len, err))
        goto fail;
    if (u->state == INGEST_TERMINATED || u->state == INGEST_FAILED ||
        (u->state == INGEST_RUNNING && u->expires_at_ms < time_now_ms())) {
        error_set(err, ERR_GONE, "this upload expired or was terminated");
        goto fail;
    }
    if (ingest_open(db, tenant_id, token, token_len, &u->ing, err))
        goto fail;
    upload_path(var_dir, u->token, u->path, sizeof(u->path));
    *out = u;
    return 0;
fail:
    free(u);
    return -1;
}

int tus_create(struct db *db, const char *var_dir, int64_t tenant_id, int64_t length,
               const char *metadata, struct tus_upload **out, struct error *err)
{
    char dir[700];
    *out = NULL;
    snprintf(dir, sizeof(dir), "%.600s/uploads", var_dir);
    if (mkdir(dir, 0700) && errno != EEXIST)
        return io_fail(err, "create uploads directory");
    struct tus_upload *u = xcalloc(1, sizeof(*u));
    u->db = db;
    u->tenant_id = tenant_id;
    u->length = length;
    u->state = INGEST_RUNNING;
    snprintf(u->metadata, sizeof(u->metadata), "%s", metadata ? metadata : "");
    if (ingest_create(db, tenant_id, INGEST_UPLOAD, NULL, &u->ing, err))
        goto fail;
    u->id = ingest_id(u->ing);
    snprintf(u->token, sizeof(u->token), "%s", ingest_token(u->ing));
    u->expires_at_ms = time_now_ms() + UPLOAD_EXPIRY_MS;
    if (db_begin(db, err))
        goto fail;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_SET_UPLOAD], err);
    if (!st) {
        db_rollback(db);
        goto fail;
    }
    sqlite3_bind_int64(st, 1, u->id);
    if (length >= 0)
        sqlite3_bind_int64(st, 2, length);
    if (metadata && *metadata)
        sqlite3_bind_text(st, 3, metadata, -1, SQLITE_STATIC);
    if (step_done(db, st, err, "upload create") || db_commit(db, err)) {
        db_rollback(db);
        goto fail;
    }
    upload_path(var_dir, u->token, u->path, sizeof(u->path));
    int fd = open(u->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        io_fail(err, "create upload file");
        goto fail;
    }
    close(fd);
    *out = u;
    return 0;
fail:
    tus_close(u);
    return -1;
}

void tus_close(struct tus_upload *u)
{
    if (!u)
        return;
    ingest_free(u->ing);
    free(u);
}

int tus_set_length(struct tus_upload *u, int64_t length, struct error *err)
{
    if (u->length >= 0) {
        if (u->length == length)
            return 0;
        return error_set_at(err, ERR_BAD_REQUEST, "Upload-Length",
                            "Upload-Length is already %lld", (long long)u->length);
    }
    if (length < 0 || (uint64_t)length < u->offset || (uint64_t)length > INGEST_BODY_MAX_BYTES)
        return error_set_at(err, length > 0 && (uint64_t)length > INGEST_BODY_MAX_BYTES
                                     ? ERR_BODY_TOO_LARGE
                                     : ERR_BAD_REQUEST,
                            "Upload-Length", "Upload-Length %lld is not acceptable here",
                            (long long)length);
    if (update_one(u->db, SQL_SET_LENGTH, u->id, length, err))
        return -1;
    u->length = length;
    return 0;
}

/* ======================== the tee source ======================== */

struct tee {
    struct source src;
    struct source *body;
    int fd;
    uint64_t file_off;   /* next byte of the body goes here */
    uint64_t limit;      /* the file may not grow past this */
    uint64_t replay_pos, replay_end; /* unparsed file bytes to hand out first */
    uint64_t skip;       /* body bytes already parsed in an earlier life */
    EVP_MD_CTX *md;      /* checksum, or NULL */
    bool sniff;          /* decide gzip/zip at file offset 0 */
    bool compressed;     /* then the parser gets EOF; bytes are still stored */
    bool body_failed;
};

static ssize_t tee_body(struct tee *t, unsigned char *p, size_t n, struct error *e)
{
    ssize_t r = source_read(t->body, p, n);
    if (r < 0) {
        *e = t->body->error;
        t->body_failed = true;
        return -1;
    }
    if (r == 0)
        return 0;
    if (t->file_off + (uint64_t)r > t->limit) {
        error_set(e, ERR_BODY_TOO_LARGE, "the chunk goes past Upload-Length (%llu bytes)",
                  (unsigned long long)t->limit);
        return -1;
    }
    for (size_t w = 0; w < (size_t)r;) {
        ssize_t k = pwrite(t->fd, p + w, (size_t)r - w, (off_t)(t->file_off + w));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            io_fail(e, "write upload");
            return -1;
        }
        w += (size_t)k;
    }
    if (t->md)
        EVP_DigestUpdate(t->md, p, (size_t)r);
    t->file_off += (uint64_t)r;
    return r;
}

static ssize_t tee_read(struct source *s, void *p, size_t n)
{
    struct tee *t = s->ctx;
    if (t->replay_pos < t->replay_end) {
        size_t c = t->replay_end - t->replay_pos < n ? (size_t)(t->replay_end - t->replay_pos) : n;
        ssize_t r = pread(t->fd, p, c, (off_t)t->replay_pos);
        if (r <= 0) {
            io_fail(&s->error, "read upload");
            return -1;
        }
        t->replay_pos += (uint64_t)r;
        return r;
    }
    if (t->compressed)
        return 0;
    for (;;) {
        ssize_t r = tee_body(t, p, n, &s->error);
        if (r <= 0)
            return r;
        if (t->sniff) {
            /* First bytes of the upload: gzip or zip are decoded once complete. */
            const unsigned char *b = p;
            t->sniff = false;
            if ((r >= 2 && b[0] == 0x1f && b[1] == 0x8b) || (r >= 2 && b[0] == 'P' && b[1] == 'K')) {
                t->compressed = true;
                return 0;
            }
        }
        if (t->skip >= (uint64_t)r) {
            t->skip -= (uint64_t)r;
            continue;
        }
        if (t->skip) {
            memmove(p, (char *)p + t->skip, (size_t)r - t->skip);
            r -= (ssize_t)t->skip;
            t->skip = 0;
        }
        return r;
    }
}

/* A source over file bytes [pos, end). */
struct file_range {
    struct source src;
    int fd;
    uint64_t pos, end;
};

static ssize_t range_read(struct source *s, void *p, size_t n)
{
    struct file_range *f = s->ctx;
    if (f->pos >= f->end)
        return 0;
    if (n > f->end - f->pos)
        n = (size_t)(f->end - f->pos);
    ssize_t r = pread(f->fd, p, n, (off_t)f->pos);
    if (r <= 0) {
        io_fail(&s->error, "read upload");
        return -1;
    }
    f->pos += (uint64_t)r;
    return r;
}

static void range_init(struct file_range *f, int fd, uint64_t pos, uint64_t end)
{
    memset(f, 0, sizeof(*f));
    f->fd = fd;
    f->pos = pos;
    f->end = end;
    f->src.read = range_read;
    f->src.ctx = f;
}

static bool file_compressed(int fd, uint64_t size)
{
    unsigned char b[2];
    if (size < 2 || pread(fd, b, 2, 0) != 2)
        return false;
    return (b[0] == 0x1f && b[1] == 0x8b) || (b[0] == 'P' && b[1] == 'K');
}

/* ======================== append ======================== */

static int lock_file(int fd, struct error *err)
{
    for (int waited = 0;; waited += 50) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return io_fail(err, "lock upload");
        if (waited >= TUS_LOCK_WAIT_MS) {
            error_set(err, ERR_UPLOAD_LOCKED,
                      "another request is appending to this upload; retry with HEAD first");
            err->retry_after_s = 1;
            return -1;
        }
        usleep(50000);
    }
}

/* Parse the rest of a finished upload and close its run. */
/*
 * Re-read the upload's offsets and reopen its ingest run. Called with the
 * file lock held: another request (maybe in another worker) may have
 * advanced or finished the upload while this one waited for it.
 */
static int reload(struct tus_upload *u, struct error *err)
{
    if (load(u, u->tenant_id, u->token, strlen(u->token), err))
        return -1;
    ingest_free(u->ing);
    u->ing = NULL;
    return ingest_open(u->db, u->tenant_id, u->token, strlen(u->token), &u->ing, err);
}

static int complete(struct tus_upload *u, int fd, struct error *err)
{
    struct file_range f;
    uint64_t poff, pline;
    int rc;
    ingest_checkpoint(u->ing, &poff, &pline);
    if (file_compressed(fd, u->offset)) {
        range_init(&f, fd, 0, u->offset);
        rc = ingest_body(u->ing, &f.src, NULL, NULL, err);
    } else {
        range_init(&f, fd, poff, u->offset);
        rc = ingest_lines(u->ing, &f.src, poff, pline, true, err);
    }
    if (rc)
        return -1;
    if (ingest_finish(u->ing, INGEST_COMPLETE, err))
        return -1;
    u->state = INGEST_COMPLETE;
    unlink(u->path);
    return 0;
}

int tus_append(struct tus_upload *u, uint64_t client_offset, struct source *body,
               const struct tus_checksum *ck, const struct ingest_hooks *hooks,
               struct error *err)
{
    struct tee t;
    struct stat sb;
    uint64_t poff, pline, old;
    int rc = -1;
    int fd = open(u->path, O_RDWR | O_CLOEXEC);
    memset(&t, 0, sizeof(t));
    if (fd < 0) {
        if (errno == ENOENT)
            return error_set(err, ERR_GONE, "this upload's data is gone");
        return io_fail(err, "open upload");
    }
    if (lock_file(fd, err))
        goto out;
    /*
     * Another PATCH (maybe in another worker) may have advanced the upload
     * while we waited for the lock: re-read the offsets and the run.
     */
    if (reload(u, err))
        goto out;
    if (u->state != INGEST_RUNNING) {
        error_set(err, ERR_GONE, "this upload is %s", u->state == INGEST_COMPLETE ? "complete"
                                                                                  : "closed");
        goto out;
    }
    if (client_offset != u->offset) {
        error_set_at(err, ERR_UPLOAD_OFFSET, "Upload-Offset",
                     "Upload-Offset %llu does not match the upload's offset %llu",
                     (unsigned long long)client_offset, (unsigned long long)u->offset);
        goto out;
    }
    if (fstat(fd, &sb)) {
        io_fail(err, "stat upload");
        goto out;
    }
    if ((uint64_t)sb.st_size > u->offset && ftruncate(fd, (off_t)u->offset)) {
        io_fail(err, "truncate upload"); /* bytes after a crash that were never acknowledged */
        goto out;
    }
    ingest_set_hooks(u->ing, hooks);
    ingest_checkpoint(u->ing, &poff, &pline);
    old = u->offset;

    t.src.read = tee_read;
    t.src.ctx = &t;
    t.body = body;
    t.fd = fd;
    t.file_off = old;
    t.limit = u->length >= 0 ? (uint64_t)u->length : INGEST_BODY_MAX_BYTES;
    t.replay_pos = poff < old ? poff : old;
    t.replay_end = old;
    t.skip = poff > old ? poff - old : 0;
    t.sniff = old == 0;
    t.compressed = old > 0 && file_compressed(fd, old);
    bool stream = ck == NULL;
    if (ck) {
        t.md = EVP_MD_CTX_new();
        EVP_DigestInit_ex(t.md, ck->alg == TUS_CK_SHA1 ? EVP_sha1() : EVP_sha256(), NULL);
        t.replay_pos = t.replay_end = 0; /* nothing is parsed before the check */
        t.compressed = true;             /* the tee only stores */
    }

    struct error perr;
    error_clear(&perr);
    int prc = 0;
    if (stream && !t.compressed)
        prc = ingest_lines(u->ing, &t.src, t.replay_pos + t.skip, pline, false, &perr);
    /* Store the rest of the body whatever the parser did. */
    unsigned char scratch[65536];
    ssize_t r = 0;
    struct error berr;
    error_clear(&berr);
    t.compressed = true;
    t.replay_pos = t.replay_end;
    while (!t.body_failed && (r = tee_body(&t, scratch, sizeof(scratch), &berr)) > 0)
        ;
    if (r < 0 && !t.body_failed) {
        *err = berr; /* past Upload-Length, or a write error: keep nothing of this chunk */
        if (ftruncate(fd, (off_t)old))
            (void)0;
        goto out;
    }
    if (ck) {
        uint8_t dg[EVP_MAX_MD_SIZE];
        unsigned dl = 0;
        EVP_DigestFinal_ex(t.md, dg, &dl);
        if (t.body_failed || dl != ck->len || memcmp(dg, ck->digest, dl) != 0) {
            if (ftruncate(fd, (off_t)old))
                (void)0;
            if (t.body_failed)
                *err = berr.code ? berr : body->error;
            else
                error_set(err, ERR_CHECKSUM_MISMATCH,
                          "the chunk's %s does not match Upload-Checksum; it was discarded",
                          ck->alg == TUS_CK_SHA1 ? "sha1" : "sha256");
            goto out;
        }
    }
    if (fdatasync(fd)) {
        io_fail(err, "sync upload");
        goto out;
    }
    if (t.file_off != old) {
        if (update_one(u->db, SQL_SET_OFFSET, u->id, (int64_t)t.file_off, err))
            goto out;
        u->offset = t.file_off;
    }
    if (t.body_failed) {
        *err = berr.code ? berr : body->error;
        goto out;
    }
    if (prc) {
        *err = perr;
        goto out;
    }
    if (!stream && !file_compressed(fd, u->offset)) {
        struct file_range f;
        ingest_checkpoint(u->ing, &poff, &pline);
        range_init(&f, fd, poff, u->offset);
        if (ingest_lines(u->ing, &f.src, poff, pline, false, err))
            goto out;
    }
    if (u->length >= 0 && u->offset == (uint64_t)u->length && complete(u, fd, err))
        goto out;
    rc = 0;
out:
    if (t.md)
        EVP_MD_CTX_free(t.md);
    close(fd); /* releases the flock */
    return rc;
}

int tus_finish_if_due(struct tus_upload *u, struct error *err)
{
    if (u->state != INGEST_RUNNING || u->length < 0 || u->offset != (uint64_t)u->length)
        return 0;
    int fd = open(u->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return io_fail(err, "open upload");
    int rc = -1;
    if (lock_file(fd, err))
        goto out;
    /* Under the lock: another request may have finished it meanwhile. */
    if (reload(u, err))
        goto out;
    rc = u->state == INGEST_RUNNING ? complete(u, fd, err) : 0;
out:
    close(fd);
    return rc;
}

int tus_terminate(struct tus_upload *u, struct error *err)
{
    int64_t now = time_now_ms();
    if (db_begin(u->db, err))
        return -1;
    sqlite3_stmt *st = db_stmt(u->db, SQL[SQL_TERMINATE], err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, u->id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now + INGEST_RESULT_RETENTION_MS);
    if (step_done(u->db, st, err, "upload terminate"))
        goto fail;
    if (db_commit(u->db, err))
        return -1;
    unlink(u->path);
    u->state = INGEST_TERMINATED;
    return 0;
fail:
    db_rollback(u->db);
    return -1;
}

int tus_summary_json(struct tus_upload *u, struct buf *out, struct error *err)
{
    char extra[256];
    snprintf(extra, sizeof(extra), "\"upload_token\":\"%s\",\"upload_offset\":%llu,"
                                   "\"upload_length\":%lld",
             u->token, (unsigned long long)u->offset, (long long)u->length);
    return ingest_summary_json(u->ing, out, extra, err);
}

int tus_purge(struct db *db, const char *var_dir, int64_t now_ms, struct error *err)
{
    int64_t ids[100];
    char toks[100][INGEST_TOKEN_LEN + 1];
    int n = 0, rc;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_EXPIRED], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 100) {
        ids[n] = sqlite3_column_int64(st, 0);
        snprintf(toks[n], sizeof(toks[n]), "%s", (const char *)sqlite3_column_text(st, 1));
        n++;
    }
    db_done(db, st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_fail(db, rc, err, "upload purge");
    for (int i = 0; i < n; i++) {
        char path[700];
        upload_path(var_dir, toks[i], path, sizeof(path));
        unlink(path);
        if (db_begin(db, err))
            return -1;
        st = db_stmt(db, SQL[SQL_EXPIRE], err);
        if (!st) {
            db_rollback(db);
            return -1;
        }
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_int64(st, 3, now_ms + INGEST_RESULT_RETENTION_MS);
        if (step_done(db, st, err, "upload expire")) {
            db_rollback(db);
            return -1;
        }
        if (db_commit(db, err))
            return -1;
    }
    if (ingest_purge(db, now_ms, err) < 0)
        return -1;
    return n;
}
