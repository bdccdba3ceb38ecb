/*
 * test_order.c: order line validation (core/order.c): the accepted shape,
 * every rejection with its code and JSON pointer, money exactness.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "bounds.h"
#include "order.h"

#define GOOD                                                                                       \
    "{\"order_id\":\"ORD-1\",\"customer\":{\"id\":\"C-1\",\"name\":\"Zo\xc3\xab Brandt\","         \
    "\"email\":\"zoe@example.com\"},\"status\":\"paid\",\"currency\":\"EUR\","                     \
    "\"created_at\":\"2025-03-01T12:34:56Z\",\"items\":[{\"product_id\":\"P-42\",\"quantity\":2,"  \
    "\"unit_price\":\"19.99\"},{\"product_id\":\"P-7\",\"quantity\":1,\"unit_price\":5}],"         \
    "\"total\":\"44.98\"}"

static struct arena a;
static void setup(void)
{
    arena_init(&a);
}
static void teardown(void)
{
    arena_fini(&a);
}
TestSuite(order, .init = setup, .fini = teardown);

static int parse(const char *s, struct order *o, struct error *e)
{
    error_clear(e);
    return order_parse(s, strlen(s), &a, o, e);
}

/* GOOD with the first occurrence of `from` replaced by `to`. */
static const char *mut(const char *from, const char *to)
{
    static char out[2048];
    const char *p = strstr(GOOD, from);
    cr_assert(p, "fixture has %s", from);
    snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - GOOD), GOOD, to, p + strlen(from));
    return out;
}

static void rejects(const char *line, enum error_code code, const char *pointer)
{
    struct order o;
    struct error e;
    cr_assert_eq(parse(line, &o, &e), -1, "accepted: %s", line);
    cr_assert_eq(e.code, code, "%s: got %s (%s), want %s", line, error_code_str(e.code), e.detail,
                 error_code_str(code));
    cr_assert_str_eq(e.pointer, pointer, "%s: pointer %s", line, e.pointer);
}

Test(order, accepts_the_wire_shape)
{
    struct order o;
    struct error e;
    cr_assert_eq(parse(GOOD, &o, &e), 0, "%s", e.detail);
    cr_assert(str_eq_cstr(o.order_id, "ORD-1"));
    cr_assert(str_eq_cstr(o.customer_name, "Zo\xc3\xab Brandt"));
    cr_assert_eq(o.status, ORDER_PAID);
    cr_assert_str_eq(o.currency, "EUR");
    cr_assert_eq(o.created_at, 1740832496);
    cr_assert_eq(o.nitems, 2);
    cr_assert_eq(o.items[0].quantity, 2);
    cr_assert_eq(o.items[0].unit_price_minor, 1999);
    cr_assert_eq(o.items[1].unit_price_minor, 500, "integer JSON numbers are whole units");
    cr_assert_eq(o.total_minor, 4498);
}

Test(order, money_numbers_and_exponents)
{
    struct order o;
    struct error e;
    cr_assert_eq(parse(mut("\"total\":\"44.98\"", "\"total\":44.98"), &o, &e), 0, "%s", e.detail);
    cr_assert_eq(o.total_minor, 4498, "a JSON real that round-trips exactly");
    rejects(mut("\"total\":\"44.98\"", "\"total\":44.985"), ERR_INVALID_AMOUNT, "/total");
    rejects(mut("\"total\":\"44.98\"", "\"total\":\"44.981\""), ERR_INVALID_AMOUNT, "/total");
    rejects(mut("\"total\":\"44.98\"", "\"total\":\"-1\""), ERR_INVALID_AMOUNT, "/total");
    rejects(mut("\"unit_price\":\"19.99\"", "\"unit_price\":\"-0.01\""), ERR_INVALID_AMOUNT,
            "/items/0/unit_price");
    /* JPY has no minor digits: 19.99 is not a JPY amount. */
    rejects(mut("\"EUR\"", "\"JPY\""), ERR_INVALID_AMOUNT, "/total");
}

Test(order, rejections_name_code_and_pointer)
{
    rejects("not json", ERR_INVALID_JSON, "");
    rejects("[1,2]", ERR_INVALID_JSON, "");
    rejects("{\"order_id\":\"a\",\"order_id\":\"b\"}", ERR_INVALID_JSON, "");
    rejects("{\"order_id\":\"\xff\"}", ERR_INVALID_UTF8, "");
    rejects(mut("\"order_id\":\"ORD-1\",", ""), ERR_MISSING_FIELD, "/order_id");
    rejects(mut("\"ORD-1\"", "17"), ERR_INVALID_FIELD, "/order_id");
    rejects(mut("\"ORD-1\"", "\"" "0123456789012345678901234567890123456789012345678901234567890123456789" "\""),
            ERR_FIELD_TOO_LONG, "/order_id");
    rejects(mut("\"zoe@example.com\"", "\"zoe.example.com\""), ERR_INVALID_FIELD,
            "/customer/email");
    rejects(mut("\"name\":\"Zo\xc3\xab Brandt\",", ""), ERR_MISSING_FIELD, "/customer/name");
    rejects(mut("\"paid\"", "\"lost\""), ERR_INVALID_STATUS, "/status");
    rejects(mut("\"EUR\"", "\"EURO\""), ERR_INVALID_CURRENCY, "/currency");
    rejects(mut("\"EUR\"", "\"eur\""), ERR_INVALID_CURRENCY, "/currency");
    rejects(mut("2025-03-01T12:34:56Z", "2025-13-01T12:34:56Z"), ERR_INVALID_TIMESTAMP,
            "/created_at");
    rejects(mut("2025-03-01T12:34:56Z", "1999-12-31T23:59:59Z"), ERR_INVALID_TIMESTAMP,
            "/created_at");
    rejects(mut("\"quantity\":2", "\"quantity\":0"), ERR_INVALID_QUANTITY, "/items/0/quantity");
    rejects(mut("\"quantity\":1", "\"quantity\":1.5"), ERR_INVALID_QUANTITY, "/items/1/quantity");
    rejects(mut("\"product_id\":\"P-7\",", ""), ERR_MISSING_FIELD, "/items/1/product_id");
    rejects(mut("\"total\":\"44.98\"", "\"total\":\"44.99\""), ERR_TOTAL_MISMATCH, "/total");
}

Test(order, order_id_is_reported_when_readable)
{
    struct order o;
    struct error e;
    cr_assert_eq(parse(mut("\"paid\"", "\"lost\""), &o, &e), -1);
    cr_assert(str_eq_cstr(o.order_id, "ORD-1"));
    cr_assert_eq(parse("{\"order_id\":\"X-9\"}", &o, &e), -1);
    cr_assert(str_eq_cstr(o.order_id, "X-9"));
    cr_assert_eq(e.code, ERR_MISSING_FIELD);
    cr_assert_str_eq(e.pointer, "/customer");
}

Test(order, item_count_is_bounded)
{
    char line[65536];
    size_t n = (size_t)snprintf(line, sizeof(line),
                                "{\"order_id\":\"O\",\"customer\":{\"id\":\"C\",\"name\":\"N\","
                                "\"email\":\"a@b\"},\"status\":\"paid\",\"currency\":\"EUR\","
                                "\"created_at\":\"2025-01-01T00:00:00Z\",\"total\":0,\"items\":[");
    for (int i = 0; i <= ORDER_ITEMS_MAX; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n,
                              "%s{\"product_id\":\"P\",\"quantity\":1,\"unit_price\":0}",
                              i ? "," : "");
    snprintf(line + n, sizeof(line) - n, "]}");
    rejects(line, ERR_TOO_MANY_ITEMS, "/items");
}
