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
#define HEADER_MAX_BYTES        8192    /* one header value we look at */
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
#define DB_MMAP_BYTES           (256LL * 1024 * 1024)

/* Processes. */
#define WORKERS_MAX             64
#define WORKER_RESPAWN_MS       100     /* delay before replacing a dead worker */
#define DRAIN_MAX_MS            30000   /* SIGTERM: time in-flight requests get */

#endif
