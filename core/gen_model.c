/*
 * gen_model.c: the synthetic data model (see gen_model.h for the design).
 *
 * Name and price tables are static; every draw goes through gen_rng, a
 * splitmix64 stream (64-bit state, one add and three xor-shift-multiplies per
 * output: ~1 ns, passes BigCrush as a generator of this kind does). A row's
 * stream is seeded from splitmix64 of (seed, tenant, entity, index), so no row
 * depends on how many draws any other row made.
 */
#include "gen_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"

/* ============================== random ============================== */

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void gen_rng_seed(struct gen_rng *r, uint64_t seed, uint64_t tenant, uint64_t entity,
                  uint64_t index)
{
    uint64_t h = mix64(seed + 0x9E3779B97F4A7C15ull);
    h = mix64(h ^ (tenant * 0xD1B54A32D192ED03ull));
    h = mix64(h ^ (entity * 0xAEF17502108EF2D9ull));
    h = mix64(h ^ (index + 0x632BE59BD9B4E019ull));
    r->s = h;
}

uint64_t gen_rng_next(struct gen_rng *r)
{
    r->s += 0x9E3779B97F4A7C15ull;
    return mix64(r->s);
}

/* u^k in 32-bit fixed point, times n: the power-law rank of gen_model.h. */
static uint64_t power_rank(uint32_t u, int k, uint64_t n)
{
    uint64_t x = u;
    for (int i = 1; i < k; i++)
        x = (x * u) >> 32;
    return (x * n) >> 32;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A multiplier coprime with n, so i -> i*mult mod n is a permutation. */
static uint64_t coprime_mult(uint64_t n, uint64_t start)
{
    if (n <= 1)
        return 1;
    uint64_t m = start % n;
    if (m < 2)
        m = 2;
    while (gcd_u64(m, n) != 1)
        m++;
    return m;
}

/* Rank -> index: an affine permutation, so the most popular id is not always 1. */
static uint64_t permute(uint64_t rank, uint64_t mult, uint64_t n)
{
    return ((rank + 7919) * mult) % n; /* rank < n, mult < n <= 1e8: no overflow */
}

/* ============================== tables ============================== */

struct name {
    const char *display;
    const char *ascii; /* for e-mail addresses */
};

static const struct name FIRST[] = {
    {"Zoë", "zoe"},          {"Łukasz", "lukasz"},   {"Søren", "soren"},
    {"José", "jose"},        {"Anna", "anna"},       {"Emma", "emma"},
    {"Liam", "liam"},        {"Noah", "noah"},       {"Olivia", "olivia"},
    {"Mia", "mia"},          {"Lucas", "lucas"},     {"Léa", "lea"},
    {"Chloé", "chloe"},      {"Jürgen", "jurgen"},   {"Björn", "bjorn"},
    {"Ingrid", "ingrid"},    {"François", "francois"}, {"Małgorzata", "malgorzata"},
    {"Sofía", "sofia"},      {"Mateo", "mateo"},     {"Hiroshi", "hiroshi"},
    {"Yuki", "yuki"},        {"Ava", "ava"},         {"Ethan", "ethan"},
    {"Amélie", "amelie"},    {"Åsa", "asa"},         {"Nikolaj", "nikolaj"},
    {"Grzegorz", "grzegorz"}, {"Inés", "ines"},      {"Oliver", "oliver"},
    {"Charlotte", "charlotte"}, {"Henrik", "henrik"},
};

static const struct name LAST[] = {
    {"Brandt", "brandt"},     {"Müller", "muller"},     {"Ñúñez", "nunez"},
    {"Kowalski", "kowalski"}, {"Nowak", "nowak"},       {"Jensen", "jensen"},
    {"Hansen", "hansen"},     {"García", "garcia"},     {"Martínez", "martinez"},
    {"Smith", "smith"},       {"Johnson", "johnson"},   {"Dubois", "dubois"},
    {"Lefèvre", "lefevre"},   {"Rossi", "rossi"},       {"Bianchi", "bianchi"},
    {"Schröder", "schroder"}, {"Öztürk", "ozturk"},     {"Dvořák", "dvorak"},
    {"O'Brien", "obrien"},    {"Williams", "williams"}, {"Novák", "novak"},
    {"Lindqvist", "lindqvist"}, {"Fernández", "fernandez"}, {"Weiß", "weiss"},
};

/* Whole names written family name first, as their owners write them. */
static const struct name FULL_CJK[] = {
    {"王芳", "wang.fang"},   {"李伟", "li.wei"},     {"张敏", "zhang.min"},
    {"陈静", "chen.jing"},   {"田中美咲", "tanaka.misaki"}, {"김민준", "kim.minjun"},
};

static const char *const DOMAINS[] = {
    "example.com", "example.org", "example.net", "mail.example", "shop.test",
};

static const char *const SHOPS[] = {
    "Nordlicht Outdoor", "Casa Bonita",      "Kaffeehaus Müller", "Łódź Design",
    "Sakura Living",     "Fjord & Co",       "Maison Lumière",    "Brightside Books",
    "Terra Verde",       "Urban Nomad",
};

static const char *const ADJ[] = {
    "Alpine", "Urban",  "Classic", "Smart",  "Eco",    "Café",   "Crème", "Fjäll",
    "Nordic", "Silent", "Rapid",   "Cozy",   "Bold",   "Tiny",   "Grand", "Über",
    "Vivid",  "Polar",  "Solar",   "Retro",  "Zen",    "Swift",  "Pure",  "Wild",
};

static const char *const NOUN[] = {
    "Backpack", "Kettle",  "Lamp",     "Jacket", "Mug",    "Headphones", "Sneakers", "Notebook",
    "Tent",     "Blender", "Scarf",    "Watch",  "Chair",  "Desk",       "Bottle",   "Knife",
    "Pan",      "Sweater", "Cap",      "Charger", "Speaker", "Pillow",   "Towel",    "Candle",
};

static const char *const CAT_TOP[] = {
    "Outdoor", "Kitchen", "Electronics", "Books",  "Garden", "Toys",
    "Fashion", "Beauty",  "Sports",      "Office", "Home",   "Café & Tea",
};

static const char *const CAT_SUB[] = {
    "Basics", "Premium", "Accessories", "Kids",     "Outlet",  "New In",  "Bestsellers", "Gifts",
    "Travel", "Eco",     "Pro",         "Starters", "Classics", "Limited", "Bundles",    "Spares",
};

struct currency_rate {
    char code[4];
    int64_t per_eur_e4; /* units of the currency per EUR, x 10^4 */
};

static const struct currency_rate RATES[] = {
    {"EUR", 10000},   {"USD", 10800},  {"GBP", 8500}, {"SEK", 113000}, {"JPY", 1600000},
    {"CHF", 9500},    {"PLN", 43000},  {"DKK", 74600}, {"KWD", 3300},  {"NOK", 116000},
};
#define NRATES (sizeof(RATES) / sizeof(RATES[0]))

/* Home currency of tenant t cycles through this list. */
static const int HOME[] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1};
/* Foreign order currencies: USD GBP EUR JPY CHF KWD. */
static const int FOREIGN[] = {1, 2, 0, 4, 5, 8};

