/*
 * test_router.c: the request pipeline in process, through the memory
 * backends of req and resp (STYLE rule 22): routing, 404/405, the auth
 * matrix, tenant binding, parameter allowlist, problem+json, idempotency
 * replay/mismatch/busy, and the query parser's hostile inputs.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fcgi-app/app.h"
#include "../../fcgi-app/request.h"
#include "../../fcgi-app/response.h"
#include "../../fcgi-app/router.h"
#include "db.h"
#include "idem.h"

static char dir[256];
static struct db *db;
static struct arena arena;
static const char *ADMIN = "cga_unit_test_admin_key";

struct result {
    int status;
    struct buf raw;  /* everything written: CGI headers + body */
    json_t *json;    /* parsed body, when JSON */
    char headers[4096];
};

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cg-test-router-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    setenv("CARTOGRAPH_ADMIN_KEY", ADMIN, 1);
    cr_assert_eq(app_init(dir, 1, false), 0);
    routes_init();
    struct error err;
    cr_assert_eq(db_open(app.db_path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
    arena_init(&arena);
    idem_set_owner("test:1");
}

static void teardown(void)
{
    db_close(db);
    arena_fini(&arena);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(router, .init = setup, .fini = teardown);

/* Run one request; env is NAME, value pairs ending in NULL. */
static void run(struct result *r, const char *method, const char *uri, const char *body,
                const char *const *extra_env)
{
    const char *env[64];
    size_t n = 0;
    char uri_copy[16384], cl[32];
    snprintf(uri_copy, sizeof(uri_copy), "%s", uri);
    char *q = strchr(uri_copy, '?');
    env[n++] = "REQUEST_METHOD", env[n++] = method;
    env[n++] = "REQUEST_URI", env[n++] = uri;
    env[n++] = "QUERY_STRING", env[n++] = q ? q + 1 : "";
    snprintf(cl, sizeof(cl), "%zu", body ? strlen(body) : 0);
    env[n++] = "CONTENT_LENGTH", env[n++] = cl;
    for (size_t i = 0; extra_env && extra_env[i]; i++)
        env[n++] = extra_env[i];
    env[n] = NULL;
    struct req_mem m = {env, body ? body : "", body ? strlen(body) : 0, 0};
    struct req_io rio;
    struct resp_io wio;
    struct req req;
    struct resp resp;
    struct error err;
    req_io_mem(&rio, &m);
    buf_init(&r->raw);
    resp_io_mem(&wio, &r->raw);
    resp_init(&resp);
    resp_begin(&resp, &wio);
    error_clear(&err);
    if (req_begin(&req, &rio, &arena, db, &err) == 0)
        router_dispatch(&req, &resp);
    else
        resp_problem(&resp, &req, &err, NULL);
    resp_finish(&resp);
    r->status = resp.status;
    const char *sep = strstr(r->raw.data, "\r\n\r\n");
    cr_assert_not_null(sep);
    snprintf(r->headers, sizeof(r->headers), "%.*s", (int)(sep - r->raw.data), r->raw.data);
    r->json = json_loads(sep + 4, 0, NULL);
    resp_fini(&resp);
    arena_reset(&arena);
}

static void done(struct result *r)
{
    json_decref(r->json);
    buf_fini(&r->raw);
}

static const char *jstr(const struct result *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

#define AUTH(key) "HTTP_AUTHORIZATION", "Bearer " key

static void create_tenant(const char *name, char id[32], char key[64])
{
    struct result r;
    char body[128];
    const char *env[] = {"HTTP_AUTHORIZATION", "Bearer cga_unit_test_admin_key", NULL};
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    run(&r, "POST", "/api/v1/tenants", body, env);
    cr_assert_eq(r.status, 201, "%s", r.raw.data);
    snprintf(id, 32, "%s", jstr(&r, "id"));
    snprintf(key, 64, "%s", jstr(&r, "api_key"));
    done(&r);
}

Test(router, unknown_path_is_404_problem)
{
    struct result r;
    run(&r, "GET", "/api/v1/none", NULL, NULL);
    cr_assert_eq(r.status, 404);
    cr_assert(strstr(r.headers, "Content-Type: application/problem+json"));
    cr_assert_str_eq(jstr(&r, "code"), "not_found");
    cr_assert_not_null(jstr(&r, "request_id"));
    done(&r);
}

Test(router, wrong_method_is_405_with_allow)
{
    struct result r;
    run(&r, "PUT", "/api/v1/tenants/tn_0000000000000000/keys", "{}", NULL);
    cr_assert_eq(r.status, 405);
    cr_assert(strstr(r.headers, "Allow: GET, POST"), "%s", r.headers);
    done(&r);
}

Test(router, head_is_routed_like_get)
{
    struct result r;
    run(&r, "HEAD", "/api/v1/health", NULL, NULL);
    cr_assert_eq(r.status, 200);
    done(&r);
}

Test(router, auth_matrix)
{
    char a_id[32], a_key[64], b_id[32], b_key[64], path[128];
    create_tenant("A", a_id, a_key);
    create_tenant("B", b_id, b_key);
    struct result r;
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", a_id);

    run(&r, "GET", path, NULL, NULL);
    cr_assert_eq(r.status, 401);
    done(&r);

    const char *bad[] = {"HTTP_AUTHORIZATION", "Bearer cg_nope", NULL};
    run(&r, "GET", path, NULL, bad);
    cr_assert_eq(r.status, 401);
    done(&r);

    const char *own[] = {"HTTP_AUTHORIZATION", NULL, NULL};
    char hdr[80];
    snprintf(hdr, sizeof(hdr), "Bearer %s", a_key);
    own[1] = hdr;
    run(&r, "GET", path, NULL, own);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(jstr(&r, "id"), a_id);
    done(&r);

    const char *xkey[] = {"HTTP_X_API_KEY", a_key, NULL};
    run(&r, "GET", path, NULL, xkey);
    cr_assert_eq(r.status, 200);
    done(&r);

    /* A's key on B's path: 404 exactly like a tenant that does not exist. */
    snprintf(path, sizeof(path), "/api/v1/tenants/%s", b_id);
    run(&r, "GET", path, NULL, own);
    cr_assert_eq(r.status, 404);
    cr_assert_str_eq(jstr(&r, "code"), "tenant_not_found");
    char detail_foreign[256];
    snprintf(detail_foreign, sizeof(detail_foreign), "%s", jstr(&r, "detail"));
    done(&r);
    run(&r, "GET", "/api/v1/tenants/tn_ffffffffffffffff", NULL, own);
    cr_assert_eq(r.status, 404);
    cr_assert_str_eq(jstr(&r, "detail"), detail_foreign);
    done(&r);

    const char *admin[] = {AUTH("cga_unit_test_admin_key"), NULL};
    run(&r, "GET", path, NULL, admin);
    cr_assert_eq(r.status, 200);
    done(&r);

    /* A tenant key on an admin route: 403. */
    run(&r, "POST", "/api/v1/tenants", "{\"name\":\"C\"}", own);
    cr_assert_eq(r.status, 403);
    done(&r);
}

Test(router, unknown_query_parameters_are_named)
{
    struct result r;
    run(&r, "GET", "/api/v1/health?foo=1&bar=2", NULL, NULL);
    cr_assert_eq(r.status, 400);
    cr_assert_str_eq(jstr(&r, "code"), "unknown_parameter");
    cr_assert(strstr(jstr(&r, "detail"), "foo, bar"), "%s", jstr(&r, "detail"));
    done(&r);
}

Test(router, hostile_query_strings)
{
    struct result r;
    run(&r, "GET", "/api/v1/health?a=%zz", NULL, NULL);
    cr_assert_eq(r.status, 400);
    cr_assert_str_eq(jstr(&r, "code"), "invalid_parameter");
    done(&r);
    run(&r, "GET", "/api/v1/health?a=%00", NULL, NULL);
    cr_assert_eq(r.status, 400);
    done(&r);
    run(&r, "GET", "/api/v1/health?a=%ff", NULL, NULL);
    cr_assert_str_eq(jstr(&r, "code"), "invalid_utf8");
    done(&r);
    run(&r, "GET", "/api/v1/health?a=%4", NULL, NULL);
    cr_assert_eq(r.status, 400, "truncated escape");
    done(&r);
    char q[QUERY_MAX_BYTES + 64];
    strcpy(q, "/api/v1/health?");
    for (size_t i = strlen(q); i < sizeof(q) - 1; i++)
        q[i] = 'a';
    q[sizeof(q) - 1] = '\0';
    run(&r, "GET", q, NULL, NULL);
    cr_assert_eq(r.status, 414);
    done(&r);
    char many[1024] = "/api/v1/health?";
    for (int i = 0; i < QUERY_MAX_PARAMS + 5; i++)
        strcat(many, "a=1&");
    run(&r, "GET", many, NULL, NULL);
    cr_assert_eq(r.status, 400);
    done(&r);
}

Test(router, idempotent_replay_mismatch_and_busy)
{
    struct result r1, r2, r3;
    const char *env[] = {AUTH("cga_unit_test_admin_key"), "HTTP_IDEMPOTENCY_KEY", "\"k-1\"", NULL};
    run(&r1, "POST", "/api/v1/tenants", "{\"name\":\"Idem\"}", env);
    cr_assert_eq(r1.status, 201);
    run(&r2, "POST", "/api/v1/tenants", "{\"name\":\"Idem\"}", env);
    cr_assert_eq(r2.status, 201);
    cr_assert(strstr(r2.headers, "Idempotent-Replayed: true"));
    cr_assert_str_eq(jstr(&r1, "id"), jstr(&r2, "id"), "replayed, not re-executed");
    int64_t n;
    struct error err;
    cr_assert_eq(db_query_i64(db, "SELECT count(*) FROM tenants WHERE name='Idem'", &n, &err), 0);
    cr_assert_eq(n, 1);
    run(&r3, "POST", "/api/v1/tenants", "{\"name\":\"Other\"}", env);
    cr_assert_eq(r3.status, 422);
    cr_assert_str_eq(jstr(&r3, "code"), "idempotency_key_reused");
    done(&r1);
    done(&r2);
    done(&r3);

    /* A live reservation held by another worker: 409 with Retry-After. */
    struct idem_claim c;
    idem_claim_init(&c);
    idem_set_owner("other:2");
    cr_assert_eq(idem_claim(db, 0, "tenant_create", "k-2", &c, &err), 0);
    cr_assert_eq(c.state, IDEM_CLAIMED);
    idem_set_owner("test:1");
    const char *env2[] = {AUTH("cga_unit_test_admin_key"), "HTTP_IDEMPOTENCY_KEY", "k-2", NULL};
    run(&r1, "POST", "/api/v1/tenants", "{\"name\":\"Busy\"}", env2);
    cr_assert_eq(r1.status, 409);
    cr_assert(strstr(r1.headers, "Retry-After: "));
    done(&r1);
    /* Its lease runs out (the worker died): the next request takes over. */
    cr_assert_eq(db_exec(db, "UPDATE idempotency_keys SET lease_until = 0 WHERE key = 'k-2'", &err),
                 0);
    run(&r1, "POST", "/api/v1/tenants", "{\"name\":\"Busy\"}", env2);
    cr_assert_eq(r1.status, 201);
    done(&r1);
    idem_claim_fini(&c);

    /* A failed request releases the key so a corrected retry runs. */
    const char *env3[] = {AUTH("cga_unit_test_admin_key"), "HTTP_IDEMPOTENCY_KEY", "k-3", NULL};
    run(&r1, "POST", "/api/v1/tenants", "{\"name\":", env3);
    cr_assert_eq(r1.status, 400);
    done(&r1);
    run(&r1, "POST", "/api/v1/tenants", "{\"name\":\"Fixed\"}", env3);
    cr_assert_eq(r1.status, 201);
    done(&r1);

    const char *bad[] = {AUTH("cga_unit_test_admin_key"), "HTTP_IDEMPOTENCY_KEY", "has space", NULL};
    run(&r1, "POST", "/api/v1/tenants", "{\"name\":\"X\"}", bad);
    cr_assert_eq(r1.status, 400);
    cr_assert_str_eq(jstr(&r1, "code"), "idempotency_key_invalid");
    done(&r1);
}

Test(router, body_cap_from_content_length)
{
    struct result r;
    const char *env[] = {AUTH("cga_unit_test_admin_key"), NULL};
    char *big = malloc(20000);
    memset(big, ' ', 19999);
    big[19999] = '\0';
    run(&r, "POST", "/api/v1/tenants", big, env);
    cr_assert_eq(r.status, 413);
    done(&r);
    free(big);
}
