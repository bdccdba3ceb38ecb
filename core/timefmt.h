/*
 * timefmt.h: wall-clock and monotonic time, RFC 3339 in and out.
 *
 * Storage keeps time as integer seconds since the Unix epoch, UTC (DESIGN §5);
 * the wire speaks RFC 3339. Parsing accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS"
 * with optional fraction (truncated to seconds; the _ms variant keeps
 * milliseconds) and "Z" or "+HH:MM" offsets, years 1970-9999. Anything else is
 * rejected rather than guessed.
 */
#ifndef CORE_TIMEFMT_H
#define CORE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t time_now_ms(void);
/* Monotonic nanoseconds, for durations. */
int64_t time_mono_ns(void);

/* Days since the epoch of a proleptic Gregorian date. */
int64_t days_from_civil(int y, unsigned m, unsigned d);

/* Parse RFC 3339 (or a bare date, taken as 00:00:00Z) into epoch seconds. */
int rfc3339_parse(const char *s, size_t n, int64_t *out_s);
/* Same, keeping milliseconds. */
int rfc3339_parse_ms(const char *s, size_t n, int64_t *out_ms);
/* Append "YYYY-MM-DDTHH:MM:SSZ". */
void rfc3339_append(struct buf *b, int64_t epoch_s);
/* Append "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void rfc3339_append_ms(struct buf *b, int64_t epoch_ms);
/* Write "YYYY-MM-DDTHH:MM:SSZ" into out[21]. */
void rfc3339_format(int64_t epoch_s, char out[21]);
/* Month index of a timestamp: year*100+month (202503), for partition routing. */
int time_month_of(int64_t epoch_s);
/* First second of the month yyyymm, and of the month after it. */
int64_t time_month_start(int yyyymm);
int time_month_next(int yyyymm);

#endif
