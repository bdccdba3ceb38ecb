#!/usr/bin/env python3
"""accuracy.py: rate-limit accuracy for benchmarks/price_events/run.sh.

  accuracy.py BASE TENANT KEY ADMIN_KEY

For a (rate R per second, burst B, duration T) policy applied once per
tenant and once per product, one keep-alive client sends price events as
fast as it can for T seconds and counts the 201s. GCRA promises
B + R*T accepted (R*T counted over the time between the first and the last
request); the answer must be within one request. Prints JSON.
"""
import http.client
import json
import sys
import time
import urllib.parse

BASE, TENANT, KEY, ADMIN = sys.argv[1:5]
U = urllib.parse.urlparse(BASE)
c = http.client.HTTPConnection(U.hostname, U.port, timeout=30)


def call(method, path, body, key):
    c.request(method, path, body=body, headers={"Authorization": "Bearer " + key,
                                                "Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, r.read()


def settings(doc):
    s, d = call("PATCH", f"/api/v1/tenants/{TENANT}/settings", json.dumps(doc), ADMIN)
    assert s == 200, d


results = []
for scope, rate, burst, secs in (("product", 20, 10, 3.0), ("tenant", 50, 5, 2.0)):
    pol = {"rate": rate, "period_s": 1, "burst": burst}
    high = {"rate": 1000000, "period_s": 1, "burst": 1000000}
    settings({"rate_limits": {"price_events_tenant": pol if scope == "tenant" else high,
                              "price_events_product": pol if scope == "product" else high}})
    pid = f"ACC-{scope}"
    s, d = call("PUT", f"/api/v1/tenants/{TENANT}/products/{pid}",
                json.dumps({"name": pid, "currency": "EUR", "price": "10.00"}), KEY)
    assert s in (200, 201), d
    accepted = sent = 0
    t0 = time.time()
    first = last = None
    while True:
        now = time.time()
        if now - t0 >= secs:
            break
        body = json.dumps({"event_id": f"acc-{scope}-{sent}", "price": "10.00", "currency": "EUR",
                           "observed_at": "2025-03-01T00:00:00Z"})
        s, _ = call("POST", f"/api/v1/tenants/{TENANT}/products/{pid}/price-event", body, KEY)
        first = first or now
        last = now
        sent += 1
        accepted += s == 201
        assert s in (201, 429), s
    span = last - first
    expect = burst + rate * span
    results.append({"scope": scope, "rate_per_s": rate, "burst": burst, "seconds": round(span, 3),
                    "sent": sent, "accepted": accepted, "expected": round(expect, 2),
                    "ok": abs(accepted - expect) <= 1.0})
settings({"rate_limits": None})
print(json.dumps(results))
