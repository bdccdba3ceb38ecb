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
#include "../core/scoreboard.h"
#include "../core/tenant.h"
#include "../core/timefmt.h"
#include "app.h"
#include "router.h"
#include "worker.h"

struct app app;

/* ======================== configuration and secrets ======================== */

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

static void gen_admin_key(char *buf, size_t n)
{
    char key[API_KEY_LEN + 1];
    api_key_generate(key);
    memcpy(key, "cga", 3); /* admin keys read differently from tenant keys */
    memcpy(buf, key, n);
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
        char key[API_KEY_LEN];
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

/* ======================== the master ======================== */

struct child {
    pid_t pid;
    int64_t started_ms;
    int64_t respawn_at_ms; /* > 0: replace at this time */
    unsigned quick_deaths;
};

static struct child children[WORKERS_MAX];

static pid_t spawn_worker(unsigned slot)
{
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGCHLD, SIG_DFL);
        _exit(worker_main(slot));
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
        for (unsigned i = 0; i < app.workers; i++) {
            if (children[i].pid != pid)
                continue;
            children[i].pid = 0;
            sb_retire(i);
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
    if (sb_create(app.workers)) {
        fprintf(stderr, "cartograph: cannot map the scoreboard\n");
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
    for (unsigned i = 0; i < app.workers; i++)
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
                for (unsigned i = 0; i < app.workers; i++)
                    if (children[i].pid > 0)
                        kill(children[i].pid, SIGTERM);
            }
        }
        reap(stopping);
        int64_t now = time_now_ms();
        unsigned alive = 0;
        for (unsigned i = 0; i < app.workers; i++) {
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
                for (unsigned i = 0; i < app.workers; i++)
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
