/*
 * store_orders.c: the batch-insert path for orders (store.h).
 *
 * One batch is one BEGIN IMMEDIATE transaction. Per order, in this order:
 *   1. every item's product is resolved by (tenant, ext_id) through a
 *      per-batch cache (one indexed SELECT per distinct product per batch);
 *      an unknown product rejects the row before anything is written;
 *   2. the customer is resolved through a per-batch cache: the first sighting
 *      in a batch SELECTs it, INSERTs it when absent (the FTS trigger indexes
 *      it), and remembers the stored name/email; later sightings only keep the
 *      values of the newest order (by created_at). At commit, customers whose
 *      chosen values differ from the stored ones get one UPDATE each, so the
 *      FTS index is touched once per changed customer per batch, never per row;
 *   3. the order id is registered in order_keys with INSERT ... ON CONFLICT DO
 *      NOTHING; no change means the tenant already has it: STORE_DUPLICATE (or
 *      STORE_REPEATED when this same ingest run registered it). The policy is
 *      skip, never update: an order line carries no version or updated-at, so
 *      "newer" cannot be decided, and a retried upload must be a no-op;
 *   4. the row goes to orders_pYYYYMM and its items to order_items_pYYYYMM
 *      (partition_ensure routes by created_at and creates the month inside
 *      this transaction), through statements prepared once per month and
 *      connection and kept across batches.
 *
 * Memory: the caches and their copied strings live in a per-batch arena, so a
 * batch of N rows costs O(N) and is released at commit; nothing grows with
 * the body size.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "partition.h"
#include "timefmt.h"
#include "xmalloc.h"

enum {
    SQL_PRODUCT,
    SQL_CUSTOMER_GET,
    SQL_CUSTOMER_INSERT,
    SQL_CUSTOMER_UPDATE,
    SQL_KEY_INSERT,
    SQL_KEY_OWNER,
};

static const char *const SQL[] = {
    [SQL_PRODUCT] = "SELECT id FROM products WHERE tenant_id = ?1 AND ext_id = ?2",
    [SQL_CUSTOMER_GET] = "SELECT id, name, email FROM customers WHERE tenant_id = ?1 AND "
                         "ext_id = ?2",
    [SQL_CUSTOMER_INSERT] = "INSERT INTO customers(tenant_id, ext_id, name, email, created_at, "
                            "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    /* An erased customer (GDPR) is never refilled by a later order. */
    [SQL_CUSTOMER_UPDATE] = "UPDATE customers SET name = ?2, email = ?3, updated_at = ?4 "
                            "WHERE id = ?1 AND erased_at IS NULL",
    [SQL_KEY_INSERT] = "INSERT INTO order_keys(tenant_id, ext_id, month, ingest_id) "
                       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(tenant_id, ext_id) DO NOTHING",
    [SQL_KEY_OWNER] = "SELECT ingest_id FROM order_keys WHERE tenant_id = ?1 AND ext_id = ?2",
};

/* ======================== per-batch string map ======================== */

struct map_entry {
    const char *key; /* in the batch arena; NULL = empty slot */
    size_t len;
    uint64_t hash;
    int64_t id;      /* database id; -1 = known to be absent */
    void *extra;
};

