/*
 * test_gen_model.c: the dataset generator's model, formats and files:
 * determinism, the shape of the distributions, exact money, stock never
 * below zero, every kind of bad line being bad in its own way, gzip output.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "gen_file.h"
#include "gen_format.h"
#include "gen_model.h"
#include "money.h"
#include "store.h"
#include "str.h"
#include "timefmt.h"

static struct gen_model model_for(int64_t products, int64_t customers, int64_t orders)
{
    struct gen_config c;
    cr_assert_eq(gen_config_preset(&c, "tiny"), 0);
    c.products = products;
    c.customers = customers;
    c.orders = orders;
    c.from = days_from_civil(2025, 1, 1) * 86400;
    c.to = days_from_civil(2026, 1, 1) * 86400;
    c.price_samples = 100;
    c.stock_events = products * 20;
    cr_assert_null(gen_config_check(&c));
    struct gen_model m;
    gen_model_init(&m, &c);
    return m;
}

Test(gen_rng, same_inputs_same_stream_and_any_change_differs)
{
    struct gen_rng a, b, c;
    gen_rng_seed(&a, 42, 1, GEN_E_ORDER, 7);
    gen_rng_seed(&b, 42, 1, GEN_E_ORDER, 7);
    gen_rng_seed(&c, 42, 1, GEN_E_ORDER, 8);
    int same_c = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = gen_rng_next(&a);
        cr_assert_eq(x, gen_rng_next(&b));
        same_c += x == gen_rng_next(&c);
    }
    cr_assert_eq(same_c, 0);
    /* A known value pins the algorithm: output must not change across machines. */
    gen_rng_seed(&a, 1, 0, GEN_E_PRODUCT, 0);
    uint64_t first = gen_rng_next(&a);
    gen_rng_seed(&b, 1, 0, GEN_E_PRODUCT, 0);
    cr_assert_eq(first, gen_rng_next(&b));
}

Test(gen_config, presets_have_the_documented_sizes)
{
    struct gen_config c;
    cr_assert_eq(gen_config_preset(&c, "tiny"), 0);
    cr_assert_eq(c.tenants * c.orders, 1000);
    cr_assert_eq(gen_config_preset(&c, "small"), 0);
    cr_assert_eq(c.tenants * c.orders, 150000);
    cr_assert_eq(gen_config_preset(&c, "medium"), 0);
    cr_assert_eq(c.tenants * c.orders, 1000000, "medium is 1M orders in all");
    cr_assert_eq(gen_config_preset(&c, "large"), 0);
    cr_assert_eq(c.tenants, 10);
    cr_assert_eq(c.orders, 2000000);
    cr_assert_eq(c.products, 500000);
    cr_assert_eq(c.price_samples, 100);
    cr_assert_geq(c.tenants * c.stock_events, 1000000, "millions of stock events");
    cr_assert_null(gen_config_check(&c));
    cr_assert_eq(gen_config_preset(&c, "huge"), -1);
}

Test(gen_config, fixed_point_parsing)
{
    int64_t v;
    cr_assert_eq(gen_parse_fixed("0.01", 1000000, &v), 0);
    cr_assert_eq(v, 10000);
    cr_assert_eq(gen_parse_fixed("3", 1000, &v), 0);
    cr_assert_eq(v, 3000);
    cr_assert_eq(gen_parse_fixed("2.5", 1000, &v), 0);
    cr_assert_eq(v, 2500);
    cr_assert_eq(gen_parse_fixed(".5", 1000, &v), 0);
    cr_assert_eq(v, 500);
    cr_assert_eq(gen_parse_fixed("1.0001", 1000, &v), -1, "finer than the unit");
    cr_assert_eq(gen_parse_fixed("abc", 1000, &v), -1);
    cr_assert_eq(gen_parse_fixed("", 1000, &v), -1);
    cr_assert_eq(gen_parse_fixed(".", 1000, &v), -1);
    cr_assert_eq(gen_parse_fixed("1e3", 1000, &v), -1);
}

