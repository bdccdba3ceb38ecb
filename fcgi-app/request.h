/*
 * request.h: one request as the handlers see it (STYLE rules 10-12, 16).
 *
 * struct req is filled by req_begin() from the FastCGI parameters (or, in
 * tests, from an in-memory environment): method, path, query parameters as
 * decoded slices in the per-request arena, the request id, and after routing
 * the authenticated tenant and the path parameters. The body is read through
 * req_read()/req_source(), which enforce the route's body cap, count bytes and
 * (when idempotency needs it) hash every byte as it passes. Nothing here lives
 * past req_end().
 */
#ifndef FCGI_APP_REQUEST_H
#define FCGI_APP_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/crypto.h"
#include "../core/db.h"
#include "../core/error.h"
#include "../core/io.h"
#include "../core/bounds.h"
#include "../core/str.h"
#include "../core/tenant.h"

struct route;
struct idem_claim;

/* Where parameters and body bytes come from: FastCGI or memory (tests). */
struct req_io {
    const char *(*param)(void *ctx, const char *name); /* CGI variable or NULL */
    ssize_t (*read)(void *ctx, void *p, size_t n);     /* body bytes, 0 at end, -1 error */
    /* Total bytes of the HTTP_* request headers (names and values); may be NULL. */
    size_t (*header_bytes)(void *ctx);
    void *ctx;
};

struct query_param {
    struct str name;  /* decoded, in the arena */
    struct str value; /* decoded, in the arena */
};

#define PATH_PARAMS_MAX 4

struct req {
    struct req_io io;
    struct arena *arena;
    struct db *db;
    int64_t t0_ns;

    struct str method;
    struct str path;  /* without the query string, not decoded */
    struct str query; /* raw QUERY_STRING */
    char request_id[REQUEST_ID_MAX_BYTES + 1];

    struct query_param params[QUERY_MAX_PARAMS];
    size_t nparams;

    /* Set by the router. */
    const struct route *route;
    unsigned route_index;
    struct str path_params[PATH_PARAMS_MAX]; /* {name} segments in pattern order */
    struct tenant tenant;                    /* valid when has_tenant */
    bool has_tenant;
    bool is_admin;
    const char *idem_key; /* Idempotency-Key, arena, or NULL */
    /*
     * The claimed reservation while the handler runs (NULL without a key).
     * Long handlers call idem_renew(req->db, req->idem, err) at least every
     * IDEM_LEASE_MS / 2, outside their own write transactions.
     */
    struct idem_claim *idem;
    /*
     * Extra problem+json members (raw JSON, "\"name\":value,...") for a
     * failure answered by the router, e.g. an admit hook's 429 saying the
     * queue length and expected delay (DESIGN §6). Arena or static; NULL: none.
     */
    const char *problem_extra;

    /* Body. */
    int64_t content_length; /* -1 unknown (chunked through Caddy) */
    uint64_t body_max;      /* cap for this route */
    uint64_t bytes_in;
    bool body_eof;
    bool body_too_large;
    struct sha256 *body_hash; /* when set, every body byte read is hashed */
    struct source source;     /* req_source() */
};

/* Fill req from io; the arena must be empty. Parses the query (errors in err). */
int req_begin(struct req *req, const struct req_io *io, struct arena *arena, struct db *db,
              struct error *err);

/* A CGI variable ("REQUEST_METHOD", "HTTP_AUTHORIZATION") or NULL. */
const char *req_env(const struct req *req, const char *name);
/* The first query parameter named name, or NULL. */
const struct query_param *req_param(const struct req *req, const char *name);
/* Path parameter i of the matched pattern. */
struct str req_path_param(const struct req *req, unsigned i);

/*
 * Read up to n body bytes: > 0, 0 at end, -1 on a transport error or when the
 * body passes the route's cap (err: ERR_BODY_TOO_LARGE).
 */
ssize_t req_read(struct req *req, void *p, size_t n, struct error *err);
/* The body as a core source (same semantics as req_read). */
struct source *req_source(struct req *req);
/* Read the whole body (at most max bytes) into out. Empty body → ERR_EMPTY_BODY. */
int req_read_body(struct req *req, size_t max, struct buf *out, struct error *err);
/* Read and discard the rest of the body (bounded by the cap). */
void req_drain(struct req *req);

/*
 * Start an idempotency fingerprint: SHA-256 over method, path and query, each
 * followed by a newline; the caller adds the body bytes and finishes it.
 */
void req_fingerprint_begin(const struct req *req, struct sha256 *h);

/* In-memory io for tests: env is {"NAME", "value", ..., NULL}. */
struct req_mem {
    const char *const *env;
    const char *body;
    size_t body_len, pos;
};
void req_io_mem(struct req_io *io, struct req_mem *m);

#endif
