/*
 * search.c: streaming order search (search.h; design in docs/design.md §10).
 *
 * Plan choice. Rows come out in (created_at, id) order, descending by
 * default, and every query walks an index that already yields that order, so
 * SQLite never sorts: the "drive" is the index the statement walks, chosen
 * from the filters in this order of expected selectivity:
 *
 *   DRIVE_CUSTOMER   one customer (customer_id=, or q matching one customer):
 *                    orders_pP_customer (tenant_id, customer_id, created_at)+id
 *   DRIVE_CUSTOMERS  q matching 2..SEARCH_CUSTOMER_LOOP_MAX customers: one
 *                    arm per customer on the customer index, merged in order
 *                    by SQLite (compound SELECT with ORDER BY: MERGE, no sort)
 *   DRIVE_PRODUCT    one or several products: order_items_pP_product
 *                    (tenant_id, product_id, created_at)+(order_id, line),
 *                    joined to the order by its rowid, one arm per product
 *                    merged like the customers; an order reached twice (two
 *                    of the products, or one on two lines) comes out twice in
 *                    a row and is skipped here
 *   DRIVE_STATUS     one or several (not all) statuses: orders_pP_status
 *                    (tenant_id, status, created_at)+id, one merged arm per status
 *   DRIVE_TIME       everything else: orders_pP_time (tenant_id, created_at, id)
 *
 * Whatever drives, the other filters are checked on the row: totals,
 * currency, the status bit set, products through an EXISTS probe of the items
 * primary key (when a customer drives), and q matching many customers through
 * a bitmap of their ids checked in C as rows come.
 *
 * Terms that must not steer the planner away from the drive are written so
 * no index can use them ("+x.product_id", "(?5 >> o.status) & 1"). Every
 * index leads with tenant_id, so no statement reads another tenant's rows.
 *
 * Partition pruning: only the months listed by partition_months() for the
 * part of the range still ahead of the keyset are queried, newest first for
 * descending order. Identifiers in the SQL come from two places only: table
 * names made by partition_name() from integer months, and column lists from
 * the FILTER_FIELD_NAMES whitelist mapped to fixed column expressions here.
 *
 * Keyset: the statement bounds created_at between ?2 and ?3 (one range, so
 * the index seek starts at the keyset position and never rescans rows already
 * sent) and breaks ties on id with ?4. The page LIMIT asks for one row more
 * than the client's limit needs, so next_cursor is null exactly when nothing
 * follows.
 *
 * Statements are prepared per request and partition (the SQL text varies with
 * partition, projection and filters, so the address-keyed db_stmt cache does
 * not fit) and reused, reset and rebound, for every page of that partition.
 * Pages end at SEARCH_PAGE_ROWS rows or SEARCH_PAGE_BYTES of output; each is
 * one execution, so one short read transaction.
 */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order_json.h"
#include "partition.h"
#include "xmalloc.h"

enum drive {
    DRIVE_TIME,
    DRIVE_STATUS,
    DRIVE_CUSTOMER,
    DRIVE_CUSTOMERS,
    DRIVE_PRODUCT,
    DRIVE_EMPTY, /* a filter resolved to nothing: no statement runs */
};

static const char *const DRIVE_NAMES[] = {
    [DRIVE_TIME] = "time",           [DRIVE_STATUS] = "status",   [DRIVE_CUSTOMER] = "customer",
    [DRIVE_CUSTOMERS] = "customers", [DRIVE_PRODUCT] = "product", [DRIVE_EMPTY] = "empty",
};

enum {
    SQL_FTS_IDS,
    SQL_CUSTOMER_RANGE,
    SQL_CUSTOMER_OF_TENANT,
    SQL_CUSTOMER,
    SQL_PRODUCT,
    SQL_PRODUCT_EXT,
};

static const char *const SQL[] = {
    /*
     * The matches within the tenant's customer id range, ascending rowid
     * (FTS5's order; it seeks the range instead of reading whole doclists).
     * Other tenants' ids inside the range are harmless (see resolve_text).
     */
    [SQL_FTS_IDS] = "SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?1 "
                    "AND rowid BETWEEN ?2 AND ?3",
    /* Two index probes on customers(tenant_id, id) (schema 005). */
    [SQL_CUSTOMER_RANGE] = "SELECT (SELECT min(id) FROM customers WHERE tenant_id = ?1), "
                           "(SELECT max(id) FROM customers WHERE tenant_id = ?1)",
    [SQL_CUSTOMER_OF_TENANT] = "SELECT 1 FROM customers WHERE id = ?2 AND tenant_id = ?1",
    [SQL_CUSTOMER] = "SELECT id FROM customers WHERE tenant_id = ?1 AND ext_id = ?2",
    [SQL_PRODUCT] = "SELECT id FROM products WHERE tenant_id = ?1 AND ext_id = ?2",
    [SQL_PRODUCT_EXT] = "SELECT ext_id FROM products WHERE id = ?1",
};

