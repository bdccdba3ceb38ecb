/*
 * bounds.h: every bound that input can push against, in one place.
 *
 * A size derived from the request is checked against one of these before it is
 * used (STYLE rule 9). Units are in the names. Changing a value here changes the
 * documented contract in docs/openapi.yaml and docs/design.md.
 */
#ifndef CORE_BOUNDS_H
#define CORE_BOUNDS_H

/* HTTP surface (the front server enforces its own caps before us). */
#define HEADERS_MAX_BYTES       16384   /* all request headers together (= lighttpd's cap) */
#define QUERY_MAX_BYTES         8192    /* whole QUERY_STRING */
#define QUERY_MAX_PARAMS        64      /* name=value pairs in a query */
#define PATH_MAX_BYTES          2048    /* REQUEST_URI path part */
#define JSON_BODY_MAX_BYTES     (1024 * 1024) /* non-bulk JSON request bodies */
#define REQUEST_ID_MAX_BYTES    64      /* accepted X-Request-Id length */
#define IDEM_KEY_MAX_BYTES      255     /* Idempotency-Key, as Stripe */
#define NAME_MAX_BYTES          200     /* tenant, product, customer names */

/* Per-request memory. */
#define ARENA_CHUNK_BYTES       (64 * 1024)
#define RESP_FLUSH_BYTES        (64 * 1024) /* streamed bodies are pushed at this size */

/* Database. */
#define DB_BUSY_TIMEOUT_MS      5000
#define DB_CACHE_KIB            (64 * 1024) /* per-connection page cache */
#define DB_STMT_CACHE_SLOTS     256     /* prepared statements per connection */
#define DB_CHECKPOINT_FRAMES    1000    /* WAL frames after which a checkpoint is asked */
#define DB_CHECKPOINT_SELF_FRAMES 16384 /* 64 MiB: the committing worker checkpoints */
#define WG_HANDOFF_MAX_US       2000    /* longest wait to let a queued writer go first */
#define WG_BULK_SLICE_MS        200     /* a bulk writer's turn when only bulk writers wait */
#define WALBUF_BYTES            (124 * 1024) /* WAL appends gathered per write (walbuf.c) */
#define CONF_CACHE_SLOTS        64      /* cached keys and tenant settings per process */
#define CONF_CACHE_TTL_MS       1000    /* staleness bound for changes made outside the server */

/* Bulk ingest (core/ingest.c, core/order.c, core/tus.c; docs/design.md §9). */
#define INGEST_BODY_MAX_BYTES     (4ULL << 30) /* one request body or one tus upload */
#define INGEST_LINE_MAX_BYTES     (1024 * 1024) /* one NDJSON line */
#define ORDER_ID_MAX_BYTES        64      /* order, customer and product ids */
#define EMAIL_MAX_BYTES           254     /* RFC 5321 path limit */
#define ORDER_ITEMS_MAX           1000    /* items in one order */
#define ORDER_QUANTITY_MAX        1000000 /* one item line */
#define INGEST_BATCH_MAX_ROWS     2000    /* rows per write transaction */
#define INGEST_BATCH_MAX_MS       50      /* write-lock hold per transaction */
#define INGEST_FLUSH_MAX_MS       1000    /* parsed rows wait at most this long for a batch */
#define INGEST_YIELD_MS           5       /* pause after a batch cut by INGEST_BATCH_MAX_MS */
#define INGEST_PIPE_BATCHES       2       /* parsed batches in flight per run (reader + store thread) */
#define INGEST_CACHE_KIB          (16 * 1024) /* page cache while an ingest runs */
#define INGEST_ERRORS_INLINE_MAX  100     /* row errors in the response body (K) */
#define INGEST_ERRORS_STORED_MAX  1000000 /* row errors kept for the error link */
#define INGEST_RESULT_RETENTION_MS (48LL * 3600 * 1000) /* runs, errors, summaries */
#define INGEST_QUEUE_MAX_DEFAULT  8       /* ingest requests running or waiting; env
                                             CARTOGRAPH_INGEST_QUEUE_MAX overrides */
