/*
 * money.c: decimal parsing and the currency table (see money.h).
 *
 * The table lists the active ISO 4217 codes a shop plausibly sells in; an
 * unknown code is rejected at ingest so aggregates never mix an undefined unit.
 */
#include "money.h"

#include <string.h>

static const struct {
    char code[4];
    int exp;
} currencies[] = {
    {"AED", 2}, {"ARS", 2}, {"AUD", 2}, {"BGN", 2}, {"BHD", 3}, {"BRL", 2}, {"CAD", 2},
    {"CHF", 2}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CZK", 2}, {"DKK", 2}, {"EGP", 2},
    {"EUR", 2}, {"GBP", 2}, {"HKD", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2},
    {"ISK", 0}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KRW", 0}, {"KWD", 3}, {"MAD", 2},
    {"MXN", 2}, {"MYR", 2}, {"NGN", 2}, {"NOK", 2}, {"NZD", 2}, {"OMR", 3}, {"PEN", 2},
    {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"SAR", 2},
    {"SEK", 2}, {"SGD", 2}, {"THB", 2}, {"TND", 3}, {"TRY", 2}, {"TWD", 2}, {"UAH", 2},
    {"USD", 2}, {"VND", 0}, {"ZAR", 2},
};

int currency_exponent(const char *code, size_t n)
{
    if (n != 3)
        return -1;
    for (size_t i = 0; i < sizeof(currencies) / sizeof(currencies[0]); i++)
        if (memcmp(currencies[i].code, code, 3) == 0)
            return currencies[i].exp;
    return -1;
}

int money_parse(const char *s, size_t n, int exponent, int64_t *out_minor)
{
    size_t i = 0;
    int neg = 0;
    int64_t v = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    size_t int_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (s[i] - '0');
        if (v > MONEY_MAX_MINOR)
            return -1;
        i++;
    }
    if (i == int_start)
        return -1;
    int frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t fs = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (frac < exponent) {
                v = v * 10 + (s[i] - '0');
                frac++;
            } else if (s[i] != '0') {
                return -1; /* more precision than the currency has */
            }
            i++;
        }
        if (i == fs)
            return -1;
    }
    if (i != n)
        return -1;
    for (; frac < exponent; frac++)
        v *= 10;
    if (v > MONEY_MAX_MINOR)
        return -1;
    *out_minor = neg ? -v : v;
    return 0;
}
