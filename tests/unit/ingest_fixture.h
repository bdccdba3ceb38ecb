/*
 * ingest_fixture.h: the ingest unit tests' database: a scratch directory, a
 * migrated database, one tenant and its products P-1 and P-2 (EUR).
 */
#ifndef TESTS_UNIT_INGEST_FIXTURE_H
#define TESTS_UNIT_INGEST_FIXTURE_H

#include "db.h"
#include "partition.h"
#include "scratch.h"
#include "tenant.h"

static char dir[SCRATCH_DIR_MAX];
static struct db *db;
static int64_t tenant;

static void ingest_fixture_open(const char *tag)
{
    struct error err;
    struct tenant t;
    char key[API_KEY_LEN + 1], path[SCRATCH_PATH_MAX];
    scratch_make(dir, path, tag);
    partition_cache_reset();
    cr_assert_eq(db_open(path, DB_OPEN_MIGRATE, &db, &err), 0, "%s", err.detail);
    cr_assert_eq(tenant_create(db, "T", &t, key, &err), 0, "%s", err.detail);
    tenant = t.id;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO products(tenant_id, ext_id, name, currency, created_at, updated_at) "
             "VALUES (%lld, 'P-1', 'one', 'EUR', 0, 0), (%lld, 'P-2', 'two', 'EUR', 0, 0)",
             (long long)tenant, (long long)tenant);
    cr_assert_eq(db_exec(db, sql, &err), 0, "%s", err.detail);
}

static void ingest_fixture_close(void)
{
    db_close(db);
    scratch_remove(dir);
}

#endif
