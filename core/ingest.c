/*
 * ingest.c: ingest runs, body decoding, batching (see ingest.h).
 *
 * Pipeline per body:
 *
 *   source ─▶ [gunzip (Content-Encoding or magic 1f 8b)]
 *          ─▶ [multipart parts │ zip entries ─▶ [gunzip by magic]]
 *          ─▶ ndjson lines ─▶ order_parse (no lock held) ─▶ batch
 *   ══ bounded queue (INGEST_PIPE_BATCHES) to the store thread ══
 *          ─▶ flush: BEGIN IMMEDIATE, store_order per row, row errors,
 *             run counters + checkpoint, COMMIT (≤ N rows, ≤ T ms)
 *
 * Reading and parsing run on the request's thread, storing on a second
 * thread that owns the connection for the duration of ingest_lines() (see
 * "the pipeline" below): a single request uses both cores, 35k → 66k
 * orders/s for one client in alternated rounds (docs/design.md §9). A batch
 * keeps rows and parse errors in input order, and batches are stored in
 * queue order, so error sequence numbers follow the input. Counters are
 * applied to the run's in-memory totals only after their batch committed, so
 * a database failure mid-batch never reports rows that are not there.
 *
 * Why parse outside the transaction: the write lock is shared by every
 * worker; holding it while jansson decodes (7.5 µs a line) would more than
 * double the lock hold per row and make small writes of other workers wait.
 */
#include "ingest.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "arena.h"
#include "bounds.h"
#include "crypto.h"
#include "inflate.h"
#include "multipart.h"
#include "ndjson.h"
#include "order.h"
#include "scoreboard.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "zipread.h"

enum {
    SQL_RUN_CREATE,
    SQL_RUN_OPEN,
    SQL_RUN_UPDATE,
    SQL_RUN_FINISH,
    SQL_ERROR_INSERT,
    SQL_ERRORS_FIRST,
    SQL_RUN_BY_TOKEN,
    SQL_ERRORS_PAGE,
    SQL_PURGE_RUNS,
    SQL_PURGE_ERRORS,
    SQL_PURGE_RUN,
};

static const char *const SQL[] = {
    [SQL_RUN_CREATE] = "INSERT INTO ingest_runs(tenant_id, token, kind, state, idem_key, "
                       "created_at, expires_at) VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)",
    [SQL_RUN_OPEN] = "SELECT id, kind, state, idem_key, rows_received, rows_inserted, "
                     "rows_duplicate, rows_failed, errors_stored, error_counts, processing_ms, "
                     "parsed_offset, parsed_lines FROM ingest_runs "
                     "WHERE tenant_id = ?1 AND token = ?2",
    [SQL_RUN_UPDATE] = "UPDATE ingest_runs SET rows_received = ?2, rows_inserted = ?3, "
                       "rows_duplicate = ?4, rows_failed = ?5, errors_stored = ?6, "
                       "error_counts = ?7, parsed_offset = ?8, parsed_lines = ?9, "
                       "processing_ms = ?10 WHERE id = ?1",
    [SQL_RUN_FINISH] = "UPDATE ingest_runs SET state = ?2, finished_at = ?3, expires_at = ?4, "
                       "processing_ms = ?5 WHERE id = ?1",
    [SQL_ERROR_INSERT] = "INSERT INTO ingest_errors(ingest_id, seq, part, line, order_id, code, "
                         "pointer, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [SQL_ERRORS_FIRST] = "SELECT part, line, order_id, code, pointer, detail FROM ingest_errors "
                         "WHERE ingest_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    [SQL_RUN_BY_TOKEN] = "SELECT id FROM ingest_runs WHERE tenant_id = ?1 AND token = ?2",
    [SQL_ERRORS_PAGE] = "SELECT seq, part, line, order_id, code, pointer, detail "
                        "FROM ingest_errors WHERE ingest_id = ?1 AND seq > ?2 ORDER BY seq "
                        "LIMIT 1000",
    [SQL_PURGE_RUNS] = "SELECT id FROM ingest_runs WHERE expires_at < ?1 LIMIT 50",
    [SQL_PURGE_ERRORS] = "DELETE FROM ingest_errors WHERE ingest_id = ?1 AND seq IN "
                         "(SELECT seq FROM ingest_errors WHERE ingest_id = ?1 LIMIT 5000)",
    [SQL_PURGE_RUN] = "DELETE FROM ingest_runs WHERE id = ?1 AND NOT EXISTS "
                      "(SELECT 1 FROM ingest_errors WHERE ingest_id = ?1)",
};

/* ======================== runs ======================== */

enum entry_kind { ENTRY_ROW, ENTRY_ERROR };

struct entry {
    enum entry_kind kind;
    int part;
    uint64_t line;
    uint64_t end_offset; /* source offset after this line */
    struct order o;      /* ENTRY_ROW; for ENTRY_ERROR only o.order_id */
    enum error_code code;
    const char *pointer;
    const char *detail;
};

/* Parsed lines on their way to the store: entries in input order, strings in arena. */
struct batch {
    struct arena arena;
    struct entry *e; /* INGEST_BATCH_MAX_ROWS */
    size_t n;
    size_t bytes; /* line bytes parsed into it */
};

struct ingest {
    struct db *db;
    int64_t tenant_id;
    int64_t id;
    enum ingest_kind kind;
    enum ingest_state state;
    char token[INGEST_TOKEN_LEN + 1];
    char *idem_key;
    struct ingest_hooks hooks;

    struct ingest_totals totals;   /* committed */
    uint64_t by_code[ERR__COUNT];  /* committed failures by code */
    uint64_t errors_stored;
    int64_t processing_ms_base;    /* earlier requests of the same run */
    int64_t t0_ns;                 /* this request's start */
    uint64_t parsed_offset, parsed_lines;

