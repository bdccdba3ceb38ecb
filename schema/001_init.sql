-- 001_init: tenants and keys, catalog, customers (+FTS5), orders registry,
-- stock levels, the month-partition catalog with its DDL templates, and the
-- cross-process coordination tables (idempotency, rate limits, lease locks).
--
-- Conventions: every tenant-owned row carries tenant_id and every index leads
-- with it; clients' ids are TEXT "ext_id" unique per tenant, internal keys are
-- INTEGER rowids; money is INTEGER minor units + ISO currency; time is INTEGER
-- seconds since the epoch, UTC (milliseconds where a column says _ms).

CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
);

CREATE TABLE tenants (
    id         INTEGER PRIMARY KEY,
    public_id  TEXT NOT NULL UNIQUE,          -- "tn_" + 16 hex chars, shown by the API
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    settings   TEXT NOT NULL DEFAULT '{}'     -- JSON: rate limits, anomaly thresholds
);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key_hash   BLOB NOT NULL UNIQUE,          -- SHA-256 of the whole key; the key is never stored
    prefix     TEXT NOT NULL,                 -- first characters, to tell keys apart in listings
    created_at INTEGER NOT NULL,
    revoked_at INTEGER                        -- NULL while valid
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

CREATE TABLE categories (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ext_id    TEXT NOT NULL,
    name      TEXT NOT NULL,
    parent_id INTEGER REFERENCES categories(id),
    UNIQUE (tenant_id, ext_id)
);

CREATE TABLE products (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ext_id       TEXT NOT NULL,
    name         TEXT NOT NULL,
    category_id  INTEGER REFERENCES categories(id),
    currency     TEXT NOT NULL,
    price_minor  INTEGER,                     -- current accepted price, NULL until known
    price_at     INTEGER,                     -- observed_at of that price
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (tenant_id, ext_id)
);
CREATE INDEX products_category ON products(tenant_id, category_id);

-- Personal data lives here and only here (GDPR erasure touches one row and
-- its FTS entry). Orders reference customers by integer id.
CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ext_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    erased_at  INTEGER,
    UNIQUE (tenant_id, ext_id)
);

-- Substring search on name and email (trigram: 3+ characters; case folding
-- is Unicode-aware for MATCH). External content: the text is stored once, in
-- customers; the triggers keep the index in step.
CREATE VIRTUAL TABLE customers_fts USING fts5(
    name, email, content='customers', content_rowid='id', tokenize='trigram'
);
CREATE TRIGGER customers_fts_ai AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts(rowid, name, email) VALUES (new.id, new.name, new.email);
END;
CREATE TRIGGER customers_fts_ad AFTER DELETE ON customers BEGIN
    INSERT INTO customers_fts(customers_fts, rowid, name, email)
    VALUES ('delete', old.id, old.name, old.email);
END;
CREATE TRIGGER customers_fts_au AFTER UPDATE OF name, email ON customers BEGIN
    INSERT INTO customers_fts(customers_fts, rowid, name, email)
    VALUES ('delete', old.id, old.name, old.email);
    INSERT INTO customers_fts(rowid, name, email) VALUES (new.id, new.name, new.email);
END;

-- The order registry: one row per (tenant, client order id), whatever month
-- the order falls in. It is the global unique index that month partitions
-- cannot give (as in Postgres, where a unique constraint on a partitioned
-- table must include the partition key), and it gives orders their integer
-- id, shared by orders_pYYYYMM.id and order_items_pYYYYMM.order_id.
CREATE TABLE order_keys (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    ext_id    TEXT NOT NULL,
    month     INTEGER NOT NULL,               -- YYYYMM: the partition holding the order
    UNIQUE (tenant_id, ext_id)
);

CREATE TABLE stock_levels (
    product_id      INTEGER PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE,
    tenant_id       INTEGER NOT NULL,
    quantity        INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 0,   -- +1 per applied change
    last_event_time INTEGER,                      -- event_time of the last applied event (ms)
    updated_at      INTEGER NOT NULL
);