#define ZIP_NAME_MAX_BYTES        1024    /* one entry name in a zip archive */
#define MULTIPART_HEADER_MAX_BYTES 8192   /* one part's header block */
#define UPLOAD_EXPIRY_MS          (24LL * 3600 * 1000) /* an unfinished tus upload */
#define UPLOAD_METADATA_MAX_BYTES 4096    /* Upload-Metadata header */

/* Order search (core/filter.c, core/search.c, core/cursor.c). */
#define SEARCH_MAX_ROWS         100000  /* limit= ceiling */
#define SEARCH_DEFAULT_ROWS     1000    /* limit when not given */
#define SEARCH_MAX_PRODUCTS     64      /* product_id values in one query */
#define SEARCH_Q_MIN_CHARS      3       /* trigram FTS: shorter terms cannot use the index */
#define SEARCH_Q_MAX_BYTES      256     /* q= length */
#define SEARCH_FIRST_PAGE_ROWS  256     /* first keyset page: small, for time to first byte */
#define SEARCH_PAGE_ROWS        4096    /* later keyset pages, one read transaction each */
#define SEARCH_PAGE_BYTES       (64 * 1024) /* a page also ends at this much encoded output (= RESP_FLUSH_BYTES) */
#define SEARCH_CURSOR_TTL_S     86400   /* a next_cursor is accepted for this long */
#define SEARCH_CUSTOMER_LOOP_MAX 32     /* q matching <= this many customers: drive by customer index */
#define SEARCH_Q_LOOKUP_MAX     2048    /* q matching <= this many customers (all tenants): pick the tenant's by key */
#define SEARCH_PRODUCT_CACHE_SLOTS 65536 /* items projection: product ids remembered (power of 2; half used) */
#define SEARCH_PRODUCT_CACHE_BYTES (2 * 1024 * 1024) /* ... and their client ids, at most */

/* Processes. */
#define WORKERS_MAX             64
#define WORKER_RESPAWN_MS       100     /* delay before replacing a dead worker */
#define DRAIN_MAX_MS            30000   /* SIGTERM: time in-flight requests get */

/* Stock bulk updates and price events (core/stock.c, price.c, anomaly.c). */
#define PRODUCT_ID_MAX_BYTES    128     /* client product id */
#define EVENT_ID_MAX_BYTES      128     /* client event id (stock and price) */
#define SOURCE_MAX_BYTES        64      /* event "source" label */
#define METADATA_MAX_BYTES      4096    /* event metadata, compact JSON */
#define STOCK_BODY_MAX_BYTES    (64 * 1024 * 1024) /* NDJSON bulk update body */
#define STOCK_JSON_BODY_MAX_BYTES (4 * 1024 * 1024) /* JSON-document body: its parse tree is ~10x */
#define STOCK_LINE_MAX_BYTES    (64 * 1024) /* one NDJSON event line */
#define STOCK_REQUEST_EVENTS_MAX 250000 /* events in one bulk update */
#define STOCK_PRODUCT_EVENTS_MAX 4096   /* events of one product in one request (one transaction) */
#define STOCK_GROUP_EVENTS      4096    /* events per commit group (whole products) */
#define STOCK_GROUP_MAX_MS      25      /* a commit group takes no new product after this long */
#define STOCK_GROUP_YIELD_MS    5       /* write lock left free between commit groups (ungated connections) */
#define STOCK_ERRORS_MAX        100     /* validation errors listed in a 400 */
#define STOCK_LOCK_LEASE_MS     10000   /* advisory product locks of multi-group requests */
#define STOCK_LOCK_WAIT_MAX_MS  12000   /* then 503 stock_locked; > lease, < IDEM_LEASE_MS */
#define PRICE_WINDOW_MAX        100     /* anomaly history window, prices */
#define ANOMALY_PAGE_MAX_ROWS   10000   /* NDJSON anomaly listing, rows per response */
#define SSE_POLL_MS             200     /* follow mode: new-anomaly poll interval */
#define SSE_HEARTBEAT_MS        2000    /* follow mode: comment line when idle; finds gone clients */
#define SSE_LIFETIME_MAX_MS     120000  /* follow mode: the connection ends after this */
#define SSE_FOLLOWERS_MAX_PCT   50      /* of the workers, at most (at least 1 if workers > 1) */

#endif