    struct store_cache *cache; /* product ids of this tenant (shared, see cache_for) */
    struct batch batches[INGEST_PIPE_BATCHES]; /* parsed rows in flight (see the pipeline) */
    int part; /* current file part (0: plain body); reader side */

    /* Writer side (the store thread while ingest_lines runs). */
    int64_t rate_t_ns;  /* end of the previous batch, for the rate gauge */
    double rate;
    size_t target_rows; /* rows per batch that fit INGEST_BATCH_MAX_MS; atomic */
    bool limited;       /* memory_limits() applied (from the first batch on) */
};

/*
 * Memory: a worker's connection has a 64 MiB page cache (db.c) for the read
 * paths. A bulk ingest dirties pages all over the month partitions' indexes
 * and would fill that cache, growing the worker's private memory by 64 MiB.
 * For the duration of a run the connection uses INGEST_CACHE_KIB instead, and
 * the setting is restored when the run is freed. mmap stays off (db.c): each
 * cache miss is a pread copy, which costs speed (design.md §9 has the A/B),
 * but mapped pages would count in the worker's RSS without bound.
 * CARTOGRAPH_INGEST_CACHE_KIB overrides the size (benchmarks/ingest).
 */
/* INGEST_BATCH_MAX_MS, or CARTOGRAPH_INGEST_BATCH_MS (benchmarks/ingest measures both). */
static int64_t batch_max_ns(void)
{
    static int64_t v;
    if (!v) {
        const char *e = getenv("CARTOGRAPH_INGEST_BATCH_MS");
        v = (e && atol(e) > 0 ? atol(e) : INGEST_BATCH_MAX_MS) * 1000000LL;
    }
    return v;
}

static long ingest_cache_kib(void)
{
    static long v;
    if (!v) {
        const char *e = getenv("CARTOGRAPH_INGEST_CACHE_KIB");
        v = e && atol(e) > 0 ? atol(e) : INGEST_CACHE_KIB;
    }
    return v;
}

/*
 * mmap during a run: CARTOGRAPH_INGEST_MMAP_BYTES (default 0, the
 * connection's own setting, off). Pages mapped by mmap count in the worker's
 * RSS like its page cache does; see design.md §9 for the A/B that decided it.
 */
static long long ingest_mmap_bytes(void)
{
    static long long v = -1;
    if (v < 0) {
        const char *e = getenv("CARTOGRAPH_INGEST_MMAP_BYTES");
        v = e && atoll(e) > 0 ? atoll(e) : 0;
    }
    return v;
}

/*
 * The connection's WAL hook is not ingest's business: a server connection
 * hands its checkpoints to the housekeeper through the write gate's hook
 * (db_use_gate), and a connection without the gate (tools, tests) keeps
 * SQLite's automatic checkpoint. Only the page cache (and mmap, when asked)
 * change for the run.
 */
static void memory_limits(struct db *db, bool ingesting)
{
    char sql[96];
    struct error e;
    snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%ld;PRAGMA mmap_size=%lld",
             ingesting ? ingest_cache_kib() : (long)DB_CACHE_KIB,
             ingesting ? ingest_mmap_bytes() : 0LL);
    db_exec(db, sql, &e);
}

/*
 * Product-id caches kept by the worker across runs, one per recent tenant
 * (least recently used replaced): a tenant sending its orders in many small
 * requests looks each product up once, not once per request. At most
 * PRODUCT_CACHES x STORE_CACHE_MAX entries, a few MB.
 */
#define PRODUCT_CACHES 4

static struct {
    struct store_cache *c;
    int64_t tenant_id;
    uint64_t used;
} caches[PRODUCT_CACHES];
static uint64_t cache_tick;

static struct store_cache *cache_for(int64_t tenant_id)
{
    size_t victim = 0;
    for (size_t i = 0; i < PRODUCT_CACHES; i++) {
        if (caches[i].c && caches[i].tenant_id == tenant_id) {
            caches[i].used = ++cache_tick;
            return caches[i].c;
        }
        if (!caches[i].c || caches[i].used < caches[victim].used)
            victim = i;
    }
    store_cache_free(caches[victim].c);
    caches[victim].c = store_cache_new();
    caches[victim].tenant_id = tenant_id;
    caches[victim].used = ++cache_tick;
    return caches[victim].c;
}

/* Store cost per row inside the lock (EWMA), kept by the worker across runs. */
static double worker_ns_per_row;

static void ingest_new(struct db *db, int64_t tenant_id, struct ingest **out)
{
    struct ingest *ing = xcalloc(1, sizeof(*ing));
    ing->db = db;
    ing->tenant_id = tenant_id;
    ing->t0_ns = time_mono_ns();
    for (size_t i = 0; i < INGEST_PIPE_BATCHES; i++) {
        arena_init(&ing->batches[i].arena);
        ing->batches[i].e = xmalloc(INGEST_BATCH_MAX_ROWS * sizeof(struct entry));
    }
    ing->target_rows = INGEST_BATCH_MAX_ROWS / 4;
    if (worker_ns_per_row > 0) {
        double fit = 0.7 * (double)batch_max_ns() / worker_ns_per_row;
        ing->target_rows = fit < 100 ? 100 : fit > INGEST_BATCH_MAX_ROWS ? INGEST_BATCH_MAX_ROWS
                                                                       : (size_t)fit;
    }
    *out = ing;
}

void ingest_free(struct ingest *ing)
{
    if (!ing)
        return;
    if (ing->rate > 0)
        sb_gauge_add(SBG_INGEST_ROWS_RATE, -(int64_t)ing->rate);
    if (ing->limited)
        memory_limits(ing->db, false);
    for (size_t i = 0; i < INGEST_PIPE_BATCHES; i++) {
        arena_fini(&ing->batches[i].arena);
        free(ing->batches[i].e);
    }
    free(ing->idem_key);
    free(ing);
}

void ingest_set_hooks(struct ingest *ing, const struct ingest_hooks *h)
{
    ing->hooks = *h;
}

