/*
 * money.h: exact decimal money and ISO 4217 currencies.
 *
 * Money is stored as integer minor units with the currency's exponent (EUR 2,
 * JPY 0, KWD 3); floats never touch it. A decimal string "19.99" or a JSON
 * number is converted digit by digit; more fractional digits than the currency
 * has is an error, not a rounding (a price of 19.999 EUR is a client bug).
 */
#ifndef CORE_MONEY_H
#define CORE_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* Largest magnitude accepted, in minor units (10^15: a quadrillion cents). */
#define MONEY_MAX_MINOR 1000000000000000LL

/* Exponent of an ISO 4217 code (3 uppercase letters), or -1 if unknown. */
int currency_exponent(const char *code, size_t n);

/*
 * Parse a decimal "[-]123[.45]" into minor units for the given exponent.
 * Returns 0, or -1 on syntax, too many fraction digits, or |v| > MONEY_MAX_MINOR.
 */
int money_parse(const char *s, size_t n, int exponent, int64_t *out_minor);

#endif
