/*
 * filter.c: parsing and normalizing the order-search parameters (filter.h).
 *
 * One pass over the parameters, a switch on the name. List parameters
 * (status, product_id, fields) accept comma-separated values and repetition;
 * scalar parameters given twice are an error (which one would win?). Values
 * are validated completely here, so the search itself never sees a bad value
 * and every 400 is decided before the first byte of the response.
 *
 * The fingerprint is SHA-256 over a canonical text: "v1|from|to|statusmask|
 * min|max|currency|product,product|customer|q-ascii-lowercased|sort", with
 * lengths before every variable-length value so that no two filter sets can
 * produce the same text.
 */
#include "filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "money.h"
#include "timefmt.h"

const char *const FILTER_FIELD_NAMES[FIELD__COUNT] = {
    [FIELD_ORDER_ID] = "order_id",
    [FIELD_STATUS] = "status",
    [FIELD_CURRENCY] = "currency",
    [FIELD_TOTAL] = "total",
    [FIELD_ITEM_COUNT] = "item_count",
    [FIELD_CREATED_AT] = "created_at",
    [FIELD_INGESTED_AT] = "ingested_at",
    [FIELD_CUSTOMER_ID] = "customer_id",
    [FIELD_CUSTOMER_NAME] = "customer_name",
    [FIELD_CUSTOMER_EMAIL] = "customer_email",
    [FIELD_ITEMS] = "items",
};

const char *const ORDER_STATUS_NAMES[ORDER_STATUS_COUNT] = {
    "pending", "paid", "shipped", "delivered", "cancelled", "refunded",
};

const char *const FILTER_PARAMS[] = {
    "from", "to",     "status", "min_total", "max_total", "currency", "product_id", "customer_id",
    "q",    "fields", "limit",  "sort",      "format",    "cursor",   NULL,
};

enum param_id {
    P_FROM,
    P_TO,
    P_STATUS,
    P_MIN_TOTAL,
    P_MAX_TOTAL,
    P_CURRENCY,
    P_PRODUCT_ID,
    P_CUSTOMER_ID,
    P_Q,
    P_FIELDS,
    P_LIMIT,
    P_SORT,
    P_FORMAT,
    P_CURSOR,
    P__COUNT
};

static int param_id(struct str name)
{
    for (int i = 0; FILTER_PARAMS[i]; i++)
        if (str_eq_cstr(name, FILTER_PARAMS[i]))
            return i;
    return -1;
}

/* 400 invalid_parameter naming parameter id: "<name>: <reason>". */
static int bad(struct error *err, int id, const char *reason)
{
    return error_set_at(err, ERR_INVALID_PARAM, FILTER_PARAMS[id], FILTER_PARAMS[id], reason);
}

