/*
 * app.c: process-wide configuration and the installation's secrets (app.h).
 *
 * Secrets live in VAR/secret (mode 0700): admin.key (unless
 * CARTOGRAPH_ADMIN_KEY is set) and hmac.key (32 random bytes for cursor and
 * token signatures). Each is created once with O_EXCL, so processes starting
 * together agree on one value; only its SHA-256 (admin) or bytes (hmac) are
 * kept in memory.
 */
#include "app.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/tenant.h"
#include "../core/timefmt.h"

struct app app;

static int mkdir_p(const char *dir)
{
    char tmp[1024];
    if (strlen(dir) >= sizeof(tmp))
        return -1;
    memcpy(tmp, dir, strlen(dir) + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

/*
 * Read the secret file, or create it with n fresh bytes from gen() if absent.
 * O_EXCL makes concurrent first starts agree on one secret. Returns 1 when it
 * was created, 0 when read, -1 on error.
 */
static int secret_file(const char *path, char *buf, size_t n, void (*gen)(char *, size_t))
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        gen(buf, n);
        ssize_t w = write(fd, buf, n);
        fsync(fd);
        close(fd);
        return w == (ssize_t)n ? 1 : -1;
    }
    if (errno != EEXIST)
        return -1;
    for (int tries = 0; tries < 50; tries++) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        ssize_t r = read(fd, buf, n);
        close(fd);
        if (r == (ssize_t)n)
            return 0;
        usleep(10000); /* another process is writing it right now */
    }
    return -1;
}

/* "cga_" + 43 base64url characters: admin keys read differently from tenant keys. */
#define ADMIN_KEY_LEN (API_KEY_LEN + 1)

static void gen_admin_key(char *buf, size_t n)
{
    char key[API_KEY_LEN + 1], admin[ADMIN_KEY_LEN + 1];
    api_key_generate(key);
    snprintf(admin, sizeof(admin), "cga_%s", key + 3);
    memcpy(buf, admin, n < ADMIN_KEY_LEN ? n : ADMIN_KEY_LEN);
}

static void gen_raw(char *buf, size_t n)
{
    random_bytes(buf, n);
}

int app_init(const char *var_dir, unsigned workers, bool print_new_admin)
{
    char path[700], dir[700];
    memset(&app, 0, sizeof(app));
    snprintf(app.var_dir, sizeof(app.var_dir), "%s", var_dir);
    snprintf(app.db_path, sizeof(app.db_path), "%s/cartograph.db", var_dir);
    snprintf(app.log_path, sizeof(app.log_path), "%s/log/cartograph.log", var_dir);
    app.workers = workers;
    app.max_rss_mb = 1024;
    app.started_ms = time_now_ms();
    const char *subdirs[] = {"log", "run", "secret", "tmp"};
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        snprintf(dir, sizeof(dir), "%s/%s", var_dir, subdirs[i]);
        if (mkdir_p(dir)) {
            fprintf(stderr, "cartograph: cannot create %s: %s\n", dir, strerror(errno));
            return -1;
        }
    }
    snprintf(dir, sizeof(dir), "%s/secret", var_dir);
    chmod(dir, 0700);

    const char *dbg = getenv("CARTOGRAPH_DEBUG_ROUTES");
    app.debug_routes = dbg && strcmp(dbg, "1") == 0;
    const char *env_key = getenv("CARTOGRAPH_ADMIN_KEY");
    if (env_key && *env_key) {
        sha256(env_key, strlen(env_key), app.admin_hash);
    } else {
        char key[ADMIN_KEY_LEN];
        snprintf(path, sizeof(path), "%s/secret/admin.key", var_dir);
        int rc = secret_file(path, key, sizeof(key), gen_admin_key);
        if (rc < 0) {
            fprintf(stderr, "cartograph: cannot read or create %s\n", path);
            return -1;
        }
        if (rc == 1 && print_new_admin)
            printf("admin key (saved in %s, shown once): %.*s\n", path, (int)sizeof(key), key);
        sha256(key, sizeof(key), app.admin_hash);
    }
    snprintf(path, sizeof(path), "%s/secret/hmac.key", var_dir);
    if (secret_file(path, (char *)app.hmac_key, sizeof(app.hmac_key), gen_raw) < 0) {
        fprintf(stderr, "cartograph: cannot read or create %s\n", path);
        return -1;
    }
    return 0;
}

