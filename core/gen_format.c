/*
 * gen_format.c: NDJSON order lines, CSV rows and malformed lines (gen_format.h).
 */
#include "gen_format.h"

#include <stdbool.h>
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
    order_head(b, o->order_id, c, c->name, strlen(c->name), o->status, o->currency,
               o->created_at, false);
    for (int i = 0; i < o->nitems; i++) {
        if (i)
            buf_putc(b, ',');
        order_item(b, o->items[i].product_id, o->items[i].quantity,
                   o->items[i].unit_price_minor, o->exponent);
    }
    order_tail(b, o->total_minor, o->exponent);
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
    put_cstr(b, o->order_id);
    buf_putc(b, ',');
    put_cstr(b, c->ext_id);
    buf_putc(b, ',');
    put_cstr(b, order_status_name(o->status));
    buf_putc(b, ',');
    buf_append(b, o->currency, 3);
    buf_putc(b, ',');
    put_time(b, o->created_at);
    buf_putc(b, ',');
    buf_append_money(b, o->total_minor, o->exponent);
    buf_putc(b, ',');
    buf_append_i64(b, o->nitems);
    buf_putc(b, '\n');
}

void gen_csv_order_items_header(struct buf *b)
{
    LIT(b, "order_id,line,product_id,quantity,unit_price\n");
}

void gen_csv_order_items(struct buf *b, const struct gen_order *o)
{
    for (int i = 0; i < o->nitems; i++) {
        put_cstr(b, o->order_id);
        buf_putc(b, ',');
        buf_append_i64(b, i + 1);
        buf_putc(b, ',');
        put_cstr(b, o->items[i].product_id);
        buf_putc(b, ',');
        buf_append_i64(b, o->items[i].quantity);
        buf_putc(b, ',');
        buf_append_money(b, o->items[i].unit_price_minor, o->exponent);
        buf_putc(b, '\n');
    }
}

void gen_csv_prices_header(struct buf *b)
{
    LIT(b, "product_id,price,currency,observed_at,source\n");
}

void gen_csv_price(struct buf *b, const struct gen_product *p, const struct gen_tenant *t,
                   const struct gen_price *s)
{
    put_cstr(b, p->ext_id);
    buf_putc(b, ',');
    buf_append_money(b, s->price_minor, t->exponent);
    buf_putc(b, ',');
    buf_append(b, t->currency, 3);
    buf_putc(b, ',');
    put_time(b, s->observed_at);
    buf_putc(b, ',');
    put_cstr(b, s->source);
    buf_putc(b, '\n');
}

void gen_stock_event_id(int64_t seq, char out[GEN_ID_MAX])
{
    snprintf(out, GEN_ID_MAX, "SE-%09lld", (long long)(seq + 1));
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
    put_cstr(b, id);
    buf_putc(b, ',');
    put_cstr(b, p->ext_id);
    buf_putc(b, ',');
    put_cstr(b, e->kind ? "absolute" : "delta");
    buf_putc(b, ',');
    buf_append_i64(b, e->delta);
    buf_putc(b, ',');
    buf_append_i64(b, e->quantity_after);
    buf_putc(b, ',');
    put_time(b, e->event_time);
    buf_putc(b, ',');
    put_cstr(b, e->source);
    buf_putc(b, ',');
    put_cstr(b, e->reason);
    buf_putc(b, '\n');
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