/* List prices in EUR cents, with weights (cheap things sell more often). */
static const struct {
    int64_t cents;
    int weight;
} PRICE_POINTS[] = {
    {499, 10},  {999, 14},  {1499, 12}, {1999, 14}, {2499, 9},   {2999, 9},   {3999, 7},
    {4999, 7},  {7999, 5},  {9999, 4},  {14999, 3}, {19999, 2},  {29999, 2},  {49999, 1},
    {99999, 1},
};

/* Intensity: hour of day (UTC), day of week (Mon..Sun), month (Jan..Dec). */
static const uint32_t W_HOUR[24] = {20, 12, 8,  6,  5,  6,  10, 18, 30, 40, 48, 52,
                                    55, 54, 52, 52, 55, 62, 72, 82, 88, 80, 60, 36};
static const uint32_t W_DOW[7] = {100, 95, 95, 100, 115, 135, 125};
static const uint32_t W_MONTH[12] = {90, 85, 95, 95, 100, 95, 90, 95, 100, 105, 130, 160};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int64_t to_currency(int64_t eur_cents, int rate_idx)
{
    int exp = currency_exponent(RATES[rate_idx].code, 3);
    int64_t scale = 1;
    for (int i = 0; i < exp; i++)
        scale *= 10;
    int64_t v = eur_cents * RATES[rate_idx].per_eur_e4 * scale / 1000000;
    return v < 1 ? 1 : v;
}

static int rate_index(const char *code)
{
    for (size_t i = 0; i < NRATES; i++)
        if (memcmp(RATES[i].code, code, 3) == 0)
            return (int)i;
    return 0;
}

