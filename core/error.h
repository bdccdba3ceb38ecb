/*
 * error.h: the one error convention of core/ (STYLE rule 6).
 *
 * Fallible functions return 0 or -1 and, on -1, fill the caller's struct error
 * where the failure was detected. The code is stable and machine-readable (it
 * becomes the `code` member of the problem+json body); the HTTP status and the
 * title come from the one table below, so the same failure always produces the
 * same response. `detail` is for humans; `pointer` is an RFC 6901 JSON pointer
 * or a parameter name when the failure is about one input field.
 *
 * Adding a code: one line in ERROR_CODES, in the section of its area.
 */
#ifndef CORE_ERROR_H
#define CORE_ERROR_H

#include <stdarg.h>

/*  name                      code string                 status  title */
#define ERROR_CODES(X) \
    /* generic */ \
    X(ERR_NONE,                "ok",                        200, "OK") \
    X(ERR_INTERNAL,            "internal_error",            500, "Internal Server Error") \
    X(ERR_UNAVAILABLE,         "service_unavailable",       503, "Service Unavailable") \
    X(ERR_DB_BUSY,             "database_busy",             503, "Database Busy") \
    X(ERR_BAD_REQUEST,         "bad_request",               400, "Bad Request") \
    X(ERR_NOT_FOUND,           "not_found",                 404, "Not Found") \
    X(ERR_METHOD,              "method_not_allowed",        405, "Method Not Allowed") \
    X(ERR_CONFLICT,            "conflict",                  409, "Conflict") \
    X(ERR_GONE,                "gone",                      410, "Gone") \
    X(ERR_LENGTH_REQUIRED,     "length_required",           411, "Length Required") \
    X(ERR_PRECONDITION,        "precondition_failed",       412, "Precondition Failed") \
    X(ERR_BODY_TOO_LARGE,      "body_too_large",            413, "Content Too Large") \
    X(ERR_URI_TOO_LONG,        "uri_too_long",              414, "URI Too Long") \
    X(ERR_MEDIA_TYPE,          "unsupported_media_type",    415, "Unsupported Media Type") \
    X(ERR_RANGE,               "range_not_satisfiable",     416, "Range Not Satisfiable") \
    X(ERR_UNPROCESSABLE,       "unprocessable",             422, "Unprocessable Content") \
    X(ERR_HEADER_TOO_LARGE,    "header_too_large",          431, "Request Header Fields Too Large") \
    X(ERR_NOT_ACCEPTABLE,      "not_acceptable",            406, "Not Acceptable") \
    /* request parsing */ \
    X(ERR_INVALID_JSON,        "invalid_json",              400, "Bad Request") \
    X(ERR_INVALID_UTF8,        "invalid_utf8",              400, "Bad Request") \
    X(ERR_INVALID_FIELD,       "invalid_field",             400, "Bad Request") \
    X(ERR_MISSING_FIELD,       "missing_field",             400, "Bad Request") \
    X(ERR_UNKNOWN_PARAM,       "unknown_parameter",         400, "Bad Request") \
    X(ERR_INVALID_PARAM,       "invalid_parameter",         400, "Bad Request") \
    X(ERR_EMPTY_BODY,          "empty_body",                400, "Bad Request") \
    X(ERR_QUERY_TOO_LONG,      "query_too_long",            414, "URI Too Long") \
    /* auth and tenancy */ \
    X(ERR_UNAUTHORIZED,        "unauthorized",              401, "Unauthorized") \
    X(ERR_FORBIDDEN,           "forbidden",                 403, "Forbidden") \
    X(ERR_TENANT_NOT_FOUND,    "tenant_not_found",          404, "Not Found") \
    /* idempotency */ \
    X(ERR_IDEM_KEY_INVALID,    "idempotency_key_invalid",   400, "Bad Request") \
    X(ERR_IDEM_KEY_MISSING,    "idempotency_key_missing",   400, "Bad Request") \
    X(ERR_IDEM_IN_PROGRESS,    "idempotency_key_in_use",    409, "Conflict") \
    X(ERR_IDEM_MISMATCH,       "idempotency_key_reused",    422, "Unprocessable Content") \
    /* overload and rate limits */ \
    X(ERR_RATE_LIMITED,        "rate_limited",              429, "Too Many Requests") \
    X(ERR_OVERLOADED,          "overloaded",                429, "Too Many Requests") \
    /* ingest (issue: bulk ingest) */ \
    X(ERR_INVALID_CURRENCY,    "invalid_currency",          400, "Bad Request") \
    X(ERR_INVALID_TIMESTAMP,   "invalid_timestamp",         400, "Bad Request") \
    X(ERR_INVALID_AMOUNT,      "invalid_amount",            400, "Bad Request") \
    X(ERR_INVALID_QUANTITY,    "invalid_quantity",          400, "Bad Request") \
    X(ERR_INVALID_STATUS,      "invalid_status",            400, "Bad Request") \
    X(ERR_FIELD_TOO_LONG,      "field_too_long",            400, "Bad Request") \
    X(ERR_TOO_MANY_ITEMS,      "too_many_items",            400, "Bad Request") \
    X(ERR_TOTAL_MISMATCH,      "total_mismatch",            400, "Bad Request") \
    X(ERR_UNKNOWN_PRODUCT,     "unknown_product",           400, "Bad Request") \
    X(ERR_DUPLICATE_IN_REQUEST, "duplicate_in_request",     400, "Bad Request") \
    X(ERR_LINE_TOO_LONG,       "line_too_long",             400, "Bad Request") \
    X(ERR_CORRUPT_BODY,        "corrupt_body",              400, "Bad Request") \
    X(ERR_CHECKSUM_MISMATCH,   "checksum_mismatch",         460, "Checksum Mismatch") \
    X(ERR_UPLOAD_OFFSET,       "upload_offset_mismatch",    409, "Conflict") \
    X(ERR_UPLOAD_LOCKED,       "upload_in_use",             409, "Conflict") \
    /* search (issue: streaming search) */ \
    X(ERR_INVALID_CURSOR,      "invalid_cursor",            400, "Bad Request") \
    X(ERR_SEARCH_TERM_TOO_SHORT, "search_term_too_short",   400, "Bad Request") \
    /* stock and price (issue: transactional writes) */ \
    X(ERR_PRODUCT_NOT_FOUND,   "product_not_found",         404, "Not Found") \
    X(ERR_CURRENCY_MISMATCH,   "currency_mismatch",         422, "Unprocessable Content") \
    X(ERR_EVENT_ID_CONFLICT,   "event_id_conflict",         409, "Conflict") \
    X(ERR_INVALID_EVENTS,      "invalid_events",            400, "Bad Request") \
    X(ERR_TOO_MANY_EVENTS,     "too_many_events",           413, "Content Too Large") \
    X(ERR_STOCK_LOCKED,        "stock_locked",              503, "Service Unavailable") \
    X(ERR_ANOMALY_NOT_FOUND,   "anomaly_not_found",         404, "Not Found") \
    X(ERR_ALREADY_REVIEWED,    "already_reviewed",          409, "Conflict") \
    X(ERR_FOLLOWERS_FULL,      "too_many_followers",        503, "Service Unavailable") \
    /* end */

enum error_code {
#define ERROR_ENUM(name, code, status, title) name,
    ERROR_CODES(ERROR_ENUM)
#undef ERROR_ENUM
        ERR__COUNT
};

#define ERROR_DETAIL_MAX  512
#define ERROR_POINTER_MAX 128

struct error {
    enum error_code code;
    char detail[ERROR_DETAIL_MAX];
    char pointer[ERROR_POINTER_MAX]; /* "" when not about one field */
    int retry_after_s;               /* > 0: send Retry-After */
};

/* Clear to ERR_NONE. */
void error_clear(struct error *e);
/* Set code and printf-style detail; returns -1 so callers can `return error_set(...)`. */
int error_set(struct error *e, enum error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int error_vset(struct error *e, enum error_code code, const char *fmt, va_list ap);
/* Same, naming the field or parameter the failure is about. */
int error_set_at(struct error *e, enum error_code code, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

const char *error_code_str(enum error_code code);
int error_status(enum error_code code);
const char *error_title(enum error_code code);
/* Reason phrase for an HTTP status ("Not Found"); "Unknown" if not listed. */
const char *http_reason(int status);

#endif
