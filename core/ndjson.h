/*
 * ndjson.h: split a byte source into lines, as the bytes arrive.
 *
 * One window buffer (64 KiB to start, grown to at most max_line + 64 KiB)
 * holds the unconsumed tail of the input; a returned line is a slice into it,
 * valid until the next call. Lines end at '\n' (a preceding '\r' is
 * dropped); blank lines are skipped but counted, so line numbers are the
 * physical ones an editor shows. A line longer than max_line is skipped as it
 * streams by (never buffered whole) and reported once with too_long.
 *
 * Offsets: `offset` is the number of source bytes consumed through the end
 * of the last returned line, so a checkpoint "offset + line number" lets a
 * resumable upload restart exactly after a committed line. With
 * final_line_needs_newline, a last line without '\n' is left unconsumed (a
 * tus chunk may end mid-line; the next chunk completes it).
 */
#ifndef CORE_NDJSON_H
#define CORE_NDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "str.h"

struct ndjson {
    struct source *src;
    char *buf;
    size_t cap, start, end, scan;
    size_t max_line;
    bool eof;
    bool skipping;                  /* inside an over-long line */
    bool final_line_needs_newline;
    uint64_t line_no;               /* physical number of the last returned line */
    uint64_t offset;                /* source bytes through the end of that line */
};

/* Read lines from src. line_no and offset start at base_line / base_offset. */
void ndjson_init(struct ndjson *r, struct source *src, size_t max_line, uint64_t base_offset,
                 uint64_t base_line, bool final_line_needs_newline);
void ndjson_fini(struct ndjson *r);
/*
 * The next non-blank line: 1 with *line (and *too_long set when the line was
 * over max_line; *line is then empty), 0 at the end of input, -1 when the
 * source failed (src->error says why).
 */
int ndjson_next(struct ndjson *r, struct str *line, bool *too_long);

#endif
