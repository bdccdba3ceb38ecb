/*
 * zipread.h: read a zip archive front to back as it streams in.
 *
 * A zip's authoritative index (the central directory) is at its end, which a
 * streaming reader never has in time; the local file headers in front of each
 * entry carry enough to decode it: method 0 (stored, size in the header) or 8
 * (deflate, which ends itself; sizes and CRC may follow in a data descriptor,
 * general flag bit 3, as streaming zip writers produce). Every entry's CRC-32
 * is checked. Directories and __MACOSX/ resource forks are skipped; reading
 * stops at the first central-directory record. Not supported (ERR_CORRUPT_BODY
 * with a reason): encryption, other methods, stored entries with a data
 * descriptor (their end cannot be found without the central directory).
 * Memory: one 64 KiB window and a 32 KiB inflate window.
 */
#ifndef CORE_ZIPREAD_H
#define CORE_ZIPREAD_H

#include <stdint.h>

#include "bounds.h"
#include "error.h"
#include "io.h"

struct zipread;

struct zip_entry {
    int index;                          /* 1-based among returned entries */
    char name[ZIP_NAME_MAX_BYTES + 1];
    struct source *body;                /* decoded bytes; valid until the next zipread_next() */
};

int zipread_open(struct source *in, struct zipread **out, struct error *err);
/* 1 and *e for the next file entry, 0 at the central directory, -1 with err. */
int zipread_next(struct zipread *z, struct zip_entry *e, struct error *err);
void zipread_free(struct zipread *z);

#endif
