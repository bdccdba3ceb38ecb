/*
 * stock.c: stock bulk updates (see stock.h for the contract).
 *
 * Memory: events are kept compact (struct ev, 72 bytes) with their strings
 * (event id, source, metadata) appended to one byte buffer and addressed by
 * offset, and products in an open-addressing hash on the client id; 100k
 * events cost about 12 MB whatever the body encoding. JSON is decoded one
 * event at a time (jansson, then released), so a 64 MiB NDJSON body never
 * exists as a tree.
 *
 * Writes per applied event: one insert into the event-id registry
 * (stock_event_keys, ON CONFLICT DO NOTHING: no row changed = duplicate) and
 * one into the event's month partition; per product one stock_levels upsert.
 * The duplicate check and the application happen in the same savepoint, so an
 * id is registered iff its event is applied.
 *
 * Commit groups: products in order of first appearance, whole products per
 * group, a group closes at STOCK_GROUP_EVENTS events or STOCK_GROUP_MAX_MS.
 * A request with at most STOCK_GROUP_EVENTS events is always one group.
 */
#include "stock.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "catalog.h"
#include "partition.h"
#include "scoreboard.h"
#include "timefmt.h"
#include "xmalloc.h"

enum {
    SQL_SAVEPOINT,
    SQL_RELEASE,
    SQL_ROLLBACK_TO,
    SQL_LEVEL_GET,
    SQL_LEVEL_PUT,
    SQL_KEY_INSERT,
    SQL_LOCK_ANY,
    SQL_LOCK_HELD,
    SQL_LOCK_TAKE,
    SQL_LOCK_RENEW,
    SQL_LOCK_RELEASE,
};

static const char *const SQL[] = {
    [SQL_SAVEPOINT] = "SAVEPOINT stock_product",
    [SQL_RELEASE] = "RELEASE stock_product",
    [SQL_ROLLBACK_TO] = "ROLLBACK TO stock_product",
    [SQL_LEVEL_GET] = "SELECT quantity, version, last_event_time FROM stock_levels "
                      "WHERE product_id = ?1",
    [SQL_LEVEL_PUT] = "INSERT INTO stock_levels(product_id, tenant_id, quantity, version, "
                      "last_event_time, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                      "ON CONFLICT(product_id) DO UPDATE SET quantity = excluded.quantity, "
                      "version = excluded.version, last_event_time = excluded.last_event_time, "
                      "updated_at = excluded.updated_at",
    [SQL_KEY_INSERT] = "INSERT INTO stock_event_keys(tenant_id, event_id, product_id, month) "
                       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(tenant_id, event_id) DO NOTHING",
    [SQL_LOCK_ANY] = "SELECT 1 FROM locks WHERE name > ?1 AND name < ?2 AND lease_until >= ?3 "
                     "LIMIT 1",
    [SQL_LOCK_HELD] = "SELECT 1 FROM locks WHERE name = ?1 AND lease_until >= ?2",
    [SQL_LOCK_TAKE] = "INSERT INTO locks(name, owner, lease_until) VALUES (?1, ?2, ?3) "
                      "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, "
                      "lease_until = excluded.lease_until "
                      "WHERE locks.lease_until < ?4 OR locks.owner = excluded.owner",
    [SQL_LOCK_RENEW] = "UPDATE locks SET lease_until = ?3 WHERE name = ?1 AND owner = ?2",
    [SQL_LOCK_RELEASE] = "DELETE FROM locks WHERE name = ?1 AND owner = ?2",
};

/* ======================== request representation ======================== */

enum ev_kind { KIND_DELTA = 0, KIND_ABSOLUTE = 1 };

struct ev {
    uint32_t product;  /* index into prods */
    uint32_t seq;      /* position in the request */
    uint8_t mode;      /* enum stock_mode */
    uint8_t kind;      /* enum ev_kind */
    bool has_expected;
    int64_t value;     /* delta or absolute quantity */
    int64_t time_ms;
    int64_t expected_version;
    uint32_t id_off, id_len, src_off, src_len, meta_off, meta_len;
};

enum prod_status { PROD_PENDING = 0, PROD_APPLIED, PROD_REJECTED };

#define STALE_IDS_SHOWN 10

struct prod {
    uint32_t ext_off, ext_len;
    uint32_t nev;
    uint32_t first; /* index into order[] after grouping */
    /* outcome */
    uint8_t status;
    const char *reason; /* static string or NULL */
    int64_t quantity, version;
    uint32_t applied, duplicate, stale;
    uint32_t culprit;    /* event index behind a rejection, UINT32_MAX if none */
    int64_t expected;    /* version_conflict: the version the event expected */
    uint32_t stale_ids[STALE_IDS_SHOWN];
};

struct bad {
    size_t index;
    char event_id[EVENT_ID_MAX_BYTES + 1];
    char pointer[64];
    enum error_code code;
    char detail[160];
};

struct stock_request {
    enum stock_mode mode;
    bool allow_negative;
    struct buf strs; /* all strings, addressed by offset */
    struct ev *evs;
    size_t nev, cap_ev;
    struct prod *prods;
    size_t nprod, cap_prod;
    uint32_t *slots; /* hash: product index + 1, 0 = empty */
    size_t nslots;
    uint32_t *order; /* event indices grouped by product */
    struct bad *bad;
    size_t nbad, nbad_total;
    /* summary */
    size_t groups;
    int64_t elapsed_ms;
    int64_t lock_wait_ms;
    int64_t max_group_ms;  /* longest commit group, lock taken to COMMIT issued */
    int64_t max_commit_ms; /* longest COMMIT */
    bool locked; /* took advisory locks */
};