const char *ingest_token(const struct ingest *ing)
{
    return ing->token;
}

int64_t ingest_id(const struct ingest *ing)
{
    return ing->id;
}

struct ingest_totals ingest_totals(const struct ingest *ing)
{
    return ing->totals;
}

void ingest_checkpoint(const struct ingest *ing, uint64_t *offset, uint64_t *line)
{
    *offset = ing->parsed_offset;
    *line = ing->parsed_lines;
}

static int step_done(struct db *db, sqlite3_stmt *st, struct error *err, const char *what)
{
    int rc = sqlite3_step(st);
    db_done(db, st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, what);
}

int ingest_create(struct db *db, int64_t tenant_id, enum ingest_kind kind, const char *idem_key,
                  struct ingest **out, struct error *err)
{
    struct ingest *ing;
    uint8_t raw[16];
    int64_t now = time_now_ms();
    *out = NULL;
    ingest_new(db, tenant_id, &ing);
    ing->kind = kind;
    ing->idem_key = idem_key ? xstrdup(idem_key) : NULL;
    random_bytes(raw, sizeof(raw));
    memcpy(ing->token, "in_", 3);
    b64url_encode(raw, sizeof(raw), ing->token + 3);
    if (db_begin(db, err))
        goto fail;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_RUN_CREATE], err);
    if (!st)
        goto fail_txn;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, ing->token, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, kind);
    if (idem_key)
        sqlite3_bind_text(st, 4, idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, now + (kind == INGEST_UPLOAD ? UPLOAD_EXPIRY_MS
                                                            : INGEST_RESULT_RETENTION_MS));
    if (step_done(db, st, err, "ingest run"))
        goto fail_txn;
    ing->id = sqlite3_last_insert_rowid(db_handle(db));
    if (db_commit(db, err))
        goto fail;
    *out = ing;
    return 0;
fail_txn:
    db_rollback(db);
fail:
    ingest_free(ing);
    return -1;
}

/* Parse {"code": n, ...} as stored in error_counts back into by_code. */
static void counts_load(struct ingest *ing, const char *json)
{
    for (int c = 0; c < ERR__COUNT && json; c++) {
        char key[80];
        snprintf(key, sizeof(key), "\"%s\":", error_code_str((enum error_code)c));
        const char *p = strstr(json, key);
        if (p)
            ing->by_code[c] = strtoull(p + strlen(key), NULL, 10);
    }
}

int ingest_open(struct db *db, int64_t tenant_id, const char *token, size_t token_len,
                struct ingest **out, struct error *err)
{
    struct ingest *ing;
    *out = NULL;
    if (token_len != INGEST_TOKEN_LEN)
        return error_set(err, ERR_NOT_FOUND, "no such upload");
    ingest_new(db, tenant_id, &ing);
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_RUN_OPEN], err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, token, (int)token_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ing->id = sqlite3_column_int64(st, 0);
        ing->kind = sqlite3_column_int(st, 1);
        ing->state = sqlite3_column_int(st, 2);
        const unsigned char *k = sqlite3_column_text(st, 3);
        ing->idem_key = k ? xstrdup((const char *)k) : NULL;
        ing->totals.received = (uint64_t)sqlite3_column_int64(st, 4);
        ing->totals.inserted = (uint64_t)sqlite3_column_int64(st, 5);
        ing->totals.duplicate = (uint64_t)sqlite3_column_int64(st, 6);
        ing->totals.failed = (uint64_t)sqlite3_column_int64(st, 7);
        ing->errors_stored = (uint64_t)sqlite3_column_int64(st, 8);
        counts_load(ing, (const char *)sqlite3_column_text(st, 9));
        ing->processing_ms_base = sqlite3_column_int64(st, 10);
        ing->parsed_offset = (uint64_t)sqlite3_column_int64(st, 11);
        ing->parsed_lines = (uint64_t)sqlite3_column_int64(st, 12);
        memcpy(ing->token, token, token_len);
        ing->token[token_len] = '\0';
    }
    db_done(db, st);
    if (rc == SQLITE_DONE) {
        error_set(err, ERR_NOT_FOUND, "no such upload");
        goto fail;
    }
    if (rc != SQLITE_ROW) {
        db_fail(db, rc, err, "ingest run");
        goto fail;
    }
    *out = ing;
    return 0;
fail:
    ingest_free(ing);
    return -1;
}

static int64_t processing_ms(const struct ingest *ing)
{
    return ing->processing_ms_base + (time_mono_ns() - ing->t0_ns) / 1000000;
}

int ingest_finish(struct ingest *ing, enum ingest_state state, struct error *err)
{
    int64_t now = time_now_ms();
    if (db_begin(ing->db, err))
        return -1;
    sqlite3_stmt *st = db_stmt(ing->db, SQL[SQL_RUN_FINISH], err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, ing->id);
    sqlite3_bind_int(st, 2, state);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, now + INGEST_RESULT_RETENTION_MS);
    sqlite3_bind_int64(st, 5, processing_ms(ing));
    if (step_done(ing->db, st, err, "ingest finish"))
        goto fail;
    if (db_commit(ing->db, err))
        return -1;
    ing->state = state;
    ing->processing_ms_base = processing_ms(ing);
    ing->t0_ns = time_mono_ns();
    return 0;
fail:
    db_rollback(ing->db);
    return -1;
}

/* ======================== batches ======================== */

static void counts_json(const uint64_t *by_code, struct buf *out)
{
    buf_putc(out, '{');
    bool first = true;
    for (int c = 0; c < ERR__COUNT; c++) {
        if (!by_code[c])
            continue;
        if (!first)
            buf_putc(out, ',');
        first = false;
        buf_append_json_cstr(out, error_code_str((enum error_code)c));
        buf_putc(out, ':');
        buf_append_u64(out, by_code[c]);
    }
    buf_putc(out, '}');
}