struct map {
    struct map_entry *slots;
    size_t cap, n; /* cap is a power of two */
};

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void map_fini(struct map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

static struct map_entry *map_probe(struct map *m, const char *p, size_t n, uint64_t h)
{
    size_t i = (size_t)h & (m->cap - 1);
    for (;;) {
        struct map_entry *e = &m->slots[i];
        if (!e->key || (e->hash == h && e->len == n && memcmp(e->key, p, n) == 0))
            return e;
        i = (i + 1) & (m->cap - 1);
    }
}

static void map_grow(struct map *m)
{
    struct map old = *m;
    m->cap = old.cap ? old.cap * 2 : 256;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *map_probe(m, old.slots[i].key, old.slots[i].len, old.slots[i].hash) = old.slots[i];
    free(old.slots);
}

/* The entry for the key; *found says whether it existed. New keys are copied into a. */
static struct map_entry *map_get(struct map *m, struct arena *a, struct str key, bool *found)
{
    if ((m->n + 1) * 2 > m->cap)
        map_grow(m);
    uint64_t h = hash_bytes(key.ptr, key.len);
    struct map_entry *e = map_probe(m, key.ptr, key.len, h);
    *found = e->key != NULL;
    if (!*found) {
        e->key = arena_strndup(a, key.ptr, key.len);
        e->len = key.len;
        e->hash = h;
        e->id = -1;
        e->extra = NULL;
        m->n++;
    }
    return e;
}

/* ======================== partition statements ======================== */

/*
 * Prepared INSERTs for one month's pair of tables, kept per process across
 * batches. The SQL is built from the partition name, which comes from an
 * integer month (a whitelisted identifier, never input text). A statement
 * belongs to the connection that prepared it: sqlite3_db_handle() tells a
 * stale entry (another connection, e.g. in tests) from a live one.
 */
#define PART_STMTS_MAX 64

struct part_stmts {
    int month;
    sqlite3_stmt *order;
    sqlite3_stmt *item;
    uint64_t used; /* LRU tick */
};

static struct part_stmts part_cache[PART_STMTS_MAX];
static uint64_t part_tick;

static void part_slot_clear(struct part_stmts *p)
{
    sqlite3_finalize(p->order);
    sqlite3_finalize(p->item);
    memset(p, 0, sizeof(*p));
}

static int part_get(struct db *db, int64_t created_at, struct part_stmts **out, struct error *err)
{
    char oname[PARTITION_NAME_MAX], iname[PARTITION_NAME_MAX];
    int month = time_month_of(created_at);
    sqlite3 *conn = db_handle(db);
    struct part_stmts *victim = &part_cache[0];

    /* The partitions must exist in this transaction either way (cheap when cached). */
    if (partition_ensure(db, "orders", created_at, oname, err) ||
        partition_ensure(db, "order_items", created_at, iname, err))
        return -1;
    for (size_t i = 0; i < PART_STMTS_MAX; i++) {
        struct part_stmts *p = &part_cache[i];
        if (p->order && sqlite3_db_handle(p->order) != conn)
            part_slot_clear(p);
        if (p->order && p->month == month) {
            p->used = ++part_tick;
            *out = p;
            return 0;
        }
        if (!p->order || p->used < victim->used)
            victim = p;
    }
    if (victim->order)
        part_slot_clear(victim);

    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s(id, tenant_id, ext_id, customer_id, status, currency, total_minor, "
             "item_count, created_at, ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
             oname);
    int rc = sqlite3_prepare_v3(conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &victim->order, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s(order_id, line, tenant_id, product_id, quantity, unit_price_minor, "
             "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
             iname);
    rc = sqlite3_prepare_v3(conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &victim->item, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    victim->month = month;
    victim->used = ++part_tick;
    *out = victim;
    return 0;
fail:
    db_fail(db, rc, err, "prepare partition insert");
    part_slot_clear(victim);
    return -1;
}

/* ======================== the batch ======================== */

/* What a batch remembers about one customer (map_entry.extra). */
struct cust {
    const char *db_name, *db_email; /* as stored when first seen (NULL: inserted now) */
    size_t db_name_len, db_email_len;
    const char *name, *email;       /* chosen: the newest order's */
    size_t name_len, email_len;
    int64_t chosen_at;              /* created_at of the order that gave them */
};

/*
 * Product ids known across batches (store_cache_new), for one tenant at a
 * time. Only found products are kept: an unknown one may be created later.
 * Product rows are never deleted or re-keyed (no API or module deletes them;
 * only a whole tenant goes, with its keys), so a found id stays valid.
 *
 * A worker keeps one per recent tenant (ingest.c), so its size is worker
 * memory that stays: 16-byte slots (offset and length of the key in one
 * string buffer, a hash tag, the id) at a load of at most 0.8, so 25k
 * products take 32k slots, 512 KiB plus ~250 KiB of keys. The generic
 * batch map (40-byte slots at a load of 0.5, keys in an arena) took 3 MB a
 * tenant, 12 MB of a worker that had seen four: most of the ingest's RSS
 * growth past its page cache. Bounded: past STORE_CACHE_MAX entries it
 * starts over.
 */
#define STORE_CACHE_MAX 32768

struct cache_slot {
    uint32_t off;  /* key at keys + off */
    uint16_t len;  /* 0: empty (ids are 1..ORDER_ID_MAX_BYTES bytes) */
    uint16_t tag;  /* high bits of the hash: most mismatches end here */
    int64_t id;
};

struct store_cache {
    int64_t tenant_id;
    struct cache_slot *slots;
    size_t cap, n; /* cap a power of two, n <= 0.8 cap */
    char *keys;
    size_t keys_len, keys_cap;
};

struct store_cache *store_cache_new(void)
{
    return xcalloc(1, sizeof(struct store_cache));
}

static void cache_clear(struct store_cache *c)
{
    free(c->slots);
    free(c->keys);
    c->slots = NULL;
    c->keys = NULL;
    c->cap = c->n = c->keys_len = c->keys_cap = 0;
}

void store_cache_free(struct store_cache *c)
{
    if (!c)
        return;
    cache_clear(c);
    free(c);
}

static struct cache_slot *cache_probe(const struct store_cache *c, const char *p, size_t n,
                                      uint64_t h)
{
    uint16_t tag = (uint16_t)(h >> 48);
    for (size_t i = (size_t)h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        struct cache_slot *e = &c->slots[i];
        if (!e->len || (e->tag == tag && e->len == n && memcmp(c->keys + e->off, p, n) == 0))
            return e;
    }
}

static bool cache_find(const struct store_cache *c, struct str key, int64_t *id)
{
    if (!c->cap)
        return false;
    const struct cache_slot *e = cache_probe(c, key.ptr, key.len, hash_bytes(key.ptr, key.len));
    if (!e->len)
        return false;
    *id = e->id;
    return true;
}

static void cache_grow(struct store_cache *c)
{
    struct cache_slot *old = c->slots;
    size_t old_cap = c->cap;
    c->cap = old_cap ? old_cap * 2 : 1024;
    c->slots = xcalloc(c->cap, sizeof(*c->slots));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].len)
            *cache_probe(c, c->keys + old[i].off, old[i].len,
                         hash_bytes(c->keys + old[i].off, old[i].len)) = old[i];
    free(old);
}

static void cache_put(struct store_cache *c, struct str key, int64_t id)
{
    if (key.len == 0 || key.len > UINT16_MAX)
        return;
    if (c->n >= STORE_CACHE_MAX)
        cache_clear(c);
    if ((c->n + 1) * 5 > c->cap * 4)
        cache_grow(c);
    uint64_t h = hash_bytes(key.ptr, key.len);
    struct cache_slot *e = cache_probe(c, key.ptr, key.len, h);
    if (e->len)
        return;
    if (c->keys_len + key.len > c->keys_cap) {
        c->keys_cap = c->keys_cap ? c->keys_cap * 2 : 16384;
        while (c->keys_cap < c->keys_len + key.len)
            c->keys_cap *= 2;
        c->keys = xrealloc(c->keys, c->keys_cap);
    }
    memcpy(c->keys + c->keys_len, key.ptr, key.len);
    *e = (struct cache_slot){(uint32_t)c->keys_len, (uint16_t)key.len, (uint16_t)(h >> 48), id};
    c->keys_len += key.len;
    c->n++;
}

struct store_batch {
    struct db *db;
    struct store_cache *cache;
    int64_t tenant_id;
    int64_t ingest_id;
    int64_t now_s;
    size_t rows;
    struct arena arena;
    struct map products;
    struct map customers;
};

static void batch_free(struct store_batch *b)
{
    if (!b)
        return;
    map_fini(&b->products);
    map_fini(&b->customers);
    arena_fini(&b->arena);
    free(b);
}

int store_batch_begin(struct db *db, int64_t tenant_id, struct store_batch **out,
                      struct error *err)
{
    *out = NULL;
    if (db_begin(db, err))
        return -1;
    struct store_batch *b = xcalloc(1, sizeof(*b));
    b->db = db;
    b->tenant_id = tenant_id;
    b->now_s = time_now_ms() / 1000;
    arena_init(&b->arena);
    *out = b;
    return 0;
}

void store_batch_set_ingest(struct store_batch *b, int64_t ingest_id)
{
    b->ingest_id = ingest_id;
}

void store_batch_set_cache(struct store_batch *b, struct store_cache *c)
{
    if (c->tenant_id != b->tenant_id) {
        cache_clear(c);
        c->tenant_id = b->tenant_id;
    }
    b->cache = c;
}

size_t store_batch_rows(const struct store_batch *b)
{
    return b->rows;
}

static int step_done(struct db *db, sqlite3_stmt *st, struct error *err, const char *what)
{
    int rc = sqlite3_step(st);
    db_done(db, st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, what);
}

/* Product id for ext id p, or -1 when the tenant has no such product. */
static int product_id(struct store_batch *b, struct str p, int64_t *id, struct error *err)
{
    bool found;
    struct map_entry *e;
    if (b->cache && cache_find(b->cache, p, id))
        return 0;
    e = map_get(&b->products, &b->arena, p, &found);
    if (found) {
        *id = e->id;
        return 0;
    }
    sqlite3_stmt *st = db_stmt(b->db, SQL[SQL_PRODUCT], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, b->tenant_id);
    sqlite3_bind_text(st, 2, p.ptr, (int)p.len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    e->id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    db_done(b->db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(b->db, rc, err, "product lookup");
    *id = e->id;
    if (b->cache && e->id >= 0)
        cache_put(b->cache, p, e->id);
    return 0;
}

static const char *dup(struct arena *a, struct str s)
{
    return arena_strndup(a, s.ptr, s.len);
}

static int customer_id(struct store_batch *b, const struct order *o, int64_t *id,
                       struct error *err)
{
    bool found;
    struct map_entry *e = map_get(&b->customers, &b->arena, o->customer_id, &found);
    if (found) {
        struct cust *c = e->extra;
        if (o->created_at > c->chosen_at) {
            if (c->name_len != o->customer_name.len ||
                memcmp(c->name, o->customer_name.ptr, c->name_len) != 0) {
                c->name = dup(&b->arena, o->customer_name);
                c->name_len = o->customer_name.len;
            }
            if (c->email_len != o->customer_email.len ||
                memcmp(c->email, o->customer_email.ptr, c->email_len) != 0) {
                c->email = dup(&b->arena, o->customer_email);
                c->email_len = o->customer_email.len;
            }
            c->chosen_at = o->created_at;
        }
        *id = e->id;
        return 0;
    }
    struct cust *c = arena_alloc(&b->arena, sizeof(*c));
    memset(c, 0, sizeof(*c));
    e->extra = c;
    sqlite3_stmt *st = db_stmt(b->db, SQL[SQL_CUSTOMER_GET], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, b->tenant_id);
    sqlite3_bind_text(st, 2, o->customer_id.ptr, (int)o->customer_id.len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        e->id = sqlite3_column_int64(st, 0);
        c->db_name_len = (size_t)sqlite3_column_bytes(st, 1);
        c->db_name = arena_strndup(&b->arena, (const char *)sqlite3_column_text(st, 1),
                                   c->db_name_len);
        c->db_email_len = (size_t)sqlite3_column_bytes(st, 2);
        c->db_email = arena_strndup(&b->arena, (const char *)sqlite3_column_text(st, 2),
                                    c->db_email_len);
    }
    db_done(b->db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(b->db, rc, err, "customer lookup");
    c->name = dup(&b->arena, o->customer_name);
    c->name_len = o->customer_name.len;
    c->email = dup(&b->arena, o->customer_email);
    c->email_len = o->customer_email.len;
    c->chosen_at = o->created_at;
    if (rc == SQLITE_DONE) {
        st = db_stmt(b->db, SQL[SQL_CUSTOMER_INSERT], err);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, b->tenant_id);
        sqlite3_bind_text(st, 2, o->customer_id.ptr, (int)o->customer_id.len, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->name, (int)c->name_len, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, c->email, (int)c->email_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, b->now_s);
        if (step_done(b->db, st, err, "customer insert"))
            return -1;
        e->id = sqlite3_last_insert_rowid(db_handle(b->db));
        c->db_name = c->name;
        c->db_name_len = c->name_len;
        c->db_email = c->email;
        c->db_email_len = c->email_len;
    }
    *id = e->id;
    return 0;
}

/* Write the newest name/email of every customer of the batch whose values changed. */
static int customers_flush(struct store_batch *b, struct error *err)
{
    for (size_t i = 0; i < b->customers.cap; i++) {
        struct map_entry *e = &b->customers.slots[i];
        struct cust *c = e->key ? e->extra : NULL;
        if (!c || e->id < 0)
            continue;
        if (c->name_len == c->db_name_len && memcmp(c->name, c->db_name, c->name_len) == 0 &&
            c->email_len == c->db_email_len && memcmp(c->email, c->db_email, c->email_len) == 0)
            continue;
        sqlite3_stmt *st = db_stmt(b->db, SQL[SQL_CUSTOMER_UPDATE], err);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, e->id);
        sqlite3_bind_text(st, 2, c->name, (int)c->name_len, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->email, (int)c->email_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, b->now_s);
        if (step_done(b->db, st, err, "customer update"))
            return -1;
    }
    return 0;
}

/* Register the order id: 1 new (id set), 0 already present (*repeated when by this run). */
static int register_key(struct store_batch *b, const struct order *o, int64_t *id, bool *repeated,
                        struct error *err)
{
    sqlite3 *conn = db_handle(b->db);
    sqlite3_stmt *st = db_stmt(b->db, SQL[SQL_KEY_INSERT], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, b->tenant_id);
    sqlite3_bind_text(st, 2, o->order_id.ptr, (int)o->order_id.len, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, time_month_of(o->created_at));
    if (b->ingest_id)
        sqlite3_bind_int64(st, 4, b->ingest_id);
    if (step_done(b->db, st, err, "order key"))
        return -1;
    if (sqlite3_changes(conn) == 1) {
        *id = sqlite3_last_insert_rowid(conn);
        return 1;
    }
    *repeated = false;
    if (!b->ingest_id)
        return 0;
    st = db_stmt(b->db, SQL[SQL_KEY_OWNER], err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, b->tenant_id);
    sqlite3_bind_text(st, 2, o->order_id.ptr, (int)o->order_id.len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *repeated = sqlite3_column_int64(st, 0) == b->ingest_id;
    db_done(b->db, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(b->db, rc, err, "order key owner");
    return 0;
}

static int step_part(struct db *db, sqlite3_stmt *st, struct error *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, rc, err, what);
}

#define ITEMS_STACK 16

int store_order(struct store_batch *b, const struct order *o, enum store_outcome *outcome,
                struct error *err)
{
    int64_t stack_ids[ITEMS_STACK];
    int64_t *pids = o->nitems <= ITEMS_STACK ? stack_ids : xmalloc(o->nitems * sizeof(*pids));
    int rc = -1;
    b->rows++;

    for (size_t i = 0; i < o->nitems; i++) {
        if (product_id(b, o->items[i].product_id, &pids[i], err))
            goto out;
        if (pids[i] < 0) {
            char ptr[ERROR_POINTER_MAX];
            snprintf(ptr, sizeof(ptr), "/items/%zu/product_id", i);
            error_set_at(err, ERR_UNKNOWN_PRODUCT, ptr,
                         "product %.*s does not exist for this tenant; create it first",
                         (int)(o->items[i].product_id.len > 64 ? 64 : o->items[i].product_id.len),
                         o->items[i].product_id.ptr);
            *outcome = STORE_REJECTED;
            rc = 0;
            goto out;
        }
    }
    int64_t cust = 0, oid = 0;
    bool repeated = false;
    if (customer_id(b, o, &cust, err))
        goto out;
    int reg = register_key(b, o, &oid, &repeated, err);
    if (reg < 0)
        goto out;
    if (reg == 0) {
        if (repeated) {
            error_set_at(err, ERR_DUPLICATE_IN_REQUEST, "/order_id",
                         "order id %.*s appears more than once in this upload; the first "
                         "occurrence was stored",
                         (int)(o->order_id.len > 64 ? 64 : o->order_id.len), o->order_id.ptr);
            *outcome = STORE_REPEATED;
        } else {
            *outcome = STORE_DUPLICATE;
        }
        rc = 0;
        goto out;
    }

    struct part_stmts *p;
    if (part_get(b->db, o->created_at, &p, err))
        goto out;
    sqlite3_stmt *st = p->order;
    sqlite3_bind_int64(st, 1, oid);
    sqlite3_bind_int64(st, 2, b->tenant_id);
    sqlite3_bind_text(st, 3, o->order_id.ptr, (int)o->order_id.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, cust);
    sqlite3_bind_int(st, 5, o->status);
    sqlite3_bind_text(st, 6, o->currency, 3, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, o->total_minor);
    sqlite3_bind_int64(st, 8, (int64_t)o->nitems);
    sqlite3_bind_int64(st, 9, o->created_at);
    sqlite3_bind_int64(st, 10, b->now_s);
    if (step_part(b->db, st, err, "order insert"))
        goto out;
    st = p->item;
    for (size_t i = 0; i < o->nitems; i++) {
        sqlite3_bind_int64(st, 1, oid);
        sqlite3_bind_int64(st, 2, (int64_t)i);
        sqlite3_bind_int64(st, 3, b->tenant_id);
        sqlite3_bind_int64(st, 4, pids[i]);
        sqlite3_bind_int64(st, 5, o->items[i].quantity);
        sqlite3_bind_int64(st, 6, o->items[i].unit_price_minor);
        sqlite3_bind_int64(st, 7, o->created_at);
        if (step_part(b->db, st, err, "order item insert"))
            goto out;
    }
    *outcome = STORE_INSERTED;
    rc = 0;
out:
    if (pids != stack_ids)
        free(pids);
    return rc;
}

int store_batch_commit(struct store_batch *b, struct error *err)
{
    int rc = -1;
    if (customers_flush(b, err)) {
        db_rollback(b->db);
        goto out;
    }
    rc = db_commit(b->db, err);
out:
    batch_free(b);
    return rc;
}

void store_batch_abort(struct store_batch *b)
{
    if (!b)
        return;
    db_rollback(b->db);
    batch_free(b);
}

/* ======================== status names ======================== */

static const char *const STATUS_NAMES[] = {
    [ORDER_PENDING] = "pending",     [ORDER_PAID] = "paid",
    [ORDER_SHIPPED] = "shipped",     [ORDER_DELIVERED] = "delivered",
    [ORDER_CANCELLED] = "cancelled", [ORDER_REFUNDED] = "refunded",
};

int order_status_parse(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(STATUS_NAMES) / sizeof(STATUS_NAMES[0]); i++)
        if (strlen(STATUS_NAMES[i]) == n && memcmp(STATUS_NAMES[i], s, n) == 0)
            return (int)i;
    return -1;
}

const char *order_status_name(int status)
{
    if (status < 0 || (size_t)status >= sizeof(STATUS_NAMES) / sizeof(STATUS_NAMES[0]))
        return NULL;
    return STATUS_NAMES[status];
}