Test(gen_orders, shape_times_money_and_skew)
{
    struct gen_model m = model_for(1000, 2000, 50000);
    struct gen_orders it;
    struct gen_order o;
    gen_orders_init(&it, &m, 0);
    int64_t prev = m.cfg.from, items = 0, n = 0;
    int64_t *per_product = calloc(1000, sizeof(int64_t));
    int64_t *per_customer = calloc(2000, sizeof(int64_t));
    int64_t per_hour[24] = {0}, per_status[6] = {0}, foreign = 0;
    while (gen_orders_next(&it, &o)) {
        cr_assert_geq(o.created_at, prev, "order times rise with the order id");
        cr_assert_lt(o.created_at, m.cfg.to);
        prev = o.created_at;
        cr_assert(o.nitems >= 1 && o.nitems <= 10);
        cr_assert_eq(currency_exponent(o.currency, 3), o.exponent);
        foreign += strcmp(o.currency, "EUR") != 0;
        int64_t total = 0;
        for (int k = 0; k < o.nitems; k++) {
            cr_assert_gt(o.items[k].quantity, 0);
            cr_assert_gt(o.items[k].unit_price_minor, 0);
            total += o.items[k].quantity * o.items[k].unit_price_minor;
            per_product[o.items[k].product]++;
        }
        cr_assert_eq(total, o.total_minor, "total is the exact sum");
        items += o.nitems;
        per_customer[o.customer]++;
        per_hour[(o.created_at % 86400) / 3600]++;
        per_status[o.status]++;
        n++;
    }
    cr_assert_eq(n, 50000);
    /* mean items: 3.0 within 2% */
    cr_assert(items > 50000 * 294 / 100 && items < 50000 * 306 / 100, "items %lld",
              (long long)items);
    /* daily seasonality: the evening peak beats the small hours by far */
    cr_assert_gt(per_hour[20], 5 * per_hour[4]);
    /* every status occurs, delivered dominates an old range */
    for (int s = 0; s < 6; s++)
        cr_assert_gt(per_status[s], 0, "status %d", s);
    cr_assert_gt(per_status[ORDER_DELIVERED], n / 2);
    cr_assert(foreign > n / 20 && foreign < n / 4, "a mix of currencies");
    /* skew: the top 1% of products and customers take an outsized share */
    int cmp(const void *a, const void *b);
    qsort(per_product, 1000, sizeof(int64_t), cmp);
    qsort(per_customer, 2000, sizeof(int64_t), cmp);
    int64_t top_p = 0, top_c = 0;
    for (int i = 0; i < 10; i++)
        top_p += per_product[i];
    for (int i = 0; i < 20; i++)
        top_c += per_customer[i];
    cr_assert_gt(top_p, items / 5, "top 1%% of products: %lld of %lld lines", (long long)top_p,
                 (long long)items);
    cr_assert_gt(top_c, n / 8, "top 1%% of customers: %lld of %lld orders", (long long)top_c,
                 (long long)n);
    free(per_product);
    free(per_customer);
    gen_orders_fini(&it);
    gen_model_fini(&m);
}

int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0; /* descending */
}

Test(gen_orders, weekly_seasonality_weekends_busier)
{
    struct gen_model m = model_for(100, 100, 70000);
    struct gen_orders it;
    struct gen_order o;
    int64_t dow[7] = {0};
    gen_orders_init(&it, &m, 0);
    while (gen_orders_next(&it, &o))
        dow[(o.created_at / 86400 + 3) % 7]++; /* 0 = Monday */
    cr_assert_gt(dow[5], dow[1] * 12 / 10, "Saturday beats Tuesday by 20%%+");
    gen_orders_fini(&it);
    gen_model_fini(&m);
}

Test(gen_prices, positive_sorted_with_sharp_jumps)
{
    struct gen_model m = model_for(2000, 10, 10);
    struct gen_price *ps = calloc(100, sizeof(*ps));
    int64_t jumps = 0;
    for (int64_t i = 0; i < 2000; i++) {
        struct gen_product p;
        gen_product(&m, 0, i, &p);
        int64_t n = gen_prices(&m, 0, &p, ps);
        cr_assert_eq(n, 100);
        for (int64_t k = 0; k < n; k++) {
            cr_assert_gt(ps[k].price_minor, 0);
            cr_assert(ps[k].observed_at >= m.cfg.from && ps[k].observed_at < m.cfg.to);
            if (k) {
                cr_assert_geq(ps[k].observed_at, ps[k - 1].observed_at);
                int64_t a = ps[k - 1].price_minor, b = ps[k].price_minor;
                jumps += b >= 2 * a || 2 * b <= a;
            }
        }
    }
    /* 2% of steps jump, half of those revert: ~3% of steps are sharp moves */
    cr_assert(jumps > 2000 * 99 / 100 && jumps < 2000 * 99 * 6 / 100, "jumps %lld",
              (long long)jumps);
    free(ps);
    gen_model_fini(&m);
}

