/*
 * order_json.c: the order row encoder (order_json.h).
 *
 * Cost model: at the 1M rows/s target a row has ~1 µs in total, of which
 * SQLite's step takes most; the encoder must stay near 100-200 ns for the
 * default projection. So: one buf_reserve per row for the fixed-width parts,
 * digits from a two-digit table, the date prefix cached per day, the
 * currency exponent cached per currency (a stream is usually one or two
 * currencies), and field names as compile-time literals.
 */
#include "order_json.h"

#include <string.h>

#include "filter.h"
#include "money.h"
#include "timefmt.h"

static const char DIGITS2[201] = "00010203040506070809101112131415161718192021222324252627282930"
                                 "31323334353637383940414243444546474849505152535455565758596061"
                                 "62636465666768697071727374757677787980818283848586878889909192"
                                 "93949596979899";

void order_json_init(struct order_json *e, unsigned fields)
{
    memset(e, 0, sizeof(*e));
    e->fields = fields;
    e->day = INT64_MIN;
    e->cur_exp = -1;
}

/* Decimal of v into the end of tmp[24]; returns the start. */
static char *u64_digits(uint64_t v, char *end)
{
    char *p = end;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, DIGITS2 + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, DIGITS2 + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

static inline void put_lit(struct buf *b, const char *s, size_t n)
{
    buf_append(b, s, n);
}
#define PUT(b, lit) put_lit((b), (lit), sizeof(lit) - 1)

static void put_i64(struct buf *b, int64_t v)
{
    char tmp[24], *end = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? 0ULL - (uint64_t)v : (uint64_t)v;
    char *p = u64_digits(u, end);
    if (v < 0)
        *--p = '-';
    buf_append(b, p, (size_t)(end - p));
}

/* "\"12.34\"" for minor units at exponent exp (0..4). */
static void put_money(struct buf *b, int64_t minor, int exp)
{
    char tmp[32], *end = tmp + sizeof(tmp) - 1, *p;
    uint64_t u = minor < 0 ? 0ULL - (uint64_t)minor : (uint64_t)minor;
    *end = '"';
    p = end;
    if (exp > 0) {
        for (int i = 0; i < exp; i++) {
            *--p = (char)('0' + u % 10);
            u /= 10;
        }
        *--p = '.';
    }
    p = u64_digits(u, p);
    if (minor < 0)
        *--p = '-';
    *--p = '"';
    buf_append(b, p, (size_t)(end + 1 - p));
}

void order_json_time(struct order_json *e, struct buf *b, int64_t t)
{
    int64_t day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t sec = t - day * 86400;
    if (day != e->day) {
        /* Civil from days (Howard Hinnant's algorithm). */
        int64_t z = day + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = (int64_t)yoe + era * 400;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        unsigned d = doy - (153 * mp + 2) / 5 + 1;
        unsigned m = mp < 10 ? mp + 3 : mp - 9;
        y += m <= 2;
        if (y < 0 || y > 9999)
            y = y < 0 ? 0 : 9999;
        memcpy(e->date, DIGITS2 + 2 * (y / 100), 2);
        memcpy(e->date + 2, DIGITS2 + 2 * (y % 100), 2);
        e->date[4] = '-';
        memcpy(e->date + 5, DIGITS2 + 2 * m, 2);
        e->date[7] = '-';
        memcpy(e->date + 8, DIGITS2 + 2 * d, 2);
        e->date[10] = 'T';
        e->day = day;
    }
    char *p = buf_reserve(b, 22);
    p[0] = '"';
    memcpy(p + 1, e->date, 11);
    unsigned s = (unsigned)sec;
    memcpy(p + 12, DIGITS2 + 2 * (s / 3600), 2);
    p[14] = ':';
    memcpy(p + 15, DIGITS2 + 2 * (s / 60 % 60), 2);
    p[17] = ':';
    memcpy(p + 18, DIGITS2 + 2 * (s % 60), 2);
    p[20] = 'Z';
    p[21] = '"';
    buf_commit(b, 22);
}

static int exponent_of(struct order_json *e, const char *cur)
{
    if (!cur)
        return 2;
    if (e->cur_exp < 0 || memcmp(e->cur, cur, 3) != 0) {
        int x = currency_exponent(cur, 3);
        memcpy(e->cur, cur, 3);
        e->cur_exp = x < 0 ? 2 : x;
    }
    return e->cur_exp;
}

static void put_opt_str(struct buf *b, const char *p, size_t n)
{
    if (p)
        buf_append_json_str(b, p, n);
    else
        PUT(b, "null");
}

void order_json_row(struct order_json *e, struct buf *b, const struct order_row *r)
{
    unsigned f = e->fields;
    char sep = '{';
#define KEY(lit)                                                                                   \
    do {                                                                                           \
        buf_putc(b, sep);                                                                          \
        sep = ',';                                                                                 \
        PUT(b, lit);                                                                               \
    } while (0)
    if (f & FIELD_BIT(FIELD_ORDER_ID)) {
        KEY("\"order_id\":");
        put_opt_str(b, r->order_id, r->order_id_len);
    }
    if (f & FIELD_BIT(FIELD_STATUS)) {
        KEY("\"status\":\"");
        const char *s = r->status >= 0 && r->status < ORDER_STATUS_COUNT
                            ? ORDER_STATUS_NAMES[r->status]
                            : "unknown";
        buf_puts(b, s);
        buf_putc(b, '"');
    }
    if (f & FIELD_BIT(FIELD_CURRENCY)) {
        KEY("\"currency\":");
        put_opt_str(b, r->currency, r->currency ? 3 : 0);
    }
    if (f & FIELD_BIT(FIELD_TOTAL)) {
        KEY("\"total\":");
        put_money(b, r->total_minor, exponent_of(e, r->currency));
    }
    if (f & FIELD_BIT(FIELD_ITEM_COUNT)) {
        KEY("\"item_count\":");
        put_i64(b, r->item_count);
    }
    if (f & FIELD_BIT(FIELD_CREATED_AT)) {
        KEY("\"created_at\":");
        order_json_time(e, b, r->created_at);
    }
    if (f & FIELD_BIT(FIELD_INGESTED_AT)) {
        KEY("\"ingested_at\":");
        order_json_time(e, b, r->ingested_at);
    }
    if (f & FIELDS_CUSTOMER) {
        char csep = '{';
        KEY("\"customer\":");
        if (f & FIELD_BIT(FIELD_CUSTOMER_ID)) {
            buf_putc(b, csep);
            csep = ',';
            PUT(b, "\"id\":");
            put_opt_str(b, r->customer_id, r->customer_id_len);
        }
        if (f & FIELD_BIT(FIELD_CUSTOMER_NAME)) {
            buf_putc(b, csep);
            csep = ',';
            PUT(b, "\"name\":");
            put_opt_str(b, r->customer_name, r->customer_name_len);
        }
        if (f & FIELD_BIT(FIELD_CUSTOMER_EMAIL)) {
            buf_putc(b, csep);
            PUT(b, "\"email\":");
            put_opt_str(b, r->customer_email, r->customer_email_len);
        }
        buf_putc(b, '}');
    }
    if (f & FIELD_BIT(FIELD_ITEMS)) {
        KEY("\"items\":[");
        e->nitems = 0;
        e->item_exp = exponent_of(e, r->currency);
        return;
    }
    if (sep == '{')
        buf_putc(b, '{');
    buf_putc(b, '}');
#undef KEY
}

void order_json_item(struct order_json *e, struct buf *b, const char *product_id, size_t len,
                     int64_t quantity, int64_t unit_price_minor)
{
    if (e->nitems++)
        buf_putc(b, ',');
    PUT(b, "{\"product_id\":");
    put_opt_str(b, product_id, len);
    PUT(b, ",\"quantity\":");
    put_i64(b, quantity);
    PUT(b, ",\"unit_price\":");
    put_money(b, unit_price_minor, e->item_exp);
    buf_putc(b, '}');
}

void order_json_row_end(struct order_json *e, struct buf *b)
{
    (void)e;
    PUT(b, "]}");
}

static void put_cursor(struct buf *b, const char *next_cursor)
{
    if (next_cursor)
        buf_append_json_cstr(b, next_cursor);
    else
        PUT(b, "null");
}

void order_json_ndjson_trailer(struct buf *b, const char *next_cursor, uint64_t count)
{
    PUT(b, "{\"next_cursor\":");
    put_cursor(b, next_cursor);
    PUT(b, ",\"count\":");
    put_i64(b, (int64_t)count);
    PUT(b, "}\n");
}

void order_json_doc_begin(struct buf *b)
{
    PUT(b, "{\"data\":[");
}

void order_json_doc_trailer(struct buf *b, const char *next_cursor, uint64_t count)
{
    PUT(b, "],\"next_cursor\":");
    put_cursor(b, next_cursor);
    PUT(b, ",\"count\":");
    put_i64(b, (int64_t)count);
    PUT(b, "}\n");
}

void order_json_doc_error(struct buf *b, uint64_t count, const struct error *err,
                          const char *request_id)
{
    PUT(b, "],\"next_cursor\":null,\"count\":");
    put_i64(b, (int64_t)count);
    PUT(b, ",\"error\":{\"code\":");
    buf_append_json_cstr(b, error_code_str(err->code));
    PUT(b, ",\"status\":");
    put_i64(b, error_status(err->code));
    PUT(b, ",\"detail\":");
    buf_append_json_cstr(b, err->detail);
    PUT(b, ",\"request_id\":");
    buf_append_json_cstr(b, request_id ? request_id : "");
    PUT(b, "}}\n");
}
