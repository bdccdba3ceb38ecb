/*
 * settings.h: per-tenant configuration in tenants.settings (JSON text).
 *
 * The stored document holds only what was set; every reader merges it over
 * the defaults below. Shape (all members optional):
 *
 *   {"rate_limits": {"price_events_tenant":  {"rate": 200, "period_s": 1, "burst": 400},
 *                    "price_events_product": {"rate": 10,  "period_s": 1, "burst": 20}},
 *    "anomaly": {"change_pct": 50, "mad_threshold": 3.5, "window": 20,
 *                "min_history": 5, "mad_floor_pct": 5}}
 *
 * rate 0 disables a limit. change_pct and mad_floor_pct take two decimals,
 * mad_threshold three; 0 disables a rule.
 *
 * Changes are RFC 7396 JSON merge patches (null resets a member to its
 * default), validated as a whole before they are stored, in one write
 * transaction. Who may change what: "anomaly" the tenant's key or the admin
 * key; "rate_limits" only the admin key (a tenant that could raise its own
 * limits would make them meaningless).
 */
#ifndef CORE_SETTINGS_H
#define CORE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "buf.h"
#include "db.h"
#include "error.h"
#include "ratelimit.h"

struct tenant_settings {
    struct rl_policy price_tenant;
    struct rl_policy price_product;
    struct anomaly_rules anomaly;
};

void settings_defaults(struct tenant_settings *s);
/* The tenant's effective settings (stored over defaults). */
int settings_load(struct db *db, int64_t tenant_id, struct tenant_settings *s, struct error *err);
/*
 * Apply a merge patch (a JSON object) as the admin (is_admin) or the
 * tenant. 403 when a tenant touches rate_limits; 400 naming the member for
 * anything invalid. OUT s: the new effective settings.
 */
int settings_patch(struct db *db, int64_t tenant_id, const char *patch, size_t len, bool is_admin,
                   struct tenant_settings *s, struct error *err);
/* Append the effective settings as JSON (the shape above, every member present). */
void settings_json(const struct tenant_settings *s, struct buf *out);

#endif
