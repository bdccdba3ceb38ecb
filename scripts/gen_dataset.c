/*
 * gen_dataset.c: synthetic data for every entity, as files and/or loaded
 * straight into the database.
 *
 * Pipeline per tenant, one table at a time (so each table's rate is measured
 * on its own): categories, products, stock_levels, customers, price_history,
 * stock_events, orders (+ order_items). Rows come from core/gen_model.c, a
 * pure function of (seed, tenant, entity, index); files are written by
 * core/gen_format.c + core/gen_file.c; --load inserts through
 * core/store_catalog.c for the catalog and time series and through
 * core/store.h (store_batch_begin / store_order / store_batch_commit) for the
 * orders: the same code path as the ingest endpoint.
 *
 * Output layout under --out DIR:
 *   manifest.json                 config, per-tenant files (rows, bytes, sha256), bad-row kinds
 *   tenants.csv
 *   t01/categories.csv ... t01/stock_levels.csv      (".gz" with --gzip)
 *   t01/orders.csv, t01/order_items.csv
 *   t01/orders-00000.ndjson ...   the ingest request format, --chunk-rows lines each
 * The manifest holds no timings and no database ids, so it is byte-identical
 * for a seed like every data file. Timings go to stdout (and --stats FILE).
 *
 * A load always creates new tenants (tenant_create: a fresh API key each), so
 * loading into a database that already holds data adds to it and never
 * touches existing tenants; the ids and keys go to --keys-out (mode 0600).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "gen_file.h"
#include "gen_format.h"
#include "gen_model.h"
#include "money.h"
#include "store.h"
#include "store_catalog.h"
#include "tenant.h"
#include "timefmt.h"
#include "xmalloc.h"

/* ============================== options ============================= */

enum table {
    T_CATEGORIES,
    T_PRODUCTS,
    T_STOCK_LEVELS,
    T_CUSTOMERS,
    T_PRICE_HISTORY,
    T_STOCK_EVENTS,
    T_ORDERS,
    T_ORDER_ITEMS,
    T__COUNT,
};

static const char *const TABLE_NAME[T__COUNT] = {
    "categories",    "products",     "stock_levels", "customers",
    "price_history", "stock_events", "orders",       "order_items",
};

enum progress_mode { PROGRESS_AUTO, PROGRESS_BAR, PROGRESS_LINES, PROGRESS_NONE };

struct opts {
    struct gen_config cfg;
    const char *out;        /* NULL: no files */
    bool gzip;
    int64_t chunk_rows;
    bool load;
    const char *db_path;
    const char *keys_out;
    int64_t batch_rows;
    const char *stats_path;
    bool plan;
    enum progress_mode progress;
};

static void usage(FILE *f)
{
    fputs(
        "usage: gen_dataset [--preset NAME] [size flags] [--out DIR] [--load --db PATH]\n"
        "\n"
        "Generates synthetic tenants, categories, products, customers, orders with\n"
        "items, price history and stock events: as files (CSV per table, orders also\n"
        "as NDJSON in the bulk-ingest request format, a manifest.json with row counts\n"
        "and SHA-256), and/or loaded straight into the database through the same\n"
        "batch-insert path as the ingest endpoint. Output is byte-identical for a seed.\n"
        "\n"
        "Presets (--preset, default tiny; size flags override its values, in any order):\n"
        "  tiny    2 tenants x 500 orders, 100 products, 200 customers   (tests; < 1 s)\n"
        "  small   3 x 50k orders, 5k products, 10k customers\n"
        "  medium  4 x 250k orders (1M in all), 25k products, 50k customers\n"
        "  large   10 x 2M orders, 500k products and 100 price samples per product,\n"
        "          200k customers, 2M stock events per tenant, 2024-2025\n"
        "\n"
        "Sizes (per tenant unless said otherwise):\n"
        "  --tenants N          tenants to generate\n"
        "  --categories N       categories (the first 12 are top level)\n"
        "  --products N         products\n"
        "  --customers N        customers (heavy buyers: the top 1% place ~1/5 of orders)\n"
        "  --orders N           orders\n"
        "  --items-avg X        mean items per order, 1..10 (1 + binomial; default 3)\n"
        "  --price-samples N    price history samples per product\n"
        "  --stock-events N     stock events per tenant, spread over products\n"
        "  --from DATE --to DATE  time range [from, to), YYYY-MM-DD or RFC 3339 on whole hours\n"
        "  --allow-negative-stock  sales may take stock below zero (default: never)\n"
        "\n"
        "Files:\n"
        "  --out DIR            write files under DIR (default ./dataset when not --load;\n"
        "                       with --load, files are written only if --out is given)\n"
        "  --chunk-rows N       NDJSON lines per orders-NNNNN.ndjson chunk (default 100000)\n"
        "  --gzip               gzip every file (zlib level 1: 173 vs 58 MB/s at level 6)\n"
        "  --bad-rows RATE      after each order, with probability RATE, one malformed\n"
        "                       NDJSON line (broken_json, wrong_type, missing_field,\n"
        "                       negative_quantity, unknown_product, absurd_date,\n"
        "                       oversized_string, invalid_utf8); counted in the manifest\n"
        "  --seed N             PRNG seed (default 1): same seed, same bytes\n"
        "\n"
        "Direct load:\n"
        "  --load               insert into the database (new tenants every time)\n"
        "  --db PATH            database file (created and migrated if needed)\n"
        "  --keys-out FILE      tenant ids, names and API keys as JSON, mode 0600\n"
        "                       (default <out>/tenants.json, or tenants.json beside --db)\n"
        "  --batch-rows N       rows per transaction (default 50000)\n"
        "\n"
        "Other:\n"
        "  --stats FILE         rows, seconds and rows/s per table as JSON\n"
        "  --progress MODE      auto (bar on a terminal, lines otherwise), bar, lines, none\n"
        "  --plan               print the resolved config and row counts as JSON, do nothing\n"
        "  --help               this text\n"
        "\n"
        "Examples:\n"
        "  gen_dataset --preset small --out /tmp/ds --gzip --bad-rows 0.01\n"
        "  gen_dataset --preset tiny --load --db var/cartograph.db \\\n"
        "              --keys-out var/secret/demo-tenants.json      (what `make run` does)\n",
        f);
}