/* ============================== config ============================== */

static int64_t date_s(int y, unsigned m, unsigned d)
{
    return days_from_civil(y, m, d) * 86400;
}

int gen_config_preset(struct gen_config *c, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->seed = 1;
    c->items_avg_milli = 3000;
    if (strcmp(name, "tiny") == 0) {
        *c = (struct gen_config){.tenants = 2, .categories = 8, .products = 100,
                                 .customers = 200, .orders = 500, .price_samples = 5,
                                 .stock_events = 400, .from = date_s(2025, 1, 1),
                                 .to = date_s(2025, 4, 1)};
    } else if (strcmp(name, "small") == 0) {
        *c = (struct gen_config){.tenants = 3, .categories = 20, .products = 5000,
                                 .customers = 10000, .orders = 50000, .price_samples = 10,
                                 .stock_events = 50000, .from = date_s(2025, 1, 1),
                                 .to = date_s(2026, 1, 1)};
    } else if (strcmp(name, "medium") == 0) {
        *c = (struct gen_config){.tenants = 4, .categories = 50, .products = 25000,
                                 .customers = 50000, .orders = 250000, .price_samples = 20,
                                 .stock_events = 250000, .from = date_s(2025, 1, 1),
                                 .to = date_s(2026, 1, 1)};
    } else if (strcmp(name, "large") == 0) {
        *c = (struct gen_config){.tenants = 10, .categories = 100, .products = 500000,
                                 .customers = 200000, .orders = 2000000, .price_samples = 100,
                                 .stock_events = 2000000, .from = date_s(2024, 1, 1),
                                 .to = date_s(2026, 1, 1)};
    } else {
        return -1;
    }
    c->seed = 1;
    c->items_avg_milli = 3000;
    snprintf(c->preset, sizeof(c->preset), "%s", name);
    return 0;
}

const char *gen_config_check(const struct gen_config *c)
{
    if (c->tenants < 1 || c->tenants > GEN_TENANTS_MAX)
        return "--tenants must be 1..10000";
    if (c->products < 1 || c->products > 100000000)
        return "--products must be 1..100000000";
    if (c->customers < 1 || c->customers > 100000000)
        return "--customers must be 1..100000000";
    if (c->orders < 0 || c->orders > 1000000000)
        return "--orders must be 0..1000000000";
    if (c->categories < 0 || c->categories > 1000000)
        return "--categories must be 0..1000000";
    if (c->items_avg_milli < 1000 || c->items_avg_milli > 10000)
        return "--items-avg must be 1..10";
    if (c->price_samples < 0 || c->price_samples > 10000)
        return "--price-samples must be 0..10000";
    if (c->stock_events < 0 || c->stock_events > 10000000000LL)
        return "--stock-events must be 0..10^10";
    if (c->from % 3600 || c->to % 3600)
        return "--from and --to must fall on whole hours";
    if (c->to - c->from < 3600 || (c->to - c->from) / 3600 > GEN_RANGE_MAX_HOURS)
        return "--to must be 1 hour to 50 years after --from";
    if (c->bad_rows_ppm > 1000000)
        return "--bad-rows must be 0..1";
    return NULL;
}

int gen_parse_fixed(const char *s, int64_t scale, int64_t *out)
{
    int64_t v = 0, frac = 0, fscale = 1;
    const char *p = s;
    if (!*p)
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > 1000000000000LL)
            return -1;
    }
    if (p == s && *p != '.')
        return -1;
    if (*p == '.') {
        p++;
        const char *f = p;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (fscale < scale) {
                frac = frac * 10 + (*p - '0');
                fscale *= 10;
            } else if (*p != '0') {
                return -1; /* finer than the unit */
            }
        }
        if (p == f && p - 1 == s)
            return -1;
    }
    if (*p)
        return -1;
    *out = v * scale + frac * (scale / fscale);
    return 0;
}

/* ============================== model =============================== */