static int error_insert(struct ingest *ing, const struct entry *e, enum error_code code,
                        const char *pointer, const char *detail, uint64_t seq, struct error *err)
{
    sqlite3_stmt *st = db_stmt(ing->db, SQL[SQL_ERROR_INSERT], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ing->id);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    if (e->part)
        sqlite3_bind_int(st, 3, e->part);
    sqlite3_bind_int64(st, 4, (int64_t)e->line);
    if (e->o.order_id.len)
        sqlite3_bind_text(st, 5, e->o.order_id.ptr, (int)e->o.order_id.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, error_code_str(code), -1, SQLITE_STATIC);
    if (pointer && *pointer)
        sqlite3_bind_text(st, 7, pointer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, detail, -1, SQLITE_STATIC);
    return step_done(ing->db, st, err, "ingest error");
}

/*
 * Write entries [from, bt->n) of a batch in one transaction, stopping early
 * when the batch has held the lock for INGEST_BATCH_MAX_MS. Returns the index
 * of the first entry not written, or -1. Writer side.
 */
static ssize_t flush_one(struct ingest *ing, const struct batch *bt, size_t from,
                         struct error *err)
{
    struct store_batch *b = NULL;
    struct ingest_totals d = {0};
    uint64_t by_code[ERR__COUNT] = {0};
    uint64_t stored = 0;
    struct buf counts = BUF_INIT;
    struct error rerr;
    size_t i = from;

    if (!ing->limited) {
        memory_limits(ing->db, true);
        ing->limited = true;
    }
    if (store_batch_begin(ing->db, ing->tenant_id, &b, err))
        return -1;
    /*
     * The clock starts with the lock held: the wait for it (another worker's
     * batch) is not this batch's cost. Counting it cut a batch that had
     * waited 40 ms after 10 ms of its own, and halved the per-row estimate's
     * batch size with two clients (1200 rows a batch instead of 1950).
     */
    int64_t t0 = time_mono_ns();
    store_batch_set_ingest(b, ing->id);
    store_batch_set_cache(b, cache_for(ing->tenant_id));
    while (i < bt->n) {
        const struct entry *e = &bt->e[i++];
        enum error_code code = e->code;
        const char *pointer = e->pointer, *detail = e->detail;
        d.received++;
        if (e->kind == ENTRY_ROW) {
            enum store_outcome oc;
            error_clear(&rerr);
            if (store_order(b, &e->o, &oc, &rerr)) {
                *err = rerr;
                goto fail;
            }
            if (oc == STORE_INSERTED) {
                d.inserted++;
                goto next;
            }
            if (oc == STORE_DUPLICATE) {
                d.duplicate++;
                goto next;
            }
            code = rerr.code;
            pointer = rerr.pointer;
            detail = rerr.detail;
        }
        d.failed++;
        by_code[code]++;
        if (ing->errors_stored + stored < INGEST_ERRORS_STORED_MAX) {
            stored++;
            if (error_insert(ing, e, code, pointer, detail, ing->errors_stored + stored, err))
                goto fail;
        }
    next:
        if (time_mono_ns() - t0 > batch_max_ns())
            break;
    }

    uint64_t all[ERR__COUNT];
    for (int c = 0; c < ERR__COUNT; c++)
        all[c] = ing->by_code[c] + by_code[c];
    counts_json(all, &counts);
    const struct entry *last = &bt->e[i - 1];
    sqlite3_stmt *st = db_stmt(ing->db, SQL[SQL_RUN_UPDATE], err);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, ing->id);
    sqlite3_bind_int64(st, 2, (int64_t)(ing->totals.received + d.received));
    sqlite3_bind_int64(st, 3, (int64_t)(ing->totals.inserted + d.inserted));
    sqlite3_bind_int64(st, 4, (int64_t)(ing->totals.duplicate + d.duplicate));
    sqlite3_bind_int64(st, 5, (int64_t)(ing->totals.failed + d.failed));
    sqlite3_bind_int64(st, 6, (int64_t)(ing->errors_stored + stored));
    sqlite3_bind_text(st, 7, counts.data, (int)counts.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, (int64_t)last->end_offset);
    sqlite3_bind_int64(st, 9, (int64_t)last->line);
    sqlite3_bind_int64(st, 10, processing_ms(ing));
    if (step_done(ing->db, st, err, "ingest progress"))
        goto fail;
    int rc = store_batch_commit(b, err);
    b = NULL;
    if (rc)
        goto fail;

    int64_t t1 = time_mono_ns();
    sb_observe(SBH_INGEST_BATCH, t1 - t0);
    /*
     * Size the next batches so they end before the time bound: a batch cut
     * by the clock is followed at once by another BEGIN, while a batch that
     * ends on its row count is followed by the parsing of the next one,
     * during which the write lock is free for other workers.
     */
    double per = (double)(t1 - t0) / (double)(i - from);
    worker_ns_per_row = worker_ns_per_row > 0 ? 0.7 * worker_ns_per_row + 0.3 * per : per;
    double fit = 0.7 * (double)batch_max_ns() / worker_ns_per_row;
    __atomic_store_n(&ing->target_rows,
                     fit < 100                          ? (size_t)100
                     : fit > INGEST_BATCH_MAX_ROWS ? (size_t)INGEST_BATCH_MAX_ROWS
                                                        : (size_t)fit,
                     __ATOMIC_RELAXED);
    sb_count(SBC_INGEST_ROWS_INSERTED, d.inserted);
    sb_count(SBC_INGEST_ROWS_DUP, d.duplicate);
    sb_count(SBC_INGEST_ROWS_FAILED, d.failed);
    ing->totals.received += d.received;
    ing->totals.inserted += d.inserted;
    ing->totals.duplicate += d.duplicate;
    ing->totals.failed += d.failed;
    ing->errors_stored += stored;
    memcpy(ing->by_code, all, sizeof(all));
    ing->parsed_offset = last->end_offset;
    ing->parsed_lines = last->line;

    /* Rows/s over this batch and the parse time before it (EWMA), as a gauge. */
    int64_t span = t1 - (ing->rate_t_ns ? ing->rate_t_ns : ing->t0_ns);
    if (span > 0) {
        double r = (double)d.received * 1e9 / (double)span;
        double next = ing->rate > 0 ? 0.7 * ing->rate + 0.3 * r : r;
        sb_gauge_add(SBG_INGEST_ROWS_RATE, (int64_t)next - (int64_t)ing->rate);
        ing->rate = next;
    }
    ing->rate_t_ns = t1;
    buf_fini(&counts);
    return (ssize_t)i;
