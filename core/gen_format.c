/*
 * gen_format.c: NDJSON order lines, CSV rows and malformed lines (gen_format.h).
 */
#include "gen_format.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "timefmt.h"

#define LIT(b, s) buf_append((b), (s), sizeof(s) - 1)

static inline void put_cstr(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

static inline void put_time(struct buf *b, int64_t t)
{
    char tmp[21];
    rfc3339_format(t, tmp);
    buf_append(b, tmp, 20);
}

/* A CSV field: quoted only when it holds a comma, quote or line break. */
static void put_csv(struct buf *b, const char *s)
{
    size_t n = strlen(s);
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n)) {
        buf_append(b, s, n);
        return;
    }
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            buf_putc(b, '"');
        buf_putc(b, s[i]);
    }
    buf_putc(b, '"');
}

/*
 * The fast path: valid order lines and the order CSVs are written through a
 * raw pointer into space reserved once per row (GEN_LINE_MAX covers the
 * largest valid line: 10 items and 96-byte names), then committed. This
 * halves the cost of going through buf_append per field (measured: ~40% of
 * the time of a line was buf_reserve/buf_append/buf_putc calls).
 */
#define GEN_LINE_MAX 4096

static inline char *w_bytes(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
#define W_LIT(p, s) w_bytes((p), (s), sizeof(s) - 1)

static inline char *w_str(char *p, const char *s)
{
    return w_bytes(p, s, strlen(s));
}

static inline char *w_u64(char *p, uint64_t v)
{
    char tmp[20];
    int i = 20;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return w_bytes(p, tmp + i, (size_t)(20 - i));
}

static inline char *w_money(char *p, int64_t minor, int exp)
{
    static const uint64_t scale[] = {1, 10, 100, 1000, 10000};
    uint64_t a = minor < 0 ? 0ULL - (uint64_t)minor : (uint64_t)minor;
    if (minor < 0)
        *p++ = '-';
    if (exp <= 0 || exp > 4)
        return w_u64(p, a);
    p = w_u64(p, a / scale[exp]);
    *p++ = '.';
    uint64_t f = a % scale[exp];
    for (int i = exp - 1; i >= 0; i--) {
        p[i] = (char)('0' + f % 10);
        f /= 10;
    }
    return p + exp;
}

/* RFC 3339 with the date part cached per day (rows come in time order). */
static char *w_time(char *p, int64_t t)
{
    static int64_t cached_day = INT64_MIN;
    static char date[11]; /* "YYYY-MM-DDT" */
    int64_t day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    if (day != cached_day) {
        char tmp[21];
        rfc3339_format(day * 86400, tmp);
        memcpy(date, tmp, 11);
        cached_day = day;
    }
    unsigned rem = (unsigned)(t - day * 86400);
    unsigned h = rem / 3600, m = rem / 60 % 60, sec = rem % 60;
    memcpy(p, date, 11);
    p[11] = (char)('0' + h / 10);
    p[12] = (char)('0' + h % 10);
    p[13] = ':';
    p[14] = (char)('0' + m / 10);
    p[15] = (char)('0' + m % 10);
    p[16] = ':';
    p[17] = (char)('0' + sec / 10);
    p[18] = (char)('0' + sec % 10);
    p[19] = 'Z';
    return p + 20;
}

/* True when s can go between JSON quotes as is (no quote, backslash, control byte). */
static inline bool json_plain(const char *s)
{
    for (const unsigned char *u = (const unsigned char *)s; *u; u++)
        if (*u < 0x20 || *u == '"' || *u == '\\')
            return false;
    return true;
}

/* ============================== NDJSON ============================== */

/* The line up to and including "items":[ , shared by valid and bad lines. */
static void order_head(struct buf *b, const char *order_id, const struct gen_customer *c,
                       const char *name, size_t name_len, int status, const char *currency,
                       int64_t created_at, bool raw_name)
{
    LIT(b, "{\"order_id\":\"");
    put_cstr(b, order_id);
    LIT(b, "\",\"customer\":{\"id\":\"");
    put_cstr(b, c->ext_id);
    LIT(b, "\",\"name\":");
    if (raw_name) { /* bytes as given: the invalid-UTF-8 bad line */
        buf_putc(b, '"');
        buf_append(b, name, name_len);
        buf_putc(b, '"');
    } else {
        buf_append_json_str(b, name, name_len);
    }
    LIT(b, ",\"email\":\"");
    put_cstr(b, c->email);
    LIT(b, "\"},\"status\":\"");
    put_cstr(b, order_status_name(status));
    LIT(b, "\",\"currency\":\"");
    buf_append(b, currency, 3);
    LIT(b, "\",\"created_at\":\"");
    put_time(b, created_at);
    LIT(b, "\",\"items\":[");
}

static void order_item(struct buf *b, const char *product_id, int64_t quantity, int64_t unit,
                       int exponent)
{
    LIT(b, "{\"product_id\":\"");
    put_cstr(b, product_id);
    LIT(b, "\",\"quantity\":");
    buf_append_i64(b, quantity);
    LIT(b, ",\"unit_price\":\"");
    buf_append_money(b, unit, exponent);
    LIT(b, "\"}");
}

static void order_tail(struct buf *b, int64_t total, int exponent)
{
    LIT(b, "],\"total\":\"");
    buf_append_money(b, total, exponent);
    LIT(b, "\"}\n");
}

void gen_fmt_order_line(struct buf *b, const struct gen_order *o, const struct gen_customer *c)
{
    if (!json_plain(c->name) || !json_plain(c->email)) {
        /* not reached with the built-in name tables; kept exact for any table */
        order_head(b, o->order_id, c, c->name, strlen(c->name), o->status, o->currency,
                   o->created_at, false);
        for (int i = 0; i < o->nitems; i++) {
            if (i)
                buf_putc(b, ',');
            order_item(b, o->items[i].product_id, o->items[i].quantity,
                       o->items[i].unit_price_minor, o->exponent);
        }
        order_tail(b, o->total_minor, o->exponent);
        return;
    }
    char *start = buf_reserve(b, GEN_LINE_MAX), *p = start;
    p = W_LIT(p, "{\"order_id\":\"");
    p = w_str(p, o->order_id);
    p = W_LIT(p, "\",\"customer\":{\"id\":\"");
    p = w_str(p, c->ext_id);
    p = W_LIT(p, "\",\"name\":\"");
    p = w_str(p, c->name);
    p = W_LIT(p, "\",\"email\":\"");
    p = w_str(p, c->email);
    p = W_LIT(p, "\"},\"status\":\"");
    p = w_str(p, order_status_name(o->status));
    p = W_LIT(p, "\",\"currency\":\"");
    p = w_bytes(p, o->currency, 3);
    p = W_LIT(p, "\",\"created_at\":\"");
    p = w_time(p, o->created_at);
    p = W_LIT(p, "\",\"items\":[");
    for (int i = 0; i < o->nitems; i++) {
        const struct gen_item *it = &o->items[i];
        if (i)
            *p++ = ',';
        p = W_LIT(p, "{\"product_id\":\"");
        p = w_str(p, it->product_id);
        p = W_LIT(p, "\",\"quantity\":");
        p = w_u64(p, (uint64_t)it->quantity);
        p = W_LIT(p, ",\"unit_price\":\"");
        p = w_money(p, it->unit_price_minor, o->exponent);
        p = W_LIT(p, "\"}");
    }
    p = W_LIT(p, "],\"total\":\"");
    p = w_money(p, o->total_minor, o->exponent);
    p = W_LIT(p, "\"}\n");
    buf_commit(b, (size_t)(p - start));
}

/*
 * Write the whole valid line into b, then replace or cut pieces of it. The
 * mutations are textual on purpose: they are what a broken client sends.
 */
void gen_fmt_bad_line(struct buf *b, const struct gen_order *o, const struct gen_customer *c,
                      const struct gen_bad *bad, int64_t products)
{
    char id[GEN_ID_MAX];
    snprintf(id, sizeof(id), "ORD-B%07lld", (long long)(bad->seq + 1));
    uint32_t v = bad->variant;
    size_t start = b->len;
    const struct gen_item *it = &o->items[0];

    switch (bad->kind) {
    case GEN_BAD_BROKEN_JSON: {
        order_head(b, id, c, c->name, strlen(c->name), o->status, o->currency, o->created_at, false);
        order_item(b, it->product_id, it->quantity, it->unit_price_minor, o->exponent);
        order_tail(b, it->quantity * it->unit_price_minor, o->exponent);
        size_t len = b->len - start - 1; /* without the newline */
        /* Cut at an ASCII byte so the prefix stays valid UTF-8. */
        size_t cut = 1 + (size_t)(v % (len - 1));
        while (cut > 1 && ((unsigned char)b->data[start + cut] & 0xC0) == 0x80)
            cut--;
        b->len = start + cut;
        if (v & 0x80000000u)
            LIT(b, ",,}"); /* a stray-comma variant */
        buf_putc(b, '\n');
        break;
    }
    case GEN_BAD_WRONG_TYPE: {
        order_head(b, id, c, c->name, strlen(c->name), o->status, o->currency, o->created_at, false);
        switch (v % 4) {
        case 0: /* quantity as a word */
            LIT(b, "{\"product_id\":\"");
            put_cstr(b, it->product_id);
            LIT(b, "\",\"quantity\":\"two\",\"unit_price\":\"");
            buf_append_money(b, it->unit_price_minor, o->exponent);
            LIT(b, "\"}");
            order_tail(b, 2 * it->unit_price_minor, o->exponent);
            break;
        case 1: /* items as an object */
            b->len -= 1; /* drop the '[' */
            LIT(b, "{\"product_id\":\"");
            put_cstr(b, it->product_id);
            LIT(b, "\"},\"total\":\"1.00\"}\n");
            break;
        case 2: /* total as a boolean */
            order_item(b, it->product_id, it->quantity, it->unit_price_minor, o->exponent);
            LIT(b, "],\"total\":true}\n");
            break;
        default: /* unit price as an object */
            LIT(b, "{\"product_id\":\"");
            put_cstr(b, it->product_id);
            LIT(b, "\",\"quantity\":1,\"unit_price\":{\"amount\":1}}");
            order_tail(b, it->unit_price_minor, o->exponent);
            break;
        }
        break;
    }
    case GEN_BAD_MISSING_FIELD: {
        /* Write the line, then cut one required member out of it. */
        order_head(b, id, c, c->name, strlen(c->name), o->status, o->currency, o->created_at, false);
        order_item(b, it->product_id, it->quantity, it->unit_price_minor, o->exponent);
        order_tail(b, it->quantity * it->unit_price_minor, o->exponent);
        static const char *const members[] = {"\"order_id\":", "\"customer\":",
                                              "\"created_at\":", "\"items\":", "\"currency\":"};
        const char *m = members[v % 5];
        char *line = b->data + start;
        char *p = strstr(line, m);
        char *end = p;
        /* The member runs to the next top-level comma: skip nested braces/brackets/strings. */
        int depth = 0, in_str = 0;
        for (end = p + strlen(m); *end; end++) {
            if (in_str) {
                if (*end == '\\')
                    end++;
                else if (*end == '"')
                    in_str = 0;
            } else if (*end == '"') {
                in_str = 1;
            } else if (*end == '{' || *end == '[') {
                depth++;
            } else if (*end == '}' || *end == ']') {
                if (depth == 0)
                    break;
                depth--;
            } else if (*end == ',' && depth == 0) {
                end++; /* take the comma with it */
                break;
            }
        }
        size_t tail = (size_t)(b->data + b->len - end);
        memmove(p, end, tail);
        b->len = (size_t)(p - b->data) + tail;
        b->data[b->len] = '\0';
        break;
    }
    case GEN_BAD_NEGATIVE_QUANTITY: {
        order_head(b, id, c, c->name, strlen(c->name), o->status, o->currency, o->created_at, false);
        int64_t q = -(int64_t)(1 + v % 5);
        order_item(b, it->product_id, q, it->unit_price_minor, o->exponent);
        order_tail(b, q * it->unit_price_minor, o->exponent);
        break;
    }
    case GEN_BAD_UNKNOWN_PRODUCT: {
        char pid[GEN_ID_MAX];
        snprintf(pid, sizeof(pid), "P-%07lld", (long long)(products + 1 + v % 1000000));
        order_head(b, id, c, c->name, strlen(c->name), o->status, o->currency, o->created_at, false);
        order_item(b, pid, it->quantity, it->unit_price_minor, o->exponent);
        order_tail(b, it->quantity * it->unit_price_minor, o->exponent);
        break;
    }
    case GEN_BAD_ABSURD_DATE: {
        static const char *const dates[] = {"1900-01-01T00:00:00Z", "2025-13-45T25:61:00Z",
                                            "2025-02-30T10:00:00Z", "not-a-date",
                                            "0000-00-00T00:00:00Z"};
        order_head(b, id, c, c->name, strlen(c->name), o->status, o->currency, o->created_at, false);
        order_item(b, it->product_id, it->quantity, it->unit_price_minor, o->exponent);
        order_tail(b, it->quantity * it->unit_price_minor, o->exponent);
        /* Overwrite the date in place: same length for the fixed ones. */
        char *p = strstr(b->data + start, "\"created_at\":\"") + 14;
        const char *d = dates[v % 5];
        size_t dl = strlen(d);
        size_t tail = (size_t)(b->data + b->len - (p + 20));
        memmove(p + dl, p + 20, tail);
        memcpy(p, d, dl);
        b->len = (size_t)(p + dl - b->data) + tail;
        b->data[b->len] = '\0';
        break;
    }
    case GEN_BAD_OVERSIZED_STRING: {
        /* A 10 000-byte customer name: 50 times NAME_MAX_BYTES. */
        char big[10001];
        memset(big, 'x', 10000);
        big[10000] = '\0';
        memcpy(big, "Oversized ", 10);
        order_head(b, id, c, big, 10000, o->status, o->currency, o->created_at, false);
        order_item(b, it->product_id, it->quantity, it->unit_price_minor, o->exponent);
        order_tail(b, it->quantity * it->unit_price_minor, o->exponent);
        break;
    }
    default: { /* GEN_BAD_INVALID_UTF8: raw bytes the escaper would have repaired */
        static const char *const junk[] = {"\xff\xfe", "\xc3\x28", "\xe2\x82", "\xed\xa0\x80",
                                           "\xc0\xaf"};
        char name[32];
        const char *j = junk[v % 5];
        int nl = snprintf(name, sizeof(name), "Bad%sName", j);
        order_head(b, id, c, name, (size_t)nl, o->status, o->currency, o->created_at, true);
        order_item(b, it->product_id, it->quantity, it->unit_price_minor, o->exponent);
        order_tail(b, it->quantity * it->unit_price_minor, o->exponent);
        break;
    }
    }
}

/* ================================ CSV =============================== */

void gen_csv_tenants_header(struct buf *b)
{
    LIT(b, "slug,name,currency\n");
}

void gen_csv_tenant(struct buf *b, const struct gen_tenant *t)
{
    put_csv(b, t->slug);
    buf_putc(b, ',');
    put_csv(b, t->name);
    buf_putc(b, ',');
    buf_append(b, t->currency, 3);
    buf_putc(b, '\n');
}

void gen_csv_categories_header(struct buf *b)
{
    LIT(b, "category_id,name,parent_id\n");
}

void gen_csv_category(struct buf *b, const struct gen_category *c)
{
    put_cstr(b, c->ext_id);
    buf_putc(b, ',');
    put_csv(b, c->name);
    buf_putc(b, ',');
    if (c->parent >= 0) {
        char id[GEN_ID_MAX];
        snprintf(id, sizeof(id), "CAT-%03lld", (long long)(c->parent + 1));
        put_cstr(b, id);
    }
    buf_putc(b, '\n');
}

void gen_csv_products_header(struct buf *b)
{
    LIT(b, "product_id,name,category_id,currency,price,price_at,created_at\n");
}

void gen_csv_product(struct buf *b, const struct gen_product *p, const struct gen_tenant *t,
                     int64_t price_minor, int64_t price_at)
{
    put_cstr(b, p->ext_id);
    buf_putc(b, ',');
    put_csv(b, p->name);
    buf_putc(b, ',');
    if (p->category >= 0) {
        char id[GEN_ID_MAX];
        snprintf(id, sizeof(id), "CAT-%03lld", (long long)(p->category + 1));
        put_cstr(b, id);
    }
    buf_putc(b, ',');
    buf_append(b, t->currency, 3);
    buf_putc(b, ',');
    buf_append_money(b, price_minor, t->exponent);
    buf_putc(b, ',');
    put_time(b, price_at);
    buf_putc(b, ',');
    put_time(b, p->created_at);
    buf_putc(b, '\n');
}

void gen_csv_customers_header(struct buf *b)
{
    LIT(b, "customer_id,name,email,created_at\n");
}

void gen_csv_customer(struct buf *b, const struct gen_customer *c)
{
    put_cstr(b, c->ext_id);
    buf_putc(b, ',');
    put_csv(b, c->name);
    buf_putc(b, ',');
    put_cstr(b, c->email);
    buf_putc(b, ',');
    put_time(b, c->created_at);
    buf_putc(b, '\n');
}

void gen_csv_orders_header(struct buf *b)
{
    LIT(b, "order_id,customer_id,status,currency,created_at,total,item_count\n");
}

void gen_csv_order(struct buf *b, const struct gen_order *o, const struct gen_customer *c)
{
    char *start = buf_reserve(b, 256), *p = start;
    p = w_str(p, o->order_id);
    *p++ = ',';
    p = w_str(p, c->ext_id);
    *p++ = ',';
    p = w_str(p, order_status_name(o->status));
    *p++ = ',';
    p = w_bytes(p, o->currency, 3);
    *p++ = ',';
    p = w_time(p, o->created_at);
    *p++ = ',';
    p = w_money(p, o->total_minor, o->exponent);
    *p++ = ',';
    p = w_u64(p, (uint64_t)o->nitems);
    *p++ = '\n';
    buf_commit(b, (size_t)(p - start));
}

void gen_csv_order_items_header(struct buf *b)
{
    LIT(b, "order_id,line,product_id,quantity,unit_price\n");
}

void gen_csv_order_items(struct buf *b, const struct gen_order *o)
{
    char *start = buf_reserve(b, (size_t)o->nitems * 128), *p = start;
    for (int i = 0; i < o->nitems; i++) {
        p = w_str(p, o->order_id);
        *p++ = ',';
        p = w_u64(p, (uint64_t)i + 1);
        *p++ = ',';
        p = w_str(p, o->items[i].product_id);
        *p++ = ',';
        p = w_u64(p, (uint64_t)o->items[i].quantity);
        *p++ = ',';
        p = w_money(p, o->items[i].unit_price_minor, o->exponent);
        *p++ = '\n';
    }
    buf_commit(b, (size_t)(p - start));
}

void gen_csv_prices_header(struct buf *b)
{
    LIT(b, "product_id,price,currency,observed_at,source\n");
}

void gen_csv_price(struct buf *b, const struct gen_product *p, const struct gen_tenant *t,
                   const struct gen_price *s)
{
    char *start = buf_reserve(b, 160), *w = start;
    w = w_str(w, p->ext_id);
    *w++ = ',';
    w = w_money(w, s->price_minor, t->exponent);
    *w++ = ',';
    w = w_bytes(w, t->currency, 3);
    *w++ = ',';
    w = w_time(w, s->observed_at);
    *w++ = ',';
    w = w_str(w, s->source);
    *w++ = '\n';
    buf_commit(b, (size_t)(w - start));
}

void gen_stock_event_id(int64_t seq, char out[GEN_ID_MAX])
{
    char digits[20];
    int n = 0;
    uint64_t v = (uint64_t)(seq + 1);
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char *p = W_LIT(out, "SE-");
    for (int i = n; i < 9; i++)
        *p++ = '0';
    while (n)
        *p++ = digits[--n];
    *p = '\0';
}

void gen_stock_event_metadata(const struct gen_stock_event *e, char *out, size_t cap)
{
    snprintf(out, cap, "{\"reason\":\"%s\"}", e->reason);
}

void gen_csv_stock_events_header(struct buf *b)
{
    LIT(b, "event_id,product_id,kind,delta,quantity_after,event_time,source,reason\n");
}

void gen_csv_stock_event(struct buf *b, const struct gen_product *p,
                         const struct gen_stock_event *e)
{
    char id[GEN_ID_MAX];
    gen_stock_event_id(e->seq, id);
    char *start = buf_reserve(b, 200), *w = start;
    w = w_str(w, id);
    *w++ = ',';
    w = w_str(w, p->ext_id);
    *w++ = ',';
    w = e->kind ? W_LIT(w, "absolute,") : W_LIT(w, "delta,");
    if (e->delta < 0) {
        *w++ = '-';
        w = w_u64(w, 0ULL - (uint64_t)e->delta);
    } else {
        w = w_u64(w, (uint64_t)e->delta);
    }
    *w++ = ',';
    if (e->quantity_after < 0) {
        *w++ = '-';
        w = w_u64(w, 0ULL - (uint64_t)e->quantity_after);
    } else {
        w = w_u64(w, (uint64_t)e->quantity_after);
    }
    *w++ = ',';
    w = w_time(w, e->event_time);
    *w++ = ',';
    w = w_str(w, e->source);
    *w++ = ',';
    w = w_str(w, e->reason);
    *w++ = '\n';
    buf_commit(b, (size_t)(w - start));
}

void gen_csv_stock_levels_header(struct buf *b)
{
    LIT(b, "product_id,quantity,version,last_event_time\n");
}

void gen_csv_stock_level(struct buf *b, const struct gen_product *p, int64_t quantity,
                         int64_t version, int64_t last_event_time)
{
    put_cstr(b, p->ext_id);
    buf_putc(b, ',');
    buf_append_i64(b, quantity);
    buf_putc(b, ',');
    buf_append_i64(b, version);
    buf_putc(b, ',');
    if (version)
        put_time(b, last_event_time);
    buf_putc(b, '\n');
}
