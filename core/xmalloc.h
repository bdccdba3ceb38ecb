/*
 * xmalloc.h: allocation that cannot fail.
 *
 * Out of memory is not a condition a request can recover from: the wrappers
 * print one line and abort(), the master replaces the worker, and no call site
 * carries an untested NULL branch (STYLE rule 9, as redis zmalloc).
 */
#ifndef CORE_XMALLOC_H
#define CORE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* Copy of the n bytes at s, NUL-terminated. */
char *xstrndup(const char *s, size_t n);
char *xstrdup(const char *s);

#endif
