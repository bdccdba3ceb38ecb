/*
 * test_confcache.c: cached key authentication and settings, their
 * invalidation by the shared epoch, and no caching without the shared page.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "confcache.h"
#include "db.h"
#include "settings.h"
#include "tenant.h"
#include "scratch.h"

static char dir[SCRATCH_DIR_MAX];
static char path[SCRATCH_PATH_MAX];
static struct db *db;

static void setup(void)
{
    struct error err;
    scratch_make(dir, path, "cc");
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
}

static void teardown(void)
{
    cc_destroy();
    db_close(db);
    scratch_remove(dir);
}

TestSuite(confcache, .init = setup, .fini = teardown);

/* Delete the key rows behind the cache's back: only a cached answer still authenticates. */
static void drop_keys(void)
{
    struct error err;
    cr_assert_eq(db_exec(db, "DELETE FROM api_keys", &err), 0, "%s", err.detail);
}

static int auth(const char *key, struct tenant *t)
{
    struct error err;
    return tenant_by_key(db, key, strlen(key), t, &err);
}

Test(confcache, nothing_is_cached_without_the_shared_page)
{
    struct tenant t, got;
    char key[API_KEY_LEN + 1];
    struct error err;
    cr_assert_eq(tenant_create(db, "a", &t, key, &err), 0);
    cr_assert_eq(auth(key, &got), 0);
    drop_keys();
    cr_assert_eq(auth(key, &got), -1);
}

Test(confcache, a_key_is_served_from_the_cache_until_the_epoch_moves)
{
    struct tenant t, got;
    char key[API_KEY_LEN + 1];
    struct error err;
    cr_assert_eq(cc_create(), 0);
    cr_assert_eq(tenant_create(db, "a", &t, key, &err), 0);
    cr_assert_eq(auth(key, &got), 0);
    drop_keys();
    memset(&got, 0, sizeof(got));
    cr_assert_eq(auth(key, &got), 0, "cached");
    cr_assert_eq(got.id, t.id);
    cr_assert_str_eq(got.public_id, t.public_id);
    cc_bump();
    cr_assert_eq(auth(key, &got), -1, "the bump makes the entry stale");
}

Test(confcache, revoking_through_the_api_invalidates)
{
    struct tenant t, got;
    struct api_key_info info;
    char key[API_KEY_LEN + 1], key2[API_KEY_LEN + 1];
    struct error err;
    cr_assert_eq(cc_create(), 0);
    cr_assert_eq(tenant_create(db, "a", &t, key, &err), 0);
    cr_assert_eq(auth(key, &got), 0);
    cr_assert_eq(tenant_key_create(db, t.id, true, &info, key2, &err), 0, "%s", err.detail);
    cr_assert_eq(auth(key, &got), -1, "revoked by revoke_others");
    cr_assert_eq(auth(key2, &got), 0);
    cr_assert_eq(tenant_key_revoke(db, t.id, info.id, &err), 0);
    cr_assert_eq(auth(key2, &got), -1, "revoked");
}

/* An entry read under an epoch that moved before it was stored is never used. */
Test(confcache, an_entry_read_before_a_change_is_stale)
{
    struct tenant t = {.id = 7}, got;
    uint8_t hash[SHA256_LEN] = {1, 2, 3};
    uint64_t epoch = 0;
    cr_assert_eq(cc_create(), 0);
    cr_assert_eq(cc_key_get(hash, &got, &epoch), false);
    cc_bump(); /* a change commits while the lookup runs */
    cc_key_put(hash, &t, epoch);
    cr_assert_eq(cc_key_get(hash, &got, &epoch), false);
    cc_key_put(hash, &t, epoch);
    cr_assert_eq(cc_key_get(hash, &got, &epoch), true);
    cr_assert_eq(got.id, 7);
}

Test(confcache, settings_follow_a_patch_and_expire)
{
    struct tenant t;
    struct tenant_settings s;
    char key[API_KEY_LEN + 1];
    struct error err;
    cr_assert_eq(cc_create(), 0);
    cr_assert_eq(tenant_create(db, "a", &t, key, &err), 0);
    cr_assert_eq(settings_load(db, t.id, &s, &err), 0);
    int64_t rate = s.price_tenant.rate;
    const char *patch = "{\"rate_limits\":{\"price_events_tenant\":{\"rate\":7}}}";
    cr_assert_eq(settings_patch(db, t.id, patch, strlen(patch), true, &s, &err), 0, "%s",
                 err.detail);
    cr_assert_eq(settings_load(db, t.id, &s, &err), 0);
    cr_assert_eq(s.price_tenant.rate, 7, "the patch bumped the epoch (was %lld)", (long long)rate);

    /* A change written outside the server (no bump) shows after the TTL. */
    cr_assert_eq(db_exec(db, "UPDATE tenants SET settings = '{}'", &err), 0, "%s", err.detail);
    cr_assert_eq(settings_load(db, t.id, &s, &err), 0);
    cr_assert_eq(s.price_tenant.rate, 7, "cached");
    struct timespec ts = {1, 50 * 1000000L};
    nanosleep(&ts, NULL);
    cr_assert_eq(settings_load(db, t.id, &s, &err), 0);
    cr_assert_eq(s.price_tenant.rate, rate, "expired after CONF_CACHE_TTL_MS");
}
