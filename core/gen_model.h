/*
 * gen_model.h: the deterministic synthetic data model behind gen_dataset.
 *
 * Every row of every entity is a pure function of (seed, tenant, entity,
 * index): a counter-based seed (splitmix64 over the four) starts a small
 * per-row generator, so any row can be produced alone, tenants can be
 * generated independently, and the same seed gives the same bytes on every
 * machine. Only integer arithmetic is used (no floats, no libm, no clock, no
 * rand()), which is what makes "every machine" true rather than hopeful.
 *
 * Distributions (all integer):
 *   - product popularity: rank = P * u^4 (u uniform in [0,1) as 32-bit fixed
 *     point), a power law with density ~ x^-0.75: the top 1% of products take
 *     ~32% of order lines, the top 10% ~56%; ranks are scattered over product
 *     indexes by a multiplicative permutation so popular ids are not all low.
 *   - customers: rank = C * u^3: the top 1% of customers place ~22% of orders.
 *   - order times: a per-hour intensity (hour of day x day of week x month x
 *     linear growth 100% -> 150% over the range) is integrated once; order i of
 *     N is placed at the (i + u)/N quantile of that integral, so times rise
 *     with the order id and each hour gets orders in proportion to its weight.
 *   - items per order: 1 + Binomial(9, (avg-1)/9): mean exactly avg, 1..10.
 *   - statuses depend on the order's age at the end of the range (recent:
 *     pending/paid/shipped; old: delivered, some cancelled/refunded).
 *   - currencies: 85% the tenant's home currency, the rest a mix that includes
 *     JPY (exponent 0) and KWD (exponent 3); prices are converted by fixed
 *     integer rates.
 *   - price history: a mean-reverting random walk in per-mille steps with a
 *     2% chance per sample of a sharp jump (x0.4 .. x10), half of which revert
 *     at the next sample: the anomalies the price-event detector should find.
 *   - stock events per product: an absolute count first, then sales,
 *     restocks and adjustments; quantities never go below zero unless
 *     allow_negative is set.
 *
 * Bad rows (gen_bad_*): malformed NDJSON order lines of eight kinds for the
 * ingest tests; see gen_format.h for how each is written.
 */
#ifndef CORE_GEN_MODEL_H
#define CORE_GEN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bounds that keep every per-row array fixed-size. */
#define GEN_ITEMS_MAX        10
#define GEN_ID_MAX           32     /* "ORD-00000123" and room for larger counts */
#define GEN_NAME_MAX         96     /* generated names, bytes (UTF-8) */
#define GEN_EMAIL_MAX        96
#define GEN_RANGE_MAX_HOURS  (50 * 366 * 24)
#define GEN_TENANTS_MAX      10000

/* ============================== random ============================== */

struct gen_rng {
    uint64_t s;
};

enum gen_entity {
    GEN_E_TENANT = 1,
    GEN_E_CATEGORY,
    GEN_E_PRODUCT,
    GEN_E_CUSTOMER,
    GEN_E_ORDER,
    GEN_E_PRICE,
    GEN_E_STOCK,
    GEN_E_BAD,
};

/* Seed a stream for one row: a pure function of the four numbers. */
void gen_rng_seed(struct gen_rng *r, uint64_t seed, uint64_t tenant, uint64_t entity,
                  uint64_t index);
uint64_t gen_rng_next(struct gen_rng *r);
static inline uint32_t gen_u32(struct gen_rng *r)
{
    return (uint32_t)(gen_rng_next(r) >> 32);
}
/* Uniform in [0, n) (multiply-shift; bias < n / 2^32, irrelevant here). */
static inline uint64_t gen_below(struct gen_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)gen_rng_next(r) * n) >> 64);
}
/* Uniform in [lo, hi]. */
static inline int64_t gen_range(struct gen_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)gen_below(r, (uint64_t)(hi - lo + 1));
}
/* True with probability ppm / 1e6. */
static inline bool gen_chance_ppm(struct gen_rng *r, uint32_t ppm)
{
    return gen_below(r, 1000000) < ppm;
}

/* ============================== config ============================== */

struct gen_config {
    char preset[16];
    uint64_t seed;
    int tenants;
    int64_t categories;     /* per tenant */
    int64_t products;       /* per tenant */
    int64_t customers;      /* per tenant */
    int64_t orders;         /* per tenant */
    int items_avg_milli;    /* mean items per order x 1000, 1000..10000 */
    int64_t price_samples;  /* per product */
    int64_t stock_events;   /* per tenant */
    int64_t from;           /* epoch seconds, inclusive, whole hour */
    int64_t to;             /* exclusive */
    uint32_t bad_rows_ppm;  /* malformed NDJSON lines per valid order, x 1e6 */
    bool allow_negative;    /* stock may go below zero (sales are not clamped) */
};

/* Fill c with the named preset (tiny, small, medium, large); -1 if unknown. */
int gen_config_preset(struct gen_config *c, const char *name);
/* Check ranges; returns NULL or a static message naming the bad setting. */
const char *gen_config_check(const struct gen_config *c);
/* Parse a decimal like "0.01" or "3.5" into units of 1/scale; -1 on junk. */
int gen_parse_fixed(const char *s, int64_t scale, int64_t *out);

/* ============================= entities ============================= */

struct gen_tenant {
    int index;                 /* 0-based */
    char slug[16];             /* "t01" */
    char name[GEN_NAME_MAX];
    char currency[4];
    int exponent;
};

