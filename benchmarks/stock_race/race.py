#!/usr/bin/env python3
"""race.py: the stock bulk-update benchmark driver (run by run.sh).

  race.py BASE TENANT KEY [ADMIN_KEY]

1. Race: 8 concurrent clients each send 50 merge updates of +1 to one product
   (one request each); the product must end at exactly +400, version 400.
2. Serializability: 8 clients send 25 requests each mixing merge,
   last_write_wins and reject events (expected_version read by a GET just
   before sending, as an optimistic client does) over 6 products, plus one multi-group
   request (product locks) of 12,000 merge events. Every per-product answer
   carries the version it produced (applied) or saw (rejected / unchanged);
   that places each request in each product's history, the union of those
   orders must be acyclic, and a serial replay in that order through a
   Python model of the rules must reproduce every answer and the final state.
3. Throughput: NDJSON merge batches of 100,000 events over 100 products,
   3 runs; events/s from the server's processing_time_ms and from the wall
   clock of the whole request (upload + parse + apply + answer). Meanwhile
   (with ADMIN_KEY) one client sends price events back to back: the latency
   of those single-row write transactions while the batches run.

Prints one JSON object with the figures.
"""
import http.client
import json
import random
import statistics
import sys
import threading
import time
import urllib.parse

BASE, TENANT, KEY = sys.argv[1], sys.argv[2], sys.argv[3]
ADMIN = sys.argv[4] if len(sys.argv) > 4 else None
U = urllib.parse.urlparse(BASE)
HDR = {"Authorization": "Bearer " + KEY}


def conn():
    return http.client.HTTPConnection(U.hostname, U.port, timeout=120)


def call(c, method, path, body=None, ctype="application/json"):
    h = dict(HDR)
    if body is not None:
        h["Content-Type"] = ctype
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, data


def put_product(c, pid):
    s, d = call(c, "PUT", f"/api/v1/tenants/{TENANT}/products/{pid}",
                json.dumps({"name": pid, "currency": "EUR", "price": "1.00"}))
    assert s in (200, 201), (s, d)


def bulk(c, doc=None, ndjson=None, query=""):
    path = f"/api/v1/tenants/{TENANT}/stock/bulk_update{query}"
    if ndjson is not None:
        s, d = call(c, "PUT", path, ndjson, "application/x-ndjson")
    else:
        s, d = call(c, "PUT", path, json.dumps(doc))
    assert s == 200, (s, d[:300])
    return json.loads(d)


def level(c, pid):
    s, d = call(c, "GET", f"/api/v1/tenants/{TENANT}/products/{pid}")
    j = json.loads(d)
    return j["stock"]["quantity"], j["stock"]["version"]


out = {}
c0 = conn()

# ---------------------------------------------------------------- 1. race
put_product(c0, "RACE")
def racer(n):
    c = conn()
    for i in range(50):
        bulk(c, {"mode": "merge", "events": [{"event_id": f"race-{n}-{i}", "product_id": "RACE",
                                              "delta": 1, "event_time": "2025-01-01T00:00:00Z"}]})
t0 = time.time()
ths = [threading.Thread(target=racer, args=(n,)) for n in range(8)]
[t.start() for t in ths]
[t.join() for t in ths]
q, v = level(c0, "RACE")
out["race"] = {"clients": 8, "each": 50, "quantity": q, "version": v, "ok": q == 400 and v == 400,
               "seconds": round(time.time() - t0, 2)}

# ---------------------------------------------------------------- 2. serializability
PRODUCTS = [f"S{i}" for i in range(6)]
for p in PRODUCTS:
    put_product(c0, p)
rng = random.Random(42)
requests = []          # (rid, doc)
seen_versions = {p: 0 for p in PRODUCTS}
for client in range(8):
    for k in range(25):
        rid = f"c{client}-{k}"
        mode = rng.choice(["merge", "last_write_wins", "reject"])
        evs = []
        for j, p in enumerate(rng.sample(PRODUCTS, rng.randint(1, 4))):
            for e in range(rng.randint(1, 3)):
                t = f"2025-02-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00.{rng.randint(0, 999):03d}Z"
                ev = {"event_id": f"{rid}-{j}-{e}", "product_id": p, "event_time": t}
                if mode == "merge":
                    ev["delta"] = rng.randint(-2, 6)
                elif mode == "last_write_wins":
                    ev["quantity"] = rng.randint(0, 50)
                else:
                    # an optimistic client: expected_version is read just before sending
                    ev["delta" if rng.random() < 0.5 else "quantity"] = rng.randint(0, 9)
                    ev["expected_version"] = None
                evs.append(ev)
        requests.append((client, rid, {"mode": mode, "events": evs}))