/* Bound parameter numbers of the generated statements. */
enum {
    P_TENANT = 1,
    P_LO = 2,
    P_HI = 3,
    P_KEY_ID = 4,
    P_STATUS = 5,
    P_CURRENCY = 6,
    P_MIN = 7,
    P_MAX = 8,
    P_CUSTOMER = 10,
    P_LIMIT = 11,
    P_PRODUCTS = 20,  /* ?20.. one per product id */
    P_STATUSES = 84,  /* ?84..?89: the status values 0..5, one per status arm */
    P_CUSTOMERS = 90, /* ?90.. one per customer arm */
};

#define MONTHS_CAP 2400 /* 200 years of month partitions */

/* Result column positions; -1 = not selected. */
struct cols {
    int ext_id, status, currency, total, item_count, ingested_at, customer;
    int c_ext, c_name, c_email;
};

struct search {
    struct db *db;
    const struct search_filter *f;
    int64_t tenant_id;
    uint8_t key[CURSOR_KEY_LEN];
    uint8_t fhash[32];
    int64_t now_s;

    enum drive drive;
    int64_t customer_id;                         /* DRIVE_CUSTOMER */
    int64_t customers[SEARCH_CUSTOMER_LOOP_MAX]; /* DRIVE_CUSTOMERS */
    size_t ncustomers;
    uint8_t *cust_bits;    /* q matched many customers: bitmap by customer id, checked per row */
    int64_t cust_bits_max; /* ids above this are not in the bitmap */
    int64_t products[SEARCH_MAX_PRODUCTS];
    size_t nproducts;

    int64_t lo, hi;        /* created_at bounds, inclusive */
    int64_t key_t, key_id; /* keyset position: last row sent (or the range edge) */
    int *months;
    size_t nmonths;
    int *item_months;
    size_t nitem_months;

    /*
     * items projection: client product id by internal id, so the ~3 items of
     * every order cost no products lookup once their product was seen
     * (open addressing; names in one buffer; stops growing when full).
     */
    int64_t *pc_ids;
    uint32_t *pc_off, *pc_len;
    size_t pc_cap, pc_n;
    struct buf pc_names, pc_scratch;

    uint64_t count, pages;
    bool has_more, client_gone;
    struct cols cols;
    struct buf sql, page;
    struct order_json enc;
};

uint64_t search_count(const struct search *s)
{
    return s->count;
}

bool search_client_gone(const struct search *s)
{
    return s->client_gone;
}

uint64_t search_pages(const struct search *s)
{
    return s->pages;
}

void search_close(struct search *s)
{
    if (!s)
        return;
    free(s->months);
    free(s->item_months);
    free(s->cust_bits);
    free(s->pc_ids);
    free(s->pc_off);
    free(s->pc_len);
    buf_fini(&s->pc_names);
    buf_fini(&s->pc_scratch);
    buf_fini(&s->sql);
    buf_fini(&s->page);
    free(s);
}

/* ======================== resolving client ids ======================== */

static int lookup_id(struct db *db, int which, int64_t tenant_id, struct str ext, int64_t *out,
                     bool *found, struct error *err)
{
    sqlite3_stmt *st = db_stmt(db, SQL[which], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, tenant_id);
    sqlite3_bind_text(st, 2, ext.ptr, (int)ext.len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found)
        *out = sqlite3_column_int64(st, 0);
    db_done(db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, rc, err, "search lookup");
    return 0;
}

/* The FTS5 query for a substring: one quoted phrase, quotes doubled. */
static void fts_phrase(struct buf *b, struct str q)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < q.len; i++) {
        if (q.ptr[i] == '"')
            buf_putc(b, '"');
        buf_putc(b, q.ptr[i]);
    }
    buf_putc(b, '"');
}

static bool cust_bit(const struct search *s, int64_t id)
{
    return id >= 0 && id <= s->cust_bits_max && (s->cust_bits[id >> 3] >> (id & 7)) & 1;
}