fail:
    store_batch_abort(b);
    buf_fini(&counts);
    return -1;
}

/* Store one batch, in as many transactions as the time bound needs. Writer side. */
static int flush(struct ingest *ing, const struct batch *bt, struct error *err)
{
    size_t i = 0;
    while (i < bt->n) {
        ssize_t next = flush_one(ing, bt, i, err);
        if (next < 0)
            return -1;
        /* Cut by the clock: give waiting writers a moment before taking the lock again. */
        if ((size_t)next < bt->n) {
            db_bulk_pause(ing->db);
            usleep(INGEST_YIELD_MS * 1000);
        }
        i = (size_t)next;
        if (ing->hooks.between && ing->hooks.between(ing->hooks.ctx, err))
            return -1;
    }
    return 0;
}

/* Parse one line into the batch. Reader side; touches no database. */
static void add_line(struct ingest *ing, struct batch *bt, struct str line, bool too_long,
                     uint64_t line_no, uint64_t end_offset)
{
    struct entry *e = &bt->e[bt->n++];
    struct error perr;
    e->part = ing->part;
    e->line = line_no;
    e->end_offset = end_offset;
    bt->bytes += line.len;
    if (too_long) {
        memset(&e->o, 0, sizeof(e->o));
        e->kind = ENTRY_ERROR;
        e->code = ERR_LINE_TOO_LONG;
        e->pointer = "";
        e->detail = arena_sprintf(&bt->arena, "line is longer than %d bytes",
                                  INGEST_LINE_MAX_BYTES);
    } else if (order_parse(line.ptr, line.len, &bt->arena, &e->o, &perr)) {
        e->kind = ENTRY_ERROR;
        e->code = perr.code;
        e->pointer = arena_strndup(&bt->arena, perr.pointer, strlen(perr.pointer));
        e->detail = arena_strndup(&bt->arena, perr.detail, strlen(perr.detail));
    } else {
        e->kind = ENTRY_ROW;
    }
}

/* ======================== the pipeline ======================== */

/*
 * One request used one core of two: parsing and validating a line (jansson,
 * ~8 µs) and storing it (~14 µs) ran one after the other. ingest_lines()
 * therefore splits them. The calling thread (the reader) reads the source,
 * splits and parses lines into a batch and hands full batches to a store
 * thread (the writer), which owns the run's database connection until
 * ingest_lines() returns: it takes the write gate, stores, commits and runs
 * hooks.between, all on that one thread (the gate is a pthread mutex and the
 * connection is opened NOMUTEX, so begin, commit and rollback must stay on
 * one thread). The reader never touches the database while the writer runs.
 *
 *   reader: take a free batch ─▶ parse lines into it ─▶ queue it ─▶ ...
 *   writer: take a queued batch ─▶ BEGIN…COMMIT (≤ N rows, ≤ T ms) ─▶ free it
 *
 * INGEST_PIPE_BATCHES (2) batches exist per run, so at most that many are
 * parsed and not yet committed (one being filled, one queued or being
 * stored): memory stays bounded, and a reader ahead of the writer waits for
 * a free batch (backpressure reaches the client through the socket). Two
 * suffice because the writer is the slower side (~14 vs ~8 µs a row): when
 * it finishes a batch the next is already queued. A third batch cost 1.1 MiB
 * of RSS (X=10, 1 client: 32.4 vs 31.3 MiB peak growth, against a 32 MB
 * bound) for 66.4k vs 64.5k orders/s (medians of 3 alternated rounds, inside
 * the machine's noise).
 *
 * Ends: at the end of the input the reader queues its last batch and waits
 * for the writer to store everything queued. A source error (client gone,
 * corrupt gzip) drops the batch being filled, as the sequential code dropped
 * its pending rows, but the batches already queued are stored: they were
 * handed over, as a flush was. A writer error (database, a between hook)
 * stops the writer from storing anything more; the reader sees it at its next
 * hand-over and returns it. Either way ingest_lines() returns only after the
 * writer has stopped, so the committed counters and the checkpoint
 * (parsed_offset: a tus chunk is resumed from there, never applied twice)
 * are final when the caller reads them. A worker killed mid-run loses both
 * threads at once; SQLite rolls back the open batch and the gate passes on
 * (EOWNERDEAD).
 *
 * The writer runs its connection in bulk mode (db_bulk_begin, writegate.h):
 * two ingests in two workers take the write gate in slices of
 * WG_BULK_SLICE_MS instead of batch by batch, so each keeps its page cache
 * warm (another process's commit empties it); a small writer still gets in
 * after the current batch. A writer with nothing queued releases a kept gate
 * before it waits for the reader (db_bulk_pause), and before it sleeps after
 * a batch cut by the clock. 2 clients, 1 and 10 requests per tenant: 49-64k
 * and 55k → 72k and 68k orders/s (design.md §9).
 *
 * The writer thread blocks every signal (SIGTERM is the reader's business).
 * jansson's allocator is switched per line by order_parse() (a process-wide
 * setting), so the writer must not use jansson: it does not (store, run rows,
 * the idempotency lease are plain SQL).
 */
