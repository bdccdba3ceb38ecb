/*
 * test_ingest_pipeline.c: core/ingest.c's two-thread pipeline (the request
 * thread parses, a store thread commits) against a real database: counters
 * and checkpoints across many batches, a row error in the last batch, an
 * order id repeated across batches, a body cut mid-line and resumed from the
 * committed checkpoint (the tus case), a between hook that fails, and a
 * partial last line left for the next chunk.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "ingest.h"
#include "io.h"
#include "partition.h"
#include "tenant.h"
#include "ingest_fixture.h"

static void setup(void)
{
    ingest_fixture_open("pipe");
}

static void teardown(void)
{
    ingest_fixture_close();
}

TestSuite(pipeline, .init = setup, .fini = teardown);

static int64_t q(const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    int64_t v = -1;
    struct error err;
    cr_assert_eq(db_query_i64(db, sql, &v, &err), 0, "%s: %s", sql, err.detail);
    return v;
}

/* One valid order line; month spreads rows over partitions. */
static void good(struct buf *b, const char *id, int month)
{
    buf_appendf(b,
                "{\"order_id\":\"%s\",\"customer\":{\"id\":\"C-%d\",\"name\":\"N\","
                "\"email\":\"n@example.com\"},\"status\":\"paid\",\"currency\":\"EUR\","
                "\"created_at\":\"2025-%02d-01T12:00:00Z\",\"items\":[{\"product_id\":\"P-1\","
                "\"quantity\":2,\"unit_price\":\"1.50\"}],\"total\":\"3.00\"}\n",
                id, month, month);
}

/* A well-formed order whose total is off by one cent: total_mismatch. */
static void bad(struct buf *b, const char *id)
{
    buf_appendf(b,
                "{\"order_id\":\"%s\",\"customer\":{\"id\":\"C-1\",\"name\":\"N\","
                "\"email\":\"n@example.com\"},\"status\":\"paid\",\"currency\":\"EUR\","
                "\"created_at\":\"2025-03-01T12:00:00Z\",\"items\":[{\"product_id\":\"P-1\","
                "\"quantity\":2,\"unit_price\":\"1.50\"}],\"total\":\"3.01\"}\n",
                id);
}

/* n lines; every 997th and the last are bad. Returns the number of bad lines. */
static int body(struct buf *b, int n, const char *prefix)
{
    char id[32];
    int nbad = 0;
    for (int i = 1; i <= n; i++) {
        snprintf(id, sizeof(id), "%s-%06d", prefix, i);
        if (i % 997 == 0 || i == n) {
            bad(b, id);
            nbad++;
        } else {
            good(b, id, 1 + i % 12);
        }
    }
    return nbad;
}

/* A source over memory that fails (client gone) after cut bytes. */
struct cut_source {
    struct source src;
    const char *p;
    size_t n, pos, cut, step;
};

static ssize_t cut_read(struct source *s, void *p, size_t n)
{
    struct cut_source *c = s->ctx;
    if (c->pos >= c->cut && c->cut < c->n) {
        s->err = 1;
        error_set(&s->error, ERR_BAD_REQUEST, "client went away");
        return -1;
    }
    size_t end = c->cut < c->n ? c->cut : c->n;
    size_t k = end - c->pos;
    if (k > n)
        k = n;
    if (k > c->step)
        k = c->step;
    memcpy(p, c->p + c->pos, k);
    c->pos += k;
    return (ssize_t)k;
}

static void cut_init(struct cut_source *c, const struct buf *b, size_t cut)
{
    memset(c, 0, sizeof(*c));
    c->src.read = cut_read;
    c->src.ctx = c;
    c->p = b->data;
    c->n = b->len;
    c->cut = cut;
    c->step = 7000;
    error_clear(&c->src.error);
}

/* The run row agrees with the in-memory totals and the tables. */
static void check_run(struct ingest *ing)
{
    struct ingest_totals t = ingest_totals(ing);
    int64_t id = ingest_id(ing);
    cr_assert_eq(q("SELECT rows_received FROM ingest_runs WHERE id = %lld", (long long)id),
                 (int64_t)t.received);
    cr_assert_eq(q("SELECT rows_inserted FROM ingest_runs WHERE id = %lld", (long long)id),
                 (int64_t)t.inserted);
    cr_assert_eq(q("SELECT rows_failed FROM ingest_runs WHERE id = %lld", (long long)id),
                 (int64_t)t.failed);
    cr_assert_eq(q("SELECT count(*) FROM ingest_errors WHERE ingest_id = %lld", (long long)id),
                 (int64_t)t.failed);
    cr_assert_eq(q("SELECT count(*) FROM order_keys WHERE tenant_id = %lld", (long long)tenant),
                 (int64_t)(t.inserted));
}