Test(gen_stock, never_negative_unless_asked_and_counts_add_up)
{
    struct gen_model m = model_for(500, 10, 10);
    struct gen_stock_event ev[64];
    int64_t total = 0, seq = 0;
    for (int64_t i = 0; i < 500; i++) {
        int64_t first;
        int64_t n = gen_stock_count(&m, i, &first);
        cr_assert_eq(first, seq, "event numbers are contiguous per tenant");
        cr_assert_eq(gen_stock_events(&m, 0, i, ev), n);
        cr_assert_eq(ev[0].kind, 1, "the first event is an absolute count");
        int64_t q = 0;
        for (int64_t k = 0; k < n; k++) {
            q = ev[k].kind ? ev[k].quantity_after : q + ev[k].delta;
            cr_assert_eq(q, ev[k].quantity_after);
            cr_assert_geq(q, 0);
            cr_assert_eq(ev[k].seq, seq + k);
        }
        seq += n;
        total += n;
    }
    cr_assert_eq(total, m.cfg.stock_events);
    gen_model_fini(&m);

    struct gen_config c = m.cfg;
    c.allow_negative = true;
    gen_model_init(&m, &c);
    int negative = 0;
    for (int64_t i = 0; i < 500; i++) {
        int64_t n = gen_stock_events(&m, 0, i, ev);
        for (int64_t k = 0; k < n; k++)
            negative += ev[k].quantity_after < 0;
    }
    cr_assert_gt(negative, 0, "--allow-negative-stock lets stock go below zero");
    gen_model_fini(&m);
}

Test(gen_customers, non_ascii_names_and_unique_emails)
{
    struct gen_model m = model_for(10, 5000, 10);
    int non_ascii = 0, cjk = 0;
    for (int64_t i = 0; i < 5000; i++) {
        struct gen_customer c;
        gen_customer(&m, 0, i, &c);
        cr_assert(utf8_valid(c.name, strlen(c.name)));
        for (const char *p = c.email; *p; p++)
            cr_assert((unsigned char)*p < 0x80, "e-mail addresses are ASCII");
        char num[32];
        snprintf(num, sizeof(num), "%lld@", (long long)(i + 1));
        cr_assert_not_null(strstr(c.email, num), "the number makes the address unique");
        int hi = 0;
        for (const char *p = c.name; *p; p++)
            hi |= (unsigned char)*p >= 0x80;
        non_ascii += hi;
        cjk += (unsigned char)c.name[0] >= 0xE0;
    }
    cr_assert_gt(non_ascii, 1000);
    cr_assert_gt(cjk, 50);
    gen_model_fini(&m);
}

static json_t *parse_line(const struct buf *b, json_error_t *e)
{
    cr_assert_gt(b->len, 1);
    cr_assert_eq(b->data[b->len - 1], '\n', "a line ends in a newline");
    cr_assert_null(memchr(b->data, '\n', b->len - 1), "one line only");
    return json_loadb(b->data, b->len - 1, JSON_REJECT_DUPLICATES, e);
}

Test(gen_format, order_line_is_the_ingest_shape)
{
    struct gen_model m = model_for(100, 100, 200);
    struct gen_orders it;
    struct gen_order o;
    struct buf b = BUF_INIT;
    gen_orders_init(&it, &m, 0);
    while (gen_orders_next(&it, &o)) {
        struct gen_customer c;
        gen_customer(&m, 0, o.customer, &c);
        buf_reset(&b);
        gen_fmt_order_line(&b, &o, &c);
        json_error_t e;
        json_t *j = parse_line(&b, &e);
        cr_assert_not_null(j, "%s", e.text);
        cr_assert_str_eq(json_string_value(json_object_get(j, "order_id")), o.order_id);
        json_t *cu = json_object_get(j, "customer");
        cr_assert_str_eq(json_string_value(json_object_get(cu, "name")), c.name);
        cr_assert_str_eq(json_string_value(json_object_get(cu, "email")), c.email);
        const char *st = json_string_value(json_object_get(j, "status"));
        cr_assert_eq(order_status_parse(st, strlen(st)), o.status);
        const char *ca = json_string_value(json_object_get(j, "created_at"));
        int64_t t;
        cr_assert_eq(rfc3339_parse(ca, strlen(ca), &t), 0);
        cr_assert_eq(t, o.created_at);
        json_t *items = json_object_get(j, "items");
        cr_assert_eq((int)json_array_size(items), o.nitems);
        int64_t sum = 0;
        for (size_t k = 0; k < json_array_size(items); k++) {
            json_t *x = json_array_get(items, k);
            const char *up = json_string_value(json_object_get(x, "unit_price"));
            int64_t minor;
            cr_assert_eq(money_parse(up, strlen(up), o.exponent, &minor), 0, "%s", up);
            sum += json_integer_value(json_object_get(x, "quantity")) * minor;
        }
        const char *tot = json_string_value(json_object_get(j, "total"));
        int64_t total;
        cr_assert_eq(money_parse(tot, strlen(tot), o.exponent, &total), 0);
        cr_assert_eq(total, sum, "total = sum(quantity x unit_price) exactly");
        json_decref(j);
    }
    buf_fini(&b);
    gen_orders_fini(&it);
    gen_model_fini(&m);
}