/*
 * q (and customer_id with it): the customers matching the term, then the
 * drive. One pass over FTS5's matches (ascending rowid, bounded by the
 * tenant's lowest and highest customer id, so other tenants' customers are
 * skipped wherever tenants occupy different id ranges) builds a
 * bitmap by customer id: no join, no temp table, and other tenants' ids in it
 * are harmless because this tenant's orders never reference them. When the
 * matches are few (SEARCH_Q_LOOKUP_MAX), the tenant's own ones are picked out
 * by primary key and, if at most SEARCH_CUSTOMER_LOOP_MAX, drive the plan
 * through the customer index; otherwise the bitmap is checked per row on
 * whatever index drives. Memory: max customer id / 8 bytes (25 KB per 200k
 * customers).
 */
static int resolve_text(struct search *s, struct error *err)
{
    const struct search_filter *f = s->f;
    struct buf phrase = BUF_INIT;
    int64_t few[SEARCH_Q_LOOKUP_MAX];
    size_t n = 0, cap = 0;
    int rc = -1, src;
    bool found;
    fts_phrase(&phrase, f->q);
    int64_t lo = 0, hi = -1; /* a tenant without customers matches nothing */
    sqlite3_stmt *st = db_stmt(s->db, SQL[SQL_CUSTOMER_RANGE], err);
    if (!st)
        goto out;
    sqlite3_bind_int64(st, 1, s->tenant_id);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        lo = sqlite3_column_int64(st, 0);
        hi = sqlite3_column_int64(st, 1);
    }
    db_done(s->db, st);
    if (src != SQLITE_ROW) {
        db_fail(s->db, src, err, "search text");
        goto out;
    }
    st = db_stmt(s->db, SQL[SQL_FTS_IDS], err);
    if (!st)
        goto out;
    sqlite3_bind_text(st, 1, phrase.data, (int)phrase.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, lo);
    sqlite3_bind_int64(st, 3, hi);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id < 0)
            continue;
        if ((size_t)(id >> 3) >= cap) {
            size_t ncap = cap ? cap : 4096;
            while ((size_t)(id >> 3) >= ncap)
                ncap *= 2;
            s->cust_bits = xrealloc(s->cust_bits, ncap);
            memset(s->cust_bits + cap, 0, ncap - cap);
            cap = ncap;
        }
        s->cust_bits[id >> 3] |= (uint8_t)(1u << (id & 7));
        if (id > s->cust_bits_max)
            s->cust_bits_max = id;
        if (n < SEARCH_Q_LOOKUP_MAX)
            few[n] = id;
        n++;
    }
    db_done(s->db, st);
    if (src != SQLITE_DONE) {
        db_fail(s->db, src, err, "search text");
        goto out;
    }
    if (f->customer.len) {
        /* One customer, and it must match the term. */
        if (lookup_id(s->db, SQL_CUSTOMER, s->tenant_id, f->customer, &s->customer_id, &found, err))
            goto out;
        s->drive = found && n && cust_bit(s, s->customer_id) ? DRIVE_CUSTOMER : DRIVE_EMPTY;
    } else if (n == 0) {
        s->drive = DRIVE_EMPTY;
    } else if (n <= SEARCH_Q_LOOKUP_MAX) {
        size_t k = 0;
        bool many = false;
        for (size_t i = 0; i < n && !many; i++) {
            st = db_stmt(s->db, SQL[SQL_CUSTOMER_OF_TENANT], err);
            if (!st)
                goto out;
            sqlite3_bind_int64(st, 1, s->tenant_id);
            sqlite3_bind_int64(st, 2, few[i]);
            src = sqlite3_step(st);
            db_done(s->db, st);
            if (src != SQLITE_ROW && src != SQLITE_DONE) {
                db_fail(s->db, src, err, "search text");
                goto out;
            }
            if (src == SQLITE_ROW) {
                if (k == SEARCH_CUSTOMER_LOOP_MAX)
                    many = true;
                else
                    s->customers[k++] = few[i];
            }
        }
        s->ncustomers = k;
        if (many)
            ; /* keep the bitmap; the drive is chosen from the other filters */
        else if (k == 0)
            s->drive = DRIVE_EMPTY;
        else if (k == 1)
            s->drive = DRIVE_CUSTOMER, s->customer_id = s->customers[0];
        else
            s->drive = DRIVE_CUSTOMERS;
    }
    if (s->drive == DRIVE_CUSTOMER || s->drive == DRIVE_CUSTOMERS || s->drive == DRIVE_EMPTY) {
        free(s->cust_bits); /* the plan already restricts to the matching customers */
        s->cust_bits = NULL;
    }
    rc = 0;
out:
    buf_fini(&phrase);
    return rc;
}

