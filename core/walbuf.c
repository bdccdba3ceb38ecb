/*
 * walbuf.c: a VFS shim that writes a transaction's WAL frames in one
 * system call (see walbuf.h).
 *
 * SQLite appends a frame as two writes, its 24-byte header and its page, so a
 * price event's commit of ~10 pages was 21 pwrite(2) calls, 44 µs of kernel
 * time per event measured by perf, spent inside the write gate. The shim
 * gathers appends to a WAL file in a buffer and writes the run with one
 * pwrite when anything could look at the file.
 *
 * When the buffer must reach the file (the invariant: no process, this one
 * included, can learn of a frame before its bytes are in the file):
 *   - the WAL file: any read, size, truncate, sync, file control or close,
 *     and a write that does not continue the buffered run or would overflow
 *     WALBUF_BYTES;
 *   - the database file the WAL belongs to: xShmBarrier and xShmLock.
 *     SQLite publishes new frames by writing the wal-index header twice
 *     around a barrier (readers accept the header only when both copies
 *     agree), and releases the write lock with xShmLock, so every commit
 *     passes through both after its last frame and before any reader or
 *     checkpointer of another process can see the frames.
 * A crash with bytes still buffered loses frames that no header yet points
 * to: the same state as a crash in the middle of SQLite's own writes.
 *
 * The WAL file finds its database file through sqlite3_database_file_object()
 * (both opened through this VFS). Every other file and method passes through
 * to the default VFS unchanged.
 */
#include "walbuf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"

/* The unix VFS writes at most 0x1ffff bytes per call and reports SQLITE_FULL past that. */
_Static_assert(WALBUF_BYTES < 0x1ffff, "WALBUF_BYTES above the unix VFS's write limit");

struct wb_file {
    sqlite3_file base;       /* methods: ours */
    sqlite3_file *real;      /* the underlying file, stored after this struct */
    struct wb_file *wal;     /* database file: its open WAL (for barriers) */
    struct wb_file *db;      /* WAL file: its database file */
    unsigned char *buf;      /* WAL file: buffered bytes for [off, off + len) */
    size_t len;
    sqlite3_int64 off;
};

static sqlite3_vfs wb_vfs;
static sqlite3_vfs *wb_real_vfs;
static sqlite3_io_methods wb_io;

static int flush(struct wb_file *f)
{
    if (!f || !f->len)
        return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
    f->len = 0;
    return rc;
}

static int wb_close(sqlite3_file *pf)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc = flush(f);
    if (f->db)
        f->db->wal = NULL;
    if (f->wal)
        f->wal->db = NULL;
    int rc2 = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *pf, void *p, int n, sqlite3_int64 off)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, p, n, off);
}

static int wb_write(sqlite3_file *pf, const void *p, int n, sqlite3_int64 off)
{
    struct wb_file *f = (struct wb_file *)pf;
    if (!f->buf)
        return f->real->pMethods->xWrite(f->real, p, n, off);
    if (f->len && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)n > WALBUF_BYTES)) {
        int rc = flush(f);
        if (rc != SQLITE_OK)
            return rc;
    }
    if ((size_t)n > WALBUF_BYTES)
        return f->real->pMethods->xWrite(f->real, p, n, off);
    if (!f->len)
        f->off = off;
    memcpy(f->buf + f->len, p, (size_t)n);
    f->len += (size_t)n;
    return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *pf, int flags)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc = flush(f);
    if (rc == SQLITE_OK)
        rc = flush(f->wal);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wb_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wb_lock(sqlite3_file *pf, int level)
{
    struct wb_file *f = (struct wb_file *)pf;
    return f->real->pMethods->xLock(f->real, level);
}

static int wb_unlock(sqlite3_file *pf, int level)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc = flush(f->wal);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xUnlock(f->real, level);
}