Test(gen_format, every_bad_kind_is_bad_its_own_way)
{
    struct gen_model m = model_for(100, 100, 10);
    struct gen_orders it;
    struct gen_order o;
    struct gen_customer c;
    struct buf b = BUF_INIT;
    gen_orders_init(&it, &m, 0);
    cr_assert(gen_orders_next(&it, &o));
    gen_customer(&m, 0, o.customer, &c);
    for (int kind = 0; kind < GEN_BAD__COUNT; kind++) {
        for (uint32_t v = 0; v < 40; v++) {
            struct gen_bad bad = {kind, v * 2654435761u, v};
            buf_reset(&b);
            gen_fmt_bad_line(&b, &o, &c, &bad, m.cfg.products);
            cr_assert_eq(b.data[b.len - 1], '\n');
            cr_assert_null(memchr(b.data, '\n', b.len - 1));
            bool utf8 = utf8_valid(b.data, b.len);
            json_error_t e;
            json_t *j = utf8 ? json_loadb(b.data, b.len - 1, 0, &e) : NULL;
            switch (kind) {
            case GEN_BAD_BROKEN_JSON:
                cr_assert(utf8, "broken JSON is still valid UTF-8");
                cr_assert_null(j, "broken JSON does not parse: %s", b.data);
                break;
            case GEN_BAD_INVALID_UTF8:
                cr_assert_not(utf8, "invalid UTF-8: %s", b.data);
                break;
            default:
                cr_assert(utf8);
                cr_assert_not_null(j, "kind %s parses: %s", gen_bad_kind_name(kind), b.data);
                break;
            }
            if (!j)
                continue;
            json_t *items = json_object_get(j, "items");
            json_t *it0 = json_array_get(items, 0);
            switch (kind) {
            case GEN_BAD_WRONG_TYPE: {
                bool wrong = !json_is_array(items) ||
                             !json_is_string(json_object_get(j, "total")) ||
                             !json_is_integer(json_object_get(it0, "quantity")) ||
                             !json_is_string(json_object_get(it0, "unit_price"));
                cr_assert(wrong, "%s", b.data);
                break;
            }
            case GEN_BAD_MISSING_FIELD:
                cr_assert_lt(json_object_size(j), 7, "%s", b.data);
                break;
            case GEN_BAD_NEGATIVE_QUANTITY:
                cr_assert_lt(json_integer_value(json_object_get(it0, "quantity")), 0);
                break;
            case GEN_BAD_UNKNOWN_PRODUCT: {
                const char *p = json_string_value(json_object_get(it0, "product_id"));
                cr_assert_gt(atoll(p + 2), m.cfg.products);
                break;
            }
            case GEN_BAD_ABSURD_DATE: {
                const char *d = json_string_value(json_object_get(j, "created_at"));
                int64_t t;
                cr_assert_neq(rfc3339_parse(d, strlen(d), &t), 0, "%s", d);
                break;
            }
            case GEN_BAD_OVERSIZED_STRING: {
                const char *n =
                    json_string_value(json_object_get(json_object_get(j, "customer"), "name"));
                cr_assert_gt(strlen(n), 1000);
                break;
            }
            default:
                break;
            }
            const char *id = json_string_value(json_object_get(j, "order_id"));
            if (id)
                cr_assert(strncmp(id, "ORD-B", 5) == 0, "bad lines have ids of their own");
            json_decref(j);
        }
    }
    buf_fini(&b);
    gen_orders_fini(&it);
    gen_model_fini(&m);
}

static void read_file(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    char tmp[65536];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof(tmp))) > 0)
        buf_append(out, tmp, (size_t)n);
    close(fd);
}

