/*
 * error.c: the error code table and its setters (see error.h).
 */
#include "error.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *code;
    int status;
    const char *title;
} error_table[ERR__COUNT] = {
#define ERROR_ROW(name, code, status, title) [name] = {code, status, title},
    ERROR_CODES(ERROR_ROW)
#undef ERROR_ROW
};

void error_clear(struct error *e)
{
    e->code = ERR_NONE;
    e->detail[0] = '\0';
    e->pointer[0] = '\0';
    e->retry_after_s = 0;
}

int error_vset(struct error *e, enum error_code code, const char *fmt, va_list ap)
{
    if (!e)
        return -1;
    e->code = code;
    e->pointer[0] = '\0';
    e->retry_after_s = 0;
    if (fmt)
        vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    else
        e->detail[0] = '\0';
    return -1;
}

int error_set(struct error *e, enum error_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(e, code, fmt, ap);
    va_end(ap);
    return -1;
}

int error_set_at(struct error *e, enum error_code code, const char *pointer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(e, code, fmt, ap);
    va_end(ap);
    if (e && pointer)
        snprintf(e->pointer, sizeof(e->pointer), "%s", pointer);
    return -1;
}

const char *error_code_str(enum error_code code)
{
    return (unsigned)code < ERR__COUNT ? error_table[code].code : "internal_error";
}

int error_status(enum error_code code)
{
    return (unsigned)code < ERR__COUNT ? error_table[code].status : 500;
}

const char *error_title(enum error_code code)
{
    return (unsigned)code < ERR__COUNT ? error_table[code].title : "Internal Server Error";
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 460: return "Checksum Mismatch";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}
