/*
 * anomaly.c: the change rule and the median/MAD rule (see anomaly.h).
 *
 * Scaling: with s the sorted window, 2·median is an integer (the sum of the
 * middle pair, or twice the middle value); deviations |2·s_i - 2·median| are
 * integers, and the sum of their middle pair is 4·MAD. The score compares
 * 4·|new - median| = 2·|2·new - 2·median| with 4·scale, all exact up to 2^53.
 */
#include "anomaly.h"

#include <stdlib.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* 2 × the median of sorted v[0..n). */
static int64_t median2(const int64_t *v, size_t n)
{
    return n % 2 ? 2 * v[n / 2] : v[n / 2 - 1] + v[n / 2];
}

void anomaly_evaluate(const struct anomaly_rules *r, bool has_old, int64_t old_price,
                      int64_t new_price, int64_t *hist, size_t n, struct anomaly_verdict *v)
{
    v->flags = 0;
    v->has_change = false;
    v->change_bp = 0;
    v->has_score = false;
    v->score_milli = 0;

    if (has_old && old_price > 0) {
        __int128 diff = (__int128)new_price - old_price;
        __int128 mag = diff < 0 ? -diff : diff;
        v->has_change = true;
        v->change_bp = (int64_t)(diff * 10000 / old_price);
        if (r->change_bp > 0 && mag * 10000 >= (__int128)r->change_bp * old_price)
            v->flags |= ANOMALY_CHANGE;
    } else if (has_old && old_price == 0 && new_price != 0 && r->change_bp > 0) {
        v->flags |= ANOMALY_CHANGE; /* from free to priced: an infinite change */
    }

    if ((size_t)r->window < n)
        n = (size_t)r->window;
    if (n == 0 || n < (size_t)r->min_history)
        return;
    qsort(hist, n, sizeof(*hist), cmp_i64);
    int64_t m2 = median2(hist, n);
    int64_t *dev = malloc(n * sizeof(*dev));
    if (!dev)
        abort();
    for (size_t i = 0; i < n; i++)
        dev[i] = llabs(2 * hist[i] - m2);
    qsort(dev, n, sizeof(*dev), cmp_i64);
    int64_t mad4 = median2(dev, n);
    free(dev);
    /* 4·scale = max(1.4826 · 4·MAD, floor · 4·median) */
    double scale4 = 1.4826 * (double)mad4;
    double floor4 = (double)r->floor_bp * 2.0 * (double)m2 / 10000.0;
    if (floor4 > scale4)
        scale4 = floor4;
    double num4 = 2.0 * (double)llabs(2 * new_price - m2);
    v->has_score = true;
    if (scale4 <= 0) {
        /* zero median and zero spread: any change is infinitely far */
        v->score_milli = num4 > 0 ? 1000000000 : 0;
    } else {
        double z = num4 * 1000.0 / scale4;
        v->score_milli = z > 1e9 ? 1000000000 : (int64_t)z;
    }
    if (r->mad_k_milli > 0 &&
        (scale4 <= 0 ? num4 > 0 : num4 * 1000.0 >= (double)r->mad_k_milli * scale4))
        v->flags |= ANOMALY_MAD;
}