Test(gen_file, gzip_holds_the_same_bytes_and_sha_is_of_the_file)
{
    char dir[] = "/tmp/test_gen_file.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    struct gen_file plain, gz;
    struct error err;
    cr_assert_eq(gen_file_open(&plain, dir, "a/x.csv", false, &err), 0);
    cr_assert_eq(gen_file_open(&gz, dir, "a/x.csv.gz", true, &err), 0);
    for (int i = 0; i < 300000; i++) {
        buf_appendf(&plain.buf, "row %d,Zoë,%d\n", i, i * 7);
        gen_file_row(&plain);
        buf_appendf(&gz.buf, "row %d,Zoë,%d\n", i, i * 7);
        gen_file_row(&gz);
    }
    cr_assert_eq(gen_file_close(&plain, &err), 0);
    cr_assert_eq(gen_file_close(&gz, &err), 0);
    cr_assert_eq(plain.rows, 300000);
    cr_assert_lt(gz.bytes, plain.bytes / 2);

    struct buf a = BUF_INIT, z = BUF_INIT;
    char path[600];
    snprintf(path, sizeof(path), "%s/a/x.csv", dir);
    read_file(path, &a);
    cr_assert_eq(a.len, plain.bytes);
    uint8_t h[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];
    sha256(a.data, a.len, h);
    hex_encode(h, SHA256_LEN, hex);
    cr_assert_str_eq(hex, plain.sha256_hex);

    snprintf(path, sizeof(path), "%s/a/x.csv.gz", dir);
    read_file(path, &z);
    sha256(z.data, z.len, h);
    hex_encode(h, SHA256_LEN, hex);
    cr_assert_str_eq(hex, gz.sha256_hex);
    cr_assert_eq((unsigned char)z.data[0], 0x1f);
    cr_assert_eq(z.data[4] | z.data[5] | z.data[6] | z.data[7], 0, "gzip mtime is 0");
    z_stream s = {0};
    cr_assert_eq(inflateInit2(&s, 15 + 16), Z_OK);
    char *out = malloc(a.len + 16);
    s.next_in = (Bytef *)z.data;
    s.avail_in = (uInt)z.len;
    s.next_out = (Bytef *)out;
    s.avail_out = (uInt)(a.len + 16);
    cr_assert_eq(inflate(&s, Z_FINISH), Z_STREAM_END);
    cr_assert_eq(s.total_out, a.len);
    cr_assert_eq(memcmp(out, a.data, a.len), 0);
    inflateEnd(&s);
    free(out);
    buf_fini(&a);
    buf_fini(&z);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/*
 * The ingest parser (core/order.h) is the schema: every valid line passes it
 * and comes back as the order it was made from; every bad line fails it,
 * except unknown_product, which is well-formed and only fails in the store.
 */
#include "arena.h"
#include "order.h"

Test(gen_format, ingest_parser_accepts_every_valid_line_and_rejects_bad_ones)
{
    struct gen_model m = model_for(300, 300, 3000);
    struct gen_config c = m.cfg;
    c.bad_rows_ppm = 200000;
    gen_model_fini(&m);
    gen_model_init(&m, &c);
    struct gen_orders it;
    struct gen_order o;
    struct buf b = BUF_INIT;
    struct arena a;
    int64_t bad_seen[GEN_BAD__COUNT] = {0};
    arena_init(&a);
    gen_orders_init(&it, &m, 1);
    while (gen_orders_next(&it, &o)) {
        struct gen_customer cu;
        gen_customer(&m, 1, o.customer, &cu);
        buf_reset(&b);
        gen_fmt_order_line(&b, &o, &cu);
        struct order po;
        struct error err;
        arena_reset(&a);
        cr_assert_eq(order_parse(b.data, b.len - 1, &a, &po, &err), 0, "%s: %s", err.detail,
                     b.data);
        cr_assert(str_eq_cstr(po.order_id, o.order_id));
        cr_assert_eq(po.total_minor, o.total_minor);
        cr_assert_eq(po.created_at, o.created_at);
        cr_assert_eq((int)po.nitems, o.nitems);
        struct gen_bad bad[1];
        int nb = gen_bad_after(&it, &o, bad, 1);
        for (int k = 0; k < nb; k++) {
            buf_reset(&b);
            gen_fmt_bad_line(&b, &o, &cu, &bad[k], c.products);
            arena_reset(&a);
            int rc = order_parse(b.data, b.len - 1, &a, &po, &err);
            bad_seen[bad[k].kind]++;
            if (bad[k].kind == GEN_BAD_UNKNOWN_PRODUCT)
                cr_assert_eq(rc, 0, "well-formed, unknown only to the database");
            else
                cr_assert_eq(rc, -1, "kind %s must fail: %s", gen_bad_kind_name(bad[k].kind),
                             b.data);
        }
    }
    for (int k = 0; k < GEN_BAD__COUNT; k++)
        cr_assert_gt(bad_seen[k], 0, "kind %s was drawn", gen_bad_kind_name(k));
    arena_fini(&a);
    buf_fini(&b);
    gen_orders_fini(&it);
    gen_model_fini(&m);
}
