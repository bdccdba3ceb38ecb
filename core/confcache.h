/*
 * confcache.h: per-process caches of API-key authentication and tenant
 * settings, invalidated across processes by a shared epoch.
 *
 * Every authenticated request looked its key up and every price event loaded
 * its tenant's settings (a JSON parse), each in a read transaction of its
 * own. Under writes from other workers each such snapshot starts with an
 * empty page cache (SQLite drops it when another connection has committed),
 * so both cost page reads as well as statements: caching them took price
 * events from 3.9-4.2k to 4.4-4.8k req/s (alternated rounds, 2 workers).
 *
 * Consistency: a change (key created or revoked, settings patched) bumps
 * the epoch in a page the master maps before it forks, after its commit; an
 * entry is used only while the epoch it was read under is current, and the
 * epoch is read before the database, so a change committed during a lookup
 * makes that lookup's entry stale at once. A change made by a process
 * without the page (the cartograph CLI) is seen within CONF_CACHE_TTL_MS.
 * Without cc_create() (tools, unit tests) nothing is cached.
 */
#ifndef CORE_CONFCACHE_H
#define CORE_CONFCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "settings.h"
#include "tenant.h"

/* Map the shared epoch page. Call once, before forking. 0 / -1. */
int cc_create(void);
void cc_destroy(void);
/* After a committed change to keys or settings. */
void cc_bump(void);

/*
 * Lookups: true and *out on a hit. On a miss, *epoch is the value to pass
 * to the matching put once the database has answered.
 */
bool cc_key_get(const uint8_t hash[SHA256_LEN], struct tenant *out, uint64_t *epoch);
void cc_key_put(const uint8_t hash[SHA256_LEN], const struct tenant *t, uint64_t epoch);
bool cc_settings_get(int64_t tenant_id, struct tenant_settings *out, uint64_t *epoch);
void cc_settings_put(int64_t tenant_id, const struct tenant_settings *s, uint64_t epoch);

#endif