int stock_mode_parse(const char *s, size_t n, enum stock_mode *out)
{
    static const char *const names[] = {"merge", "last_write_wins", "reject"};
    for (int i = 0; i < 3; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) {
            *out = (enum stock_mode)i;
            return 0;
        }
    return -1;
}

const char *stock_mode_name(enum stock_mode m)
{
    return m == STOCK_MERGE ? "merge" : m == STOCK_LWW ? "last_write_wins" : "reject";
}

struct stock_request *stock_request_new(enum stock_mode mode, bool allow_negative)
{
    struct stock_request *r = xcalloc(1, sizeof(*r));
    r->mode = mode;
    r->allow_negative = allow_negative;
    buf_init(&r->strs);
    r->nslots = 1024;
    r->slots = xcalloc(r->nslots, sizeof(*r->slots));
    return r;
}

void stock_request_free(struct stock_request *r)
{
    if (!r)
        return;
    buf_fini(&r->strs);
    free(r->evs);
    free(r->prods);
    free(r->slots);
    free(r->order);
    free(r->bad);
    free(r);
}

enum stock_mode stock_request_mode(const struct stock_request *r)
{
    return r->mode;
}

size_t stock_request_invalid(const struct stock_request *r)
{
    return r->nbad_total;
}

size_t stock_request_events(const struct stock_request *r)
{
    return r->nev;
}

static uint32_t str_put(struct stock_request *r, const char *s, size_t n)
{
    uint32_t off = (uint32_t)r->strs.len;
    buf_append(&r->strs, s, n);
    return off;
}