int gen_model_init(struct gen_model *m, const struct gen_config *c)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *c;
    m->hours = (c->to - c->from) / 3600;
    m->cum = xmalloc((size_t)(m->hours + 1) * sizeof(uint64_t));
    m->cum[0] = 0;
    int64_t day = -1;
    uint64_t wday = 0;
    for (int64_t h = 0; h < m->hours; h++) {
        int64_t t = c->from + h * 3600;
        if (t / 86400 != day) {
            day = t / 86400;
            int month = time_month_of(t) % 100;
            /* growth from 100 at the start to 150 at the end of the range */
            uint64_t growth = 100 + (uint64_t)(50 * h / m->hours);
            wday = (uint64_t)W_DOW[(day + 3) % 7] * W_MONTH[month - 1] * growth;
        }
        m->cum[h + 1] = m->cum[h] + wday * W_HOUR[(t % 86400) / 3600];
    }
    return 0;
}

void gen_model_fini(struct gen_model *m)
{
    free(m->cum);
    m->cum = NULL;
}

static void put_id(char *out, const char *prefix, int64_t n, int width)
{
    /* prefix + zero-padded decimal, at least width digits */
    char digits[24];
    int nd = 0;
    uint64_t v = (uint64_t)n;
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t pl = strlen(prefix);
    memcpy(out, prefix, pl);
    char *p = out + pl;
    for (int i = nd; i < width; i++)
        *p++ = '0';
    while (nd)
        *p++ = digits[--nd];
    *p = '\0';
}

void gen_tenant(const struct gen_model *m, int t, struct gen_tenant *out)
{
    (void)m;
    memset(out, 0, sizeof(*out));
    out->index = t;
    put_id(out->slug, "t", t + 1, 2);
    snprintf(out->name, sizeof(out->name), "%s %s", SHOPS[t % ARRAY_LEN(SHOPS)], out->slug);
    const struct currency_rate *r = &RATES[HOME[t % ARRAY_LEN(HOME)]];
    memcpy(out->currency, r->code, 4);
    out->exponent = currency_exponent(r->code, 3);
}

void gen_category(const struct gen_model *m, int t, int64_t i, struct gen_category *out)
{
    int64_t ntop = m->cfg.categories < (int64_t)ARRAY_LEN(CAT_TOP) ? m->cfg.categories
                                                                   : (int64_t)ARRAY_LEN(CAT_TOP);
    (void)t;
    out->index = i;
    put_id(out->ext_id, "CAT-", i + 1, 3);
    if (i < ntop) {
        out->parent = -1;
        snprintf(out->name, sizeof(out->name), "%s", CAT_TOP[i]);
        return;
    }
    out->parent = i % ntop;
    int64_t k = (i - ntop) / ntop;
    const char *sub = CAT_SUB[k % (int64_t)ARRAY_LEN(CAT_SUB)];
    if (k < (int64_t)ARRAY_LEN(CAT_SUB))
        snprintf(out->name, sizeof(out->name), "%s › %s", CAT_TOP[out->parent], sub);
    else
        snprintf(out->name, sizeof(out->name), "%s › %s %lld", CAT_TOP[out->parent], sub,
                 (long long)(k / (int64_t)ARRAY_LEN(CAT_SUB) + 1));
}

static int64_t product_eur(struct gen_rng *r)
{
    int total = 0;
    for (size_t i = 0; i < ARRAY_LEN(PRICE_POINTS); i++)
        total += PRICE_POINTS[i].weight;
    int x = (int)gen_below(r, (uint64_t)total);
    for (size_t i = 0; i < ARRAY_LEN(PRICE_POINTS); i++) {
        x -= PRICE_POINTS[i].weight;
        if (x < 0)
            return PRICE_POINTS[i].cents;
    }
    return PRICE_POINTS[0].cents;
}

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

void gen_product(const struct gen_model *m, int t, int64_t i, struct gen_product *out)
{
    struct gen_rng r;
    gen_rng_seed(&r, m->cfg.seed, (uint64_t)t, GEN_E_PRODUCT, (uint64_t)i);
    out->index = i;
    put_id(out->ext_id, "P-", i + 1, 7);
    out->base_eur_cents = product_eur(&r);
    const char *adj = ADJ[gen_below(&r, ARRAY_LEN(ADJ))];
    const char *noun = NOUN[gen_below(&r, ARRAY_LEN(NOUN))];
    char *p = put_str(out->name, adj);
    *p++ = ' ';
    p = put_str(p, noun);
    *p++ = ' ';
    put_id(p, "", (int64_t)gen_range(&r, 1, 999), 1);
    out->category = m->cfg.categories ? (int64_t)gen_below(&r, (uint64_t)m->cfg.categories) : -1;
    out->created_at = m->cfg.from - gen_range(&r, 1, 365) * 86400 - gen_range(&r, 0, 86399);
    out->price_minor = to_currency(out->base_eur_cents, HOME[t % (int)ARRAY_LEN(HOME)]);
}