static int wb_check_reserved(sqlite3_file *pf, int *out)
{
    struct wb_file *f = (struct wb_file *)pf;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wb_file_control(sqlite3_file *pf, int op, void *arg)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wb_sector_size(sqlite3_file *pf)
{
    struct wb_file *f = (struct wb_file *)pf;
    return f->real->pMethods->xSectorSize(f->real);
}

static int wb_device_characteristics(sqlite3_file *pf)
{
    struct wb_file *f = (struct wb_file *)pf;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int wb_shm_map(sqlite3_file *pf, int pg, int pgsz, int extend, void volatile **pp)
{
    struct wb_file *f = (struct wb_file *)pf;
    return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int wb_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc = flush(f->wal);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *pf)
{
    struct wb_file *f = (struct wb_file *)pf;
    /*
     * A failed write cannot be reported from here; it is reported by the
     * next call that flushes (there is none to flush then) or by SQLite's own
     * read of the frames. Write errors on the WAL are I/O errors either way.
     */
    (void)flush(f->wal);
    f->real->pMethods->xShmBarrier(f->real);
}

static int wb_shm_unmap(sqlite3_file *pf, int delete_flag)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc = flush(f->wal);
    int rc2 = f->real->pMethods->xShmUnmap(f->real, delete_flag);
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_fetch(sqlite3_file *pf, sqlite3_int64 off, int n, void **pp)
{
    struct wb_file *f = (struct wb_file *)pf;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFetch(f->real, off, n, pp);
}

static int wb_unfetch(sqlite3_file *pf, sqlite3_int64 off, void *p)
{
    struct wb_file *f = (struct wb_file *)pf;
    return f->real->pMethods->xUnfetch(f->real, off, p);
}

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *pf, int flags,
                   int *out_flags)
{
    (void)vfs;
    struct wb_file *f = (struct wb_file *)pf;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    int rc = wb_real_vfs->xOpen(wb_real_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK || !f->real->pMethods) {
        f->base.pMethods = NULL; /* SQLite then does not call xClose */
        return rc;
    }
    if ((flags & SQLITE_OPEN_WAL) && name && f->real->pMethods->iVersion >= 2) {
        struct wb_file *db = (struct wb_file *)sqlite3_database_file_object(name);
        if (db && db->base.pMethods == &wb_io && (f->buf = malloc(WALBUF_BYTES))) {
            f->db = db;
            db->wal = f;
        }
    }
    f->base.pMethods = &wb_io;
    return SQLITE_OK;
}

/* The VFS methods other than xOpen go straight to the default VFS. */
static int wb_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    (void)v;
    return wb_real_vfs->xDelete(wb_real_vfs, name, sync_dir);
}

static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return wb_real_vfs->xAccess(wb_real_vfs, name, flags, out);
}

static int wb_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return wb_real_vfs->xFullPathname(wb_real_vfs, name, n, out);
}

static void *wb_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return wb_real_vfs->xDlOpen(wb_real_vfs, name);
}

static void wb_dlerror(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    wb_real_vfs->xDlError(wb_real_vfs, n, msg);
}

static void (*wb_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return wb_real_vfs->xDlSym(wb_real_vfs, h, sym);
}

static void wb_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    wb_real_vfs->xDlClose(wb_real_vfs, h);
}

static int wb_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return wb_real_vfs->xRandomness(wb_real_vfs, n, out);
}

static int wb_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return wb_real_vfs->xSleep(wb_real_vfs, us);
}

static int wb_current_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return wb_real_vfs->xCurrentTime(wb_real_vfs, out);
}

static int wb_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return wb_real_vfs->xGetLastError(wb_real_vfs, n, out);
}

static int wb_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return wb_real_vfs->xCurrentTimeInt64(wb_real_vfs, out);
}

static int registered = SQLITE_ERROR;

static void wb_register_once(void)
{
    wb_real_vfs = sqlite3_vfs_find(NULL);
    /* The shim forwards version-3 file methods (shared memory, fetch): the unix VFS. */
    if (!wb_real_vfs || wb_real_vfs->iVersion < 2 || strncmp(wb_real_vfs->zName, "unix", 4) != 0)
        return;
    wb_io = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = wb_close,
        .xRead = wb_read,
        .xWrite = wb_write,
        .xTruncate = wb_truncate,
        .xSync = wb_sync,
        .xFileSize = wb_file_size,
        .xLock = wb_lock,
        .xUnlock = wb_unlock,
        .xCheckReservedLock = wb_check_reserved,
        .xFileControl = wb_file_control,
        .xSectorSize = wb_sector_size,
        .xDeviceCharacteristics = wb_device_characteristics,
        .xShmMap = wb_shm_map,
        .xShmLock = wb_shm_lock,
        .xShmBarrier = wb_shm_barrier,
        .xShmUnmap = wb_shm_unmap,
        .xFetch = wb_fetch,
        .xUnfetch = wb_unfetch,
    };
    wb_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(struct wb_file) + wb_real_vfs->szOsFile,
        .mxPathname = wb_real_vfs->mxPathname,
        .zName = "cartograph-walbuf",
        .xOpen = wb_open,
        .xDelete = wb_delete,
        .xAccess = wb_access,
        .xFullPathname = wb_full_pathname,
        .xDlOpen = wb_dlopen,
        .xDlError = wb_dlerror,
        .xDlSym = wb_dlsym,
        .xDlClose = wb_dlclose,
        .xRandomness = wb_randomness,
        .xSleep = wb_sleep,
        .xCurrentTime = wb_current_time,
        .xGetLastError = wb_last_error,
        .xCurrentTimeInt64 = wb_current_time64,
    };
    registered = sqlite3_vfs_register(&wb_vfs, 0);
}

const char *walbuf_vfs_name(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, wb_register_once);
    return registered == SQLITE_OK ? wb_vfs.zName : NULL;
}