static int resolve(struct search *s, struct error *err)
{
    const struct search_filter *f = s->f;
    bool found;
    s->drive = DRIVE_TIME;
    for (size_t i = 0; i < f->nproducts; i++) {
        int64_t id;
        if (lookup_id(s->db, SQL_PRODUCT, s->tenant_id, f->products[i], &id, &found, err))
            return -1;
        if (found)
            s->products[s->nproducts++] = id;
    }
    if (f->nproducts && !s->nproducts) {
        s->drive = DRIVE_EMPTY; /* none of the products exist: no order contains them */
        return 0;
    }
    if (f->q.len) {
        if (resolve_text(s, err))
            return -1;
        if (s->drive != DRIVE_TIME)
            return 0;
    } else if (f->customer.len) {
        if (lookup_id(s->db, SQL_CUSTOMER, s->tenant_id, f->customer, &s->customer_id, &found, err))
            return -1;
        s->drive = found ? DRIVE_CUSTOMER : DRIVE_EMPTY;
        return 0;
    }
    if (s->nproducts)
        s->drive = DRIVE_PRODUCT;
    else if (f->status_mask && f->status_mask != (1u << ORDER_STATUS_COUNT) - 1)
        s->drive = DRIVE_STATUS;
    return 0;
}

/* ======================== statements ======================== */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static bool has_items(const struct search *s, int month)
{
    return bsearch(&month, s->item_months, s->nitem_months, sizeof(int), cmp_int) != NULL;
}

static bool need_items_table(const struct search *s)
{
    return s->nproducts > 0 || (s->f->fields & FIELD_BIT(FIELD_ITEMS));
}

/* The SELECT list, recording where each projected value lands. */
static void build_columns(struct search *s, struct buf *q, const char *k, const char *kid)
{
    unsigned f = s->f->fields;
    int n = 2;
    struct cols *c = &s->cols;
    memset(c, -1, sizeof(*c));
    buf_appendf(q, "SELECT %s.created_at, %s", k, kid);
#define COL(field, expr)                                                                           \
    do {                                                                                           \
        c->field = n++;                                                                            \
        buf_puts(q, ", " expr);                                                                    \
    } while (0)
    if (f & FIELD_BIT(FIELD_ORDER_ID))
        COL(ext_id, "o.ext_id");
    if (f & FIELD_BIT(FIELD_STATUS))
        COL(status, "o.status");
    if (f & (FIELD_BIT(FIELD_CURRENCY) | FIELD_BIT(FIELD_TOTAL) | FIELD_BIT(FIELD_ITEMS)))
        COL(currency, "o.currency");
    if (f & FIELD_BIT(FIELD_TOTAL))
        COL(total, "o.total_minor");
    if (f & FIELD_BIT(FIELD_ITEM_COUNT))
        COL(item_count, "o.item_count");
    if (f & FIELD_BIT(FIELD_INGESTED_AT))
        COL(ingested_at, "o.ingested_at");
    if (f & FIELD_BIT(FIELD_CUSTOMER_ID))
        COL(c_ext, "c.ext_id");
    if (f & FIELD_BIT(FIELD_CUSTOMER_NAME))
        COL(c_name, "c.name");
    if (f & FIELD_BIT(FIELD_CUSTOMER_EMAIL))
        COL(c_email, "c.email");
    if (s->cust_bits)
        COL(customer, "o.customer_id");
#undef COL
}

/* WHERE terms shared by every drive: tenant, keyset range, row filters. */
static void build_filters(struct search *s, struct buf *q, const char *k, const char *kid,
                          int month, const char *customer_term)
{
    const struct search_filter *f = s->f;
    char items[PARTITION_NAME_MAX];
    buf_appendf(q, " WHERE o.tenant_id = ?1 AND %s.created_at >= ?2 AND %s.created_at <= ?3", k, k);
    if (s->f->ascending)
        buf_appendf(q, " AND (%s.created_at > ?2 OR %s > ?4)", k, kid);
    else
        buf_appendf(q, " AND (%s.created_at < ?3 OR %s < ?4)", k, kid);
    if (customer_term)
        buf_puts(q, customer_term);
    if (f->status_mask && s->drive != DRIVE_STATUS)
        buf_puts(q, " AND ((?5 >> o.status) & 1) = 1");
    if (f->currency[0])
        buf_puts(q, " AND o.currency = ?6");
    if (f->has_min_total)
        buf_puts(q, " AND o.total_minor >= ?7");
    if (f->has_max_total)
        buf_puts(q, " AND o.total_minor <= ?8");
    if (s->nproducts && s->drive != DRIVE_PRODUCT) {
        partition_name("order_items", month, items);
        buf_appendf(
            q, " AND EXISTS (SELECT 1 FROM %s x WHERE x.order_id = o.id AND +x.product_id IN (",
            items);
        for (size_t i = 0; i < s->nproducts; i++)
            buf_appendf(q, "%s?%zu", i ? "," : "", P_PRODUCTS + i);
        buf_puts(q, "))");
    }
}