void gen_customer(const struct gen_model *m, int t, int64_t i, struct gen_customer *out)
{
    struct gen_rng r;
    gen_rng_seed(&r, m->cfg.seed, (uint64_t)t, GEN_E_CUSTOMER, (uint64_t)i);
    out->index = i;
    put_id(out->ext_id, "C-", i + 1, 6);
    char *e = out->email;
    if (gen_below(&r, 100) < 4) {
        const struct name *n = &FULL_CJK[gen_below(&r, ARRAY_LEN(FULL_CJK))];
        *put_str(out->name, n->display) = '\0';
        e = put_str(e, n->ascii);
    } else {
        const struct name *f = &FIRST[gen_below(&r, ARRAY_LEN(FIRST))];
        const struct name *l = &LAST[gen_below(&r, ARRAY_LEN(LAST))];
        char *p = put_str(out->name, f->display);
        *p++ = ' ';
        *put_str(p, l->display) = '\0';
        e = put_str(e, f->ascii);
        *e++ = '.';
        e = put_str(e, l->ascii);
    }
    put_id(e, "", i + 1, 1); /* the number keeps addresses unique per tenant */
    e += strlen(e);
    *e++ = '@';
    *put_str(e, DOMAINS[gen_below(&r, ARRAY_LEN(DOMAINS))]) = '\0';
    out->created_at = m->cfg.from - gen_range(&r, 1, 730) * 86400 - gen_range(&r, 0, 86399);
}

/* ============================== orders ============================== */

void gen_orders_init(struct gen_orders *it, const struct gen_model *m, int t)
{
    memset(it, 0, sizeof(*it));
    it->m = m;
    gen_tenant(m, t, &it->tenant);
    it->price_eur = xmalloc((size_t)m->cfg.products * sizeof(int64_t));
    for (int64_t i = 0; i < m->cfg.products; i++) {
        struct gen_rng r;
        gen_rng_seed(&r, m->cfg.seed, (uint64_t)t, GEN_E_PRODUCT, (uint64_t)i);
        it->price_eur[i] = product_eur(&r);
    }
    it->product_mult = coprime_mult((uint64_t)m->cfg.products, 0x9E3779B1ull + (uint64_t)t);
    it->customer_mult = coprime_mult((uint64_t)m->cfg.customers, 0x85EBCA77ull + (uint64_t)t);
}

void gen_orders_fini(struct gen_orders *it)
{
    free(it->price_eur);
    it->price_eur = NULL;
}

/* Percent weights per status (pending paid shipped delivered cancelled refunded). */
static const int STATUS_W[3][6] = {
    {35, 45, 15, 0, 5, 0}, /* under 2 days old */
    {2, 13, 45, 33, 5, 2}, /* under 10 days */
    {1, 1, 1, 88, 5, 4},   /* older */
};

static int pick_status(struct gen_rng *r, int64_t age)
{
    const int *w = STATUS_W[age < 2 * 86400 ? 0 : age < 10 * 86400 ? 1 : 2];
    int x = (int)gen_below(r, 100);
    for (int s = 0; s < 6; s++) {
        x -= w[s];
        if (x < 0)
            return s;
    }
    return ORDER_DELIVERED;
}

static int64_t pick_quantity(struct gen_rng *r)
{
    uint64_t x = gen_below(r, 100);
    if (x < 70)
        return 1;
    if (x < 88)
        return 2;
    if (x < 95)
        return 3;
    if (x < 99)
        return gen_range(r, 4, 5);
    return gen_range(r, 6, 10);
}