struct gen_category {
    int64_t index;
    char ext_id[GEN_ID_MAX];   /* "CAT-001" */
    char name[GEN_NAME_MAX];
    int64_t parent;            /* category index, or -1 for a top-level one */
};

struct gen_product {
    int64_t index;
    char ext_id[GEN_ID_MAX];   /* "P-0000042" */
    char name[GEN_NAME_MAX];
    int64_t category;          /* category index, -1 when there are none */
    int64_t base_eur_cents;    /* list price in EUR cents, before conversion */
    int64_t price_minor;       /* list price in the tenant's currency */
    int64_t created_at;
};

struct gen_customer {
    int64_t index;
    char ext_id[GEN_ID_MAX];   /* "C-000991" */
    char name[GEN_NAME_MAX];
    char email[GEN_EMAIL_MAX];
    int64_t created_at;
};

struct gen_item {
    int64_t product;           /* product index */
    char product_id[GEN_ID_MAX];
    int64_t quantity;
    int64_t unit_price_minor;
};

struct gen_order {
    int64_t index;
    char order_id[GEN_ID_MAX];
    int64_t customer;          /* customer index */
    int status;                /* enum order_status (store.h) */
    char currency[4];
    int exponent;
    int64_t created_at;
    int64_t total_minor;
    int nitems;
    struct gen_item items[GEN_ITEMS_MAX];
};

struct gen_price {
    int64_t observed_at;
    int64_t price_minor;
    const char *source;        /* static string */
};

struct gen_stock_event {
    int64_t seq;               /* per-tenant event number, for the event id */
    int kind;                  /* 0 delta, 1 absolute */
    int64_t delta;
    int64_t quantity_after;
    int64_t event_time;        /* seconds */
    const char *source;        /* static string */
    const char *reason;        /* static string, goes into metadata */
};

/*
 * Everything derived once per run: the integrated time intensity shared by
 * all tenants. gen_model_init allocates, gen_model_fini releases.
 */
struct gen_model {
    struct gen_config cfg;
    int64_t hours;             /* (to - from) / 3600 */
    uint64_t *cum;             /* cum[h] = intensity of hours [0, h), hours+1 entries */
};

int gen_model_init(struct gen_model *m, const struct gen_config *c);
void gen_model_fini(struct gen_model *m);

void gen_tenant(const struct gen_model *m, int t, struct gen_tenant *out);
void gen_category(const struct gen_model *m, int t, int64_t i, struct gen_category *out);
void gen_product(const struct gen_model *m, int t, int64_t i, struct gen_product *out);
void gen_customer(const struct gen_model *m, int t, int64_t i, struct gen_customer *out);

/* Per-tenant state for the order stream (a cursor over the time integral). */
struct gen_orders {
    const struct gen_model *m;
    struct gen_tenant tenant;
    int64_t next;              /* next order index */
    int64_t hour;              /* cursor into m->cum */
    int64_t *price_eur;        /* base EUR cents per product (cached) */
    uint64_t product_mult;     /* rank -> index permutation */
    uint64_t customer_mult;
    int64_t bad_seq;           /* bad lines emitted so far */
};

void gen_orders_init(struct gen_orders *it, const struct gen_model *m, int t);
void gen_orders_fini(struct gen_orders *it);
/* The next order; false when the tenant's orders are exhausted. */
bool gen_orders_next(struct gen_orders *it, struct gen_order *o);

/*
 * Price history of product i: m->cfg.price_samples samples in time order into
 * out (caller sizes it). Returns the count.
 */
int64_t gen_prices(const struct gen_model *m, int t, const struct gen_product *p,
                   struct gen_price *out);

/*
 * Stock events of product i: their count is gen_stock_count(); events are in
 * time order, the first absolute. *first_seq is the per-tenant number of the
 * product's first event.
 */
int64_t gen_stock_count(const struct gen_model *m, int64_t i, int64_t *first_seq);
int64_t gen_stock_events(const struct gen_model *m, int t, int64_t i, struct gen_stock_event *out);

/* ============================= bad rows ============================= */

enum gen_bad_kind {
    GEN_BAD_BROKEN_JSON,
    GEN_BAD_WRONG_TYPE,
    GEN_BAD_MISSING_FIELD,
    GEN_BAD_NEGATIVE_QUANTITY,
    GEN_BAD_UNKNOWN_PRODUCT,
    GEN_BAD_ABSURD_DATE,
    GEN_BAD_OVERSIZED_STRING,
    GEN_BAD_INVALID_UTF8,
    GEN_BAD__COUNT,
};

const char *gen_bad_kind_name(int kind);

/*
 * After order o: how many malformed lines follow it (0 nearly always), and
 * each one's kind and variant. Deterministic in (seed, tenant, order index).
 */
struct gen_bad {
    int kind;
    uint32_t variant;          /* chooses a sub-case inside the kind */
    int64_t seq;               /* per-tenant bad line number (for its order id) */
};
int gen_bad_after(struct gen_orders *it, const struct gen_order *o, struct gen_bad *out,
                  int cap);

/* Expected rows per tenant, for progress and the plan. */
struct gen_counts {
    int64_t categories, products, customers, orders, order_items_est, price_history,
        stock_events, stock_levels;
};
void gen_counts_per_tenant(const struct gen_config *c, struct gen_counts *out);

#endif