/* One SELECT over the month: from orders, or from items joined to orders. */
static void build_arm(struct search *s, struct buf *q, int month, bool from_items, const char *term)
{
    char orders[PARTITION_NAME_MAX], items[PARTITION_NAME_MAX];
    partition_name("orders", month, orders);
    partition_name("order_items", month, items);
    if (from_items) {
        build_columns(s, q, "i", "i.order_id");
        buf_appendf(q, " FROM %s i CROSS JOIN %s o ON o.id = i.order_id", items, orders);
    } else {
        build_columns(s, q, "o", "o.id");
        buf_appendf(q, " FROM %s o", orders);
    }
    if (s->f->fields & FIELDS_CUSTOMER)
        buf_puts(q, " LEFT JOIN customers c ON c.id = o.customer_id");
    build_filters(s, q, from_items ? "i" : "o", from_items ? "i.order_id" : "o.id", month, term);
}

/*
 * The page statement for one month partition. Several customers or products
 * give one arm each, every arm in index order; SQLite merges them (compound
 * SELECT with ORDER BY: MERGE (UNION ALL), no sort). An order reached through
 * two arms (two of the products) or two lines comes out twice in a row, and
 * run_month() skips the repeat.
 */
static void build_sql(struct search *s, int month, struct buf *q)
{
    const char *dir = s->f->ascending ? "ASC" : "DESC";
    char term[96];
    buf_reset(q);
    switch (s->drive) {
    case DRIVE_CUSTOMERS:
        for (size_t i = 0; i < s->ncustomers; i++) {
            if (i)
                buf_puts(q, " UNION ALL ");
            snprintf(term, sizeof(term), " AND o.customer_id = ?%zu", P_CUSTOMERS + i);
            build_arm(s, q, month, false, term);
        }
        break;
    case DRIVE_PRODUCT:
        for (size_t i = 0; i < s->nproducts; i++) {
            if (i)
                buf_puts(q, " UNION ALL ");
            snprintf(term, sizeof(term), " AND i.tenant_id = ?1 AND i.product_id = ?%zu",
                     P_PRODUCTS + i);
            build_arm(s, q, month, true, term);
        }
        break;
    case DRIVE_STATUS:
        for (int st_i = 0, n = 0; st_i < ORDER_STATUS_COUNT; st_i++) {
            if (!(s->f->status_mask & (1u << st_i)))
                continue;
            if (n++)
                buf_puts(q, " UNION ALL ");
            snprintf(term, sizeof(term), " AND o.status = ?%d", P_STATUSES + st_i);
            build_arm(s, q, month, false, term);
        }
        break;
    case DRIVE_CUSTOMER:
        build_arm(s, q, month, false, " AND o.customer_id = ?10");
        break;
    default:
        build_arm(s, q, month, false, NULL);
        break;
    }
    buf_appendf(q, " ORDER BY 1 %s, 2 %s LIMIT ?11", dir, dir);
}

static void bind_all(struct search *s, sqlite3_stmt *st, int64_t limit)
{
    const struct search_filter *f = s->f;
    int max = sqlite3_bind_parameter_count(st);
#define BIND64(i, v)                                                                               \
    do {                                                                                           \
        if ((i) <= max)                                                                            \
            sqlite3_bind_int64(st, (i), (v));                                                      \
    } while (0)
    BIND64(P_TENANT, s->tenant_id);
    if (f->ascending) {
        BIND64(P_LO, s->key_t);
        BIND64(P_HI, s->hi);
    } else {
        BIND64(P_LO, s->lo);
        BIND64(P_HI, s->key_t);
    }
    BIND64(P_KEY_ID, s->key_id);
    BIND64(P_STATUS, (int64_t)f->status_mask);
    for (int st_i = 0; st_i < ORDER_STATUS_COUNT; st_i++)
        BIND64(P_STATUSES + st_i, st_i);
    if (f->currency[0] && P_CURRENCY <= max)
        sqlite3_bind_text(st, P_CURRENCY, f->currency, 3, SQLITE_STATIC);
    BIND64(P_MIN, f->min_total_minor);
    BIND64(P_MAX, f->max_total_minor);
    BIND64(P_CUSTOMER, s->customer_id);
    BIND64(P_LIMIT, limit);
    for (size_t i = 0; i < s->nproducts; i++)
        BIND64(P_PRODUCTS + (int)i, s->products[i]);
    for (size_t i = 0; s->drive == DRIVE_CUSTOMERS && i < s->ncustomers; i++)
        BIND64(P_CUSTOMERS + (int)i, s->customers[i]);
#undef BIND64
}

