/*
 * order.c: order line parsing and validation (see order.h for the rules).
 *
 * jansson decodes the line (JSON_REJECT_DUPLICATES: a repeated member is
 * ambiguous, so it is an error), the tree is walked once with
 * json_object_get, and every accepted string is copied into the caller's
 * arena before the tree is released, so the struct order outlives the JSON.
 * Cost (REFERENCES §11): json_loadb is ~7.5 µs of a ~350-byte line; the walk
 * and the copies add ~1 µs. jansson allocates every node and string with
 * malloc; while one line is parsed its allocator is switched (through
 * json_set_alloc_funcs) to a bump arena that is simply rewound for the next
 * line, and switched back before returning, so no other jansson user in the
 * worker ever sees it: the switch is process-wide, and the only other thread
 * a worker runs, an ingest's store thread (ingest.c), never calls jansson.
 * Measured with
 * benchmarks/bench_ingest_store.c --mode parse: 8.2 -> 7.2 µs per line
 * (+14% lines/s). Nodes past the arena (a huge line) fall back to malloc.
 * Money never passes through a double unless the
 * client sent a JSON number with a fraction; then the number must round-trip
 * to the currency's minor digits exactly or the row is rejected.
 */
#include "order.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "money.h"
#include "timefmt.h"
#include "xmalloc.h"

/* ======================== per-line allocator for jansson ======================== */

#define LINE_ARENA_BYTES (256 * 1024)

static char *line_arena;
static size_t line_used;
static bool use_line_arena = true;

void order_parse_line_arena(bool on)
{
    use_line_arena = on;
}

static void *line_malloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > LINE_ARENA_BYTES - line_used)
        return malloc(n);
    void *p = line_arena + line_used;
    line_used += n;
    return p;
}

static void line_free(void *p)
{
    if (p && ((char *)p < line_arena || (char *)p >= line_arena + LINE_ARENA_BYTES))
        free(p);
}

static int fail(struct error *err, enum error_code code, const char *ptr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct error *err, enum error_code code, const char *ptr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, code, fmt, ap);
    va_end(ap);
    snprintf(err->pointer, sizeof(err->pointer), "%s", ptr);
    return -1;
}

static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

/*
 * A required string member of min..max bytes, copied into a. `ids` forbids
 * control characters (ids end up in URLs, logs and CSV).
 */
static int get_str(json_t *obj, const char *name, const char *ptr, size_t min, size_t max,
                   bool ids, struct arena *a, struct str *out, struct error *err)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v))
        return fail(err, ERR_MISSING_FIELD, ptr, "%s is required", ptr + 1);
    if (!json_is_string(v))
        return fail(err, ERR_INVALID_FIELD, ptr, "%s must be a string", ptr + 1);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > max)
        return fail(err, ERR_FIELD_TOO_LONG, ptr, "%s is %zu bytes; the limit is %zu", ptr + 1,
                    n, max);
    if (n < min)
        return fail(err, ERR_INVALID_FIELD, ptr, "%s must be at least %zu characters", ptr + 1,
                    min);
    if (memchr(s, '\0', n) || (ids && has_control(s, n)))
        return fail(err, ERR_INVALID_FIELD, ptr, "%s contains control characters", ptr + 1);
    out->ptr = arena_strndup(a, s, n);
    out->len = n;
    return 0;
}

/* Money member (decimal string or JSON number) >= 0 in minor units of exponent exp. */
static int get_money(json_t *obj, const char *name, const char *ptr, int exp, int64_t *out,
                     struct error *err)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v))
        return fail(err, ERR_MISSING_FIELD, ptr, "%s is required", ptr + 1);
    if (json_is_string(v)) {
        if (money_parse(json_string_value(v), json_string_length(v), exp, out))
            return fail(err, ERR_INVALID_AMOUNT, ptr,
                        "%s must be a decimal amount with at most %d fraction digits", ptr + 1,
                        exp);
    } else if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        int64_t scale = 1;
        for (int k = 0; k < exp; k++)
            scale *= 10;
        if (i < -MONEY_MAX_MINOR / scale || i > MONEY_MAX_MINOR / scale)
            return fail(err, ERR_INVALID_AMOUNT, ptr, "%s is out of range", ptr + 1);
        *out = (int64_t)i * scale;
    } else if (json_is_real(v)) {
        double d = json_real_value(v), scaled = d;
        for (int k = 0; k < exp; k++)
            scaled *= 10.0;
        if (!isfinite(scaled) || fabs(scaled) > (double)MONEY_MAX_MINOR)
            return fail(err, ERR_INVALID_AMOUNT, ptr, "%s is out of range", ptr + 1);
        double r = nearbyint(scaled);
        if (fabs(r - scaled) > 1e-6 * (fabs(scaled) > 1 ? fabs(scaled) : 1))
            return fail(err, ERR_INVALID_AMOUNT, ptr,
                        "%s has more than %d fraction digits", ptr + 1, exp);
        *out = (int64_t)r;
    } else {
        return fail(err, ERR_INVALID_FIELD, ptr, "%s must be a decimal string or a number",
                    ptr + 1);
    }
    if (*out < 0)
        return fail(err, ERR_INVALID_AMOUNT, ptr, "%s must not be negative", ptr + 1);
    return 0;
}

