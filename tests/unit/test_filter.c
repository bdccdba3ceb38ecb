/*
 * test_filter.c: core/filter.c: every parameter's accepted and rejected
 * values (400 naming the parameter), defaults, and the fingerprint's
 * normalization (same rows, same order → same hash).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "filter.h"

static size_t split(char *qs, struct filter_param *p, size_t cap)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(qs, "&", &save); t && n < cap; t = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(t, '=');
        p[n].name = eq ? (struct str){t, (size_t)(eq - t)} : str_from(t);
        p[n].value = eq ? str_from(eq + 1) : (struct str){"", 0};
        n++;
    }
    return n;
}

static int parse(const char *qs, struct search_filter *f, struct error *err)
{
    static char copy[1024];
    static struct filter_param p[64];
    snprintf(copy, sizeof(copy), "%s", qs);
    error_clear(err);
    return filter_parse(p, split(copy, p, 64), f, err);
}

static void rejects(const char *qs, enum error_code code, const char *pointer)
{
    struct search_filter f;
    struct error err;
    cr_assert_eq(parse(qs, &f, &err), -1, "%s accepted", qs);
    cr_assert_eq(err.code, code, "%s: %s", qs, error_code_str(err.code));
    cr_assert_str_eq(err.pointer, pointer, "%s: pointer", qs);
    cr_assert(err.detail[0], "%s has a reason", qs);
}

Test(filter, defaults)
{
    struct search_filter f;
    struct error err;
    cr_assert_eq(parse("", &f, &err), 0);
    cr_assert_eq(f.limit, SEARCH_DEFAULT_ROWS);
    cr_assert_eq(f.fields, FIELDS_DEFAULT);
    cr_assert_not(f.ascending);
    cr_assert_eq(f.from_s, INT64_MIN);
    cr_assert_eq(f.to_s, INT64_MAX);
    cr_assert_eq(f.format, FORMAT_UNSET);
}

Test(filter, accepts_every_parameter)
{
    struct search_filter f;
    struct error err;
    cr_assert_eq(parse("from=2025-03-01&to=2025-03-31&status=paid,shipped&status=refunded&"
                       "currency=JPY&min_total=100&max_total=2000&product_id=P-2,P-1&"
                       "product_id=P-1&customer_id=C-1&q=Zoë&fields=order_id,customer,items&"
                       "limit=100000&sort=created_at&format=json",
                       &f, &err),
                 0, "%s", err.detail);
    cr_assert_eq(f.from_s, 1740787200);
    cr_assert_eq(f.to_s, 1740787200 + 31 * 86400, "a bare `to` date includes that day");
    cr_assert_eq(f.status_mask, (1u << 1) | (1u << 2) | (1u << 5));
    cr_assert_eq(f.min_total_minor, 100, "JPY has no minor unit");
    cr_assert_eq(f.max_total_minor, 2000);
    cr_assert_eq(f.nproducts, 2, "sorted and de-duplicated");
    cr_assert(str_eq_cstr(f.products[0], "P-1"));
    cr_assert_eq(f.fields, FIELD_BIT(FIELD_ORDER_ID) | FIELDS_CUSTOMER | FIELD_BIT(FIELD_ITEMS));
    cr_assert_eq(f.limit, 100000);
    cr_assert(f.ascending);
    cr_assert_eq(f.format, FORMAT_JSON);
    cr_assert_eq(parse("to=2025-03-31T10:00:00Z&currency=EUR&min_total=19.99", &f, &err), 0);
    cr_assert_eq(f.to_s, 1743415200, "a timestamp `to` is exclusive as given");
    cr_assert_eq(f.min_total_minor, 1999);
}

Test(filter, rejects_bad_values_naming_the_parameter)
{
    rejects("colour=red", ERR_UNKNOWN_PARAM, "colour");
    rejects("from=yesterday", ERR_INVALID_PARAM, "from");
    rejects("to=2025-13-01", ERR_INVALID_PARAM, "to");
    rejects("from=2025-03-02&to=2025-03-01T00:00:00Z", ERR_INVALID_PARAM, "to");
    rejects("status=lost", ERR_INVALID_PARAM, "status");
    rejects("status=paid,", ERR_INVALID_PARAM, "status");
    rejects("min_total=10", ERR_INVALID_PARAM, "min_total");
    rejects("currency=EUR&min_total=1.999", ERR_INVALID_PARAM, "min_total");
    rejects("currency=EUR&max_total=abc", ERR_INVALID_PARAM, "max_total");
    rejects("currency=EUR&min_total=5&max_total=4", ERR_INVALID_PARAM, "max_total");
    rejects("currency=eur", ERR_INVALID_PARAM, "currency");
    rejects("currency=XXX", ERR_INVALID_PARAM, "currency");
    rejects("product_id=", ERR_INVALID_PARAM, "product_id");
    rejects("customer_id=", ERR_INVALID_PARAM, "customer_id");
    rejects("q=ab", ERR_SEARCH_TERM_TOO_SHORT, "q");
    rejects("q=zö", ERR_SEARCH_TERM_TOO_SHORT, "q");
    rejects("fields=order_id,password", ERR_INVALID_PARAM, "fields");
    rejects("fields=", ERR_INVALID_PARAM, "fields");
    rejects("limit=0", ERR_INVALID_PARAM, "limit");
    rejects("limit=100001", ERR_INVALID_PARAM, "limit");
    rejects("limit=12abc", ERR_INVALID_PARAM, "limit");
    rejects("limit=5&limit=6", ERR_INVALID_PARAM, "limit");
    rejects("sort=total", ERR_INVALID_PARAM, "sort");
    rejects("format=xml", ERR_INVALID_PARAM, "format");
    rejects("cursor=", ERR_INVALID_CURSOR, "cursor");
    rejects("q=a\x01"
            "bc",
            ERR_INVALID_PARAM, "q");
    rejects("q=\xff\xfe\xfd", ERR_INVALID_PARAM, "q");
}

Test(filter, too_many_products)
{
    char qs[2048] = "product_id=";
    for (int i = 0; i <= SEARCH_MAX_PRODUCTS; i++)
        snprintf(qs + strlen(qs), sizeof(qs) - strlen(qs), "%sP%d", i ? "," : "", i);
    rejects(qs, ERR_INVALID_PARAM, "product_id");
}

static void fp(const char *qs, uint8_t out[32])
{
    struct search_filter f;
    struct error err;
    cr_assert_eq(parse(qs, &f, &err), 0, "%s: %s", qs, err.detail);
    filter_fingerprint(&f, out);
}

Test(filter, fingerprint_normalizes_spelling_but_not_meaning)
{
    uint8_t a[32], b[32];
    fp("status=paid,shipped&product_id=P-2,P-1&from=2025-03-01", a);
    fp("product_id=P-1&status=shipped&product_id=P-2&status=paid&from=2025-03-01T00:00:00Z&"
       "limit=5&fields=order_id&format=json",
       b);
    cr_assert_eq(memcmp(a, b, 32), 0, "same rows, same order");
    fp("q=Alice", a);
    fp("q=aLiCe", b);
    cr_assert_eq(memcmp(a, b, 32), 0, "q is case-insensitive");
    fp("status=paid", a);
    fp("status=paid&sort=created_at", b);
    cr_assert_neq(memcmp(a, b, 32), 0, "sort is part of it");
    fp("customer_id=C-1", a);
    fp("q=C-1", b);
    cr_assert_neq(memcmp(a, b, 32), 0, "fields are length-delimited and distinct");
    fp("currency=EUR&min_total=1", a);
    fp("currency=EUR&max_total=1", b);
    cr_assert_neq(memcmp(a, b, 32), 0);
}

/* Hostile input: random names and values never crash, and a failure always names a parameter. */
Test(filter, random_input_is_rejected_or_accepted_never_crashes)
{
    uint64_t x = 88172645463325252ull;
    static const char *const names[] = {"from",      "to",       "status",     "min_total",
                                        "max_total", "currency", "product_id", "customer_id",
                                        "q",         "fields",   "limit",      "sort",
                                        "format",    "cursor",   "zz"};
    for (int round = 0; round < 20000; round++) {
        char vals[4][40];
        struct filter_param p[4];
        size_t n = 1 + (size_t)(x % 4);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t len = x % 39;
            for (size_t k = 0; k < len; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                static const char alphabet[] = "0123456789-:TZ.,+eEURpaidshqx\xc3\xa9\xff\"%";
                vals[i][k] = alphabet[x % (sizeof(alphabet) - 1)];
            }
            p[i].name = str_from(names[x % (sizeof(names) / sizeof(names[0]))]);
            p[i].value = (struct str){vals[i], len};
        }
        struct search_filter f;
        struct error err;
        error_clear(&err);
        if (filter_parse(p, n, &f, &err)) {
            cr_assert(err.pointer[0], "a failure names the parameter");
            cr_assert(err.code != ERR_NONE);
        } else {
            cr_assert(f.limit >= 1 && f.limit <= SEARCH_MAX_ROWS);
            cr_assert(f.from_s < f.to_s);
        }
    }
}