struct pipe {
    struct ingest *ing;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct batch *queued[INGEST_PIPE_BATCHES]; /* FIFO */
    size_t qhead, qn;
    struct batch *free[INGEST_PIPE_BATCHES];
    size_t nfree;
    bool done;   /* reader: nothing more will be queued */
    bool failed; /* writer: stopped on err */
    struct error err;
};

static void *writer_main(void *arg)
{
    struct pipe *p = arg;
    struct ingest *ing = p->ing;
    pthread_setname_np(pthread_self(), "cartograph-st"); /* the store thread, in top -H and perf */
    db_bulk_begin(ing->db);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->qn == 0 && !p->done)
            db_bulk_pause(ing->db); /* never wait for the reader holding the gate */
        while (p->qn == 0 && !p->done)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->qn == 0)
            break;
        struct batch *bt = p->queued[p->qhead];
        p->qhead = (p->qhead + 1) % INGEST_PIPE_BATCHES;
        p->qn--;
        bool skip = p->failed;
        pthread_mutex_unlock(&p->mu);
        struct error err;
        error_clear(&err);
        int rc = skip ? 0 : flush(ing, bt, &err);
        pthread_mutex_lock(&p->mu);
        if (rc && !p->failed) {
            p->failed = true;
            p->err = err;
        }
        p->free[p->nfree++] = bt;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    db_bulk_end(ing->db); /* the gate is this thread's to release */
    return NULL;
}

static int pipe_start(struct ingest *ing, struct pipe *p, pthread_t *th, struct error *err)
{
    sigset_t all, old;
    memset(p, 0, sizeof(*p));
    p->ing = ing;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (size_t i = 0; i < INGEST_PIPE_BATCHES; i++)
        p->free[p->nfree++] = &ing->batches[i];
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(th, NULL, writer_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        return error_set(err, ERR_INTERNAL, "cannot start the ingest store thread: %s",
                         strerror(rc));
    }
    return 0;
}

/* A free batch, emptied; NULL once the writer has failed. */
static struct batch *pipe_take(struct pipe *p)
{
    struct batch *bt = NULL;
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0 && !p->failed)
        pthread_cond_wait(&p->cv, &p->mu);
    if (!p->failed)
        bt = p->free[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    if (bt) {
        arena_reset(&bt->arena);
        bt->n = 0;
        bt->bytes = 0;
    }
    return bt;
}

