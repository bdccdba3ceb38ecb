/*
 * anomaly.h: the two price-anomaly rules (issue 6 B.4).
 *
 * Rule 1, change against the last accepted price: anomalous when
 * |new - old| / old >= change_pct (exact integer arithmetic in basis points;
 * "at least X%" includes X). An old price of 0 makes any non-zero new price
 * anomalous; without an old price the rule does not apply.
 *
 * Rule 2, distance from the product's recent history: over the last `window`
 * accepted prices (at least `min_history` of them), the robust z-score
 *     z = |new - median| / max(1.4826 · MAD, median · floor_pct / 100)
 * with MAD the median absolute deviation from the median; anomalous when
 * z >= mad_threshold (Iglewicz and Hoaglin's modified z-score; 3.5 is their
 * recommended cut). Median and MAD ignore the outliers they are meant to
 * catch (50% breakdown point), need no distribution assumption and work with
 * five points; 1.4826 makes MAD estimate a standard deviation for normal
 * data. The floor keeps a product whose price never moved (MAD = 0) from
 * flagging every cent of change: with the default 5% floor and threshold 3.5,
 * a perfectly stable price flags moves of 17.5% and more.
 *
 * Medians are computed on doubled and quadrupled integers, so the threshold
 * comparison is exact for the values tests use.
 */
#ifndef CORE_ANOMALY_H
#define CORE_ANOMALY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum anomaly_rule {
    ANOMALY_CHANGE = 1 << 0, /* rule 1 */
    ANOMALY_MAD = 1 << 1,    /* rule 2 */
};

struct anomaly_rules {
    int64_t change_bp;   /* rule 1 threshold, basis points (5000 = 50%); 0 disables */
    int64_t mad_k_milli; /* rule 2 threshold x1000 (3500 = 3.5); 0 disables */
    int window;          /* prices of history, 1..PRICE_WINDOW_MAX */
    int min_history;     /* rule 2 needs at least this many, 1..window */
    int64_t floor_bp;    /* scale floor as basis points of the median */
};

struct anomaly_verdict {
    unsigned flags;       /* enum anomaly_rule bits that fired */
    bool has_change;      /* old price known and non-zero */
    int64_t change_bp;    /* (new - old) / old, truncated toward zero */
    bool has_score;       /* enough history */
    int64_t score_milli;  /* robust z-score x1000 (capped at 10^9) */
};

/*
 * Judge new_price against the last accepted price (has_old/old) and the
 * recent accepted prices hist[0..n) (any order; n may exceed window, only
 * the first `window` are used). hist is reordered.
 */
void anomaly_evaluate(const struct anomaly_rules *r, bool has_old, int64_t old_price,
                      int64_t new_price, int64_t *hist, size_t n, struct anomaly_verdict *v);

#endif
