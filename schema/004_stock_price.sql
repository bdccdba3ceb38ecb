-- 004_stock_price: stock bulk updates and price events (issue 6).
--
-- stock_event_keys is the per-tenant registry of applied stock event ids: the
-- global unique index that month partitions of stock_events cannot give (as
-- order_keys does for orders). An event id is inserted in the same savepoint
-- as its event row, so it exists iff the event was applied.
--
-- price_events is the change stream of accepted price events. seq is the
-- rowid: SQLite has one writer, so new rows get max(seq)+1 in commit order,
-- and a follower polling "seq > last" never misses a row that commits later
-- with a smaller number. Rows are never deleted (a retention job would delete
-- the oldest, never the newest), so a seq is never handed out twice; that is
-- what AUTOINCREMENT would guarantee at the cost of one more page written per
-- event (sqlite_sequence), 10% of the event's WAL volume.
--
-- The GCRA state lives in rate_limit_tat with microsecond precision: the
-- 001 table rate_limits keeps milliseconds, too coarse for rates above
-- 1000/s (an emission interval of 0.2 ms would round to 0).

CREATE TABLE stock_event_keys (
    tenant_id  INTEGER NOT NULL,
    event_id   TEXT NOT NULL,
    product_id INTEGER NOT NULL,
    month      INTEGER NOT NULL,              -- YYYYMM: the partition holding the event
    PRIMARY KEY (tenant_id, event_id)
) WITHOUT ROWID;

CREATE TABLE price_events (
    seq             INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL,
    product_id      INTEGER NOT NULL,
    event_id        TEXT NOT NULL,
    old_price_minor INTEGER,                  -- the last accepted price, NULL if none
    new_price_minor INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    change_bp       INTEGER,                  -- (new-old)/old in basis points, NULL without old
    observed_at     INTEGER NOT NULL,         -- seconds
    received_at     INTEGER NOT NULL,         -- ms
    source          TEXT,
    metadata        TEXT,                     -- compact JSON object
    anomaly         INTEGER NOT NULL,         -- bit 0: change_pct rule, bit 1: MAD rule
    mad_score_milli INTEGER,                  -- robust z-score x1000, NULL without history
    review_status   INTEGER NOT NULL,         -- 0 accepted 1 pending 2 approved 3 rejected
    reviewed_at     INTEGER,                  -- ms
    review_note     TEXT,
    UNIQUE (tenant_id, event_id)
);
-- The product's history window and per-product listing.
CREATE INDEX price_events_product ON price_events(tenant_id, product_id, seq);
-- Anomaly streams: tenant-wide and per product, both keyset on seq.
CREATE INDEX price_events_anomaly ON price_events(tenant_id, seq) WHERE anomaly != 0;
CREATE INDEX price_events_anomaly_product ON price_events(tenant_id, product_id, seq)
    WHERE anomaly != 0;

CREATE TABLE rate_limit_tat (
    bucket TEXT PRIMARY KEY,                  -- "price:t42" or "price:t42:p1001"
    tat_us INTEGER NOT NULL                   -- theoretical arrival time, microseconds
) WITHOUT ROWID;

-- Stock events keep the event time in milliseconds (last_write_wins compares
-- it), the conflict mode and the product version the event produced.
UPDATE partition_templates SET ddl = '
CREATE TABLE stock_events_p{P} (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL,
    product_id     INTEGER NOT NULL,
    event_id       TEXT NOT NULL,
    kind           INTEGER NOT NULL,           -- 0 delta 1 absolute
    mode           INTEGER NOT NULL,           -- 0 merge 1 last_write_wins 2 reject
    delta          INTEGER NOT NULL,           -- the change applied (absolute: new - old)
    quantity_after INTEGER NOT NULL,
    version_after  INTEGER NOT NULL,
    event_time     INTEGER NOT NULL,           -- seconds (partition key)
    event_time_ms  INTEGER NOT NULL,
    source         TEXT,
    metadata       TEXT,
    applied_at     INTEGER NOT NULL            -- ms
);
CREATE INDEX stock_events_p{P}_product ON stock_events_p{P}(tenant_id, product_id, event_time);
' WHERE base = 'stock_events';