/* Queue a batch for the writer (non-empty). -1 once the writer has failed. */
static int pipe_put(struct pipe *p, struct batch *bt)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    if (p->failed) {
        p->free[p->nfree++] = bt;
        rc = -1;
    } else {
        p->queued[(p->qhead + p->qn) % INGEST_PIPE_BATCHES] = bt;
        p->qn++;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* No more batches: wait for the writer to store what is queued and stop. -1: it failed. */
static int pipe_finish(struct pipe *p, pthread_t th, struct error *err)
{
    pthread_mutex_lock(&p->mu);
    p->done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(th, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    if (!p->failed)
        return 0;
    *err = p->err;
    return -1;
}

/* Pending strings above this size hand the batch over before the row limit. */
#define PENDING_ARENA_BYTES (4 * 1024 * 1024)

/*
 * The store thread idles until the first batch is parsed, and the reader
 * idles while the last one is stored, so a body of two or three batches
 * would overlap little. The first batch of each call is therefore small and
 * each next one twice as large, up to the adaptive target (first_rows() rows
 * first; CARTOGRAPH_INGEST_FIRST_ROWS=0 turns the ramp off for the A/B).
 */
static size_t first_rows(void)
{
    static long v = -1;
    if (v < 0) {
        const char *e = getenv("CARTOGRAPH_INGEST_FIRST_ROWS");
        v = e ? atol(e) : 250;
        if (v <= 0)
            v = INGEST_BATCH_MAX_ROWS;
    }
    return (size_t)v;
}

int ingest_lines(struct ingest *ing, struct source *src, uint64_t base_offset,
                 uint64_t base_line, bool final, struct error *err)
{
    struct ndjson r;
    struct str line;
    struct pipe p;
    pthread_t th;
    bool too_long, src_failed = false;
    int n = 0;
    if (pipe_start(ing, &p, &th, err))
        return -1;
    ndjson_init(&r, src, INGEST_LINE_MAX_BYTES, base_offset, base_line, !final);
    int64_t put_ns = time_mono_ns();
    size_t ramp = first_rows();
    struct batch *bt = pipe_take(&p);
    while (bt && (n = ndjson_next(&r, &line, &too_long)) == 1) {
        add_line(ing, bt, line, too_long, r.line_no, r.offset);
        /*
         * A slow sender still sees its rows committed (and the idempotency
         * lease renewed by the between hook) at least every INGEST_FLUSH_MAX_MS.
         */
        int64_t now = time_mono_ns();
        size_t target = __atomic_load_n(&ing->target_rows, __ATOMIC_RELAXED);
        if (bt->n >= (ramp < target ? ramp : target) || bt->bytes > PENDING_ARENA_BYTES ||
            now - put_ns > INGEST_FLUSH_MAX_MS * 1000000LL) {
            put_ns = now;
            if (ramp < INGEST_BATCH_MAX_ROWS)
                ramp *= 2;
            if (pipe_put(&p, bt))
                bt = NULL;
            else {
                if (ing->hooks.progress)
                    ing->hooks.progress(ing->hooks.ctx);
                bt = pipe_take(&p);
            }
        }
    }
    if (bt && n < 0) {
        src_failed = true;
        *err = src->error;
    } else if (bt && bt->n) {
        pipe_put(&p, bt); /* a failure is the writer's, reported by pipe_finish */
    } else if (bt) {
        pthread_mutex_lock(&p.mu);
        p.free[p.nfree++] = bt;
        pthread_mutex_unlock(&p.mu);
    }
    /* A writer failure wins over a source error: it is what stopped the rows. */
    struct error werr;
    int rc = pipe_finish(&p, th, &werr);
    if (rc)
        *err = werr;
    else if (src_failed)
        rc = -1;
    ndjson_fini(&r);
    return rc;
}

/* ======================== body decoding ======================== */

/* A source that replays its first bytes after they were looked at. */
struct peek {
    struct source src;
    struct source *in;
    unsigned char head[4];
    size_t n, pos;
};

static ssize_t peek_read(struct source *s, void *p, size_t n)
{
    struct peek *k = s->ctx;
    if (k->pos < k->n) {
        size_t c = k->n - k->pos < n ? k->n - k->pos : n;
        memcpy(p, k->head + k->pos, c);
        k->pos += c;
        return (ssize_t)c;
    }
    ssize_t r = source_read(k->in, p, n);
    if (r < 0)
        s->error = k->in->error;
    return r;
}

static int peek_init(struct peek *k, struct source *in, struct error *err)
{
    memset(k, 0, sizeof(*k));
    k->in = in;
    k->src.read = peek_read;
    k->src.ctx = k;
    error_clear(&k->src.error);
    while (k->n < sizeof(k->head)) {
        ssize_t r = source_read(in, k->head + k->n, sizeof(k->head) - k->n);
        if (r < 0) {
            *err = in->error;
            return -1;
        }
        if (r == 0)
            break;
        k->n += (size_t)r;
    }
    return 0;
}

static bool is_zip(const unsigned char *p, size_t n)
{
    return n >= 4 && p[0] == 'P' && p[1] == 'K' && p[2] == 3 && p[3] == 4;
}

static int feed(struct ingest *ing, struct source *in, bool allow_zip, struct error *err);

static int feed_zip(struct ingest *ing, struct source *in, struct error *err)
{
    struct zipread *z = NULL;
    struct zip_entry e;
    int rc = -1, n;
    if (zipread_open(in, &z, err))
        return -1;
    while ((n = zipread_next(z, &e, err)) == 1) {
        ing->part++;
        if (feed(ing, e.body, false, err))
            goto out;
    }
    rc = n;
out:
    zipread_free(z);
    return rc;
}

/* One file: gzip or zip by magic, else NDJSON. */
static int feed(struct ingest *ing, struct source *in, bool allow_zip, struct error *err)
{
    struct peek k;
    if (peek_init(&k, in, err))
        return -1;
    if (inflate_is_gzip(k.head, k.n)) {
        struct inflate_source *gz = xmalloc(sizeof(*gz));
        inflate_source_init(gz, &k.src);
        int rc = ingest_lines(ing, &gz->src, 0, 0, true, err);
        inflate_source_fini(gz);
        free(gz);
        return rc;
    }
    if (allow_zip && is_zip(k.head, k.n))
        return feed_zip(ing, &k.src, err);
    return ingest_lines(ing, &k.src, 0, 0, true, err);
}

static bool media_is(const char *ct, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(ct, want, n) == 0;
}

int ingest_body(struct ingest *ing, struct source *body, const char *content_type,
                const char *content_encoding, struct error *err)
{
    struct inflate_source *gz = NULL;
    struct source *in = body;
    int rc = -1;
    if (content_encoding && *content_encoding && strcasecmp(content_encoding, "identity") != 0) {
        if (strcasecmp(content_encoding, "gzip") != 0 && strcasecmp(content_encoding, "x-gzip"))
            return error_set_at(err, ERR_MEDIA_TYPE, "Content-Encoding",
                                "Content-Encoding %.40s is not supported; use gzip",
                                content_encoding);
        gz = xmalloc(sizeof(*gz));
        inflate_source_init(gz, body);
        in = &gz->src;
    }
    const char *ct = content_type ? content_type : "";
    size_t ctn = strcspn(ct, ";");
    while (ctn && (ct[ctn - 1] == ' ' || ct[ctn - 1] == '\t'))
        ctn--;
    if (media_is(ct, ctn, "multipart/form-data")) {
        struct multipart *m = NULL;
        struct multipart_part p;
        int n;
        if (multipart_open(in, content_type, &m, err))
            goto out;
        while ((n = multipart_next(m, &p, err)) == 1) {
            if (!p.is_file)
                continue; /* plain form fields carry no orders */
            ing->part++;
            if (feed(ing, p.body, true, err)) {
                multipart_free(m);
                goto out;
            }
        }
        multipart_free(m);
        rc = n;
        goto out;
    }
    if (ctn == 0 || media_is(ct, ctn, "application/x-ndjson") ||
        media_is(ct, ctn, "application/ndjson") || media_is(ct, ctn, "application/jsonl") ||
        media_is(ct, ctn, "application/json-seq") || media_is(ct, ctn, "text/plain") ||
        media_is(ct, ctn, "application/octet-stream") || media_is(ct, ctn, "application/gzip") ||
        media_is(ct, ctn, "application/x-gzip") || media_is(ct, ctn, "application/zip") ||
        media_is(ct, ctn, "application/x-zip-compressed")) {
        rc = feed(ing, in, true, err);
        goto out;
    }
    error_set_at(err, ERR_MEDIA_TYPE, "Content-Type",
                 "Content-Type %.*s is not supported; send application/x-ndjson, "
                 "application/gzip, application/zip or multipart/form-data",
                 (int)(ctn > 60 ? 60 : ctn), ct);
out:
    if (gz) {
        inflate_source_fini(gz);
        free(gz);
    }
    return rc;
}

/* ======================== summaries and error lists ======================== */

static void error_json(sqlite3_stmt *st, int col, struct buf *out)
{
    buf_puts(out, "{\"line\":");
    buf_append_i64(out, sqlite3_column_int64(st, col + 1));
    if (sqlite3_column_type(st, col) != SQLITE_NULL) {
        buf_puts(out, ",\"part\":");
        buf_append_i64(out, sqlite3_column_int64(st, col));
    }
    buf_puts(out, ",\"order_id\":");
    if (sqlite3_column_type(st, col + 2) == SQLITE_NULL)
        buf_puts(out, "null");
    else
        buf_append_json_str(out, (const char *)sqlite3_column_text(st, col + 2),
                            (size_t)sqlite3_column_bytes(st, col + 2));
    buf_puts(out, ",\"code\":");
    buf_append_json_cstr(out, (const char *)sqlite3_column_text(st, col + 3));
    buf_puts(out, ",\"pointer\":");
    buf_append_json_cstr(out, sqlite3_column_type(st, col + 4) == SQLITE_NULL
                                  ? ""
                                  : (const char *)sqlite3_column_text(st, col + 4));
    buf_puts(out, ",\"detail\":");
    buf_append_json_cstr(out, (const char *)sqlite3_column_text(st, col + 5));
    buf_putc(out, '}');
}

static const char *state_name(enum ingest_state s)
{
    switch (s) {
    case INGEST_RUNNING: return "running";
    case INGEST_COMPLETE: return "complete";
    case INGEST_FAILED: return "failed";
    case INGEST_TERMINATED: return "terminated";
    }
    return "unknown";
}

int ingest_summary_json(struct ingest *ing, struct buf *out, const char *extra,
                        struct error *err)
{
    buf_puts(out, "{\"ingest_id\":");
    buf_append_json_cstr(out, ing->token);
    buf_puts(out, ",\"state\":");
    buf_append_json_cstr(out, state_name(ing->state));
    buf_appendf(out,
                ",\"rows_received\":%llu,\"rows_inserted\":%llu,\"rows_duplicate\":%llu,"
                "\"rows_failed\":%llu,\"processing_time_ms\":%lld,\"idempotency_key\":",
                (unsigned long long)ing->totals.received, (unsigned long long)ing->totals.inserted,
                (unsigned long long)ing->totals.duplicate, (unsigned long long)ing->totals.failed,
                (long long)(ing->state == INGEST_RUNNING ? processing_ms(ing)
                                                         : ing->processing_ms_base));
    if (ing->idem_key)
        buf_append_json_cstr(out, ing->idem_key);
    else
        buf_puts(out, "null");
    buf_puts(out, ",\"errors\":[");
    sqlite3_stmt *st = db_stmt(ing->db, SQL[SQL_ERRORS_FIRST], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, ing->id);
    sqlite3_bind_int64(st, 2, 0);
    sqlite3_bind_int(st, 3, INGEST_ERRORS_INLINE_MAX);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++)
            buf_putc(out, ',');
        error_json(st, 0, out);
    }
    db_done(ing->db, st);
    if (rc != SQLITE_DONE)
        return db_fail(ing->db, rc, err, "ingest errors");
    buf_puts(out, "],\"errors_truncated\":");
    buf_puts(out, ing->totals.failed > (uint64_t)n ? "true" : "false");
    buf_puts(out, ",\"error_counts\":");
    counts_json(ing->by_code, out);
    if (ing->totals.failed) {
        buf_puts(out, ",\"errors_url\":\"/api/v1/ingest/orders/");
        buf_puts(out, ing->token);
        buf_puts(out, "/errors\"");
    }
    if (extra && *extra) {
        buf_putc(out, ',');
        buf_puts(out, extra);
    }
    buf_putc(out, '}');
    return 0;
}