-- Month partitioning (core/partition.c). A partitioned table is a family of
-- physical tables <base>_pYYYYMM created on first write from the template
-- below ({P} is replaced by YYYYMM), and listed in partitions so reads can
-- prune by time range without touching sqlite_schema. Later migrations may
-- change a template; existing partitions keep the DDL they were made with.
CREATE TABLE partition_templates (
    base       TEXT PRIMARY KEY,
    time_col   TEXT NOT NULL,                 -- the column the month is taken from
    ddl        TEXT NOT NULL
);
CREATE TABLE partitions (
    base       TEXT NOT NULL REFERENCES partition_templates(base),
    month      INTEGER NOT NULL,              -- YYYYMM
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (base, month)
) WITHOUT ROWID;

INSERT INTO partition_templates(base, time_col, ddl) VALUES
('orders', 'created_at', '
CREATE TABLE orders_p{P} (
    id          INTEGER PRIMARY KEY,           -- order_keys.id
    tenant_id   INTEGER NOT NULL,
    ext_id      TEXT NOT NULL,
    customer_id INTEGER NOT NULL,
    status      INTEGER NOT NULL,              -- 0 pending 1 paid 2 shipped 3 delivered 4 cancelled 5 refunded
    currency    TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    item_count  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL
);
CREATE INDEX orders_p{P}_time ON orders_p{P}(tenant_id, created_at, id);
CREATE INDEX orders_p{P}_status ON orders_p{P}(tenant_id, status, created_at);
CREATE INDEX orders_p{P}_customer ON orders_p{P}(tenant_id, customer_id, created_at);
'),
('order_items', 'created_at', '
CREATE TABLE order_items_p{P} (
    order_id         INTEGER NOT NULL,
    line             INTEGER NOT NULL,
    tenant_id        INTEGER NOT NULL,
    product_id       INTEGER NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,        -- the order''s, so product queries prune by month
    PRIMARY KEY (order_id, line)
) WITHOUT ROWID;
CREATE INDEX order_items_p{P}_product ON order_items_p{P}(tenant_id, product_id, created_at);
'),
('price_history', 'observed_at', '
CREATE TABLE price_history_p{P} (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL,
    product_id  INTEGER NOT NULL,
    price_minor INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    observed_at INTEGER NOT NULL,
    source      TEXT
);
CREATE INDEX price_history_p{P}_product ON price_history_p{P}(tenant_id, product_id, observed_at);
'),
('stock_events', 'event_time', '
CREATE TABLE stock_events_p{P} (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL,
    product_id     INTEGER NOT NULL,
    event_id       TEXT NOT NULL,
    kind           INTEGER NOT NULL,           -- 0 delta 1 absolute
    delta          INTEGER NOT NULL,
    quantity_after INTEGER NOT NULL,
    event_time     INTEGER NOT NULL,           -- seconds
    source         TEXT,
    metadata       TEXT,
    applied_at     INTEGER NOT NULL
);
CREATE INDEX stock_events_p{P}_product ON stock_events_p{P}(tenant_id, product_id, event_time);
');

-- Idempotency reservations (core/idem.c), shared by all workers. A row is
-- claimed in_progress with a lease; a worker that dies stops renewing it and
-- the next request with the key takes it over after lease_until.
CREATE TABLE idempotency_keys (
    tenant_id    INTEGER NOT NULL,
    route        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  BLOB,                        -- SHA-256 of the request (method, path, body)
    state        INTEGER NOT NULL,            -- 0 in_progress 1 done
    owner        TEXT NOT NULL,               -- "pid:start" of the claiming worker
    lease_until  INTEGER NOT NULL,            -- ms; in_progress rows only
    status       INTEGER,                     -- stored response
    content_type TEXT,
    body         BLOB,
    created_at   INTEGER NOT NULL,            -- ms
    PRIMARY KEY (tenant_id, route, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- GCRA rate-limit state (core/ratelimit.c): one theoretical arrival time per bucket.
CREATE TABLE rate_limits (
    bucket TEXT PRIMARY KEY,                  -- e.g. "price:t42" or "price:t42:p1001"
    tat_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Advisory lock rows with a lease (core/lock.c): a dead owner blocks nobody
-- for longer than its lease.
CREATE TABLE locks (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    lease_until INTEGER NOT NULL              -- ms
) WITHOUT ROWID;
