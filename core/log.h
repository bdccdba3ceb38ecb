/*
 * log.h: JSON lines to one append-only file shared by all processes.
 *
 * Each line is built in memory and written with a single write(2) on an
 * O_APPEND descriptor, so lines from different workers never interleave.
 * Without log_open() lines go to stderr.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include "buf.h"

/* Open (create) the log file for appending; -1 on failure. */
int log_open(const char *path);
/* Start a line: {"time":"...","level":"<level>","pid":N  (caller appends ,"k":v pairs). */
void log_begin(struct buf *line, const char *level);
/* Close the object and write the line. */
void log_end(struct buf *line);
/* One-shot message line: {"time","level","pid","msg"}. */
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