int ingest_errors_ndjson(struct db *db, int64_t tenant_id, const char *token, size_t token_len,
                         struct sink *out, struct error *err)
{
    struct buf line = BUF_INIT;
    int64_t id = 0, seq = 0;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_RUN_BY_TOKEN], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, token, (int)token_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    db_done(db, st);
    if (rc == SQLITE_DONE)
        return error_set(err, ERR_NOT_FOUND, "no such ingest run");
    if (rc != SQLITE_ROW)
        return db_fail(db, rc, err, "ingest run");
    /* Keyset pages of 1000, each its own read statement: no long snapshot. */
    for (;;) {
        int rows = 0;
        st = db_stmt(db, SQL[SQL_ERRORS_PAGE], err);
        if (!st)
            goto fail;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, seq);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            seq = sqlite3_column_int64(st, 0);
            buf_reset(&line);
            error_json(st, 1, &line);
            buf_putc(&line, '\n');
            sink_write(out, line.data, line.len);
            rows++;
        }
        db_done(db, st);
        if (rc != SQLITE_DONE) {
            db_fail(db, rc, err, "ingest errors");
            goto fail;
        }
        if (rows < 1000 || out->err)
            break;
    }
    buf_fini(&line);
    return 0;
fail:
    buf_fini(&line);
    return -1;
}

int ingest_purge(struct db *db, int64_t now_ms, struct error *err)
{
    int64_t ids[50];
    int n = 0, rc;
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_PURGE_RUNS], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 50)
        ids[n++] = sqlite3_column_int64(st, 0);
    db_done(db, st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_fail(db, rc, err, "ingest purge");
    for (int i = 0; i < n; i++) {
        /* Errors go 5000 per transaction so the write lock is never held long. */
        for (;;) {
            if (db_begin(db, err))
                return -1;
            st = db_stmt(db, SQL[SQL_PURGE_ERRORS], err);
            if (!st)
                goto fail;
            sqlite3_bind_int64(st, 1, ids[i]);
            if (step_done(db, st, err, "ingest purge errors"))
                goto fail;
            int changed = sqlite3_changes(db_handle(db));
            if (changed == 0) {
                st = db_stmt(db, SQL[SQL_PURGE_RUN], err);
                if (!st)
                    goto fail;
                sqlite3_bind_int64(st, 1, ids[i]);
                if (step_done(db, st, err, "ingest purge run"))
                    goto fail;
            }
            if (db_commit(db, err))
                return -1;
            if (changed == 0)
                break;
        }
    }
    return n;
fail:
    db_rollback(db);
    return -1;
}
