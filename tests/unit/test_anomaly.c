/*
 * test_anomaly.c: both anomaly rules at, just below and just above their
 * thresholds, the MAD floor, short histories, and degenerate prices.
 */
#include <criterion/criterion.h>

#include "anomaly.h"

static const struct anomaly_rules RULES = {
    .change_bp = 2000, .mad_k_milli = 3500, .window = 20, .min_history = 5, .floor_bp = 500};

static unsigned judge(const struct anomaly_rules *r, bool has_old, int64_t old, int64_t price,
                      const int64_t *hist, size_t n, struct anomaly_verdict *v)
{
    int64_t copy[128];
    for (size_t i = 0; i < n; i++)
        copy[i] = hist[i];
    anomaly_evaluate(r, has_old, old, price, copy, n, v);
    return v->flags;
}

Test(anomaly, change_rule_fires_at_exactly_the_threshold)
{
    struct anomaly_verdict v;
    cr_assert_eq(judge(&RULES, true, 1000, 1200, NULL, 0, &v), ANOMALY_CHANGE);
    cr_assert_eq(v.change_bp, 2000);
    cr_assert_eq(judge(&RULES, true, 1000, 1199, NULL, 0, &v), 0);
    cr_assert_eq(v.change_bp, 1990);
    cr_assert_eq(judge(&RULES, true, 1000, 800, NULL, 0, &v), ANOMALY_CHANGE);
    cr_assert_eq(v.change_bp, -2000);
    cr_assert_eq(judge(&RULES, true, 1000, 801, NULL, 0, &v), 0);
}

Test(anomaly, change_rule_is_exact_for_large_prices)
{
    struct anomaly_verdict v;
    /* 20% of 10^15 minus one minor unit: no float rounding may tip it over. */
    int64_t old = 1000000000000000LL;
    cr_assert_eq(judge(&RULES, true, old, old + old / 5 - 1, NULL, 0, &v), 0);
    cr_assert_eq(judge(&RULES, true, old, old + old / 5, NULL, 0, &v), ANOMALY_CHANGE);
}

Test(anomaly, change_rule_without_or_from_zero_price)
{
    struct anomaly_verdict v;
    cr_assert_eq(judge(&RULES, false, 0, 5000, NULL, 0, &v), 0, "no old price: no baseline");
    cr_assert(!v.has_change);
    cr_assert_eq(judge(&RULES, true, 0, 1, NULL, 0, &v), ANOMALY_CHANGE, "free to priced");
    cr_assert_eq(judge(&RULES, true, 0, 0, NULL, 0, &v), 0);
}

Test(anomaly, mad_rule_uses_the_floor_when_history_is_flat)
{
    static const int64_t flat[] = {10000, 10000, 10000, 10000, 10000};
    struct anomaly_rules r = RULES;
    struct anomaly_verdict v;
    r.change_bp = 0;
    /* scale = max(0, 5% of 10000 = 500); threshold 3.5 x 500 = 1750 */
    cr_assert_eq(judge(&r, true, 10000, 11750, flat, 5, &v), ANOMALY_MAD);
    cr_assert_eq(v.score_milli, 3500);
    cr_assert_eq(judge(&r, true, 10000, 11749, flat, 5, &v), 0);
    cr_assert_eq(v.score_milli, 3498);
    cr_assert_eq(judge(&r, true, 10000, 8250, flat, 5, &v), ANOMALY_MAD, "below as well");
}

Test(anomaly, mad_rule_scales_with_the_spread)
{
    /* median 100, deviations {0,10,10,20,20} -> MAD 10, scale 14.826, cut 51.891 */
    static const int64_t h[] = {80, 90, 100, 110, 120};
    struct anomaly_rules r = RULES;
    struct anomaly_verdict v;
    r.change_bp = 0;
    r.floor_bp = 0;
    cr_assert_eq(judge(&r, true, 100, 152, h, 5, &v), ANOMALY_MAD);
    cr_assert_eq(judge(&r, true, 100, 151, h, 5, &v), 0);
    cr_assert_eq(judge(&r, true, 100, 48, h, 5, &v), ANOMALY_MAD);
    cr_assert_eq(judge(&r, true, 100, 49, h, 5, &v), 0);
}

Test(anomaly, mad_rule_ignores_one_outlier_in_the_history)
{
    /* A single huge price in the window barely moves median and MAD. */
    static const int64_t h[] = {100, 101, 99, 100, 100000, 100, 101, 99};
    struct anomaly_rules r = RULES;
    struct anomaly_verdict v;
    r.change_bp = 0;
    r.floor_bp = 0;
    cr_assert_eq(judge(&r, true, 100, 106, h, 8, &v), ANOMALY_MAD);
    cr_assert_eq(judge(&r, true, 100, 101, h, 8, &v), 0);
}

Test(anomaly, mad_rule_needs_min_history_and_respects_window)
{
    static const int64_t h[] = {100, 100, 100, 100, 500, 500, 500, 500, 500};
    struct anomaly_rules r = RULES;
    struct anomaly_verdict v;
    r.change_bp = 0;
    cr_assert_eq(judge(&r, true, 100, 1000, h, 4, &v), 0, "4 < min_history");
    cr_assert(!v.has_score);
    r.window = 5; /* only the first 5: {100 x4, 500}: median 100 */
    cr_assert_eq(judge(&r, true, 100, 500, h, 9, &v), ANOMALY_MAD);
}

Test(anomaly, both_rules_can_fire_and_disabled_rules_never_do)
{
    static const int64_t flat[] = {1000, 1000, 1000, 1000, 1000};
    struct anomaly_verdict v;
    cr_assert_eq(judge(&RULES, true, 1000, 5000, flat, 5, &v), ANOMALY_CHANGE | ANOMALY_MAD);
    struct anomaly_rules off = RULES;
    off.change_bp = 0;
    off.mad_k_milli = 0;
    cr_assert_eq(judge(&off, true, 1000, 5000, flat, 5, &v), 0);
    cr_assert(v.has_score && v.score_milli > 0, "the score is still reported");
}

Test(anomaly, zero_median_and_zero_spread)
{
    static const int64_t zeros[] = {0, 0, 0, 0, 0};
    struct anomaly_rules r = RULES;
    struct anomaly_verdict v;
    r.change_bp = 0;
    cr_assert_eq(judge(&r, true, 0, 0, zeros, 5, &v), 0);
    cr_assert_eq(judge(&r, true, 0, 1, zeros, 5, &v), ANOMALY_MAD);
}
