/*
 * main.c: the cartograph program: the prefork master and the admin commands.
 *
 *   cartograph serve   --var DIR [--workers N] [--max-rss-mb M]
 *   cartograph migrate --var DIR
 *   cartograph init    --var DIR            (secrets; prints a new admin key once)
 *   cartograph tenant-create --var DIR NAME (prints {"id","name","api_key"})
 *
 * serve is started by `spawn-fcgi -n`, which binds the FastCGI socket and
 * execs us with it on fd 0. The master never opens the database: it maps the
 * metrics scoreboard, forks WORKERS workers that share fd 0, and replaces any
 * that dies (crash, kill -9, RSS limit) after WORKER_RESPAWN_MS, backing off
 * to 1 s if a slot keeps dying young. SIGTERM/SIGINT: forward SIGTERM, wait
 * up to DRAIN_MAX_MS for in-flight requests, then SIGKILL the rest.
 * One more child, the housekeeper (housekeeper.c), checkpoints the WAL and
 * purges expired rows; it is replaced like a worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/db.h"
#include "../core/bounds.h"
#include "../core/log.h"
#include "../core/confcache.h"
#include "../core/scoreboard.h"
#include "../core/writegate.h"
#include "../core/tenant.h"
#include "../core/timefmt.h"
#include "app.h"
#include "housekeeper.h"
#include "router.h"
#include "worker.h"

/* ======================== the master ======================== */

struct child {
    pid_t pid;
    int64_t started_ms;
    int64_t respawn_at_ms; /* > 0: replace at this time */
    unsigned quick_deaths;
};

/* Slots 0..workers-1 are request workers; slot `workers` is the housekeeper. */
static struct child children[WORKERS_MAX + 1];

static unsigned nchildren(void)
{
    return app.workers + 1;
}

static pid_t spawn_worker(unsigned slot)
{
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGCHLD, SIG_DFL);
        wg_attach(slot);
        _exit(slot == app.workers ? housekeeper_main(slot) : worker_main(slot));
    }
    if (pid > 0) {
        children[slot].pid = pid;
        children[slot].started_ms = time_now_ms();
        children[slot].respawn_at_ms = 0;
    }
    return pid;
}

static void reap(bool stopping)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (unsigned i = 0; i < nchildren(); i++) {
            if (children[i].pid != pid)
                continue;
            children[i].pid = 0;
            sb_retire(i);
            wg_slot_reset(i);
            if (stopping)
                break;
            int64_t now = time_now_ms();
            bool quick = now - children[i].started_ms < 2000;
            children[i].quick_deaths = quick ? children[i].quick_deaths + 1 : 0;
            int64_t delay = WORKER_RESPAWN_MS;
            if (children[i].quick_deaths > 3)
                delay = 1000; /* crash loop: do not spin */
            children[i].respawn_at_ms = now + delay;
            if (WIFSIGNALED(status))
                log_msg("warn", "worker %u (pid %d) killed by signal %d; replacing", i, (int)pid,
                        WTERMSIG(status));
            else
                log_msg("warn", "worker %u (pid %d) exited with %d; replacing", i, (int)pid,
                        WEXITSTATUS(status));
            break;
        }
    }
}