static int prepare(struct search *s, const char *sql, sqlite3_stmt **out, struct error *err)
{
    int rc = sqlite3_prepare_v2(db_handle(s->db), sql, -1, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return db_fail(s->db, rc, err, "search prepare");
    }
    return 0;
}

/* ======================== open ======================== */

static int list_months(struct search *s, const char *base, int **out, size_t *n, struct error *err)
{
    int64_t from = s->f->ascending ? s->key_t : s->lo;
    int64_t to_incl = s->f->ascending ? s->hi : s->key_t;
    int64_t to = to_incl == INT64_MAX ? INT64_MAX : to_incl + 1;
    *out = xmalloc(MONTHS_CAP * sizeof(int));
    if (partition_months(s->db, base, from, to, *out, MONTHS_CAP, n, err))
        return -1;
    if (*n > MONTHS_CAP)
        *n = MONTHS_CAP;
    return 0;
}

int search_open(struct db *db, int64_t tenant_id, const struct search_filter *f,
                const uint8_t key[CURSOR_KEY_LEN], int64_t now_s, struct search **out,
                struct error *err)
{
    struct search *s = xcalloc(1, sizeof(*s));
    *out = NULL;
    s->db = db;
    s->f = f;
    s->tenant_id = tenant_id;
    s->now_s = now_s;
    memcpy(s->key, key, CURSOR_KEY_LEN);
    filter_fingerprint(f, s->fhash);
    s->lo = f->from_s;
    s->hi = f->to_s == INT64_MAX ? INT64_MAX : f->to_s - 1;
    s->key_t = f->ascending ? s->lo : s->hi;
    s->key_id = f->ascending ? INT64_MIN : INT64_MAX;
    if (f->cursor.len) {
        struct cursor c;
        if (cursor_decode(f->cursor, key, tenant_id, s->fhash, f->ascending, now_s, &c, err))
            goto fail;
        if (c.last_created_at < s->lo || c.last_created_at > s->hi) {
            error_set_at(err, ERR_INVALID_CURSOR, "cursor", "cursor: outside the time range");
            goto fail;
        }
        s->key_t = c.last_created_at;
        s->key_id = c.last_id;
    }
    if (resolve(s, err))
        goto fail;
    if (s->drive != DRIVE_EMPTY) {
        if (list_months(s, "orders", &s->months, &s->nmonths, err))
            goto fail;
        if (need_items_table(s) &&
            list_months(s, "order_items", &s->item_months, &s->nitem_months, err))
            goto fail;
    }
    if (f->fields & FIELD_BIT(FIELD_ITEMS)) {
        s->pc_cap = SEARCH_PRODUCT_CACHE_SLOTS;
        s->pc_ids = xcalloc(s->pc_cap, sizeof(*s->pc_ids));
        s->pc_off = xcalloc(s->pc_cap, sizeof(*s->pc_off));
        s->pc_len = xcalloc(s->pc_cap, sizeof(*s->pc_len));
    }
    order_json_init(&s->enc, f->fields);
    *out = s;
    return 0;
fail:
    search_close(s);
    return -1;
}

/* ======================== run ======================== */

/* The client id of product `id` into p and n, valid until the next call. */
static int product_ext(struct search *s, int64_t id, const char **p, size_t *n, struct error *err)
{
    size_t mask = s->pc_cap - 1, i = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull >> 40) & mask;
    for (; s->pc_ids[i]; i = (i + 1) & mask) {
        if (s->pc_ids[i] == id) {
            *p = s->pc_names.data + s->pc_off[i];
            *n = s->pc_len[i];
            return 0;
        }
    }
    sqlite3_stmt *st = db_stmt(s->db, SQL[SQL_PRODUCT_EXT], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_done(s->db, st);
        return db_fail(s->db, rc, err, "search items");
    }
    const char *text = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    size_t len = text ? (size_t)sqlite3_column_bytes(st, 0) : 0;
    bool keep = text && id > 0 && s->pc_n < s->pc_cap / 2 &&
                s->pc_names.len + len < SEARCH_PRODUCT_CACHE_BYTES;
    struct buf *dst = keep ? &s->pc_names : &s->pc_scratch;
    if (!keep)
        buf_reset(dst);
    size_t off = dst->len;
    buf_append(dst, text ? text : "", len);
    db_done(s->db, st);
    if (keep) {
        s->pc_ids[i] = id;
        s->pc_off[i] = (uint32_t)off;
        s->pc_len[i] = (uint32_t)len;
        s->pc_n++;
    }
    *p = text ? dst->data + off : NULL; /* a vanished product is written as null */
    *n = len;
    return 0;
}