static int parse_int(const char *flag, const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "gen_dataset: %s wants an integer in %lld..%lld, got '%s'\n", flag,
                (long long)lo, (long long)hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_date(const char *flag, const char *v, int64_t *out)
{
    if (rfc3339_parse(v, strlen(v), out)) {
        fprintf(stderr, "gen_dataset: %s wants YYYY-MM-DD or RFC 3339, got '%s'\n", flag, v);
        return -1;
    }
    return 0;
}

enum {
    O_PRESET = 256, O_SEED, O_TENANTS, O_CATEGORIES, O_PRODUCTS, O_CUSTOMERS, O_ORDERS,
    O_ITEMS_AVG, O_PRICE_SAMPLES, O_STOCK_EVENTS, O_FROM, O_TO, O_ALLOW_NEG, O_OUT,
    O_CHUNK_ROWS, O_GZIP, O_BAD_ROWS, O_LOAD, O_DB, O_KEYS_OUT, O_BATCH_ROWS, O_STATS,
    O_PROGRESS, O_PLAN, O_HELP,
};

static const struct option LONGOPTS[] = {
    {"preset", required_argument, NULL, O_PRESET},
    {"seed", required_argument, NULL, O_SEED},
    {"tenants", required_argument, NULL, O_TENANTS},
    {"categories", required_argument, NULL, O_CATEGORIES},
    {"products", required_argument, NULL, O_PRODUCTS},
    {"customers", required_argument, NULL, O_CUSTOMERS},
    {"orders", required_argument, NULL, O_ORDERS},
    {"items-avg", required_argument, NULL, O_ITEMS_AVG},
    {"price-samples", required_argument, NULL, O_PRICE_SAMPLES},
    {"stock-events", required_argument, NULL, O_STOCK_EVENTS},
    {"from", required_argument, NULL, O_FROM},
    {"to", required_argument, NULL, O_TO},
    {"allow-negative-stock", no_argument, NULL, O_ALLOW_NEG},
    {"out", required_argument, NULL, O_OUT},
    {"chunk-rows", required_argument, NULL, O_CHUNK_ROWS},
    {"gzip", no_argument, NULL, O_GZIP},
    {"bad-rows", required_argument, NULL, O_BAD_ROWS},
    {"load", no_argument, NULL, O_LOAD},
    {"db", required_argument, NULL, O_DB},
    {"keys-out", required_argument, NULL, O_KEYS_OUT},
    {"batch-rows", required_argument, NULL, O_BATCH_ROWS},
    {"stats", required_argument, NULL, O_STATS},
    {"progress", required_argument, NULL, O_PROGRESS},
    {"plan", no_argument, NULL, O_PLAN},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* Two passes: the preset first, then every other flag on top of it. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    const char *preset = "tiny";
    int c;
    memset(o, 0, sizeof(*o));
    o->chunk_rows = 100000;
    o->batch_rows = 50000;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", LONGOPTS, NULL)) != -1) {
        if (c == O_PRESET)
            preset = optarg;
        else if (c == O_HELP) {
            usage(stdout);
            exit(0);
        } else if (c == '?') {
            fprintf(stderr, "gen_dataset: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gen_dataset: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    if (gen_config_preset(&o->cfg, preset)) {
        fprintf(stderr, "gen_dataset: unknown preset '%s' (tiny, small, medium, large)\n",
                preset);
        return -1;
    }
    optind = 0;
    struct gen_config *g = &o->cfg;
    int64_t v;
    while ((c = getopt_long(argc, argv, "", LONGOPTS, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case O_SEED:
            rc = parse_int("--seed", optarg, 0, INT64_MAX, &v);
            g->seed = (uint64_t)v;
            break;
        case O_TENANTS:
            rc = parse_int("--tenants", optarg, 1, GEN_TENANTS_MAX, &v);
            g->tenants = (int)v;
            break;
        case O_CATEGORIES:
            rc = parse_int("--categories", optarg, 0, 1000000, &g->categories);
            break;
        case O_PRODUCTS:
            rc = parse_int("--products", optarg, 1, 100000000, &g->products);
            break;
        case O_CUSTOMERS:
            rc = parse_int("--customers", optarg, 1, 100000000, &g->customers);
            break;
        case O_ORDERS:
            rc = parse_int("--orders", optarg, 0, 1000000000, &g->orders);
            break;
        case O_ITEMS_AVG:
            if (gen_parse_fixed(optarg, 1000, &v) || v < 1000 || v > 10000) {
                fprintf(stderr, "gen_dataset: --items-avg wants 1..10, got '%s'\n", optarg);
                rc = -1;
            }
            g->items_avg_milli = (int)v;
            break;
        case O_PRICE_SAMPLES:
            rc = parse_int("--price-samples", optarg, 0, 10000, &g->price_samples);
            break;
        case O_STOCK_EVENTS:
            rc = parse_int("--stock-events", optarg, 0, 10000000000LL, &g->stock_events);
            break;
        case O_FROM:
            rc = parse_date("--from", optarg, &g->from);
            break;
        case O_TO:
            rc = parse_date("--to", optarg, &g->to);
            break;
        case O_ALLOW_NEG:
            g->allow_negative = true;
            break;
        case O_OUT:
            o->out = optarg;
            break;
        case O_CHUNK_ROWS:
            rc = parse_int("--chunk-rows", optarg, 1, INT64_MAX, &o->chunk_rows);
            break;
        case O_GZIP:
            o->gzip = true;
            break;
        case O_BAD_ROWS:
            if (gen_parse_fixed(optarg, 1000000, &v) || v > 1000000) {
                fprintf(stderr, "gen_dataset: --bad-rows wants a rate 0..1, got '%s'\n", optarg);
                rc = -1;
            }
            g->bad_rows_ppm = (uint32_t)v;
            break;
        case O_LOAD:
            o->load = true;
            break;
        case O_DB:
            o->db_path = optarg;
            break;
        case O_KEYS_OUT:
            o->keys_out = optarg;
            break;
        case O_BATCH_ROWS:
            rc = parse_int("--batch-rows", optarg, 1, 100000000, &o->batch_rows);
            break;
        case O_STATS:
            o->stats_path = optarg;
            break;
        case O_PROGRESS:
            if (strcmp(optarg, "auto") == 0)
                o->progress = PROGRESS_AUTO;
            else if (strcmp(optarg, "bar") == 0)
                o->progress = PROGRESS_BAR;
            else if (strcmp(optarg, "lines") == 0)
                o->progress = PROGRESS_LINES;
            else if (strcmp(optarg, "none") == 0)
                o->progress = PROGRESS_NONE;
            else {
                fprintf(stderr, "gen_dataset: --progress wants auto, bar, lines or none\n");
                rc = -1;
            }
            break;
        case O_PLAN:
            o->plan = true;
            break;
        default:
            break;
        }
        if (rc)
            return -1;
    }
    const char *bad = gen_config_check(g);
    if (bad) {
        fprintf(stderr, "gen_dataset: %s\n", bad);
        return -1;
    }
    if (o->load && !o->db_path) {
        fprintf(stderr, "gen_dataset: --load needs --db PATH\n");
        return -1;
    }
    if (!o->load && o->db_path) {
        fprintf(stderr, "gen_dataset: --db is only used with --load\n");
        return -1;
    }
    if (!o->load && !o->out)
        o->out = "dataset";
    if (o->progress == PROGRESS_AUTO)
        o->progress = isatty(STDERR_FILENO) ? PROGRESS_BAR : PROGRESS_LINES;
    return 0;
}

/* ============================== progress ============================ */

struct progress {
    enum progress_mode mode;
    int64_t total, done;
    int64_t t0, last; /* ns */
    int64_t next_check;
};

static void progress_print(struct progress *p, bool final)
{
    int64_t now = time_mono_ns();
    double secs = (double)(now - p->t0) / 1e9;
    double rate = secs > 0 ? (double)p->done / secs : 0;
    int64_t total = p->total > p->done ? p->total : p->done;
    double frac = total ? (double)p->done / (double)total : 1;
    if (!final && frac > 0.999)
        frac = 0.999; /* item counts are estimates until the end */
    double eta = rate > 0 ? (double)(total - p->done) / rate : 0;
    if (p->mode == PROGRESS_BAR) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %5.1f%% %lld rows %.0f rows/s ETA %ds   ", bar, frac * 100,
                (long long)p->done, rate, final ? 0 : (int)eta);
        if (final)
            fputc('\n', stderr);
    } else if (p->mode == PROGRESS_LINES) {
        fprintf(stderr, "progress: %.1f%% %lld/%lld rows, %.0f rows/s, elapsed %.0f s, eta %.0f s\n",
                frac * 100, (long long)p->done, (long long)total, rate, secs, final ? 0 : eta);
    }
    p->last = now;
}

static inline void progress_add(struct progress *p, int64_t n)
{
    p->done += n;
    if (p->done < p->next_check)
        return;
    p->next_check = p->done + 65536;
    int64_t interval = p->mode == PROGRESS_BAR ? 200000000LL : 10000000000LL;
    if (p->mode != PROGRESS_NONE && time_mono_ns() - p->last >= interval)
        progress_print(p, false);
}

/* ============================== run state =========================== */

struct table_stat {
    int64_t rows;
    int64_t ns;
};

struct tenant_out {
    struct gen_tenant tn;
    int64_t rows[T__COUNT];
    int64_t ndjson_lines;
    int64_t bad[GEN_BAD__COUNT];
    struct buf files_json;      /* the manifest's "files" array body */
    /* load */
    struct tenant db_tenant;
    char api_key[API_KEY_LEN + 1];
};

struct run {
    struct opts *o;
    struct gen_model m;
    struct db *db;
    struct progress prog;
    struct table_stat stat[T__COUNT];
    struct tenant_out *tenants;
    struct gen_file root_files[1];
    struct buf root_files_json;
};

/* Record a closed file in the manifest's list. */
static void file_json(struct buf *b, const struct gen_file *f, const char *table,
                      const char *format)
{
    if (b->len)
        buf_putc(b, ',');
    buf_puts(b, "\n      {\"path\":");
    buf_append_json_cstr(b, f->rel);
    buf_puts(b, ",\"table\":\"");
    buf_puts(b, table);
    buf_puts(b, "\",\"format\":\"");
    buf_puts(b, format);
    buf_puts(b, f->gzip ? "\",\"compression\":\"gzip\"" : "\",\"compression\":null");
    buf_puts(b, ",\"rows\":");
    buf_append_u64(b, f->rows);
    buf_puts(b, ",\"bytes\":");
    buf_append_u64(b, f->bytes);
    buf_puts(b, ",\"sha256\":\"");
    buf_puts(b, f->sha256_hex);
    buf_puts(b, "\"}");
}

static int csv_open(struct run *r, struct tenant_out *to, struct gen_file *f, const char *table,
                    void (*header)(struct buf *), struct error *err)
{
    char rel[GEN_FILE_PATH_MAX];
    snprintf(rel, sizeof(rel), "%s/%s.csv%s", to->tn.slug, table, r->o->gzip ? ".gz" : "");
    if (gen_file_open(f, r->o->out, rel, r->o->gzip, err))
        return -1;
    header(&f->buf);
    return 0;
}

static int csv_close(struct tenant_out *to, struct gen_file *f, const char *table,
                     struct error *err)
{
    if (gen_file_close(f, err))
        return -1;
    file_json(&to->files_json, f, table, "csv");
    return 0;
}

/* Commit the open catalog batch when it is full; begin the next one. */
static int cat_step(struct run *r, struct store_cat *cat, struct error *err)
{
    if ((int64_t)store_cat_rows(cat) < r->o->batch_rows)
        return 0;
    if (store_cat_commit(cat, err))
        return -1;
    return store_cat_begin(cat, err);
}

/* ============================== one tenant ========================== */

static int64_t elapsed_ns(int64_t t0)
{
    return time_mono_ns() - t0;
}

static int gen_tenant_all(struct run *r, int t, struct error *err)
{
    struct opts *o = r->o;
    const struct gen_config *c = &r->m.cfg;
    struct tenant_out *to = &r->tenants[t];
    bool files = o->out != NULL, load = o->load;
    struct store_cat *cat = NULL;
    struct gen_file f, f2;
    bool f_open = false, f2_open = false;
    int64_t *cat_ids = NULL, *prod_ids = NULL;
    struct gen_price *prices = xmalloc((size_t)(c->price_samples + 1) * sizeof(*prices));
    int64_t max_events = c->stock_events / c->products + 1;
    struct gen_stock_event *events = xmalloc((size_t)max_events * sizeof(*events));
    struct store_batch *batch = NULL;
    struct gen_orders it;
    bool it_open = false;
    int rc = -1;
    int64_t t0;

    gen_tenant(&r->m, t, &to->tn);
    const struct gen_tenant *tn = &to->tn;
    if (load) {
        char name[GEN_NAME_MAX + 32];
        snprintf(name, sizeof(name), "%s", tn->name);
        if (tenant_create(r->db, name, &to->db_tenant, to->api_key, err))
            goto out;
        if (store_cat_open(r->db, to->db_tenant.id, &cat, err))
            goto out;
    }
    int64_t now = c->to; /* "updated_at" of generated rows: the end of the range, not the clock */

    /* ---- categories ---- */
    t0 = time_mono_ns();
    cat_ids = xcalloc((size_t)c->categories + 1, sizeof(int64_t));
    if (files && csv_open(r, to, &f, "categories", gen_csv_categories_header, err))
        goto out;
    f_open = files;
    if (load && store_cat_begin(cat, err))
        goto out;
    for (int64_t i = 0; i < c->categories; i++) {
        struct gen_category g;
        gen_category(&r->m, t, i, &g);
        if (files) {
            gen_csv_category(&f.buf, &g);
            gen_file_row(&f);
        }
        if (load) {
            struct store_cat_category v = {str_from(g.ext_id), str_from(g.name),
                                         g.parent >= 0 ? cat_ids[g.parent] : 0};
            if (store_cat_category(cat, &v, &cat_ids[i], err))
                goto out;
        }
        progress_add(&r->prog, 1);
    }
    if (load && store_cat_commit(cat, err))
        goto out;
    if (files && csv_close(to, &f, "categories", err))
        goto out;
    f_open = false;
    to->rows[T_CATEGORIES] = c->categories;
    r->stat[T_CATEGORIES].ns += elapsed_ns(t0);

    /* ---- products (current price = last history sample) ---- */
    t0 = time_mono_ns();
    prod_ids = xcalloc((size_t)c->products, sizeof(int64_t));
    if (files && csv_open(r, to, &f, "products", gen_csv_products_header, err))
        goto out;
    f_open = files;
    if (load && store_cat_begin(cat, err))
        goto out;
    for (int64_t i = 0; i < c->products; i++) {
        struct gen_product p;
        gen_product(&r->m, t, i, &p);
        int64_t n = gen_prices(&r->m, t, &p, prices);
        int64_t price = n ? prices[n - 1].price_minor : p.price_minor;
        int64_t price_at = n ? prices[n - 1].observed_at : c->from;
        if (files) {
            gen_csv_product(&f.buf, &p, tn, price, price_at);
            gen_file_row(&f);
        }
        if (load) {
            struct store_cat_product v = {str_from(p.ext_id), str_from(p.name),
                                        p.category >= 0 ? cat_ids[p.category] : 0,
                                        tn->currency, price, price_at, p.created_at, now};
            if (store_cat_product(cat, &v, &prod_ids[i], err) || cat_step(r, cat, err))
                goto out;
        }
        progress_add(&r->prog, 1);
    }
    if (load && store_cat_commit(cat, err))
        goto out;
    if (files && csv_close(to, &f, "products", err))
        goto out;
    f_open = false;
    to->rows[T_PRODUCTS] = c->products;
    r->stat[T_PRODUCTS].ns += elapsed_ns(t0);

    /* ---- stock levels: the end state of each product's events ---- */
    t0 = time_mono_ns();
    if (files && csv_open(r, to, &f, "stock_levels", gen_csv_stock_levels_header, err))
        goto out;
    f_open = files;
    if (load && store_cat_begin(cat, err))
        goto out;
    for (int64_t i = 0; i < c->products; i++) {
        struct gen_product p;
        p.index = i;
        snprintf(p.ext_id, sizeof(p.ext_id), "P-%07lld", (long long)(i + 1));
        int64_t n = gen_stock_events(&r->m, t, i, events);
        int64_t qty = n ? events[n - 1].quantity_after : 0;
        int64_t last = n ? events[n - 1].event_time : 0;
        if (files) {
            gen_csv_stock_level(&f.buf, &p, qty, n, last);
            gen_file_row(&f);
        }
        if (load) {
            struct store_cat_stock_level v = {prod_ids[i], qty, n, n ? last * 1000 : -1,
                                            n ? last : now};
            if (store_cat_stock_level(cat, &v, err) || cat_step(r, cat, err))
                goto out;
        }
        progress_add(&r->prog, 1);
    }
    if (load && store_cat_commit(cat, err))
        goto out;
    if (files && csv_close(to, &f, "stock_levels", err))
        goto out;
    f_open = false;
    to->rows[T_STOCK_LEVELS] = c->products;
    r->stat[T_STOCK_LEVELS].ns += elapsed_ns(t0);

    /* ---- customers ---- */
    t0 = time_mono_ns();
    if (files && csv_open(r, to, &f, "customers", gen_csv_customers_header, err))
        goto out;
    f_open = files;
    if (load && store_cat_begin(cat, err))
        goto out;
    for (int64_t i = 0; i < c->customers; i++) {
        struct gen_customer g;
        gen_customer(&r->m, t, i, &g);
        if (files) {
            gen_csv_customer(&f.buf, &g);
            gen_file_row(&f);
        }
        if (load) {
            struct store_cat_customer v = {str_from(g.ext_id), str_from(g.name),
                                         str_from(g.email), g.created_at, g.created_at};
            int64_t id;
            if (store_cat_customer(cat, &v, &id, err) || cat_step(r, cat, err))
                goto out;
        }
        progress_add(&r->prog, 1);
    }
    if (load && store_cat_commit(cat, err))
        goto out;
    if (files && csv_close(to, &f, "customers", err))
        goto out;
    f_open = false;
    to->rows[T_CUSTOMERS] = c->customers;
    r->stat[T_CUSTOMERS].ns += elapsed_ns(t0);

    /* ---- price history ---- */
    t0 = time_mono_ns();
    if (files && csv_open(r, to, &f, "price_history", gen_csv_prices_header, err))
        goto out;
    f_open = files;
    if (load && store_cat_begin(cat, err))
        goto out;
    for (int64_t i = 0; i < c->products; i++) {
        struct gen_product p;
        gen_product(&r->m, t, i, &p);
        int64_t n = gen_prices(&r->m, t, &p, prices);
        for (int64_t k = 0; k < n; k++) {
            if (files) {
                gen_csv_price(&f.buf, &p, tn, &prices[k]);
                gen_file_row(&f);
            }
            if (load) {
                struct store_cat_price v = {prod_ids[i], prices[k].price_minor, tn->currency,
                                          prices[k].observed_at, prices[k].source};
                if (store_cat_price(cat, &v, err))
                    goto out;
            }
        }
        if (load && cat_step(r, cat, err))
            goto out;
        to->rows[T_PRICE_HISTORY] += n;
        progress_add(&r->prog, n);
    }
    if (load && store_cat_commit(cat, err))
        goto out;
    if (files && csv_close(to, &f, "price_history", err))
        goto out;
    f_open = false;
    r->stat[T_PRICE_HISTORY].ns += elapsed_ns(t0);

    /* ---- stock events ---- */
    t0 = time_mono_ns();
    if (files && csv_open(r, to, &f, "stock_events", gen_csv_stock_events_header, err))
        goto out;
    f_open = files;
    if (load && store_cat_begin(cat, err))
        goto out;
    for (int64_t i = 0; i < c->products; i++) {
        struct gen_product p;
        p.index = i;
        snprintf(p.ext_id, sizeof(p.ext_id), "P-%07lld", (long long)(i + 1));
        int64_t n = gen_stock_events(&r->m, t, i, events);
        for (int64_t k = 0; k < n; k++) {
            if (files) {
                gen_csv_stock_event(&f.buf, &p, &events[k]);
                gen_file_row(&f);
            }
            if (load) {
                char eid[GEN_ID_MAX], meta[64];
                gen_stock_event_id(events[k].seq, eid);
                gen_stock_event_metadata(&events[k], meta, sizeof(meta));
                struct store_cat_stock_event v = {
                    .product_id = prod_ids[i],
                    .event_id = str_from(eid),
                    .kind = events[k].kind,
                    .mode = 0,
                    .delta = events[k].delta,
                    .quantity_after = events[k].quantity_after,
                    .version_after = k + 1,
                    .event_time_ms = events[k].event_time * 1000,
                    .source = events[k].source,
                    .metadata = meta,
                    .applied_at_ms = events[k].event_time * 1000,
                };
                if (store_cat_stock_event(cat, &v, err))
                    goto out;
            }
        }
        if (load && cat_step(r, cat, err))
            goto out;
        to->rows[T_STOCK_EVENTS] += n;
        progress_add(&r->prog, n);
    }
    if (load && store_cat_commit(cat, err))
        goto out;
    if (files && csv_close(to, &f, "stock_events", err))
        goto out;
    f_open = false;
    r->stat[T_STOCK_EVENTS].ns += elapsed_ns(t0);

    /* ---- orders: NDJSON chunks, orders.csv, order_items.csv, store_order ---- */
    t0 = time_mono_ns();
    struct gen_file nd;
    bool nd_open = false;
    int64_t chunk = 0, batch_rows = 0;
    if (files && csv_open(r, to, &f, "orders", gen_csv_orders_header, err))
        goto out;
    f_open = files;
    if (files && csv_open(r, to, &f2, "order_items", gen_csv_order_items_header, err))
        goto out;
    f2_open = files;
    gen_orders_init(&it, &r->m, t);
    it_open = true;
    struct gen_order ord;
    struct order_item items[GEN_ITEMS_MAX];
    while (gen_orders_next(&it, &ord)) {
        struct gen_customer cu;
        gen_customer(&r->m, t, ord.customer, &cu);
        if (files) {
            if (nd_open && (int64_t)nd.rows >= o->chunk_rows) {
                if (gen_file_close(&nd, err))
                    goto out_nd;
                file_json(&to->files_json, &nd, "orders", "ndjson");
                nd_open = false;
            }
            if (!nd_open) {
                char rel[GEN_FILE_PATH_MAX];
                snprintf(rel, sizeof(rel), "%s/orders-%05lld.ndjson%s", tn->slug,
                         (long long)chunk++, o->gzip ? ".gz" : "");
                if (gen_file_open(&nd, o->out, rel, o->gzip, err))
                    goto out;
                nd_open = true;
            }
            gen_fmt_order_line(&nd.buf, &ord, &cu);
            gen_file_row(&nd);
            to->ndjson_lines++;
            struct gen_bad bad[1];
            int nb = gen_bad_after(&it, &ord, bad, 1);
            for (int k = 0; k < nb; k++) {
                gen_fmt_bad_line(&nd.buf, &ord, &cu, &bad[k], c->products);
                gen_file_row(&nd);
                to->ndjson_lines++;
                to->bad[bad[k].kind]++;
            }
            gen_csv_order(&f.buf, &ord, &cu);
            gen_file_row(&f);
            gen_csv_order_items(&f2.buf, &ord);
            f2.rows += (uint64_t)ord.nitems - 1;
            gen_file_row(&f2);
        }
        if (load) {
            if (!batch && store_batch_begin(r->db, to->db_tenant.id, &batch, err))
                goto out_nd;
            for (int k = 0; k < ord.nitems; k++) {
                items[k].product_id = str_from(ord.items[k].product_id);
                items[k].quantity = ord.items[k].quantity;
                items[k].unit_price_minor = ord.items[k].unit_price_minor;
            }
            struct order so = {
                .order_id = str_from(ord.order_id),
                .customer_id = str_from(cu.ext_id),
                .customer_name = str_from(cu.name),
                .customer_email = str_from(cu.email),
                .status = ord.status,
                .total_minor = ord.total_minor,
                .created_at = ord.created_at,
                .items = items,
                .nitems = (size_t)ord.nitems,
            };
            memcpy(so.currency, ord.currency, 4);
            enum store_outcome outcome;
            if (store_order(batch, &so, &outcome, err)) {
                store_batch_abort(batch);
                batch = NULL;
                goto out_nd;
            }
            if (outcome != STORE_INSERTED) {
                char detail[ERROR_DETAIL_MAX];
                snprintf(detail, sizeof(detail), "%s", err->detail);
                error_set(err, ERR_INTERNAL, "order %s not inserted (outcome %d): %s",
                          ord.order_id, (int)outcome, detail);
                goto out_nd;
            }
            batch_rows += 1 + ord.nitems;
            if (batch_rows >= o->batch_rows) {
                int crc = store_batch_commit(batch, err);
                batch = NULL;
                batch_rows = 0;
                if (crc)
                    goto out_nd;
            }
        }
        to->rows[T_ORDERS]++;
        to->rows[T_ORDER_ITEMS] += ord.nitems;
        progress_add(&r->prog, 1 + ord.nitems);
    }
    if (batch) {
        int crc = store_batch_commit(batch, err);
        batch = NULL;
        if (crc)
            goto out_nd;
    }
    if (nd_open) {
        nd_open = false;
        if (gen_file_close(&nd, err))
            goto out_nd;
        file_json(&to->files_json, &nd, "orders", "ndjson");
    }
    if (files) {
        f_open = false; /* csv_close releases the file whatever it returns */
        if (csv_close(to, &f, "orders", err))
            goto out_nd;
        f2_open = false;
        if (csv_close(to, &f2, "order_items", err))
            goto out_nd;
    }
    r->stat[T_ORDERS].ns += elapsed_ns(t0);
    rc = 0;
out_nd:
    if (nd_open)
        gen_file_discard(&nd);
out:
    if (batch)
        store_batch_abort(batch);
    if (f_open)
        gen_file_discard(&f);
    if (f2_open)
        gen_file_discard(&f2);
    if (it_open)
        gen_orders_fini(&it);
    store_cat_free(cat);
    free(cat_ids);
    free(prod_ids);
    free(prices);
    free(events);
    return rc;
}

/* ============================== outputs ============================= */

static void append_config(struct buf *b, const struct opts *o)
{
    const struct gen_config *c = &o->cfg;
    buf_puts(b, "{\"preset\":\"");
    buf_puts(b, c->preset);
    buf_puts(b, "\",\"seed\":");
    buf_append_u64(b, c->seed);
    buf_appendf(b,
                ",\"tenants\":%d,\"categories\":%lld,\"products\":%lld,\"customers\":%lld,"
                "\"orders\":%lld,\"items_avg\":\"",
                c->tenants, (long long)c->categories, (long long)c->products,
                (long long)c->customers, (long long)c->orders);
    buf_append_money(b, c->items_avg_milli, 3);
    buf_appendf(b, "\",\"price_samples\":%lld,\"stock_events\":%lld,\"from\":\"",
                (long long)c->price_samples, (long long)c->stock_events);
    rfc3339_append(b, c->from);
    buf_puts(b, "\",\"to\":\"");
    rfc3339_append(b, c->to);
    buf_puts(b, "\",\"bad_rows\":\"");
    buf_append_money(b, c->bad_rows_ppm, 6);
    buf_appendf(b, "\",\"allow_negative_stock\":%s,\"chunk_rows\":%lld,\"gzip\":%s}",
                c->allow_negative ? "true" : "false", (long long)o->chunk_rows,
                o->gzip ? "true" : "false");
}

static void append_rows(struct buf *b, const int64_t *rows)
{
    buf_putc(b, '{');
    for (int k = 0; k < T__COUNT; k++)
        buf_appendf(b, "%s\"%s\":%lld", k ? "," : "", TABLE_NAME[k], (long long)rows[k]);
    buf_putc(b, '}');
}

static void append_bad(struct buf *b, const int64_t *bad)
{
    int64_t total = 0;
    for (int k = 0; k < GEN_BAD__COUNT; k++)
        total += bad[k];
    buf_appendf(b, "{\"total\":%lld,\"kinds\":{", (long long)total);
    for (int k = 0; k < GEN_BAD__COUNT; k++)
        buf_appendf(b, "%s\"%s\":%lld", k ? "," : "", gen_bad_kind_name(k), (long long)bad[k]);
    buf_puts(b, "}}");
}

static int write_text(const char *path, const struct buf *b, mode_t mode, struct error *err)
{
    char tmp[GEN_FILE_PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return error_set(err, ERR_INTERNAL, "open %s: %s", tmp, strerror(errno));
    chmod(tmp, mode);
    size_t w = fwrite(b->data, 1, b->len, f);
    if (fclose(f) != 0 || w != b->len) {
        unlink(tmp);
        return error_set(err, ERR_INTERNAL, "write %s failed", tmp);
    }
    if (rename(tmp, path) != 0)
        return error_set(err, ERR_INTERNAL, "rename %s: %s", path, strerror(errno));
    return 0;
}

static int write_manifest(struct run *r, struct error *err)
{
    const struct opts *o = r->o;
    struct buf b = BUF_INIT;
    int64_t totals[T__COUNT] = {0}, bad[GEN_BAD__COUNT] = {0}, lines = 0;
    buf_puts(&b, "{\n  \"generator\": \"gen_dataset\",\n  \"format_version\": 1,\n  \"config\": ");
    append_config(&b, o);
    buf_puts(&b, ",\n  \"files\": [");
    buf_append(&b, r->root_files_json.data, r->root_files_json.len);
    buf_puts(&b, "],\n  \"tenants\": [");
    for (int t = 0; t < o->cfg.tenants; t++) {
        struct tenant_out *to = &r->tenants[t];
        buf_puts(&b, t ? ",\n    {" : "\n    {");
        buf_puts(&b, "\"slug\":\"");
        buf_puts(&b, to->tn.slug);
        buf_puts(&b, "\",\"name\":");
        buf_append_json_cstr(&b, to->tn.name);
        buf_puts(&b, ",\"currency\":\"");
        buf_puts(&b, to->tn.currency);
        buf_puts(&b, "\",\"rows\":");
        append_rows(&b, to->rows);
        buf_appendf(&b, ",\"ndjson_lines\":%lld,\"bad_rows\":", (long long)to->ndjson_lines);
        append_bad(&b, to->bad);
        buf_puts(&b, ",\"files\":[");
        buf_append(&b, to->files_json.data, to->files_json.len);
        buf_puts(&b, "]}");
        for (int k = 0; k < T__COUNT; k++)
            totals[k] += to->rows[k];
        for (int k = 0; k < GEN_BAD__COUNT; k++)
            bad[k] += to->bad[k];
        lines += to->ndjson_lines;
    }
    buf_puts(&b, "\n  ],\n  \"totals\": ");
    append_rows(&b, totals);
    buf_appendf(&b, ",\n  \"ndjson_lines\": %lld,\n  \"bad_rows\": ", (long long)lines);
    append_bad(&b, bad);
    buf_puts(&b, "\n}\n");
    char path[GEN_FILE_PATH_MAX];
    snprintf(path, sizeof(path), "%s/manifest.json", o->out);
    int rc = write_text(path, &b, 0644, err);
    buf_fini(&b);
    return rc;
}

/*
 * The keys of the first n tenants, rewritten after each loaded tenant (write
 * to a temporary file, rename) so that a load stopped half-way still leaves
 * the keys of every tenant it created.
 */
static int write_keys(struct run *r, int n, struct error *err)
{
    const struct opts *o = r->o;
    char path[GEN_FILE_PATH_MAX];
    if (o->keys_out) {
        snprintf(path, sizeof(path), "%s", o->keys_out);
    } else if (o->out) {
        snprintf(path, sizeof(path), "%s/tenants.json", o->out);
    } else {
        const char *slash = strrchr(o->db_path, '/');
        if (slash)
            snprintf(path, sizeof(path), "%.*s/tenants.json", (int)(slash - o->db_path),
                     o->db_path);
        else
            snprintf(path, sizeof(path), "tenants.json");
    }
    struct buf b = BUF_INIT;
    buf_puts(&b, "{\"db\":");
    buf_append_json_cstr(&b, o->db_path);
    buf_puts(&b, ",\"config\":");
    append_config(&b, o);
    buf_puts(&b, ",\"tenants\":[");
    for (int t = 0; t < n; t++) {
        struct tenant_out *to = &r->tenants[t];
        buf_puts(&b, t ? ",\n  {" : "\n  {");
        buf_puts(&b, "\"slug\":\"");
        buf_puts(&b, to->tn.slug);
        buf_puts(&b, "\",\"id\":\"");
        buf_puts(&b, to->db_tenant.public_id);
        buf_puts(&b, "\",\"name\":");
        buf_append_json_cstr(&b, to->db_tenant.name);
        buf_puts(&b, ",\"api_key\":\"");
        buf_puts(&b, to->api_key);
        buf_puts(&b, "\",\"currency\":\"");
        buf_puts(&b, to->tn.currency);
        buf_puts(&b, "\",\"rows\":");
        append_rows(&b, to->rows);
        buf_putc(&b, '}');
    }
    buf_puts(&b, "\n]}\n");
    char dir[GEN_FILE_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    int rc = -1;
    if (slash) {
        *slash = '\0';
        if (dir[0] && gen_mkdirs(dir, err))
            goto out;
    }
    rc = write_text(path, &b, 0600, err);
    if (rc == 0 && n == o->cfg.tenants)
        fprintf(stderr, "tenant ids and API keys: %s\n", path);
out:
    buf_fini(&b);
    return rc;
}

static void print_plan(const struct opts *o)
{
    struct buf b = BUF_INIT;
    struct gen_counts n;
    gen_counts_per_tenant(&o->cfg, &n);
    int64_t t = o->cfg.tenants;
    buf_puts(&b, "{\"config\":");
    append_config(&b, o);
    buf_appendf(&b,
                ",\"per_tenant\":{\"categories\":%lld,\"products\":%lld,\"stock_levels\":%lld,"
                "\"customers\":%lld,\"price_history\":%lld,\"stock_events\":%lld,"
                "\"orders\":%lld,\"order_items_expected\":%lld}",
                (long long)n.categories, (long long)n.products, (long long)n.stock_levels,
                (long long)n.customers, (long long)n.price_history, (long long)n.stock_events,
                (long long)n.orders, (long long)n.order_items_est);
    buf_appendf(&b,
                ",\"totals\":{\"tenants\":%lld,\"categories\":%lld,\"products\":%lld,"
                "\"stock_levels\":%lld,\"customers\":%lld,\"price_history\":%lld,"
                "\"stock_events\":%lld,\"orders\":%lld,\"order_items_expected\":%lld}}\n",
                (long long)t, (long long)(t * n.categories), (long long)(t * n.products),
                (long long)(t * n.stock_levels), (long long)(t * n.customers),
                (long long)(t * n.price_history), (long long)(t * n.stock_events),
                (long long)(t * n.orders), (long long)(t * n.order_items_est));
    fwrite(b.data, 1, b.len, stdout);
    buf_fini(&b);
}

static void report(struct run *r, int64_t total_ns)
{
    const struct opts *o = r->o;
    struct buf js = BUF_INIT;
    int64_t all = 0;
    int64_t rows[T__COUNT] = {0};
    for (int t = 0; t < o->cfg.tenants; t++)
        for (int k = 0; k < T__COUNT; k++)
            rows[k] += r->tenants[t].rows[k];
    printf("%s: %s%s%s\n", o->load ? "load" : "files", o->load ? o->db_path : "",
           o->load && o->out ? " + files in " : "", o->out ? o->out : "");
    printf("%-14s %12s %9s %12s\n", "table", "rows", "seconds", "rows/s");
    buf_puts(&js, "{\"mode\":\"");
    buf_puts(&js, o->load ? (o->out ? "load+files" : "load") : "files");
    buf_puts(&js, "\",\"config\":");
    append_config(&js, o);
    buf_puts(&js, ",\"tables\":{");
    for (int k = 0; k < T__COUNT; k++) {
        all += rows[k];
        /* order_items are written with their orders: one timer for both */
        int64_t ns = k == T_ORDER_ITEMS ? r->stat[T_ORDERS].ns : r->stat[k].ns;
        double s = (double)ns / 1e9;
        double rate = s > 0 ? (double)rows[k] / s : 0;
        if (k == T_ORDER_ITEMS)
            printf("%-14s %12lld %9s %12s  (timed with orders)\n", TABLE_NAME[k],
                   (long long)rows[k], "", "");
        else if (k == T_ORDERS)
            printf("%-14s %12lld %9.2f %12.0f  (%.0f rows/s with their items)\n", TABLE_NAME[k],
                   (long long)rows[k], s, rate,
                   s > 0 ? (double)(rows[T_ORDERS] + rows[T_ORDER_ITEMS]) / s : 0);
        else
            printf("%-14s %12lld %9.2f %12.0f\n", TABLE_NAME[k], (long long)rows[k], s, rate);
        buf_appendf(&js, "%s\"%s\":{\"rows\":%lld,\"seconds\":%.3f,\"rows_per_s\":%.0f}",
                    k ? "," : "", TABLE_NAME[k], (long long)rows[k], s, rate);
    }
    double s = (double)total_ns / 1e9;
    printf("%-14s %12lld %9.2f %12.0f\n", "total", (long long)all, s, s > 0 ? (double)all / s : 0);
    buf_appendf(&js, "},\"total\":{\"rows\":%lld,\"seconds\":%.3f,\"rows_per_s\":%.0f}}\n",
                (long long)all, s, s > 0 ? (double)all / s : 0);
    if (o->stats_path) {
        struct error err;
        if (write_text(o->stats_path, &js, 0644, &err))
            fprintf(stderr, "gen_dataset: %s\n", err.detail);
    }
    buf_fini(&js);
}

int main(int argc, char **argv)
{
    struct opts o;
    struct run r;
    struct error err;
    int rc = 1;
    memset(&r, 0, sizeof(r));
    error_clear(&err);
    if (parse_opts(argc, argv, &o))
        return 2;
    if (o.plan) {
        print_plan(&o);
        return 0;
    }
    r.o = &o;
    gen_model_init(&r.m, &o.cfg);
    r.tenants = xcalloc((size_t)o.cfg.tenants, sizeof(*r.tenants));
    if (o.out && gen_mkdirs(o.out, &err))
        goto out;
    if (o.load) {
        char parent[GEN_FILE_PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", o.db_path);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            if (gen_mkdirs(parent, &err))
                goto out;
        }
        if (db_open(o.db_path, DB_OPEN_MIGRATE, &r.db, &err))
            goto out;
    }

    struct gen_counts n;
    gen_counts_per_tenant(&o.cfg, &n);
    r.prog.mode = o.progress;
    r.prog.total = o.cfg.tenants * (n.categories + n.products + n.stock_levels + n.customers +
                                    n.price_history + n.stock_events + n.orders +
                                    n.order_items_est);
    r.prog.t0 = r.prog.last = time_mono_ns();
    int64_t t0 = time_mono_ns();

    if (o.out) {
        struct gen_file *f = &r.root_files[0];
        if (gen_file_open(f, o.out, o.gzip ? "tenants.csv.gz" : "tenants.csv", o.gzip, &err))
            goto out;
        gen_csv_tenants_header(&f->buf);
        for (int t = 0; t < o.cfg.tenants; t++) {
            struct gen_tenant tn;
            gen_tenant(&r.m, t, &tn);
            gen_csv_tenant(&f->buf, &tn);
            gen_file_row(f);
        }
        if (gen_file_close(f, &err))
            goto out;
        file_json(&r.root_files_json, f, "tenants", "csv");
    }
    for (int t = 0; t < o.cfg.tenants; t++) {
        if (gen_tenant_all(&r, t, &err)) {
            fprintf(stderr, "\ngen_dataset: tenant %d: ", t + 1);
            goto out;
        }
        if (o.load && write_keys(&r, t + 1, &err))
            goto out;
        if (o.load && r.prog.mode != PROGRESS_NONE)
            fprintf(stderr, "%sloaded %s as %s\n", r.prog.mode == PROGRESS_BAR ? "\n" : "",
                    r.tenants[t].tn.slug, r.tenants[t].db_tenant.public_id);
    }
    if (r.prog.mode != PROGRESS_NONE)
        progress_print(&r.prog, true);
    int64_t total_ns = time_mono_ns() - t0;
    if (o.out && write_manifest(&r, &err))
        goto out;
    report(&r, total_ns);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "gen_dataset: %s\n", err.detail);
    if (r.tenants)
        for (int t = 0; t < o.cfg.tenants; t++)
            buf_fini(&r.tenants[t].files_json);
    free(r.tenants);
    buf_fini(&r.root_files_json);
    db_close(r.db);
    gen_model_fini(&r.m);
    return rc;
}