big_events = [{"event_id": f"big-{i}", "product_id": PRODUCTS[i % 3], "delta": 1,
               "event_time": "2025-02-15T00:00:00Z"} for i in range(12000)]
answers = {}
def client_run(n):
    c = conn()
    for cl, rid, doc in requests:
        if cl == n:
            if doc["mode"] == "reject":
                seen = {}
                for ev in doc["events"]:
                    if ev["product_id"] not in seen:
                        seen[ev["product_id"]] = level(c, ev["product_id"])[1]
                    ev["expected_version"] = seen[ev["product_id"]]
            answers[rid] = bulk(c, doc)
        if cl == n and n == 0 and rid == "c0-10":
            answers["big"] = bulk(c, {"mode": "merge", "events": big_events})
ths = [threading.Thread(target=client_run, args=(n,)) for n in range(8)]
[t.start() for t in ths]
[t.join() for t in ths]
docs = {rid: doc for _, rid, doc in requests}
docs["big"] = {"mode": "merge", "events": big_events}

# Place each request in each product's history: (version, 0) for the request
# that produced version v, (v, 1) for requests that only saw v.
hist = {p: [] for p in PRODUCTS}
for rid, ans in answers.items():
    for r in ans["results"]:
        if r["status"] == "applied" and r["applied"] > 0:
            hist[r["product_id"]].append((r["version"], 0, rid))
        else:
            hist[r["product_id"]].append((r["version"], 1, rid))
edges = {rid: set() for rid in answers}
ok_versions = True
for p, h in hist.items():
    producers = {x[0]: x[2] for x in h if x[1] == 0}
    if sorted(producers) != list(range(1, len(producers) + 1)):
        ok_versions = False
    for v, rid in producers.items():      # producer(v) -> producer(v+1)
        if v + 1 in producers:
            edges[rid].add(producers[v + 1])
    for v, kind, rid in h:
        if kind == 1:                     # producer(v) -> observer(v) -> producer(v+1)
            if v in producers:
                edges[producers[v]].add(rid)
            if v + 1 in producers:
                edges[rid].add(producers[v + 1])
# Topological order (Kahn); a cycle means no serial order exists.
indeg = {r: 0 for r in edges}
for a in edges:
    for b in edges[a]:
        indeg[b] += 1
ready = sorted(r for r in indeg if indeg[r] == 0)
order = []
while ready:
    r = ready.pop()
    order.append(r)
    for b in sorted(edges[r]):
        indeg[b] -= 1
        if indeg[b] == 0:
            ready.append(b)
acyclic = len(order) == len(edges)

def parse_ms(t):
    from datetime import datetime
    return int(datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ" if "." in t else "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=__import__("datetime").timezone.utc).timestamp() * 1000 + 0.5)

# The model: the documented rules, one request at a time.
state = {p: [0, 0, None] for p in PRODUCTS}  # quantity, version, last_event_time
seen_ids = set()
mismatch = []
for rid in order if acyclic else []:
    doc = docs[rid]
    byp = {}
    for seq, ev in enumerate(doc["events"]):
        byp.setdefault(ev["product_id"], []).append((parse_ms(ev["event_time"]), seq, ev))
    got = {r["product_id"]: r for r in answers[rid]["results"]}
    for p, evs in byp.items():
        evs.sort(key=lambda x: (x[0], x[1]))
        q, v, last = state[p]
        applied = stale = 0
        new_ids = []
        status, reason = "applied", None
        for tms, _, ev in evs:
            mode = ev.get("mode", doc["mode"])
            if mode == "last_write_wins" and last is not None and tms < last:
                stale += 1
                continue
            if ev["event_id"] in seen_ids or ev["event_id"] in new_ids:
                continue
            new_ids.append(ev["event_id"])
            if "expected_version" in ev and ev["expected_version"] != v:
                status, reason = "rejected", "version_conflict"
                break
            nq = q + ev["delta"] if "delta" in ev else ev["quantity"]
            if nq < 0:
                status, reason = "rejected", "negative_stock"
                break
            q = nq
            last = tms if last is None or tms > last else last
            applied += 1
        if status == "applied":
            if applied:
                v += 1
                state[p] = [q, v, last]
                seen_ids.update(new_ids)
            else:
                reason = "stale"
            expect = (status, reason, state[p][0], state[p][1])
        else:
            expect = (status, reason, state[p][0], state[p][1])
        g = got[p]
        if (g["status"], g["reason"], g["quantity"], g["version"]) != expect:
            mismatch.append((rid, p, expect, (g["status"], g["reason"], g["quantity"], g["version"])))
