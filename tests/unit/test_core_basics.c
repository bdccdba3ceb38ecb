/*
 * test_core_basics.c: buf, str, UTF-8, RFC 3339, money, base64/hex.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "money.h"
#include "str.h"
#include "timefmt.h"

Test(buf, appends_grow_and_stay_nul_terminated)
{
    struct buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_appendf(&b, "%d,", i);
    cr_assert_eq(b.data[b.len], '\0');
    cr_assert(strncmp(b.data, "0,1,2,", 6) == 0);
    size_t cap = b.cap;
    buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, cap, "reset keeps capacity");
    buf_fini(&b);
}

Test(buf, json_string_escapes_and_repairs_utf8)
{
    struct buf b = BUF_INIT;
    buf_append_json_str(&b, "a\"b\\c\n\x01 Zo\xc3\xab \xff", 14);
    cr_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\u0001 Zo\xc3\xab \xef\xbf\xbd\"");
    buf_fini(&b);
}

Test(buf, money_formats_exponents_and_negatives)
{
    struct buf b = BUF_INIT;
    buf_append_money(&b, 3998, 2);
    buf_putc(&b, ' ');
    buf_append_money(&b, -5, 2);
    buf_putc(&b, ' ');
    buf_append_money(&b, 1234, 0);
    buf_putc(&b, ' ');
    buf_append_money(&b, 1001, 3);
    cr_assert_str_eq(b.data, "39.98 -0.05 1234 1.001");
    buf_fini(&b);
}

Test(str, to_i64_bounds)
{
    long long v;
    cr_assert_eq(str_to_i64(STR_LIT("9223372036854775807"), &v), 0);
    cr_assert_eq(v, 9223372036854775807LL);
    cr_assert_eq(str_to_i64(STR_LIT("-9223372036854775808"), &v), 0);
    cr_assert_eq(str_to_i64(STR_LIT("9223372036854775808"), &v), -1);
    cr_assert_eq(str_to_i64(STR_LIT(""), &v), -1);
    cr_assert_eq(str_to_i64(STR_LIT("12a"), &v), -1);
    cr_assert_eq(str_to_i64(STR_LIT("-"), &v), -1);
}

Test(str, cut_splits_and_consumes)
{
    struct str s = STR_LIT("a=1&b=2");
    struct str x = str_cut(&s, '&');
    cr_assert(str_eq_cstr(x, "a=1"));
    cr_assert(str_eq_cstr(s, "b=2"));
    x = str_cut(&s, '&');
    cr_assert(str_eq_cstr(x, "b=2"));
    cr_assert_null(s.ptr);
}

Test(utf8, accepts_valid_rejects_overlong_surrogates_truncated)
{
    cr_assert(utf8_valid("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80", 13));
    cr_assert_not(utf8_valid("\xc0\xaf", 2), "overlong");
    cr_assert_not(utf8_valid("\xed\xa0\x80", 3), "surrogate");
    cr_assert_not(utf8_valid("\xe2\x82", 2), "truncated");
    cr_assert_not(utf8_valid("\xf4\x90\x80\x80", 4), "above U+10FFFF");
}

Test(rfc3339, parses_offsets_fractions_and_dates)
{
    int64_t t;
    cr_assert_eq(rfc3339_parse(STR_LIT("2025-03-01T12:34:56Z").ptr, 20, &t), 0);
    cr_assert_eq(t, 1740832496);
    cr_assert_eq(rfc3339_parse("2025-03-01T13:34:56.789+01:00", 29, &t), 0);
    cr_assert_eq(t, 1740832496);
    cr_assert_eq(rfc3339_parse("2025-03-01", 10, &t), 0);
    cr_assert_eq(t, 1740787200);
    int64_t ms;
    cr_assert_eq(rfc3339_parse_ms("2025-03-01T12:34:56.789Z", 24, &ms), 0);
    cr_assert_eq(ms, 1740832496789LL);
}

Test(rfc3339, rejects_garbage_and_impossible_dates)
{
    int64_t t;
    const char *bad[] = {"2025-02-30", "2025-13-01", "2025-03-01T25:00:00Z", "2025-03-01T12:00:00",
                         "1969-12-31T23:59:59Z", "2025-3-1", "2025-03-01T12:00:00Zjunk", "", "x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(rfc3339_parse(bad[i], strlen(bad[i]), &t), -1, "accepted %s", bad[i]);
    cr_assert_eq(rfc3339_parse("2024-02-29", 10, &t), 0, "leap day");
}

Test(rfc3339, format_round_trips)
{
    struct buf b = BUF_INIT;
    for (int64_t t = 0; t < 4102444800LL; t += 86399 * 37 + 13) {
        int64_t back;
        buf_reset(&b);
        rfc3339_append(&b, t);
        cr_assert_eq(rfc3339_parse(b.data, b.len, &back), 0, "%s", b.data);
        cr_assert_eq(back, t);
    }
    buf_fini(&b);
}

Test(timefmt, months)
{
    cr_assert_eq(time_month_of(1740832496), 202503);
    cr_assert_eq(time_month_next(202512), 202601);
    cr_assert_eq(time_month_start(202503), 1740787200);
}

Test(money, parses_exactly_or_refuses)
{
    int64_t v;
    cr_assert_eq(money_parse("19.99", 5, 2, &v), 0);
    cr_assert_eq(v, 1999);
    cr_assert_eq(money_parse("19.9", 4, 2, &v), 0);
    cr_assert_eq(v, 1990);
    cr_assert_eq(money_parse("20", 2, 2, &v), 0);
    cr_assert_eq(v, 2000);
    cr_assert_eq(money_parse("19.990", 6, 2, &v), 0, "trailing zeros are exact");
    cr_assert_eq(money_parse("19.999", 6, 2, &v), -1, "too precise");
    cr_assert_eq(money_parse("1e3", 3, 2, &v), -1);
    cr_assert_eq(money_parse("", 0, 2, &v), -1);
    cr_assert_eq(money_parse(".5", 2, 2, &v), -1);
    cr_assert_eq(money_parse("99999999999999999999", 20, 2, &v), -1, "overflow");
    cr_assert_eq(money_parse("1500", 4, 0, &v), 0);
    cr_assert_eq(currency_exponent("JPY", 3), 0);
    cr_assert_eq(currency_exponent("KWD", 3), 3);
    cr_assert_eq(currency_exponent("XXX", 3), -1);
}

Test(crypto, base64url_and_hex_round_trip)
{
    uint8_t raw[33], back[40];
    char enc[64];
    size_t n;
    for (size_t len = 0; len <= 33; len++) {
        for (size_t i = 0; i < len; i++)
            raw[i] = (uint8_t)(i * 37 + len);
        size_t elen = b64url_encode(raw, len, enc);
        cr_assert_eq(b64url_decode(enc, elen, back, sizeof(back), &n), 0);
        cr_assert_eq(n, len);
        cr_assert(memcmp(raw, back, len) == 0);
    }
    cr_assert_eq(b64url_decode("ab$d", 4, back, sizeof(back), &n), -1);
    hex_encode((const uint8_t *)"\x01\xab", 2, enc);
    cr_assert_str_eq(enc, "01ab");
}

Test(crypto, sha256_known_answer)
{
    uint8_t h[32];
    char hex[65];
    sha256("abc", 3, h);
    hex_encode(h, 32, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