static int write_items(struct search *s, sqlite3_stmt *it, int64_t order_id, struct error *err)
{
    if (it) {
        sqlite3_bind_int64(it, 1, order_id);
        int rc;
        while ((rc = sqlite3_step(it)) == SQLITE_ROW) {
            const char *ext = NULL;
            size_t n = 0;
            if (product_ext(s, sqlite3_column_int64(it, 0), &ext, &n, err)) {
                sqlite3_reset(it);
                return -1;
            }
            order_json_item(&s->enc, &s->page, ext, n, sqlite3_column_int64(it, 1),
                            sqlite3_column_int64(it, 2));
        }
        sqlite3_reset(it);
        if (rc != SQLITE_DONE)
            return db_fail(s->db, rc, err, "search items");
    }
    order_json_row_end(&s->enc, &s->page);
    return 0;
}

static void encode_row(struct search *s, sqlite3_stmt *st)
{
    const struct cols *c = &s->cols;
    struct order_row r;
    memset(&r, 0, sizeof(r));
    r.created_at = sqlite3_column_int64(st, 0);
#define TEXT(col, p, n)                                                                            \
    do {                                                                                           \
        if ((col) >= 0) {                                                                          \
            p = (const char *)sqlite3_column_text(st, (col));                                      \
            n = (size_t)sqlite3_column_bytes(st, (col));                                           \
        }                                                                                          \
    } while (0)
    TEXT(c->ext_id, r.order_id, r.order_id_len);
    if (c->status >= 0)
        r.status = sqlite3_column_int(st, c->status);
    if (c->currency >= 0)
        r.currency = (const char *)sqlite3_column_text(st, c->currency);
    if (r.currency && sqlite3_column_bytes(st, c->currency) != 3)
        r.currency = NULL;
    if (c->total >= 0)
        r.total_minor = sqlite3_column_int64(st, c->total);
    if (c->item_count >= 0)
        r.item_count = sqlite3_column_int64(st, c->item_count);
    if (c->ingested_at >= 0)
        r.ingested_at = sqlite3_column_int64(st, c->ingested_at);
    TEXT(c->c_ext, r.customer_id, r.customer_id_len);
    TEXT(c->c_name, r.customer_name, r.customer_name_len);
    TEXT(c->c_email, r.customer_email, r.customer_email_len);
#undef TEXT
    order_json_row(&s->enc, &s->page, &r);
}

/* Hand the page to the sink; false when the client is gone. */
static bool ship(struct search *s, struct sink *out, bool flush)
{
    if (s->page.len)
        sink_write(out, s->page.data, s->page.len);
    buf_reset(&s->page);
    if (flush)
        sink_flush(out);
    if (out->err)
        s->client_gone = true;
    return !out->err;
}