bool gen_orders_next(struct gen_orders *it, struct gen_order *o)
{
    const struct gen_model *m = it->m;
    const struct gen_config *c = &m->cfg;
    if (it->next >= c->orders)
        return false;
    int64_t i = it->next++;
    struct gen_rng r;
    gen_rng_seed(&r, c->seed, (uint64_t)it->tenant.index, GEN_E_ORDER, (uint64_t)i);
    o->index = i;
    put_id(o->order_id, "ORD-", i + 1, 8);

    /* time: the (i + u) / N quantile of the intensity integral */
    uint64_t total = m->cum[m->hours];
    unsigned __int128 pos = ((unsigned __int128)(uint64_t)i << 32) | gen_u32(&r);
    uint64_t target = (uint64_t)(pos * total / ((unsigned __int128)(uint64_t)c->orders << 32));
    while (it->hour + 1 < m->hours && m->cum[it->hour + 1] <= target)
        it->hour++;
    uint64_t w = m->cum[it->hour + 1] - m->cum[it->hour];
    int64_t sec = w ? (int64_t)((target - m->cum[it->hour]) * 3600 / w) : 0;
    if (sec > 3599)
        sec = 3599;
    o->created_at = c->from + it->hour * 3600 + sec;

    uint64_t crank = power_rank(gen_u32(&r), 3, (uint64_t)c->customers);
    o->customer = (int64_t)permute(crank, it->customer_mult, (uint64_t)c->customers);
    o->status = pick_status(&r, c->to - o->created_at);

    int ri = rate_index(it->tenant.currency);
    if (gen_below(&r, 100) >= 85)
        ri = FOREIGN[gen_below(&r, ARRAY_LEN(FOREIGN))];
    memcpy(o->currency, RATES[ri].code, 4);
    o->exponent = currency_exponent(o->currency, 3);

    uint32_t thr = (uint32_t)(((uint64_t)(c->items_avg_milli - 1000) << 32) / 9000);
    int n = 1;
    for (int k = 0; k < 9; k++)
        n += gen_u32(&r) < thr;
    if (c->items_avg_milli >= 10000)
        n = GEN_ITEMS_MAX;
    o->nitems = n;
    o->total_minor = 0;
    for (int k = 0; k < n; k++) {
        struct gen_item *item = &o->items[k];
        int64_t p = 0;
        for (int tries = 0; tries < 4; tries++) {
            uint64_t rank = power_rank(gen_u32(&r), 4, (uint64_t)c->products);
            p = (int64_t)permute(rank, it->product_mult, (uint64_t)c->products);
            int dup = 0;
            for (int j = 0; j < k; j++)
                dup |= o->items[j].product == p;
            if (!dup)
                break;
        }
        item->product = p;
        put_id(item->product_id, "P-", p + 1, 7);
        item->quantity = pick_quantity(&r);
        int64_t unit = to_currency(it->price_eur[p], ri);
        if (gen_below(&r, 100) < 10)
            unit = unit * (100 - gen_range(&r, 5, 30)) / 100;
        item->unit_price_minor = unit < 1 ? 1 : unit;
        o->total_minor += item->quantity * item->unit_price_minor;
    }
    return true;
}

/* ============================ price history ========================= */

static const char *const PRICE_SOURCES[] = {"feed", "feed", "feed", "scraper", "manual"};
static const int64_t JUMPS_PERMILLE[] = {400, 500, 2000, 3000, 10000};

int64_t gen_prices(const struct gen_model *m, int t, const struct gen_product *p,
                   struct gen_price *out)
{
    const struct gen_config *c = &m->cfg;
    int64_t k = c->price_samples;
    int64_t span = c->to - c->from;
    struct gen_rng r;
    gen_rng_seed(&r, c->seed, (uint64_t)t, GEN_E_PRICE, (uint64_t)p->index);
    int64_t base = p->price_minor;
    int64_t cur = base * gen_range(&r, 900, 1100) / 1000;
    int64_t before = cur;
    bool revert = false;
    for (int64_t j = 0; j < k; j++) {
        unsigned __int128 pos = ((unsigned __int128)(uint64_t)j << 32) | gen_u32(&r);
        out[j].observed_at =
            c->from + (int64_t)(pos * (uint64_t)span / ((unsigned __int128)(uint64_t)k << 32));
        if (j > 0) {
            if (revert) {
                cur = before;
                revert = false;
            } else if (gen_below(&r, 1000) < 20) {
                before = cur;
                cur = cur * JUMPS_PERMILLE[gen_below(&r, ARRAY_LEN(JUMPS_PERMILLE))] / 1000;
                revert = gen_below(&r, 2) == 0;
            } else {
                cur += (base - cur) / 8 + cur * gen_range(&r, -30, 30) / 1000;
            }
        }
        if (cur < 1)
            cur = 1;
        out[j].price_minor = cur;
        out[j].source = PRICE_SOURCES[gen_below(&r, ARRAY_LEN(PRICE_SOURCES))];
    }
    return k;
}

/* ============================ stock events ========================== */