static const char *str_at(const struct stock_request *r, uint32_t off)
{
    return r->strs.data + off;
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void rehash(struct stock_request *r)
{
    size_t n = r->nslots * 2;
    uint32_t *s = xcalloc(n, sizeof(*s));
    for (size_t i = 0; i < r->nprod; i++) {
        struct prod *p = &r->prods[i];
        size_t j = fnv1a(str_at(r, p->ext_off), p->ext_len) & (n - 1);
        while (s[j])
            j = (j + 1) & (n - 1);
        s[j] = (uint32_t)i + 1;
    }
    free(r->slots);
    r->slots = s;
    r->nslots = n;
}

/* Index of the product with this client id, added if new. */
static uint32_t prod_intern(struct stock_request *r, const char *id, size_t n)
{
    if ((r->nprod + 1) * 2 > r->nslots)
        rehash(r);
    size_t j = fnv1a(id, n) & (r->nslots - 1);
    while (r->slots[j]) {
        struct prod *p = &r->prods[r->slots[j] - 1];
        if (p->ext_len == n && memcmp(str_at(r, p->ext_off), id, n) == 0)
            return r->slots[j] - 1;
        j = (j + 1) & (r->nslots - 1);
    }
    if (r->nprod == r->cap_prod) {
        r->cap_prod = r->cap_prod ? r->cap_prod * 2 : 64;
        r->prods = xrealloc(r->prods, r->cap_prod * sizeof(*r->prods));
    }
    struct prod *p = &r->prods[r->nprod];
    memset(p, 0, sizeof(*p));
    p->ext_off = str_put(r, id, n);
    p->ext_len = (uint32_t)n;
    p->culprit = UINT32_MAX;
    r->slots[j] = (uint32_t)r->nprod + 1;
    return (uint32_t)r->nprod++;
}

/* ======================== parsing and validation ======================== */

static void bad_add(struct stock_request *r, size_t index, json_t *ev, const char *member,
                    enum error_code code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void bad_add(struct stock_request *r, size_t index, json_t *ev, const char *member,
                    enum error_code code, const char *fmt, ...)
{
    r->nbad_total++;
    if (r->nbad >= STOCK_ERRORS_MAX)
        return;
    if (!r->bad)
        r->bad = xcalloc(STOCK_ERRORS_MAX, sizeof(*r->bad));
    struct bad *b = &r->bad[r->nbad++];
    b->index = index;
    b->code = code;
    json_t *id = ev ? json_object_get(ev, "event_id") : NULL;
    b->event_id[0] = '\0';
    if (id && json_is_string(id) && json_string_length(id) <= EVENT_ID_MAX_BYTES)
        snprintf(b->event_id, sizeof(b->event_id), "%s", json_string_value(id));
    snprintf(b->pointer, sizeof(b->pointer), "%s%s", member ? "/" : "", member ? member : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->detail, sizeof(b->detail), fmt, ap);
    va_end(ap);
}

/* A string member as (ptr, len); required or optional. 0 ok, -1 recorded as bad. */
static int get_str(struct stock_request *r, size_t index, json_t *ev, const char *name,
                   size_t max, bool required, bool id_rules, const char **s, size_t *n)
{
    json_t *v = json_object_get(ev, name);
    *s = NULL;
    *n = 0;
    if (!v || json_is_null(v)) {
        if (required) {
            bad_add(r, index, ev, name, ERR_MISSING_FIELD, "%s is required", name);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        bad_add(r, index, ev, name, ERR_INVALID_FIELD, "%s must be a string", name);
        return -1;
    }
    *s = json_string_value(v);
    *n = json_string_length(v);
    bool ok = id_rules ? catalog_ext_id_valid(*s, *n, max)
                       : (*n <= max && memchr(*s, '\0', *n) == NULL);
    if (!ok) {
        bad_add(r, index, ev, name, ERR_INVALID_FIELD,
                "%s must be 1-%zu bytes of text without control characters", name, max);
        return -1;
    }
    return 0;
}

static int get_int(struct stock_request *r, size_t index, json_t *ev, const char *name,
                   int64_t lo, int64_t hi, bool *present, int64_t *out)
{
    json_t *v = json_object_get(ev, name);
    *present = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        bad_add(r, index, ev, name, ERR_INVALID_FIELD, "%s must be an integer in [%lld, %lld]",
                name, (long long)lo, (long long)hi);
        return -1;
    }
    *present = true;
    *out = json_integer_value(v);
    return 0;
}

/* Validate one event object and append it. Returns -1 only when the request is over its cap. */
static int add_event(struct stock_request *r, json_t *ev, size_t index, struct error *err)
{
    const char *id, *pid, *src, *mode_s, *time_s;
    size_t id_len, pid_len, src_len, mode_len, time_len;
    bool has_delta, has_qty, has_exp;
    int64_t delta = 0, qty = 0, expv = 0, time_ms = 0;
    enum stock_mode mode = r->mode;
    char *meta = NULL;
    size_t bad_before = r->nbad_total;

    if (r->nev >= STOCK_REQUEST_EVENTS_MAX)
        return error_set(err, ERR_TOO_MANY_EVENTS, "more than %d events in one request",
                         STOCK_REQUEST_EVENTS_MAX);
    if (!json_is_object(ev)) {
        bad_add(r, index, NULL, NULL, ERR_INVALID_FIELD, "an event must be a JSON object");
        return 0;
    }
    get_str(r, index, ev, "event_id", EVENT_ID_MAX_BYTES, true, true, &id, &id_len);
    get_str(r, index, ev, "product_id", PRODUCT_ID_MAX_BYTES, true, true, &pid, &pid_len);
    get_str(r, index, ev, "source", SOURCE_MAX_BYTES, false, false, &src, &src_len);
    if (get_str(r, index, ev, "mode", 32, false, false, &mode_s, &mode_len) == 0 && mode_s &&
        stock_mode_parse(mode_s, mode_len, &mode))
        bad_add(r, index, ev, "mode", ERR_INVALID_FIELD,
                "mode must be merge, last_write_wins or reject");
    get_int(r, index, ev, "delta", -STOCK_QUANTITY_MAX, STOCK_QUANTITY_MAX, &has_delta, &delta);
    get_int(r, index, ev, "quantity", -STOCK_QUANTITY_MAX, STOCK_QUANTITY_MAX, &has_qty, &qty);
    get_int(r, index, ev, "expected_version", 0, INT64_MAX, &has_exp, &expv);
    if (get_str(r, index, ev, "event_time", 64, true, false, &time_s, &time_len) == 0 &&
        rfc3339_parse_ms(time_s, time_len, &time_ms))
        bad_add(r, index, ev, "event_time", ERR_INVALID_FIELD,
                "event_time must be an RFC 3339 timestamp");
    if (has_delta && has_qty)
        bad_add(r, index, ev, "quantity", ERR_INVALID_FIELD,
                "give either delta or quantity, not both");
    else if (!has_delta && !has_qty && !json_object_get(ev, "delta") &&
             !json_object_get(ev, "quantity"))
        bad_add(r, index, ev, "delta", ERR_MISSING_FIELD, "delta or quantity is required");
    else if (mode == STOCK_MERGE && !has_delta && has_qty)
        bad_add(r, index, ev, "delta", ERR_INVALID_FIELD, "merge mode adds a delta");
    else if (mode == STOCK_LWW && !has_qty && has_delta)
        bad_add(r, index, ev, "quantity", ERR_INVALID_FIELD,
                "last_write_wins sets an absolute quantity");
    if (mode == STOCK_REJECT && !has_exp)
        bad_add(r, index, ev, "expected_version", ERR_MISSING_FIELD,
                "reject mode needs expected_version");
    json_t *m = json_object_get(ev, "metadata");
    if (m && !json_is_null(m)) {
        if (!json_is_object(m)) {
            bad_add(r, index, ev, "metadata", ERR_INVALID_FIELD, "metadata must be an object");
        } else {
            meta = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
            if (!meta || strlen(meta) > METADATA_MAX_BYTES)
                bad_add(r, index, ev, "metadata", ERR_INVALID_FIELD,
                        "metadata is larger than %d bytes", METADATA_MAX_BYTES);
        }
    }
    if (r->nbad_total != bad_before) {
        free(meta);
        return 0;
    }
    if (r->nev == r->cap_ev) {
        r->cap_ev = r->cap_ev ? r->cap_ev * 2 : 256;
        r->evs = xrealloc(r->evs, r->cap_ev * sizeof(*r->evs));
    }
    struct ev *e = &r->evs[r->nev];
    e->product = prod_intern(r, pid, pid_len);
    e->seq = (uint32_t)r->nev;
    e->mode = (uint8_t)mode;
    e->kind = has_delta ? KIND_DELTA : KIND_ABSOLUTE;
    e->value = has_delta ? delta : qty;
    e->time_ms = time_ms;
    e->has_expected = has_exp;
    e->expected_version = expv;
    e->id_off = str_put(r, id, id_len);
    e->id_len = (uint32_t)id_len;
    e->src_off = src ? str_put(r, src, src_len) : 0;
    e->src_len = src ? (uint32_t)src_len : UINT32_MAX;
    size_t ml = meta ? strlen(meta) : 0;
    e->meta_off = meta ? str_put(r, meta, ml) : 0;
    e->meta_len = meta ? (uint32_t)ml : UINT32_MAX;
    r->prods[e->product].nev++;
    r->nev++;
    free(meta);
    return 0;
}

static int add_line(struct stock_request *r, const char *p, size_t n, size_t index,
                    struct error *err)
{
    json_error_t je;
    while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i == n)
        return 0; /* blank line */
    if (!utf8_valid(p + i, n - i)) {
        bad_add(r, index, NULL, NULL, ERR_INVALID_UTF8, "line is not valid UTF-8");
        return 0;
    }
    json_t *j = json_loadb(p + i, n - i, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        bad_add(r, index, NULL, NULL, ERR_INVALID_JSON, "invalid JSON at column %d: %s",
                je.column, je.text);
        return 0;
    }
    int rc = add_event(r, j, index, err);
    json_decref(j);
    return rc;
}

int stock_request_parse_ndjson(struct stock_request *r, struct source *src, struct error *err)
{
    struct buf in = BUF_INIT;
    size_t line = 0, start = 0, scanned = 0;
    int rc = -1;
    for (;;) {
        char *nl = in.len > scanned ? memchr(in.data + scanned, '\n', in.len - scanned) : NULL;
        if (nl) {
            size_t end = (size_t)(nl - in.data);
            if (add_line(r, in.data + start, end - start, ++line, err))
                goto out;
            start = scanned = end + 1;
            continue;
        }
        scanned = in.len;
        if (in.len - start > STOCK_LINE_MAX_BYTES) {
            error_set(err, ERR_BODY_TOO_LARGE, "line %zu is longer than %d bytes", line + 1,
                      STOCK_LINE_MAX_BYTES);
            goto out;
        }
        if (start > 0) {
            buf_consume(&in, start);
            scanned -= start;
            start = 0;
        }
        char *dst = buf_reserve(&in, 65536);
        ssize_t got = source_read(src, dst, 65536);
        if (got < 0) {
            *err = src->error;
            goto out;
        }
        if (got == 0)
            break;
        buf_commit(&in, (size_t)got);
    }
    if (in.len > start && add_line(r, in.data + start, in.len - start, ++line, err))
        goto out;
    if (r->nev == 0 && r->nbad_total == 0) {
        error_set(err, ERR_EMPTY_BODY, "no events in the request body");
        goto out;
    }
    rc = 0;
out:
    buf_fini(&in);
    return rc;
}

int stock_request_parse_json(struct stock_request *r, const char *body, size_t len,
                             struct error *err)
{
    json_error_t je;
    int rc = -1;
    if (!utf8_valid(body, len))
        return error_set(err, ERR_INVALID_UTF8, "request body is not valid UTF-8");
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return error_set(err, ERR_INVALID_JSON, "invalid JSON at line %d, column %d: %s",
                         je.line, je.column, je.text);
    if (!json_is_object(j)) {
        error_set_at(err, ERR_INVALID_JSON, "", "request body must be a JSON object");
        goto out;
    }
    json_t *m = json_object_get(j, "mode");
    if (m && !json_is_null(m) &&
        (!json_is_string(m) ||
         stock_mode_parse(json_string_value(m), json_string_length(m), &r->mode))) {
        error_set_at(err, ERR_INVALID_FIELD, "/mode",
                     "mode must be merge, last_write_wins or reject");
        goto out;
    }
    json_t *an = json_object_get(j, "allow_negative");
    if (an && !json_is_null(an)) {
        if (!json_is_boolean(an)) {
            error_set_at(err, ERR_INVALID_FIELD, "/allow_negative",
                         "allow_negative must be a boolean");
            goto out;
        }
        r->allow_negative = json_is_true(an);
    }
    json_t *evs = json_object_get(j, "events");
    if (!evs || !json_is_array(evs)) {
        error_set_at(err, ERR_MISSING_FIELD, "/events", "events must be an array of events");
        goto out;
    }
    if (json_array_size(evs) == 0) {
        error_set_at(err, ERR_EMPTY_BODY, "/events", "events is empty");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(evs); i++)
        if (add_event(r, json_array_get(evs, i), i, err))
            goto out;
    rc = 0;
out:
    json_decref(j);
    return rc;
}

void stock_request_errors_json(const struct stock_request *r, struct buf *out)
{
    buf_putc(out, '[');
    for (size_t i = 0; i < r->nbad; i++) {
        const struct bad *b = &r->bad[i];
        if (i)
            buf_putc(out, ',');
        buf_appendf(out, "{\"index\":%zu,\"event_id\":", b->index);
        if (b->event_id[0])
            buf_append_json_cstr(out, b->event_id);
        else
            buf_puts(out, "null");
        buf_puts(out, ",\"pointer\":");
        buf_append_json_cstr(out, b->pointer);
        buf_puts(out, ",\"code\":");
        buf_append_json_cstr(out, error_code_str(b->code));
        buf_puts(out, ",\"detail\":");
        buf_append_json_cstr(out, b->detail);
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
}

/* ======================== grouping ======================== */

static const struct stock_request *sort_ctx;

static int cmp_event(const void *a, const void *b)
{
    const struct ev *x = &sort_ctx->evs[*(const uint32_t *)a];
    const struct ev *y = &sort_ctx->evs[*(const uint32_t *)b];
    if (x->product != y->product)
        return x->product < y->product ? -1 : 1;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* order[] = event indices grouped by product (first appearance), then (time, seq). */
static void group_events(struct stock_request *r)
{
    r->order = xrealloc(r->order, (r->nev ? r->nev : 1) * sizeof(*r->order));
    uint32_t next = 0;
    for (size_t p = 0; p < r->nprod; p++) {
        r->prods[p].first = next;
        next += r->prods[p].nev;
    }
    uint32_t *fill = xcalloc(r->nprod ? r->nprod : 1, sizeof(*fill));
    for (size_t i = 0; i < r->nev; i++) {
        struct prod *p = &r->prods[r->evs[i].product];
        r->order[p->first + fill[r->evs[i].product]++] = (uint32_t)i;
    }
    free(fill);
    /* Within a product: stable by (time, seq); products are already contiguous. */
    sort_ctx = r;
    for (size_t p = 0; p < r->nprod; p++)
        if (r->prods[p].nev > 1)
            qsort(r->order + r->prods[p].first, r->prods[p].nev, sizeof(uint32_t), cmp_event);
    sort_ctx = NULL;
}

/* ======================== partitions ======================== */

/* The insert statement of a month partition (text interned by partition_sql). */
static const char *const EVENT_INSERT =
    "INSERT INTO %s(tenant_id, product_id, event_id, kind, mode, delta, "
    "quantity_after, version_after, event_time, event_time_ms, source, metadata, "
    "applied_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

/* ======================== applying ======================== */

static int step_done(struct db *db, sqlite3_stmt *st, struct error *err, const char *what)
{
    int rc = sqlite3_step(st);
    db_done(db, st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, what);
}

static int exec_cached(struct db *db, int which, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[which], err);
    return st ? step_done(db, st, err, SQL[which]) : -1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int insert_event(struct db *db, int64_t tenant_id, int64_t product_id,
                        const struct stock_request *r, const struct ev *e, int64_t delta,
                        int64_t qty_after, int64_t version_after, int64_t now_ms,
                        struct error *err)
{
    char table[PARTITION_NAME_MAX];
    int64_t secs = floor_div(e->time_ms, 1000);
    if (partition_ensure(db, "stock_events", secs, table, err))
        return -1;
    const char *sql = partition_sql(EVENT_INSERT, table);
    if (!sql)
        return error_set(err, ERR_INTERNAL, "too many stock event months in one process");
    sqlite3_stmt *st = db_stmt(db, sql, err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_int64(st, 2, product_id);
    sqlite3_bind_text(st, 3, str_at(r, e->id_off), (int)e->id_len, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, e->kind);
    sqlite3_bind_int(st, 5, e->mode);
    sqlite3_bind_int64(st, 6, delta);
    sqlite3_bind_int64(st, 7, qty_after);
    sqlite3_bind_int64(st, 8, version_after);
    sqlite3_bind_int64(st, 9, secs);
    sqlite3_bind_int64(st, 10, e->time_ms);
    if (e->src_len != UINT32_MAX)
        sqlite3_bind_text(st, 11, str_at(r, e->src_off), (int)e->src_len, SQLITE_STATIC);
    if (e->meta_len != UINT32_MAX)
        sqlite3_bind_text(st, 12, str_at(r, e->meta_off), (int)e->meta_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 13, now_ms);
    return step_done(db, st, err, "stock event insert");
}

/* Register the event id; *dup when it was already there. */
static int register_id(struct db *db, int64_t tenant_id, int64_t product_id,
                       const struct stock_request *r, const struct ev *e, bool *dup,
                       struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_KEY_INSERT], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, str_at(r, e->id_off), (int)e->id_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, product_id);
    sqlite3_bind_int(st, 4, time_month_of(floor_div(e->time_ms, 1000)));
    if (step_done(db, st, err, "stock event id"))
        return -1;
    *dup = sqlite3_changes(db_handle(db)) == 0;
    return 0;
}

static void reject(struct prod *p, const char *reason, uint32_t culprit)
{
    p->status = PROD_REJECTED;
    p->reason = reason;
    p->culprit = culprit;
    p->applied = 0;
}

/*
 * All events of product pi, inside the caller's transaction, in one savepoint:
 * on rejection the savepoint is rolled back and nothing of the product stays.
 */
static int apply_product(struct db *db, int64_t tenant_id, struct stock_request *r, size_t pi,
                         int64_t now_ms, struct error *err)
{
    struct prod *p = &r->prods[pi];
    int64_t pid, qty = 0, version = 0, last = 0;
    bool has_last = false;
    sqlite3_stmt *st;

    if (catalog_product_lookup(db, tenant_id, str_at(r, p->ext_off), p->ext_len, &pid, NULL,
                               err))
        return -1;
    if (pid == 0) {
        reject(p, "unknown_product", UINT32_MAX);
        return 0;
    }
    if (!(st = db_stmt(db, SQL[SQL_LEVEL_GET], err)))
        return -1;
    sqlite3_bind_int64(st, 1, pid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        qty = sqlite3_column_int64(st, 0);
        version = sqlite3_column_int64(st, 1);
        has_last = sqlite3_column_type(st, 2) != SQLITE_NULL;
        last = sqlite3_column_int64(st, 2);
    }
    db_done(db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, rc, err, "stock level");
    p->quantity = qty;
    p->version = version;
    if (p->nev > STOCK_PRODUCT_EVENTS_MAX) {
        reject(p, "too_many_events", UINT32_MAX);
        return 0;
    }
    if (exec_cached(db, SQL_SAVEPOINT, err))
        return -1;
    for (uint32_t k = 0; k < p->nev; k++) {
        uint32_t ei = r->order[p->first + k];
        const struct ev *e = &r->evs[ei];
        bool dup;
        if (e->mode == STOCK_LWW && has_last && e->time_ms < last) {
            if (p->stale < STALE_IDS_SHOWN)
                p->stale_ids[p->stale] = ei;
            p->stale++;
            continue;
        }
        if (register_id(db, tenant_id, pid, r, e, &dup, err))
            goto fail;
        if (dup) {
            p->duplicate++;
            continue;
        }
        if (e->has_expected && e->expected_version != version) {
            reject(p, "version_conflict", ei);
            p->expected = e->expected_version;
            break;
        }
        int64_t next = e->kind == KIND_DELTA ? qty + e->value : e->value;
        if (next > STOCK_QUANTITY_MAX || next < -STOCK_QUANTITY_MAX) {
            reject(p, "quantity_out_of_range", ei);
            break;
        }
        if (next < 0 && !r->allow_negative) {
            reject(p, "negative_stock", ei);
            break;
        }
        if (insert_event(db, tenant_id, pid, r, e, next - qty, next, version + 1, now_ms, err))
            goto fail;
        qty = next;
        if (!has_last || e->time_ms > last)
            last = e->time_ms;
        has_last = true;
        p->applied++;
    }
    if (p->status == PROD_REJECTED) {
        if (exec_cached(db, SQL_ROLLBACK_TO, err) || exec_cached(db, SQL_RELEASE, err))
            return -1;
        return 0;
    }
    if (p->applied) {
        if (!(st = db_stmt(db, SQL[SQL_LEVEL_PUT], err)))
            goto fail;
        sqlite3_bind_int64(st, 1, pid);
        sqlite3_bind_int64(st, 2, tenant_id);
        sqlite3_bind_int64(st, 3, qty);
        sqlite3_bind_int64(st, 4, version + 1);
        sqlite3_bind_int64(st, 5, last);
        sqlite3_bind_int64(st, 6, now_ms / 1000);
        if (step_done(db, st, err, "stock level update"))
            goto fail;
        version++;
    }
    if (exec_cached(db, SQL_RELEASE, err))
        return -1;
    p->status = PROD_APPLIED;
    p->reason = p->applied ? NULL : p->duplicate ? "duplicate" : "stale";
    p->quantity = qty;
    p->version = version;
    return 0;
fail:
    return -1; /* the caller rolls the whole transaction back */
}

/* ======================== advisory product locks ======================== */

struct locker {
    char owner[64];
    char lo[40], hi[40]; /* "stock:<tenant>:" .. "stock:<tenant>;" */
    struct buf name;
    int64_t renewed_ms;  /* lease start of the oldest held row */
    uint32_t *order;     /* product indices in lock order */
    size_t held;         /* order[0..held) are ours */
};

static void lock_name(struct locker *lk, const struct stock_request *r, const struct prod *p)
{
    buf_reset(&lk->name);
    buf_puts(&lk->name, lk->lo);
    buf_append(&lk->name, str_at(r, p->ext_off), p->ext_len);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/*
 * Single-group request, inside its transaction: is any of its products
 * locked by a multi-group request? The common case (no stock lock of this
 * tenant at all) is one index probe.
 */
static int any_locked(struct db *db, struct locker *lk, const struct stock_request *r,
                      int64_t now_ms, bool *locked, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[SQL_LOCK_ANY], err);
    *locked = false;
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, lk->lo, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, lk->hi, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    int rc = sqlite3_step(st);
    db_done(db, st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return db_fail(db, rc, err, "lock probe");
    for (size_t i = 0; i < r->nprod && !*locked; i++) {
        lock_name(lk, r, &r->prods[i]);
        if (!(st = db_stmt(db, SQL[SQL_LOCK_HELD], err)))
            return -1;
        sqlite3_bind_text(st, 1, lk->name.data, (int)lk->name.len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now_ms);
        rc = sqlite3_step(st);
        db_done(db, st);
        if (rc == SQLITE_ROW)
            *locked = true;
        else if (rc != SQLITE_DONE)
            return db_fail(db, rc, err, "lock probe");
    }
    return 0;
}

static const struct stock_request *lock_sort_ctx;

static int cmp_prod_name(const void *a, const void *b)
{
    const struct stock_request *r = lock_sort_ctx;
    const struct prod *x = &r->prods[*(const uint32_t *)a];
    const struct prod *y = &r->prods[*(const uint32_t *)b];
    size_t n = x->ext_len < y->ext_len ? x->ext_len : y->ext_len;
    int c = memcmp(str_at(r, x->ext_off), str_at(r, y->ext_off), n);
    return c ? c : (x->ext_len > y->ext_len) - (x->ext_len < y->ext_len);
}

/*
 * Renew (lease_until > 0) or release (0) the rows we hold, by primary key,
 * at most 1024 per transaction, so even a 250k-product request never holds
 * the write lock for long.
 */
static int lock_each(struct db *db, struct locker *lk, const struct stock_request *r,
                     int64_t lease_until, struct error *err)
{
    size_t i = 0;
    while (i < lk->held) {
        if (db_begin(db, err))
            return -1;
        for (size_t n = 0; n < 1024 && i < lk->held; n++, i++) {
            lock_name(lk, r, &r->prods[lk->order[i]]);
            sqlite3_stmt *st = db_stmt(db, SQL[lease_until ? SQL_LOCK_RENEW : SQL_LOCK_RELEASE],
                                       err);
            if (!st)
                goto fail;
            sqlite3_bind_text(st, 1, lk->name.data, (int)lk->name.len, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, lk->owner, -1, SQLITE_STATIC);
            if (lease_until)
                sqlite3_bind_int64(st, 3, lease_until);
            if (step_done(db, st, err, "lock renew/release"))
                goto fail;
        }
        if (db_commit(db, err))
            return -1;
    }
    return 0;
fail:
    db_rollback(db);
    return -1;
}

static void lock_release(struct db *db, struct locker *lk, const struct stock_request *r)
{
    struct error e;
    for (int attempt = 0; attempt < 3; attempt++)
        if (lock_each(db, lk, r, 0, &e) == 0)
            break;
    /* Whatever is left expires: the lease bounds how long anyone waits for it. */
    lk->held = 0;
}

static int lock_renew(struct db *db, struct locker *lk, const struct stock_request *r,
                      struct error *err)
{
    int64_t now = time_now_ms();
    if (lk->held == 0 || now - lk->renewed_ms < STOCK_LOCK_LEASE_MS / 3)
        return 0;
    if (lock_each(db, lk, r, now + STOCK_LOCK_LEASE_MS, err))
        return -1;
    lk->renewed_ms = now;
    return 0;
}

/*
 * Take the lock rows of every product in sorted name order, at most 1024 per
 * transaction. A row held by a live owner makes us commit what we have, wait
 * and retry from there; everyone takes locks in the same order, so waits
 * never form a cycle. A dead owner's rows are taken over once their lease
 * has passed.
 */
static int lock_all(struct db *db, struct locker *lk, struct stock_request *r, struct error *err)
{
    int64_t t0 = time_now_ms();
    size_t i = 0;
    lk->order = xmalloc((r->nprod ? r->nprod : 1) * sizeof(*lk->order));
    lk->held = 0;
    for (size_t k = 0; k < r->nprod; k++)
        lk->order[k] = (uint32_t)k;
    lock_sort_ctx = r;
    qsort(lk->order, r->nprod, sizeof(*lk->order), cmp_prod_name);
    lock_sort_ctx = NULL;
    while (i < r->nprod) {
        bool blocked = false;
        int64_t now = time_now_ms();
        if (db_begin(db, err))
            return -1;
        for (size_t n = 0; n < 1024 && i < r->nprod; n++) {
            lock_name(lk, r, &r->prods[lk->order[i]]);
            sqlite3_stmt *st = db_stmt(db, SQL[SQL_LOCK_TAKE], err);
            if (!st)
                goto fail;
            sqlite3_bind_text(st, 1, lk->name.data, (int)lk->name.len, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, lk->owner, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, now + STOCK_LOCK_LEASE_MS);
            sqlite3_bind_int64(st, 4, now);
            if (step_done(db, st, err, "lock take"))
                goto fail;
            if (sqlite3_changes(db_handle(db)) == 0) {
                blocked = true;
                break;
            }
            i++;
        }
        if (db_commit(db, err))
            return -1;
        if (lk->held == 0)
            lk->renewed_ms = now;
        lk->held = i;
        if (blocked) {
            if (time_now_ms() - t0 > STOCK_LOCK_WAIT_MAX_MS) {
                error_set(err, ERR_STOCK_LOCKED,
                          "products of this request stayed locked by another bulk update "
                          "for %d ms; retry later",
                          STOCK_LOCK_WAIT_MAX_MS);
                err->retry_after_s = 1;
                return -1;
            }
            sleep_ms(5);
            /* What we already hold must not expire while we wait for the rest. */
            if (lock_renew(db, lk, r, err))
                return -1;
        }
    }
    r->lock_wait_ms = time_now_ms() - t0;
    return 0;
fail:
    db_rollback(db);
    return -1;
}

int stock_apply(struct db *db, int64_t tenant_id, struct stock_request *r, stock_tick_fn tick,
                void *tick_ctx, struct error *err)
{
    static unsigned serial;
    struct locker lk;
    int64_t t_start = time_now_ms();
    bool single = r->nev <= STOCK_GROUP_EVENTS;
    size_t i = 0;
    int rc = -1;

    memset(&lk, 0, sizeof(lk));
    buf_init(&lk.name);
    snprintf(lk.owner, sizeof(lk.owner), "stock:%d:%lld:%u", (int)getpid(),
             (long long)t_start, serial++);
    snprintf(lk.lo, sizeof(lk.lo), "stock:%lld:", (long long)tenant_id);
    snprintf(lk.hi, sizeof(lk.hi), "stock:%lld;", (long long)tenant_id);
    group_events(r);
    if (!single) {
        if (lock_all(db, &lk, r, err))
            goto out;
        r->locked = true;
    }
    while (i < r->nprod) {
        int64_t g0 = time_now_ms();
        size_t in_group = 0, group_first = i;
        if (db_begin(db, err))
            goto out;
        g0 = time_now_ms(); /* the write lock is ours from here */
        if (single) {
            bool locked;
            if (any_locked(db, &lk, r, g0, &locked, err))
                goto fail;
            if (locked) {
                db_rollback(db);
                if (g0 - t_start > STOCK_LOCK_WAIT_MAX_MS) {
                    error_set(err, ERR_STOCK_LOCKED,
                              "products of this request stayed locked by another bulk update "
                              "for %d ms; retry later",
                              STOCK_LOCK_WAIT_MAX_MS);
                    err->retry_after_s = 1;
                    goto out;
                }
                sleep_ms(5);
                continue;
            }
        }
        while (i < r->nprod) {
            struct prod *p = &r->prods[i];
            if (!single && in_group > 0 &&
                (in_group + p->nev > STOCK_GROUP_EVENTS ||
                 time_now_ms() - g0 >= STOCK_GROUP_MAX_MS))
                break;
            if (apply_product(db, tenant_id, r, i, g0, err))
                goto fail;
            in_group += p->nev;
            i++;
        }
        int64_t applied_at = time_now_ms();
        if (db_commit(db, err)) {
            /* Nothing of this group is applied: report its products as pending. */
            for (size_t k = group_first; k < i; k++)
                r->prods[k].status = PROD_PENDING;
            goto out;
        }
        r->groups++;
        {
            /*
             * Apply time (lock taken to COMMIT issued) and COMMIT time apart:
             * COMMIT includes any automatic WAL checkpoint, which runs after
             * the write lock is released and blocks no other writer.
             */
            int64_t apply = applied_at - g0, commit = time_now_ms() - applied_at;
            sb_observe(SBH_STOCK_GROUP, apply * 1000000);
            if (apply > r->max_group_ms)
                r->max_group_ms = apply;
            if (commit > r->max_commit_ms)
                r->max_commit_ms = commit;
        }
        if (i < r->nprod) {
            /*
             * Leave the write lock free for a moment: SQLite's busy handler
             * has no queue, and a writer that re-takes the lock microseconds
             * after COMMIT starves every small writer waiting in it. Behind
             * the write gate the next db_begin() lets a queued writer go
             * first by itself (writegate.h).
             */
            if (!db_gated(db))
                sleep_ms(STOCK_GROUP_YIELD_MS);
            if (r->locked && lock_renew(db, &lk, r, err))
                goto out;
            if (tick && tick(tick_ctx, err))
                goto out;
        }
        continue;
    fail:
        db_rollback(db);
        for (size_t k = group_first; k <= i && k < r->nprod; k++)
            r->prods[k].status = PROD_PENDING;
        goto out;
    }
    rc = 0;
out:
    if (lk.held)
        lock_release(db, &lk, r);
    free(lk.order);
    buf_fini(&lk.name);
    r->elapsed_ms = time_now_ms() - t_start;
    for (size_t k = 0; k < r->nprod; k++) {
        const struct prod *p = &r->prods[k];
        if (p->status == PROD_APPLIED) {
            sb_count(SBC_STOCK_APPLIED, p->applied);
            sb_count(SBC_STOCK_DUPLICATE, p->duplicate);
            sb_count(SBC_STOCK_STALE, p->stale);
        } else if (p->status == PROD_REJECTED) {
            sb_count(SBC_STOCK_REJECTED, p->nev);
        }
    }
    return rc;
}

/* ======================== results ======================== */

void stock_results_json(const struct stock_request *r, struct buf *out)
{
    size_t applied = 0, rejected = 0, ev_applied = 0, ev_dup = 0, ev_stale = 0;
    buf_puts(out, "{\"mode\":");
    buf_append_json_cstr(out, stock_mode_name(r->mode));
    buf_appendf(out, ",\"allow_negative\":%s,\"results\":[", r->allow_negative ? "true" : "false");
    for (size_t i = 0; i < r->nprod; i++) {
        const struct prod *p = &r->prods[i];
        if (i)
            buf_putc(out, ',');
        buf_puts(out, "{\"product_id\":");
        buf_append_json_str(out, str_at(r, p->ext_off), p->ext_len);
        buf_puts(out, ",\"status\":");
        buf_puts(out, p->status == PROD_APPLIED    ? "\"applied\""
                      : p->status == PROD_REJECTED ? "\"rejected\""
                                                   : "\"not_attempted\"");
        buf_puts(out, ",\"reason\":");
        if (p->reason)
            buf_append_json_cstr(out, p->reason);
        else
            buf_puts(out, "null");
        if (p->status == PROD_PENDING || (p->status == PROD_REJECTED &&
                                          strcmp(p->reason, "unknown_product") == 0)) {
            buf_puts(out, ",\"quantity\":null,\"version\":null");
        } else {
            buf_appendf(out, ",\"quantity\":%lld,\"version\":%lld", (long long)p->quantity,
                        (long long)p->version);
        }
        buf_appendf(out, ",\"events\":%u,\"applied\":%u,\"duplicate\":%u,\"stale\":%u", p->nev,
                    p->applied, p->duplicate, p->stale);
        if (p->stale) {
            buf_puts(out, ",\"stale_event_ids\":[");
            for (uint32_t k = 0; k < p->stale && k < STALE_IDS_SHOWN; k++) {
                const struct ev *e = &r->evs[p->stale_ids[k]];
                if (k)
                    buf_putc(out, ',');
                buf_append_json_str(out, str_at(r, e->id_off), e->id_len);
            }
            buf_putc(out, ']');
        }
        if (p->culprit != UINT32_MAX) {
            const struct ev *e = &r->evs[p->culprit];
            buf_puts(out, ",\"event_id\":");
            buf_append_json_str(out, str_at(r, e->id_off), e->id_len);
            if (strcmp(p->reason, "version_conflict") == 0)
                buf_appendf(out, ",\"expected_version\":%lld,\"current_version\":%lld",
                            (long long)p->expected, (long long)p->version);
        }
        buf_putc(out, '}');
        if (p->status == PROD_APPLIED) {
            applied++;
            ev_applied += p->applied;
            ev_dup += p->duplicate;
            ev_stale += p->stale;
        } else if (p->status == PROD_REJECTED) {
            rejected++;
        }
    }
    buf_appendf(out,
                "],\"summary\":{\"products\":%zu,\"applied\":%zu,\"rejected\":%zu,"
                "\"events\":%zu,\"events_applied\":%zu,\"events_duplicate\":%zu,"
                "\"events_stale\":%zu,\"commit_groups\":%zu,\"longest_group_ms\":%lld,"
                "\"longest_commit_ms\":%lld,\"product_locks\":%s,\"processing_time_ms\":%lld}}",
                r->nprod, applied, rejected, r->nev, ev_applied, ev_dup, ev_stale, r->groups,
                (long long)r->max_group_ms, (long long)r->max_commit_ms,
                r->locked ? "true" : "false", (long long)r->elapsed_ms);
}
