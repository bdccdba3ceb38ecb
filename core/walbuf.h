/*
 * walbuf.h: the VFS every connection of db.c opens its database through. It
 * differs from SQLite's default only in how WAL frames reach the file: the
 * appends of a transaction are gathered and written with one pwrite(2), at
 * the latest when the transaction publishes them (walbuf.c has the rules).
 */
#ifndef CORE_WALBUF_H
#define CORE_WALBUF_H

#include <sqlite3.h>

/* Register the VFS (once per process) and return its name; NULL if SQLite refused it. */
const char *walbuf_vfs_name(void);

#endif
