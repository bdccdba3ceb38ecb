/*
 * router.h: the route table's shape and the dispatcher (STYLE rules 14-15).
 *
 * Every endpoint is one row of ROUTES in routes.c. router_dispatch() finds
 * the row and enforces its flags before the handler runs, always in this
 * order: method (405 + Allow), authentication (401), tenant binding (404 for
 * another tenant's path), rate limit hook, idempotency, body size (413),
 * query parameter allowlist (400 naming the unknown ones). A handler only
 * ever sees requests that passed all of them.
 */
#ifndef FCGI_APP_ROUTER_H
#define FCGI_APP_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"
#include "response.h"

enum route_flags {
    ROUTE_AUTH = 1 << 0,        /* a tenant key or the admin key */
    ROUTE_ADMIN = 1 << 1,       /* the admin key only */
    ROUTE_TENANT = 1 << 2,      /* path param 0 is a tenant id bound to the key */
    ROUTE_IDEMPOTENT = 1 << 3,  /* honours Idempotency-Key */
    ROUTE_STREAM_BODY = 1 << 4, /* the handler reads the body itself, as it arrives */
    ROUTE_WRITE = 1 << 5,       /* changes data */
    ROUTE_IDEM_REQUIRED = 1 << 6, /* Idempotency-Key is mandatory (400 without) */
};

/* 0: the handler answered (status in resp); -1: err describes the failure. */
typedef int (*route_handler)(struct req *req, struct resp *resp, struct error *err);

struct route {
    const char *method;   /* "GET", "POST", ... */
    const char *pattern;  /* "/api/v1/tenants/{tenant}/keys/{key}" */
    route_handler handler;
    unsigned flags;
    uint64_t body_max;    /* bytes; 0 = JSON_BODY_MAX_BYTES */
    const char *const *params; /* allowed query parameters, NULL-terminated; NULL = none */
    const char *name;     /* metrics and log label */
    /* Optional admission hook run after auth (rate limits, backpressure). */
    int (*admit)(struct req *req, struct resp *resp, struct error *err);
};

extern const struct route ROUTES[];
extern const size_t ROUTES_COUNT;
/* Names and methods by route index, for the metrics exposition. */
extern const char *const *ROUTE_NAMES;
extern const char *const *ROUTE_METHODS;
void routes_init(void);

/*
 * Route and run one request. Always leaves a complete answer in resp (a
 * problem+json on any failure). Returns the route index used for metrics
 * (ROUTES_COUNT for "no route").
 */
unsigned router_dispatch(struct req *req, struct resp *resp);

/* Append an extra problem member for handlers: "\"name\":value". */

#endif
