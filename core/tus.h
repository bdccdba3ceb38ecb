/*
 * tus.h: resumable order uploads, tus 1.0 (REFERENCES §2) over ingest runs.
 *
 * An upload is an ingest run of kind INGEST_UPLOAD (ingest_runs row; its
 * token is the opaque upload id in the URL, bound to the tenant) plus the
 * file VAR/uploads/<token>.part holding the bytes received so far. Offsets:
 *   upload_offset  bytes durably stored (fdatasync before the row says so);
 *                  the tus offset. A crash between write and update leaves a
 *                  longer file, cut back to upload_offset on the next append.
 *   parsed_offset  bytes whose complete lines are committed as rows (moved in
 *                  the same transaction as each batch, by ingest.c).
 * An append (PATCH) checks Upload-Offset == upload_offset (else 409, nothing
 * applied, so a re-sent chunk is never applied twice), takes an flock on the
 * file (one append per upload at a time; the kernel drops it when a worker
 * dies), writes the body to the file and, without a checksum, feeds the same
 * bytes to the line parser as they arrive (stream-insert; a line split across
 * appends waits in the file between parsed_offset and upload_offset). With
 * Upload-Checksum the chunk is verified first (sha1 or sha256; mismatch:
 * 460, the chunk is cut off again) and parsed after. Gzip or zip uploads
 * (sniffed from the first bytes) are stored and decoded once complete.
 * When upload_offset reaches Upload-Length the last line is parsed, the run
 * completes, and the file is deleted; the summary stays at the upload URL.
 */
#ifndef CORE_TUS_H
#define CORE_TUS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "ingest.h"
#include "io.h"

#define TUS_VERSION "1.0.0"
#define TUS_EXTENSIONS "creation,creation-with-upload,creation-defer-length,expiration,checksum,termination"
#define TUS_CHECKSUMS "sha1,sha256"

struct tus_upload {
    struct db *db;
    struct ingest *ing;
    int64_t tenant_id;
    int64_t id;
    char token[INGEST_TOKEN_LEN + 1];
    int64_t length;        /* -1 while deferred */
    uint64_t offset;       /* durably stored bytes */
    enum ingest_state state;
    int64_t expires_at_ms;
    char metadata[4097];
    char path[700];
};

enum tus_checksum_alg { TUS_CK_NONE, TUS_CK_SHA1, TUS_CK_SHA256 };
struct tus_checksum {
    enum tus_checksum_alg alg;
    uint8_t digest[32];
    size_t len;
};

/* Parse "sha1 <base64>" / "sha256 <base64>"; unknown algorithm: 400. */
int tus_checksum_parse(const char *header, struct tus_checksum *ck, struct error *err);

/*
 * Create an upload of length bytes (-1: deferred) for the tenant under
 * var_dir/uploads. metadata is the raw Upload-Metadata header or NULL.
 */
int tus_create(struct db *db, const char *var_dir, int64_t tenant_id, int64_t length,
               const char *metadata, struct tus_upload **out, struct error *err);
/*
 * Open the tenant's upload by token: ERR_NOT_FOUND (unknown, another
 * tenant's, or purged), ERR_GONE (expired or terminated, not yet purged).
 */
int tus_open(struct db *db, const char *var_dir, int64_t tenant_id, const char *token,
             size_t token_len, struct tus_upload **out, struct error *err);
void tus_close(struct tus_upload *u);

/* Set a deferred length once (Upload-Length on a later PATCH). */
int tus_set_length(struct tus_upload *u, int64_t length, struct error *err);

/*
 * Append body at client_offset (see above). ck may be NULL. hooks run between
 * ingest batches. On return u->offset is the new durable offset (also after a
 * broken body without checksum: as much as arrived is kept).
 */
int tus_append(struct tus_upload *u, uint64_t client_offset, struct source *body,
               const struct tus_checksum *ck, const struct ingest_hooks *hooks,
               struct error *err);

/*
 * An upload whose bytes are all stored but whose run did not complete (the
 * worker died between storing the last chunk and parsing it): parse the rest
 * and complete it now. No-op otherwise. Called on HEAD/GET.
 */
int tus_finish_if_due(struct tus_upload *u, struct error *err);

/* Termination: delete the file, mark the run terminated (later requests: 404/410). */
int tus_terminate(struct tus_upload *u, struct error *err);

/* Summary JSON of the upload's run (as ingest_summary_json, plus upload_token, offset). */
int tus_summary_json(struct tus_upload *u, struct buf *out, struct error *err);

/* Expired uploads: delete their files and mark them failed; then ingest_purge. */
int tus_purge(struct db *db, const char *var_dir, int64_t now_ms, struct error *err);

#endif
