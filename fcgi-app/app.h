/*
 * app.h: process-wide configuration, fixed before the workers fork.
 *
 * The master fills `app` from the command line and environment, loads or
 * creates the secrets under VAR_DIR/secret (mode 0600), and forks; workers
 * only read it. Nothing here holds a database connection.
 */
#ifndef FCGI_APP_APP_H
#define FCGI_APP_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/crypto.h"

#define APP_VERSION "0.1.0"

struct app {
    char var_dir[512];
    char db_path[600];
    char log_path[600];
    unsigned workers;
    unsigned max_rss_mb;          /* a worker above this exits after its request */
    uint8_t admin_hash[SHA256_LEN]; /* SHA-256 of the admin key */
    uint8_t hmac_key[32];         /* cursor and token signing */
    int64_t started_ms;         /* master start */
    int64_t worker_started_ms;  /* this worker's start */
    unsigned slot;                /* this worker's scoreboard slot */
    bool debug_routes;            /* CARTOGRAPH_DEBUG_ROUTES=1: /api/v1/_debug/ probes */
};

extern struct app app;

/*
 * Fill app from var_dir and the environment: CARTOGRAPH_ADMIN_KEY, else
 * VAR/secret/admin.key (created once, 0600); VAR/secret/hmac.key likewise.
 * With print_new_admin, a newly created admin key is printed to stdout once.
 */
int app_init(const char *var_dir, unsigned workers, bool print_new_admin);

#endif
