/*
 * filter.h: the order-search request, parsed and normalized.
 *
 * GET /api/v1/tenants/{t}/orders/search takes its whole input from the query
 * string. filter_parse() turns the (already percent-decoded) name/value pairs
 * into a struct search_filter: typed ranges, a status bit set, sorted and
 * de-duplicated product ids, the text term, the projection as a bit mask over
 * a fixed whitelist of fields, the limit, the sort and the output format.
 * Every problem is a 400 naming the parameter (error.pointer) and the reason;
 * nothing is guessed.
 *
 * Parameters (all optional):
 *   from, to        created_at range, RFC 3339 or YYYY-MM-DD. from is
 *                   inclusive; to is exclusive, except that a bare date means
 *                   "through the end of that day" (to=2025-03-31 includes the 31st).
 *   status          one or several of pending, paid, shipped, delivered,
 *                   cancelled, refunded (comma-separated and/or repeated)
 *   min_total, max_total  inclusive, decimal strings in the major units of
 *                   `currency`, which they therefore require (comparing 10 EUR
 *                   with 10 JPY means nothing; see docs/design.md §10)
 *   currency        ISO 4217 code
 *   product_id      one or several client product ids (orders containing any)
 *   customer_id     one client customer id
 *   q               substring of the customer's name or email, >= 3 characters
 *   fields          projection, comma-separated (FILTER_FIELD_NAMES)
 *   limit           1..SEARCH_MAX_ROWS, default SEARCH_DEFAULT_ROWS
 *   sort            -created_at (default, newest first) or created_at
 *   format          ndjson or json (otherwise chosen by Accept)
 *   cursor          the next_cursor of the previous page
 *
 * The normalized filter set (everything that decides which rows match, plus
 * the sort; not fields, limit, format or cursor) is hashed by
 * filter_fingerprint(); a cursor is bound to that hash, so a client cannot
 * continue a walk with different filters.
 */
#ifndef CORE_FILTER_H
#define CORE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "error.h"
#include "str.h"

/* The projection whitelist; the wire names are in FILTER_FIELD_NAMES. */
enum filter_field {
    FIELD_ORDER_ID,
    FIELD_STATUS,
    FIELD_CURRENCY,
    FIELD_TOTAL,
    FIELD_ITEM_COUNT,
    FIELD_CREATED_AT,
    FIELD_INGESTED_AT,
    FIELD_CUSTOMER_ID,
    FIELD_CUSTOMER_NAME,
    FIELD_CUSTOMER_EMAIL,
    FIELD_ITEMS,
    FIELD__COUNT
};

#define FIELD_BIT(f) (1u << (f))
#define FIELDS_DEFAULT                                                                             \
    (FIELD_BIT(FIELD_ORDER_ID) | FIELD_BIT(FIELD_STATUS) | FIELD_BIT(FIELD_CURRENCY) |             \
     FIELD_BIT(FIELD_TOTAL) | FIELD_BIT(FIELD_ITEM_COUNT) | FIELD_BIT(FIELD_CREATED_AT))
#define FIELDS_CUSTOMER                                                                            \
    (FIELD_BIT(FIELD_CUSTOMER_ID) | FIELD_BIT(FIELD_CUSTOMER_NAME) |                               \
     FIELD_BIT(FIELD_CUSTOMER_EMAIL))
#define FIELDS_ALL ((1u << FIELD__COUNT) - 1)

/* Wire names, indexed by enum filter_field ("order_id", "status", ...). */
extern const char *const FILTER_FIELD_NAMES[FIELD__COUNT];
/* Status names, indexed by the stored integer (0 pending .. 5 refunded). */
#define ORDER_STATUS_COUNT 6
extern const char *const ORDER_STATUS_NAMES[ORDER_STATUS_COUNT];

enum filter_format {
    FORMAT_UNSET = 0, /* not given: the handler decides from Accept */
    FORMAT_NDJSON,
    FORMAT_JSON,
};

struct search_filter {
    int64_t from_s;       /* inclusive; INT64_MIN when open */
    int64_t to_s;         /* exclusive; INT64_MAX when open */
    unsigned status_mask; /* bit per status; 0 = any */
    bool has_min_total, has_max_total;
    int64_t min_total_minor; /* inclusive, in currency's minor units */
    int64_t max_total_minor;
    char currency[4];                         /* "" = any */
    struct str products[SEARCH_MAX_PRODUCTS]; /* sorted, distinct client ids */
    size_t nproducts;
    struct str customer; /* client customer id; len 0 = any */
    struct str q;        /* text term, valid UTF-8, >= SEARCH_Q_MIN_CHARS */
    unsigned fields;     /* FIELD_BIT mask */
    int64_t limit;
    bool ascending;
    enum filter_format format;
    struct str cursor; /* len 0 = first page */
};

struct filter_param {
    struct str name;
    struct str value;
};

/* The accepted query parameter names, NULL-terminated (the route allowlist). */
extern const char *const FILTER_PARAMS[];

/*
 * Parse n decoded parameters into f. Slices in f point into the parameters'
 * bytes, which must outlive f. Returns 0, or -1 with err naming the parameter
 * (ERR_UNKNOWN_PARAM, ERR_INVALID_PARAM, ERR_SEARCH_TERM_TOO_SHORT).
 */
int filter_parse(const struct filter_param *p, size_t n, struct search_filter *f,
                 struct error *err);

/*
 * SHA-256 over the canonical form of the filter set and sort (see the file
 * comment): equal for requests that select the same rows in the same order
 * however they were spelled (status order, repeated vs comma lists, date vs
 * timestamp, product order, ASCII case of q).
 */
void filter_fingerprint(const struct search_filter *f, uint8_t out[32]);

#endif