int64_t gen_stock_count(const struct gen_model *m, int64_t i, int64_t *first_seq)
{
    int64_t per = m->cfg.stock_events / m->cfg.products;
    int64_t extra = m->cfg.stock_events % m->cfg.products;
    if (first_seq)
        *first_seq = i * per + (i < extra ? i : extra);
    return per + (i < extra);
}

int64_t gen_stock_events(const struct gen_model *m, int t, int64_t i, struct gen_stock_event *out)
{
    const struct gen_config *c = &m->cfg;
    int64_t seq;
    int64_t k = gen_stock_count(m, i, &seq);
    int64_t span = c->to - c->from;
    struct gen_rng r;
    gen_rng_seed(&r, c->seed, (uint64_t)t, GEN_E_STOCK, (uint64_t)i);
    int64_t qty = 0;
    for (int64_t j = 0; j < k; j++) {
        struct gen_stock_event *e = &out[j];
        unsigned __int128 pos = ((unsigned __int128)(uint64_t)j << 32) | gen_u32(&r);
        e->event_time =
            c->from + (int64_t)(pos * (uint64_t)span / ((unsigned __int128)(uint64_t)k << 32));
        e->seq = seq + j;
        if (j == 0) {
            int64_t q = gen_range(&r, 20, 400);
            e->kind = 1;
            e->delta = q - qty;
            e->source = "import";
            e->reason = "initial_count";
            qty = q;
            e->quantity_after = qty;
            continue;
        }
        e->kind = 0;
        uint64_t x = gen_below(&r, 100);
        int64_t d;
        if (x < 60) {
            d = -gen_range(&r, 1, 5);
            e->source = "pos";
            e->reason = "sale";
        } else if (x < 85) {
            d = gen_range(&r, 10, 200);
            e->source = "warehouse";
            e->reason = "restock";
        } else {
            d = gen_range(&r, -3, 2);
            if (d >= 0)
                d++; /* -3..-1, 1..3 */
            e->source = "audit";
            e->reason = "adjustment";
        }
        if (qty + d < 0 && !c->allow_negative) {
            if (qty == 0) {
                d = gen_range(&r, 10, 200); /* out of stock: the shop restocks */
                e->source = "warehouse";
                e->reason = "restock";
            } else {
                d = -qty; /* sell what is left */
            }
        }
        qty += d;
        e->delta = d;
        e->quantity_after = qty;
    }
    return k;
}

/* ============================== bad rows ============================ */

static const char *const BAD_NAMES[GEN_BAD__COUNT] = {
    [GEN_BAD_BROKEN_JSON] = "broken_json",
    [GEN_BAD_WRONG_TYPE] = "wrong_type",
    [GEN_BAD_MISSING_FIELD] = "missing_field",
    [GEN_BAD_NEGATIVE_QUANTITY] = "negative_quantity",
    [GEN_BAD_UNKNOWN_PRODUCT] = "unknown_product",
    [GEN_BAD_ABSURD_DATE] = "absurd_date",
    [GEN_BAD_OVERSIZED_STRING] = "oversized_string",
    [GEN_BAD_INVALID_UTF8] = "invalid_utf8",
};

const char *gen_bad_kind_name(int kind)
{
    return kind >= 0 && kind < GEN_BAD__COUNT ? BAD_NAMES[kind] : "unknown";
}

int gen_bad_after(struct gen_orders *it, const struct gen_order *o, struct gen_bad *out, int cap)
{
    const struct gen_config *c = &it->m->cfg;
    if (!c->bad_rows_ppm || cap < 1)
        return 0;
    struct gen_rng r;
    gen_rng_seed(&r, c->seed, (uint64_t)it->tenant.index, GEN_E_BAD, (uint64_t)o->index);
    if (!gen_chance_ppm(&r, c->bad_rows_ppm))
        return 0;
    out[0].kind = (int)gen_below(&r, GEN_BAD__COUNT);
    out[0].variant = gen_u32(&r);
    out[0].seq = it->bad_seq++;
    return 1;
}

void gen_counts_per_tenant(const struct gen_config *c, struct gen_counts *out)
{
    out->categories = c->categories;
    out->products = c->products;
    out->customers = c->customers;
    out->orders = c->orders;
    out->order_items_est = c->orders * c->items_avg_milli / 1000;
    out->price_history = c->products * c->price_samples;
    out->stock_events = c->stock_events;
    out->stock_levels = c->products;
}