static int parse_items(json_t *root, int exp, struct arena *a, struct order *o,
                       struct error *err)
{
    char ptr[ERROR_POINTER_MAX];
    json_t *items = json_object_get(root, "items");
    if (!items || json_is_null(items))
        return fail(err, ERR_MISSING_FIELD, "/items", "items is required");
    if (!json_is_array(items))
        return fail(err, ERR_INVALID_FIELD, "/items", "items must be an array");
    size_t n = json_array_size(items);
    if (n == 0)
        return fail(err, ERR_INVALID_FIELD, "/items", "an order needs at least one item");
    if (n > ORDER_ITEMS_MAX)
        return fail(err, ERR_TOO_MANY_ITEMS, "/items", "%zu items; the limit is %d", n,
                    ORDER_ITEMS_MAX);
    struct order_item *it = arena_alloc(a, n * sizeof(*it));
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(items, i);
        snprintf(ptr, sizeof(ptr), "/items/%zu", i);
        if (!json_is_object(x))
            return fail(err, ERR_INVALID_FIELD, ptr, "%s must be an object", ptr + 1);
        snprintf(ptr, sizeof(ptr), "/items/%zu/product_id", i);
        if (get_str(x, "product_id", ptr, 1, ORDER_ID_MAX_BYTES, true, a, &it[i].product_id, err))
            return -1;
        snprintf(ptr, sizeof(ptr), "/items/%zu/quantity", i);
        json_t *q = json_object_get(x, "quantity");
        if (!q || json_is_null(q))
            return fail(err, ERR_MISSING_FIELD, ptr, "%s is required", ptr + 1);
        if (!json_is_integer(q))
            return fail(err, ERR_INVALID_QUANTITY, ptr, "%s must be an integer", ptr + 1);
        json_int_t qv = json_integer_value(q);
        if (qv < 1 || qv > ORDER_QUANTITY_MAX)
            return fail(err, ERR_INVALID_QUANTITY, ptr, "%s must be between 1 and %d", ptr + 1,
                        ORDER_QUANTITY_MAX);
        it[i].quantity = qv;
        snprintf(ptr, sizeof(ptr), "/items/%zu/unit_price", i);
        if (get_money(x, "unit_price", ptr, exp, &it[i].unit_price_minor, err))
            return -1;
        int64_t line;
        if (__builtin_mul_overflow(it[i].quantity, it[i].unit_price_minor, &line) ||
            __builtin_add_overflow(sum, line, &sum) || sum > MONEY_MAX_MINOR)
            return fail(err, ERR_INVALID_AMOUNT, ptr, "the order's amounts overflow");
    }
    o->items = it;
    o->nitems = n;
    if (o->total_minor != sum) {
        struct buf t = BUF_INIT, s = BUF_INIT;
        buf_append_money(&t, o->total_minor, exp);
        buf_append_money(&s, sum, exp);
        fail(err, ERR_TOTAL_MISMATCH, "/total",
             "total %s %s does not equal the sum of quantity x unit_price, %s", t.data,
             o->currency, s.data);
        buf_fini(&t);
        buf_fini(&s);
        return -1;
    }
    return 0;
}