Test(pipeline, many_batches_count_exactly_and_the_last_row_error_is_kept)
{
    struct buf b = BUF_INIT;
    struct ingest *ing;
    struct error err;
    struct cut_source c;
    int n = 6000, nbad = body(&b, n, "A");
    cut_init(&c, &b, b.len);
    cr_assert_eq(ingest_create(db, tenant, INGEST_REQUEST, NULL, &ing, &err), 0, "%s", err.detail);
    cr_assert_eq(ingest_body(ing, &c.src, "application/x-ndjson", NULL, &err), 0, "%s",
                 err.detail);
    struct ingest_totals t = ingest_totals(ing);
    cr_assert_eq(t.received, (uint64_t)n);
    cr_assert_eq(t.failed, (uint64_t)nbad);
    cr_assert_eq(t.inserted, (uint64_t)(n - nbad));
    check_run(ing);
    uint64_t off, line;
    ingest_checkpoint(ing, &off, &line);
    cr_assert_eq(off, b.len);
    cr_assert_eq(line, (uint64_t)n);
    /* Errors in input order, the last line among them, with its line number. */
    int64_t id = ingest_id(ing);
    cr_assert_eq(q("SELECT line FROM ingest_errors WHERE ingest_id = %lld ORDER BY seq DESC "
                   "LIMIT 1",
                   (long long)id),
                 n);
    cr_assert_eq(q("SELECT line FROM ingest_errors WHERE ingest_id = %lld ORDER BY seq LIMIT 1",
                   (long long)id),
                 997);
    cr_assert_eq(q("SELECT count(*) FROM (SELECT seq, line, lag(line) OVER (ORDER BY seq) AS p "
                   "FROM ingest_errors WHERE ingest_id = %lld) WHERE p >= line",
                   (long long)id),
                 0);
    cr_assert_eq(ingest_finish(ing, INGEST_COMPLETE, &err), 0, "%s", err.detail);
    ingest_free(ing);
    buf_fini(&b);
}

Test(pipeline, an_order_id_repeated_in_a_later_batch_is_duplicate_in_request)
{
    struct buf b = BUF_INIT;
    struct ingest *ing;
    struct error err;
    struct cut_source c;
    char id[32];
    for (int i = 1; i <= 4000; i++) {
        snprintf(id, sizeof(id), "B-%06d", i);
        good(&b, id, 5);
    }
    good(&b, "B-000001", 6); /* thousands of rows, so batches, after the first sighting */
    cut_init(&c, &b, b.len);
    cr_assert_eq(ingest_create(db, tenant, INGEST_REQUEST, NULL, &ing, &err), 0, "%s", err.detail);
    cr_assert_eq(ingest_body(ing, &c.src, NULL, NULL, &err), 0, "%s", err.detail);
    struct ingest_totals t = ingest_totals(ing);
    cr_assert_eq(t.inserted, 4000u);
    cr_assert_eq(t.failed, 1u);
    cr_assert_eq(t.duplicate, 0u);
    cr_assert_eq(q("SELECT count(*) FROM ingest_errors WHERE ingest_id = %lld AND "
                   "code = 'duplicate_in_request' AND line = 4001",
                   (long long)ingest_id(ing)),
                 1);
    check_run(ing);
    ingest_free(ing);
    buf_fini(&b);
}

Test(pipeline, a_body_cut_mid_line_resumes_from_the_committed_checkpoint)
{
    struct buf b = BUF_INIT;
    struct ingest *ing;
    struct error err;
    struct cut_source c;
    int n = 5000, nbad = body(&b, n, "C");
    size_t cut = b.len * 3 / 5 + 17; /* inside a line */
    cut_init(&c, &b, cut);
    cr_assert_eq(ingest_create(db, tenant, INGEST_UPLOAD, NULL, &ing, &err), 0, "%s", err.detail);
    cr_assert_eq(ingest_lines(ing, &c.src, 0, 0, false, &err), -1);
    cr_assert_str_eq(err.detail, "client went away");
    uint64_t off, line;
    ingest_checkpoint(ing, &off, &line);
    struct ingest_totals t = ingest_totals(ing);
    cr_assert_leq(off, cut);
    cr_assert(off == 0 || b.data[off - 1] == '\n', "checkpoint %llu not after a newline",
              (unsigned long long)off);
    cr_assert_eq(t.received, line);
    check_run(ing);
    /* What a later PATCH does: reopen the run, parse from its committed offset. */
    ingest_free(ing);
    cr_assert_eq(q("SELECT parsed_offset FROM ingest_runs"), (int64_t)off);
    struct ingest *again;
    char token[INGEST_TOKEN_LEN + 1];
    int64_t rid = q("SELECT id FROM ingest_runs");
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db_handle(db), "SELECT token FROM ingest_runs", -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    snprintf(token, sizeof(token), "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    cr_assert_eq(ingest_open(db, tenant, token, strlen(token), &again, &err), 0, "%s",
                 err.detail);
    cr_assert_eq(ingest_id(again), rid);
    struct cut_source rest;
    cut_init(&rest, &b, b.len);
    rest.pos = off;
    cr_assert_eq(ingest_lines(again, &rest.src, off, line, true, &err), 0, "%s", err.detail);
    t = ingest_totals(again);
    cr_assert_eq(t.received, (uint64_t)n);
    cr_assert_eq(t.inserted, (uint64_t)(n - nbad), "no row applied twice, none lost");
    cr_assert_eq(t.duplicate, 0u);
    cr_assert_eq(t.failed, (uint64_t)nbad);
    check_run(again);
    ingest_free(again);
    buf_fini(&b);
}