final_ok = all(level(c0, p) == (state[p][0], state[p][1]) for p in PRODUCTS)
locks = answers["big"]["summary"]["product_locks"]
out["serial"] = {"requests": len(answers), "versions_dense": ok_versions, "acyclic": acyclic,
                 "answer_mismatches": len(mismatch), "final_state_matches": final_ok,
                 "multi_group_with_locks": locks,
                 "rejected": sum(1 for a in answers.values() for r in a["results"] if r["status"] == "rejected"),
                 "applied": sum(1 for a in answers.values() for r in a["results"] if r["status"] == "applied" and r["applied"] > 0),
                 "ok": ok_versions and acyclic and not mismatch and final_ok and locks}
if mismatch:
    out["serial"]["first_mismatch"] = mismatch[0]

# ---------------------------------------------------------------- 3. throughput
for i in range(100):
    put_product(c0, f"T{i}")
server, wall, longest, commits = [], [], [], []
# Small writes during the big batches: one client sends price events back to
# back (one write transaction each) while each 100k-event request runs.
if ADMIN:
    ca = conn()
    ca.request("PATCH", f"/api/v1/tenants/{TENANT}/settings", body=json.dumps({"rate_limits": {
        "price_events_tenant": {"rate": 1000000, "burst": 1000000},
        "price_events_product": {"rate": 1000000, "burst": 1000000}}}),
        headers={"Authorization": "Bearer " + ADMIN, "Content-Type": "application/json"})
    ra = ca.getresponse()
    assert ra.status == 200, ra.read()
    ra.read()
small_lat = []
stop = threading.Event()
def small_writer():
    c = conn()
    n = 0
    while not stop.is_set():
        n += 1
        t = time.time()
        s, d = call(c, "POST", f"/api/v1/tenants/{TENANT}/products/T{n % 100}/price-event",
                    json.dumps({"event_id": f"sw-{time.time_ns()}-{n}", "price": "1.00",
                                "currency": "EUR", "observed_at": "2025-03-01T00:00:00Z"}))
        small_lat.append((time.time() - t) * 1000)
        assert s == 201, (s, d)
for run in range(3):
    lines = "".join(json.dumps({"event_id": f"tp{run}-{i}", "product_id": f"T{i % 100}", "delta": 1,
                                "event_time": "2025-03-01T00:00:00Z"}, separators=(",", ":")) + "\n"
                    for i in range(100000)).encode()
    stop.clear()
    sw = threading.Thread(target=small_writer) if ADMIN else None
    if sw:
        sw.start()
    t0 = time.time()
    ans = bulk(c0, ndjson=lines, query="?mode=merge")
    dt = time.time() - t0
    stop.set()
    if sw:
        sw.join()
    assert ans["summary"]["events_applied"] == 100000, ans["summary"]
    server.append(100000 / (ans["summary"]["processing_time_ms"] / 1000))
    wall.append(100000 / dt)
    longest.append(ans["summary"]["longest_group_ms"])
    commits.append(ans["summary"]["longest_commit_ms"])
out["throughput"] = {"events": 100000, "products": 100, "runs": 3,
                     "apply_events_per_s_median": round(statistics.median(server)),
                     "request_events_per_s_median": round(statistics.median(wall)),
                     "body_bytes": len(lines), "commit_groups": ans["summary"]["commit_groups"],
                     "longest_group_ms": max(longest), "longest_commit_ms": max(commits)}
if small_lat:
    small_lat.sort()
    q = lambda f: round(small_lat[min(len(small_lat) - 1, int(f * len(small_lat)))], 1)
    out["small_writes"] = {"count": len(small_lat), "p50_ms": q(0.5), "p99_ms": q(0.99),
                           "max_ms": round(small_lat[-1], 1)}
print(json.dumps(out))
