/*
 * confcache.c: the caches of confcache.h.
 *
 * Two direct-mapped tables of CONF_CACHE_SLOTS entries (keys by the first
 * bytes of their SHA-256, settings by tenant id): a collision just replaces
 * the entry. An entry holds the epoch it was read under and the time it was
 * stored; it is used while both are current. ~40 KB per process.
 */
#include "confcache.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "bounds.h"
#include "timefmt.h"

struct cc_shared {
    _Atomic uint64_t epoch;
};

struct key_entry {
    uint8_t hash[SHA256_LEN];
    bool used;
    uint64_t epoch;
    int64_t stored_ms;
    struct tenant t;
};

struct settings_entry {
    int64_t tenant_id; /* 0: empty */
    uint64_t epoch;
    int64_t stored_ms;
    struct tenant_settings s;
};

static struct cc_shared *shared;
static struct key_entry keys[CONF_CACHE_SLOTS];
static struct settings_entry settings[CONF_CACHE_SLOTS];

int cc_create(void)
{
    void *p = mmap(NULL, sizeof(struct cc_shared), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    shared = p;
    return 0;
}

void cc_destroy(void)
{
    if (shared)
        munmap(shared, sizeof(struct cc_shared));
    shared = NULL;
    memset(keys, 0, sizeof(keys));
    memset(settings, 0, sizeof(settings));
}

void cc_bump(void)
{
    if (shared)
        atomic_fetch_add(&shared->epoch, 1);
}

static bool fresh(uint64_t epoch, int64_t stored_ms, uint64_t now_epoch)
{
    return epoch == now_epoch && time_now_ms() - stored_ms < CONF_CACHE_TTL_MS;
}

static size_t key_slot(const uint8_t hash[SHA256_LEN])
{
    uint32_t h;
    memcpy(&h, hash, sizeof(h));
    return h % CONF_CACHE_SLOTS;
}

bool cc_key_get(const uint8_t hash[SHA256_LEN], struct tenant *out, uint64_t *epoch)
{
    if (!shared)
        return false;
    *epoch = atomic_load(&shared->epoch);
    const struct key_entry *e = &keys[key_slot(hash)];
    if (!e->used || memcmp(e->hash, hash, SHA256_LEN) != 0 ||
        !fresh(e->epoch, e->stored_ms, *epoch))
        return false;
    *out = e->t;
    return true;
}

void cc_key_put(const uint8_t hash[SHA256_LEN], const struct tenant *t, uint64_t epoch)
{
    if (!shared)
        return;
    struct key_entry *e = &keys[key_slot(hash)];
    memcpy(e->hash, hash, SHA256_LEN);
    e->used = true;
    e->epoch = epoch;
    e->stored_ms = time_now_ms();
    e->t = *t;
}

bool cc_settings_get(int64_t tenant_id, struct tenant_settings *out, uint64_t *epoch)
{
    if (!shared)
        return false;
    *epoch = atomic_load(&shared->epoch);
    const struct settings_entry *e = &settings[(uint64_t)tenant_id % CONF_CACHE_SLOTS];
    if (e->tenant_id != tenant_id || !fresh(e->epoch, e->stored_ms, *epoch))
        return false;
    *out = e->s;
    return true;
}

void cc_settings_put(int64_t tenant_id, const struct tenant_settings *s, uint64_t epoch)
{
    if (!shared)
        return;
    struct settings_entry *e = &settings[(uint64_t)tenant_id % CONF_CACHE_SLOTS];
    e->tenant_id = tenant_id;
    e->epoch = epoch;
    e->stored_ms = time_now_ms();
    e->s = *s;
}