static int fail_second(void *ctx, struct error *err)
{
    int *calls = ctx;
    if (++*calls == 2)
        return error_set(err, ERR_INTERNAL, "lease lost");
    return 0;
}

Test(pipeline, a_failing_between_hook_stops_the_run_with_its_error)
{
    struct buf b = BUF_INIT;
    struct ingest *ing;
    struct error err;
    struct cut_source c;
    int calls = 0;
    body(&b, 8000, "D");
    cut_init(&c, &b, b.len);
    cr_assert_eq(ingest_create(db, tenant, INGEST_REQUEST, NULL, &ing, &err), 0, "%s", err.detail);
    struct ingest_hooks h = {fail_second, NULL, &calls};
    ingest_set_hooks(ing, &h);
    cr_assert_eq(ingest_body(ing, &c.src, NULL, NULL, &err), -1);
    cr_assert_str_eq(err.detail, "lease lost");
    cr_assert_eq(calls, 2, "no batch stored after the failure");
    struct ingest_totals t = ingest_totals(ing);
    cr_assert_gt(t.received, 0u);
    cr_assert_lt(t.received, 8000u);
    check_run(ing);
    ingest_free(ing);
    buf_fini(&b);
}

Test(pipeline, a_partial_last_line_waits_for_the_next_chunk)
{
    struct buf b = BUF_INIT;
    struct ingest *ing;
    struct error err;
    struct cut_source c;
    good(&b, "E-1", 1);
    good(&b, "E-2", 2);
    size_t whole = b.len;
    good(&b, "E-3", 3);
    b.len -= 10; /* the third line without its end */
    cut_init(&c, &b, b.len);
    cr_assert_eq(ingest_create(db, tenant, INGEST_UPLOAD, NULL, &ing, &err), 0, "%s", err.detail);
    cr_assert_eq(ingest_lines(ing, &c.src, 0, 0, false, &err), 0, "%s", err.detail);
    uint64_t off, line;
    ingest_checkpoint(ing, &off, &line);
    cr_assert_eq(off, whole);
    cr_assert_eq(line, 2u);
    cr_assert_eq(ingest_totals(ing).inserted, 2u);
    check_run(ing);
    ingest_free(ing);
    buf_fini(&b);
}

static int count_calls(void *ctx, struct error *err)
{
    (void)err;
    ++*(int *)ctx;
    return 0;
}

/*
 * Regression: the first batches of a call grow (250, 500, ...) up to the
 * adaptive target; the growth once doubled without a cap, wrapped to 0 after
 * 64 hand-overs and made every later batch one row (6x slower end to end).
 * With 1 ms batches the target is its floor of 100 rows, so 12,000 rows are
 * ~120 batches (more transactions when the clock cuts them), not thousands.
 */
Test(pipeline, batch_sizes_stay_bounded_below_after_many_batches)
{
    struct buf b = BUF_INIT;
    struct ingest *ing;
    struct error err;
    struct cut_source c;
    int calls = 0;
    setenv("CARTOGRAPH_INGEST_BATCH_MS", "1", 1);
    body(&b, 12000, "F");
    cut_init(&c, &b, b.len);
    cr_assert_eq(ingest_create(db, tenant, INGEST_REQUEST, NULL, &ing, &err), 0, "%s", err.detail);
    struct ingest_hooks h = {count_calls, NULL, &calls};
    ingest_set_hooks(ing, &h);
    cr_assert_eq(ingest_body(ing, &c.src, NULL, NULL, &err), 0, "%s", err.detail);
    cr_assert_eq(ingest_totals(ing).received, 12000u);
    cr_assert_lt(calls, 1500, "%d transactions for 12,000 rows", calls);
    check_run(ing);
    ingest_free(ing);
    buf_fini(&b);
}
