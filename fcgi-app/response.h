/*
 * response.h: building and sending a response, whole or streamed.
 *
 * A handler sets the status and headers, then either fills resp->body and
 * returns (the worker sends it with a Content-Length), or calls
 * resp_stream_begin() and writes through resp_sink(): bytes collect in the
 * body buffer and are handed to FastCGI every RESP_FLUSH_BYTES, so memory is
 * one buffer whatever the response size. Once headers are out the status can
 * no longer change: a failure becomes an error record in the stream.
 *
 * A write that fails (client gone) is sticky: resp->sink.err is set and the
 * handler's loop must stop producing rows.
 */
#ifndef FCGI_APP_RESPONSE_H
#define FCGI_APP_RESPONSE_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/error.h"
#include "../core/io.h"

struct req;

struct resp_io {
    int (*write)(void *ctx, const void *p, size_t n); /* 0 or -1 */
    int (*flush)(void *ctx);                          /* 0 or -1 */
    void *ctx;
};

struct resp {
    struct resp_io io;
    int status;
    struct buf headers; /* "Name: value\r\n" lines */
    struct buf body;
    bool headers_sent;
    bool streaming;
    bool finished;
    uint64_t bytes_out;
    struct sink sink;   /* streaming writes */
    const char *error_code; /* code of the problem sent, for the log */
};

void resp_init(struct resp *r);
void resp_fini(struct resp *r);
/* Prepare for a request on io: empties headers and body, keeps capacity. */
void resp_begin(struct resp *r, const struct resp_io *io);

void resp_status(struct resp *r, int status);
void resp_header(struct resp *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True if a header of that name (case-insensitive) was set. */
bool resp_has_header(const struct resp *r, const char *name);

/* Set status and Content-Type application/json; the caller fills r->body. */
void resp_json(struct resp *r, int status);
/*
 * Replace whatever was prepared with an RFC 9457 problem+json built from err
 * (type, title, status, detail, code, request_id, instance, pointer when set,
 * Retry-After when set). `extra`, when not NULL, is raw JSON members appended
 * to the object (e.g. "\"queue_length\":3"). If headers were already sent it
 * writes an NDJSON error record into the stream instead.
 */
void resp_problem(struct resp *r, const struct req *req, const struct error *err,
                  const char *extra);

/* Send status and headers now; body bytes follow through resp_sink(). */
int resp_stream_begin(struct resp *r);
struct sink *resp_sink(struct resp *r);
/* Send what is buffered; -1 once the client is gone. */
int resp_flush(struct resp *r);
/* Finish: send headers and body if not streamed, flush the rest. */
int resp_finish(struct resp *r);

/* In-memory io for tests: everything written is appended to out. */
void resp_io_mem(struct resp_io *io, struct buf *out);

#endif
