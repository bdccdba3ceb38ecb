-- price_event.lua: wrk script for benchmarks/price_events/run.sh.
-- Every request is a new price event (distinct event_id and Idempotency-Key)
-- for one of PRODUCTS products, with a price within 1% of 10.00 so that no
-- anomaly rule fires. Environment: TENANT, KEY, PRODUCTS, RUN (a prefix that
-- keeps ids distinct between runs).
local tenant = os.getenv("TENANT")
local key = os.getenv("KEY")
local products = tonumber(os.getenv("PRODUCTS") or "100")
local run = os.getenv("RUN") or "r"
local counter = 0
local tid = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  tid = wrk.thread:get("tid") or 0
  math.randomseed(tid * 7919 + os.time())
end

request = function()
  counter = counter + 1
  local id = string.format("%s-%d-%d", run, tid, counter)
  local p = string.format("P%d", counter % products)
  local cents = 990 + math.random(0, 20)
  local body = string.format(
    '{"event_id":"%s","price":"%d.%02d","currency":"EUR","observed_at":"2025-03-01T%02d:%02d:%02dZ","source":"wrk"}',
    id, math.floor(cents / 100), cents % 100, counter % 24, counter % 60, tid % 60)
  local headers = {}
  headers["Authorization"] = "Bearer " .. key
  headers["Content-Type"] = "application/json"
  if os.getenv("NOIDEM") == nil then headers["Idempotency-Key"] = id end
  return wrk.format("POST", "/api/v1/tenants/" .. tenant .. "/products/" .. p .. "/price-event", headers, body)
end