/* Walk one month partition in keyset pages. 1: stop (limit, client gone), 0: next month. */
static int run_month(struct search *s, int month, struct sink *out, enum filter_format fmt,
                     struct error *err)
{
    char items[PARTITION_NAME_MAX], isql[256];
    sqlite3_stmt *st = NULL, *it = NULL;
    int rc = -1;
    bool items_here = need_items_table(s) ? has_items(s, month) : false;
    if (s->drive == DRIVE_PRODUCT && !items_here)
        return 0; /* no items table for that month: no order there has the product */
    if (s->nproducts && !items_here)
        return 0;
    build_sql(s, month, &s->sql);
    if (prepare(s, s->sql.data, &st, err))
        goto out;
    if ((s->f->fields & FIELD_BIT(FIELD_ITEMS)) && items_here) {
        partition_name("order_items", month, items);
        snprintf(isql, sizeof(isql),
                 "SELECT i.product_id, i.quantity, i.unit_price_minor FROM %s i "
                 "WHERE i.order_id = ?1 ORDER BY i.line",
                 items);
        if (prepare(s, isql, &it, err))
            goto out;
    }
    for (;;) {
        int64_t page_rows = s->pages == 0 ? SEARCH_FIRST_PAGE_ROWS : SEARCH_PAGE_ROWS;
        int64_t want = s->f->limit + 1 - (int64_t)s->count;
        if (want > page_rows)
            want = page_rows;
        bind_all(s, st, want);
        int64_t fetched = 0;
        bool full = false;
        int src;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t kt = sqlite3_column_int64(st, 0), kid = sqlite3_column_int64(st, 1);
            fetched++;
            if (kt == s->key_t && kid == s->key_id)
                continue; /* the same order again (product on two lines) */
            if (s->cust_bits && !cust_bit(s, sqlite3_column_int64(st, s->cols.customer))) {
                s->key_t = kt; /* not a matching customer: step over it */
                s->key_id = kid;
                continue;
            }
            if ((int64_t)s->count == s->f->limit) {
                s->has_more = true;
                break;
            }
            s->key_t = kt;
            s->key_id = kid;
            if (fmt == FORMAT_JSON && s->count)
                buf_putc(&s->page, ',');
            encode_row(s, st);
            if ((s->f->fields & FIELD_BIT(FIELD_ITEMS)) && write_items(s, it, kid, err)) {
                sqlite3_reset(st);
                goto out;
            }
            if (fmt != FORMAT_JSON)
                buf_putc(&s->page, '\n');
            s->count++;
            if (s->page.len >= SEARCH_PAGE_BYTES) {
                full = true;
                break;
            }
        }
        /* Reset ends the page's read transaction before any byte goes out. */
        int rrc = sqlite3_reset(st);
        if (src != SQLITE_ROW && src != SQLITE_DONE) {
            db_fail(s->db, src, err, "search step");
            goto out;
        }
        if (src == SQLITE_DONE && rrc != SQLITE_OK) {
            db_fail(s->db, rrc, err, "search step");
            goto out;
        }
        s->pages++;
        if (!ship(s, out, s->pages == 1)) {
            rc = 1;
            goto out;
        }
        if (s->has_more) {
            rc = 1;
            goto out;
        }
        if (!full && fetched < want)
            break; /* partition exhausted */
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(it);
    return rc;
}

int search_run(struct search *s, struct sink *out, enum filter_format fmt, struct error *err)
{
    char next[CURSOR_TOKEN_MAX];
    if (fmt == FORMAT_JSON)
        order_json_doc_begin(&s->page);
    for (size_t i = 0; s->drive != DRIVE_EMPTY && i < s->nmonths; i++) {
        int month = s->months[s->f->ascending ? i : s->nmonths - 1 - i];
        int rc = run_month(s, month, out, fmt, err);
        if (rc < 0)
            return -1;
        if (rc > 0)
            break;
    }
    if (s->client_gone)
        return 0;
    if (s->has_more) {
        struct cursor c = {
            .tenant_id = s->tenant_id,
            .ascending = s->f->ascending,
            .last_created_at = s->key_t,
            .last_id = s->key_id,
            .expires_at = s->now_s + SEARCH_CURSOR_TTL_S,
        };
        memcpy(c.filter_hash, s->fhash, CURSOR_HASH_LEN);
        cursor_encode(&c, s->key, next);
    }
    if (fmt == FORMAT_JSON)
        order_json_doc_trailer(&s->page, s->has_more ? next : NULL, s->count);
    else
        order_json_ndjson_trailer(&s->page, s->has_more ? next : NULL, s->count);
    ship(s, out, true);
    return 0;
}

/* ======================== explain ======================== */

int search_explain(struct db *db, int64_t tenant_id, const struct search_filter *f, struct buf *out,
                   struct error *err)
{
    static const uint8_t zero_key[CURSOR_KEY_LEN];
    struct search *s = NULL;
    struct buf q = BUF_INIT;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (search_open(db, tenant_id, f, zero_key, 0, &s, err))
        goto out;
    buf_appendf(out, "drive: %s\n", DRIVE_NAMES[s->drive]);
    if (s->drive == DRIVE_EMPTY) {
        rc = 0;
        goto out;
    }
    buf_appendf(out, "partitions:");
    for (size_t i = 0; i < s->nmonths; i++)
        buf_appendf(out, " %d", s->months[i]);
    buf_putc(out, '\n');
    if (!s->nmonths) {
        rc = 0;
        goto out;
    }
    int month = s->months[f->ascending ? 0 : s->nmonths - 1];
    build_sql(s, month, &s->sql);
    buf_puts(&q, "EXPLAIN QUERY PLAN ");
    buf_append(&q, s->sql.data, s->sql.len);
    if (prepare(s, q.data, &st, err))
        goto out;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        buf_appendf(out, "%d|%d|%s\n", sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
                    (const char *)sqlite3_column_text(st, 3));
    }
    if (src != SQLITE_DONE) {
        db_fail(db, src, err, "explain");
        goto out;
    }
    buf_appendf(out, "sql: %s\n", s->sql.data);
    rc = 0;
out:
    sqlite3_finalize(st);
    buf_fini(&q);
    search_close(s);
    return rc;
}