static int serve(void)
{
    struct stat st;
    if (fstat(0, &st) || !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "cartograph serve: fd 0 is not a socket; start it with spawn-fcgi -n\n");
        return 2;
    }
    if (log_open(app.log_path))
        fprintf(stderr, "cartograph: cannot open %s; logging to stderr\n", app.log_path);
    if (sb_create(nchildren())) {
        fprintf(stderr, "cartograph: cannot map the scoreboard\n");
        return 1;
    }
    if (wg_create() || cc_create()) {
        fprintf(stderr, "cartograph: cannot map the shared pages\n");
        return 1;
    }
    routes_init();

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_msg("info", "master %d starting %u workers (db %s)", (int)getpid(), app.workers,
            app.db_path);
    for (unsigned i = 0; i < nchildren(); i++)
        if (spawn_worker(i) < 0)
            log_msg("error", "fork failed: %s", strerror(errno));

    bool stopping = false;
    int64_t stop_deadline = 0;
    for (;;) {
        struct timespec timeout = {0, 100 * 1000 * 1000};
        int sig = sigtimedwait(&set, NULL, &timeout);
        if (sig == SIGTERM || sig == SIGINT) {
            if (!stopping) {
                stopping = true;
                stop_deadline = time_now_ms() + DRAIN_MAX_MS;
                log_msg("info", "master: signal %d, draining workers", sig);
                for (unsigned i = 0; i < nchildren(); i++)
                    if (children[i].pid > 0)
                        kill(children[i].pid, SIGTERM);
            }
        }
        reap(stopping);
        int64_t now = time_now_ms();
        unsigned alive = 0;
        for (unsigned i = 0; i < nchildren(); i++) {
            if (children[i].pid > 0) {
                alive++;
                /* A SIGTERM can land just before accept() blocks: repeat it. */
                if (stopping && sig != SIGTERM && sig != SIGINT)
                    kill(children[i].pid, SIGTERM);
            } else if (!stopping && children[i].respawn_at_ms && now >= children[i].respawn_at_ms) {
                if (spawn_worker(i) > 0) {
                    sb_count_restart();
                    alive++;
                }
            }
        }
        if (stopping) {
            if (alive == 0)
                break;
            if (now > stop_deadline) {
                log_msg("warn", "master: drain timeout, killing %u workers", alive);
                for (unsigned i = 0; i < nchildren(); i++)
                    if (children[i].pid > 0)
                        kill(children[i].pid, SIGKILL);
                stop_deadline = now + 5000;
            }
        }
    }
    log_msg("info", "master %d stopped", (int)getpid());
    return 0;
}

/* ======================== commands ======================== */

static int usage(void)
{
    fprintf(stderr,
            "usage: cartograph serve --var DIR [--workers N] [--max-rss-mb M]\n"
            "       cartograph migrate --var DIR\n"
            "       cartograph init --var DIR\n"
            "       cartograph tenant-create --var DIR NAME\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *var = getenv("VAR_DIR") ? getenv("VAR_DIR") : "var";
    long workers = sysconf(_SC_NPROCESSORS_ONLN);
    long max_rss = 1024;
    const char *arg = NULL;
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--var") == 0 && i + 1 < argc)
            var = argv[++i];
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            workers = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--max-rss-mb") == 0 && i + 1 < argc)
            max_rss = strtol(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !arg)
            arg = argv[i];
        else
            return usage();
    }
    if (workers < 1 || workers > WORKERS_MAX) {
        fprintf(stderr, "cartograph: --workers must be 1..%d\n", WORKERS_MAX);
        return 2;
    }
    if (app_init(var, (unsigned)workers, strcmp(cmd, "init") == 0))
        return 1;
    app.max_rss_mb = max_rss > 0 ? (unsigned)max_rss : 0;

    if (strcmp(cmd, "serve") == 0)
        return serve();

    struct db *db = NULL;
    struct error err;
    error_clear(&err);
    if (db_open(app.db_path, DB_OPEN_MIGRATE, &db, &err)) {
        fprintf(stderr, "cartograph: %s\n", err.detail);
        return 1;
    }
    int rc = 0;
    if (strcmp(cmd, "migrate") == 0 || strcmp(cmd, "init") == 0) {
        printf("schema version %d\n", db_schema_version(db));
    } else if (strcmp(cmd, "tenant-create") == 0 && arg) {
        struct tenant t;
        char key[API_KEY_LEN + 1];
        if (tenant_create(db, arg, &t, key, &err)) {
            fprintf(stderr, "cartograph: %s\n", err.detail);
            rc = 1;
        } else {
            struct buf out = BUF_INIT;
            tenant_json(&t, &out);
            out.len--;
            buf_puts(&out, ",\"api_key\":");
            buf_append_json_cstr(&out, key);
            buf_puts(&out, "}\n");
            fputs(out.data, stdout);
            buf_fini(&out);
        }
    } else {
        rc = usage();
    }
    db_close(db);
    return rc;
}