static size_t utf8_chars(struct str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        if (((unsigned char)s.ptr[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static int parse_time(struct str v, int id, bool is_to, int64_t *out, struct error *err)
{
    int64_t t;
    if (v.len == 0 || rfc3339_parse(v.ptr, v.len, &t))
        return bad(err, id, "expected RFC 3339 (2025-03-01T12:00:00Z) or a date (2025-03-01)");
    /* A bare date as the upper bound means the whole of that day. */
    if (is_to && v.len == 10)
        t += 86400;
    *out = t;
    return 0;
}

static int parse_status(struct str v, unsigned *mask, struct error *err)
{
    while (v.ptr) {
        struct str tok = str_trim(str_cut(&v, ','));
        int found = -1;
        for (int s = 0; s < ORDER_STATUS_COUNT; s++)
            if (str_eq_cstr(tok, ORDER_STATUS_NAMES[s]))
                found = s;
        if (found < 0)
            return bad(err, P_STATUS,
                       "expected pending, paid, shipped, delivered, cancelled or refunded");
        *mask |= 1u << found;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    const struct str *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ptr, y->ptr, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int parse_products(struct str v, struct search_filter *f, struct error *err)
{
    while (v.ptr) {
        struct str tok = str_trim(str_cut(&v, ','));
        if (tok.len == 0 || tok.len > NAME_MAX_BYTES || !utf8_valid(tok.ptr, tok.len))
            return bad(err, P_PRODUCT_ID, "each id must be 1-200 bytes of UTF-8");
        if (f->nproducts == SEARCH_MAX_PRODUCTS)
            return error_set_at(err, ERR_INVALID_PARAM, "product_id",
                                "product_id: at most %d values", SEARCH_MAX_PRODUCTS);
        f->products[f->nproducts++] = tok;
    }
    return 0;
}

static int parse_fields(struct str v, unsigned *fields, struct error *err)
{
    *fields = 0;
    while (v.ptr) {
        struct str tok = str_trim(str_cut(&v, ','));
        unsigned bit = 0;
        if (str_eq_cstr(tok, "customer"))
            bit = FIELDS_CUSTOMER;
        for (int i = 0; i < FIELD__COUNT && !bit; i++)
            if (str_eq_cstr(tok, FILTER_FIELD_NAMES[i]))
                bit = FIELD_BIT(i);
        if (!bit) {
            char name[64];
            snprintf(name, sizeof(name), "%.*s", tok.len > 40 ? 40 : (int)tok.len,
                     tok.ptr ? tok.ptr : "");
            return error_set_at(err, ERR_INVALID_PARAM, "fields",
                                "fields: unknown field '%s' (allowed: order_id, status, "
                                "currency, total, item_count, created_at, ingested_at, "
                                "customer_id, customer_name, customer_email, customer, items)",
                                name);
        }
        *fields |= bit;
    }
    return 0;
}

int filter_parse(const struct filter_param *p, size_t n, struct search_filter *f, struct error *err)
{
    struct str total[2] = {STR_NULL, STR_NULL};
    bool seen[P__COUNT] = {false};
    memset(f, 0, sizeof(*f));
    f->from_s = INT64_MIN;
    f->to_s = INT64_MAX;
    f->fields = FIELDS_DEFAULT;
    f->limit = SEARCH_DEFAULT_ROWS;

    for (size_t i = 0; i < n; i++) {
        int id = param_id(p[i].name);
        struct str v = p[i].value;
        if (id < 0) {
            char name[80];
            snprintf(name, sizeof(name), "%.*s", p[i].name.len > 64 ? 64 : (int)p[i].name.len,
                     p[i].name.ptr ? p[i].name.ptr : "");
            return error_set_at(err, ERR_UNKNOWN_PARAM, name, "unknown query parameter(s): %s",
                                name);
        }
        if (seen[id] && id != P_STATUS && id != P_PRODUCT_ID)
            return bad(err, id, "given more than once");
        seen[id] = true;
        if (!utf8_valid(v.ptr, v.len))
            return bad(err, id, "not valid UTF-8");
        switch (id) {
        case P_FROM:
            if (parse_time(v, id, false, &f->from_s, err))
                return -1;
            break;
        case P_TO:
            if (parse_time(v, id, true, &f->to_s, err))
                return -1;
            break;
        case P_STATUS:
            if (parse_status(v, &f->status_mask, err))
                return -1;
            break;
        case P_MIN_TOTAL:
        case P_MAX_TOTAL:
            total[id == P_MAX_TOTAL] = v;
            if (v.len == 0)
                return bad(err, id, "expected a decimal amount such as 19.99");
            break;
        case P_CURRENCY:
            if (v.len != 3 || currency_exponent(v.ptr, v.len) < 0)
                return bad(err, id, "expected a known ISO 4217 code such as EUR");
            memcpy(f->currency, v.ptr, 3);
            break;
        case P_PRODUCT_ID:
            if (parse_products(v, f, err))
                return -1;
            break;
        case P_CUSTOMER_ID:
            if (v.len == 0 || v.len > NAME_MAX_BYTES)
                return bad(err, id, "expected a customer id of 1-200 bytes");
            f->customer = v;
            break;
        case P_Q:
            if (v.len > SEARCH_Q_MAX_BYTES)
                return error_set_at(err, ERR_INVALID_PARAM, "q", "q: at most %d bytes",
                                    SEARCH_Q_MAX_BYTES);
            for (size_t k = 0; k < v.len; k++)
                if ((unsigned char)v.ptr[k] < 0x20)
                    return bad(err, id, "control characters are not allowed");
            if (utf8_chars(v) < SEARCH_Q_MIN_CHARS)
                return error_set_at(err, ERR_SEARCH_TERM_TOO_SHORT, "q",
                                    "q: the search term needs at least %d characters "
                                    "(substring search uses 3-character trigrams)",
                                    SEARCH_Q_MIN_CHARS);
            f->q = v;
            break;
        case P_FIELDS:
            if (parse_fields(v, &f->fields, err))
                return -1;
            break;
        case P_LIMIT: {
            long long l;
            if (str_to_i64(v, &l) || l < 1 || l > SEARCH_MAX_ROWS)
                return error_set_at(err, ERR_INVALID_PARAM, "limit",
                                    "limit: expected an integer from 1 to %d", SEARCH_MAX_ROWS);
            f->limit = l;
            break;
        }
        case P_SORT:
            if (str_eq_cstr(v, "created_at") || str_eq_cstr(v, "+created_at"))
                f->ascending = true;
            else if (str_eq_cstr(v, "-created_at"))
                f->ascending = false;
            else
                return bad(err, id, "expected -created_at (newest first) or created_at");
            break;
        case P_FORMAT:
            if (str_eq_cstr(v, "ndjson"))
                f->format = FORMAT_NDJSON;
            else if (str_eq_cstr(v, "json"))
                f->format = FORMAT_JSON;
            else
                return bad(err, id, "expected ndjson or json");
            break;
        case P_CURSOR:
            if (v.len == 0 || v.len > 256)
                return error_set_at(err, ERR_INVALID_CURSOR, "cursor",
                                    "cursor: not a cursor issued by this API");
            f->cursor = v;
            break;
        }
    }

    if (f->from_s != INT64_MIN && f->to_s != INT64_MAX && f->from_s >= f->to_s)
        return error_set_at(err, ERR_INVALID_PARAM, "to", "to: must be later than from");
    for (int k = 0; k < 2; k++) {
        if (!total[k].ptr)
            continue;
        const char *name = k ? "max_total" : "min_total";
        if (!f->currency[0])
            return error_set_at(err, ERR_INVALID_PARAM, name,
                                "%s: requires currency= (amounts are in that currency's "
                                "major units)",
                                name);
        int64_t *dst = k ? &f->max_total_minor : &f->min_total_minor;
        if (money_parse(total[k].ptr, total[k].len, currency_exponent(f->currency, 3), dst))
            return error_set_at(err, ERR_INVALID_PARAM, name,
                                "%s: expected a decimal amount with at most %d fraction "
                                "digits for %s",
                                name, currency_exponent(f->currency, 3), f->currency);
        if (k)
            f->has_max_total = true;
        else
            f->has_min_total = true;
    }
    if (f->has_min_total && f->has_max_total && f->min_total_minor > f->max_total_minor)
        return error_set_at(err, ERR_INVALID_PARAM, "max_total",
                            "max_total: must not be below min_total");
    if (f->status_mask == (1u << ORDER_STATUS_COUNT) - 1)
        f->status_mask = 0; /* every status: no filter, and the same fingerprint */
    if (f->nproducts > 1) {
        qsort(f->products, f->nproducts, sizeof(f->products[0]), cmp_str);
        size_t w = 1;
        for (size_t i = 1; i < f->nproducts; i++)
            if (!str_eq(f->products[i], f->products[w - 1]))
                f->products[w++] = f->products[i];
        f->nproducts = w;
    }
    return 0;
}

static void put_field(struct buf *b, struct str s)
{
    buf_appendf(b, "%zu:", s.len);
    buf_append(b, s.ptr, s.len);
    buf_putc(b, '|');
}

void filter_fingerprint(const struct search_filter *f, uint8_t out[32])
{
    struct buf b = BUF_INIT;
    buf_appendf(&b, "v1|%lld|%lld|%u|", (long long)f->from_s, (long long)f->to_s, f->status_mask);
    if (f->has_min_total)
        buf_appendf(&b, "%lld", (long long)f->min_total_minor);
    buf_putc(&b, '|');
    if (f->has_max_total)
        buf_appendf(&b, "%lld", (long long)f->max_total_minor);
    buf_putc(&b, '|');
    buf_appendf(&b, "%s|%zu|", f->currency, f->nproducts);
    for (size_t i = 0; i < f->nproducts; i++)
        put_field(&b, f->products[i]);
    put_field(&b, f->customer);
    size_t qstart = b.len;
    put_field(&b, f->q);
    for (size_t i = qstart; i < b.len; i++)
        if (b.data[i] >= 'A' && b.data[i] <= 'Z')
            b.data[i] = (char)(b.data[i] - 'A' + 'a');
    buf_puts(&b, f->ascending ? "asc" : "desc");
    sha256(b.data, b.len, out);
    buf_fini(&b);
}
