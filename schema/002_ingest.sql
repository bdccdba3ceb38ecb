-- 002_ingest: bulk order ingest (core/ingest.c, core/store_orders.c) and
-- resumable tus uploads (core/tus.c).
--
-- order_keys.ingest_id names the ingest run that registered the order id. A
-- second sighting of an id registered by the *same* run is a duplicate inside
-- one request (a row error); one registered by any other run or by the
-- direct loader (NULL) is "already present" (rows_duplicate). This keeps the
-- in-request duplicate check in the unique index we already pay for, instead
-- of an in-memory set that would grow with the body (1 GB ~ 3M ids).
ALTER TABLE order_keys ADD COLUMN ingest_id INTEGER;

-- One row per ingest run: a POST /api/v1/ingest/orders/ request, or a tus
-- upload (which spans many PATCH requests). The counters and the checkpoint
-- are updated in the same transaction as each batch of rows, so after a crash
-- they describe exactly what was committed. `token` is the opaque public id:
-- the error-list link and the tus upload URL. Rows live until expires_at
-- (at least 24 h after the run ends), then the run, its errors and its upload
-- file are purged.
CREATE TABLE ingest_runs (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    token          TEXT NOT NULL UNIQUE,
    kind           INTEGER NOT NULL,            -- 0 request, 1 tus upload
    state          INTEGER NOT NULL,            -- 0 running, 1 complete, 2 failed, 3 terminated
    idem_key       TEXT,
    rows_received  INTEGER NOT NULL DEFAULT 0,
    rows_inserted  INTEGER NOT NULL DEFAULT 0,
    rows_duplicate INTEGER NOT NULL DEFAULT 0,
    rows_failed    INTEGER NOT NULL DEFAULT 0,
    errors_stored  INTEGER NOT NULL DEFAULT 0,
    error_counts   TEXT NOT NULL DEFAULT '{}',  -- {"code": n, ...}
    processing_ms  INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,            -- ms
    finished_at    INTEGER,                     -- ms
    expires_at     INTEGER NOT NULL,            -- ms
    -- tus uploads only
    upload_length  INTEGER,                     -- NULL while deferred
    upload_offset  INTEGER NOT NULL DEFAULT 0,  -- bytes durably stored (fsync'd)
    parsed_offset  INTEGER NOT NULL DEFAULT 0,  -- bytes whose lines are committed
    parsed_lines   INTEGER NOT NULL DEFAULT 0,  -- line number at parsed_offset
    metadata       TEXT,                        -- Upload-Metadata as received
    lock_owner     TEXT,                        -- one PATCH at a time per upload
    lock_until     INTEGER                      -- ms lease of lock_owner
);
CREATE INDEX ingest_runs_expires ON ingest_runs(expires_at);

-- Every rejected row of a run (up to INGEST_ERRORS_STORED_MAX), for the error
-- link; the response carries only the first ones and counts by code.
CREATE TABLE ingest_errors (
    ingest_id INTEGER NOT NULL,
    seq       INTEGER NOT NULL,                 -- 1-based, in input order
    part      INTEGER,                          -- multipart part / zip entry (1-based); NULL: plain body
    line      INTEGER NOT NULL,                 -- 1-based line within the part
    order_id  TEXT,
    code      TEXT NOT NULL,
    pointer   TEXT,
    detail    TEXT NOT NULL,
    PRIMARY KEY (ingest_id, seq)
) WITHOUT ROWID;