static int validate(json_t *root, struct arena *a, struct order *o, struct error *err)
{
    struct str s;
    if (get_str(root, "order_id", "/order_id", 1, ORDER_ID_MAX_BYTES, true, a, &o->order_id, err))
        return -1;

    json_t *c = json_object_get(root, "customer");
    if (!c || json_is_null(c))
        return fail(err, ERR_MISSING_FIELD, "/customer", "customer is required");
    if (!json_is_object(c))
        return fail(err, ERR_INVALID_FIELD, "/customer", "customer must be an object");
    if (get_str(c, "id", "/customer/id", 1, ORDER_ID_MAX_BYTES, true, a, &o->customer_id, err) ||
        get_str(c, "name", "/customer/name", 1, NAME_MAX_BYTES, true, a, &o->customer_name,
                err) ||
        get_str(c, "email", "/customer/email", 3, EMAIL_MAX_BYTES, true, a, &o->customer_email,
                err))
        return -1;
    const char *at = memchr(o->customer_email.ptr, '@', o->customer_email.len);
    if (!at || at == o->customer_email.ptr || at == o->customer_email.ptr + o->customer_email.len - 1 ||
        memchr(at + 1, '@', (size_t)(o->customer_email.ptr + o->customer_email.len - at - 1)) ||
        memchr(o->customer_email.ptr, ' ', o->customer_email.len))
        return fail(err, ERR_INVALID_FIELD, "/customer/email",
                    "customer/email must look like local@domain");

    if (get_str(root, "status", "/status", 1, 16, true, a, &s, err))
        return -1;
    o->status = order_status_parse(s.ptr, s.len);
    if (o->status < 0)
        return fail(err, ERR_INVALID_STATUS, "/status",
                    "status must be one of pending, paid, shipped, delivered, cancelled, "
                    "refunded");

    if (get_str(root, "currency", "/currency", 1, 8, true, a, &s, err))
        return -1;
    int exp = currency_exponent(s.ptr, s.len);
    if (exp < 0)
        return fail(err, ERR_INVALID_CURRENCY, "/currency",
                    "currency must be an ISO 4217 code such as EUR or USD");
    memcpy(o->currency, s.ptr, 3);
    o->currency[3] = '\0';

    json_t *t = json_object_get(root, "created_at");
    if (!t || json_is_null(t))
        return fail(err, ERR_MISSING_FIELD, "/created_at", "created_at is required");
    if (!json_is_string(t) ||
        rfc3339_parse(json_string_value(t), json_string_length(t), &o->created_at))
        return fail(err, ERR_INVALID_TIMESTAMP, "/created_at",
                    "created_at must be an RFC 3339 timestamp such as 2025-03-01T12:34:56Z");
    if (o->created_at < ORDER_TIME_MIN || o->created_at >= ORDER_TIME_MAX)
        return fail(err, ERR_INVALID_TIMESTAMP, "/created_at",
                    "created_at must be between 2000-01-01 and 2100-01-01");

    if (get_money(root, "total", "/total", exp, &o->total_minor, err))
        return -1;
    return parse_items(root, exp, a, o, err);
}

int order_parse(const char *line, size_t n, struct arena *a, struct order *o, struct error *err)
{
    json_error_t je;
    memset(o, 0, sizeof(*o));
    if (!line_arena)
        line_arena = xmalloc(LINE_ARENA_BYTES);
    line_used = 0;
    if (use_line_arena)
        json_set_alloc_funcs(line_malloc, line_free);
    json_t *root = json_loadb(line, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root) {
        json_set_alloc_funcs(malloc, free);
        if (json_error_code(&je) == json_error_invalid_utf8)
            return fail(err, ERR_INVALID_UTF8, "", "line is not valid UTF-8");
        return fail(err, ERR_INVALID_JSON, "", "invalid JSON at column %d: %s", je.column,
                    je.text);
    }
    int rc;
    if (!json_is_object(root)) {
        rc = fail(err, ERR_INVALID_JSON, "", "a line must be one JSON object");
    } else {
        rc = validate(root, a, o, err);
        if (rc && !o->order_id.len) {
            /* Name the order in the error when its id is at least readable. */
            json_t *id = json_object_get(root, "order_id");
            if (json_is_string(id) && json_string_length(id) <= ORDER_ID_MAX_BYTES)
                o->order_id = (struct str){
                    arena_strndup(a, json_string_value(id), json_string_length(id)),
                    json_string_length(id)};
        }
    }
    json_decref(root);
    json_set_alloc_funcs(malloc, free);
    return rc;
}
