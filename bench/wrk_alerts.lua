-- An alert storm: generic webhook bodies cycling over N fingerprints, POSTed to /webhooks/generic.
--
-- bench_alerts.py runs one wrk per pitcrew instance and passes, through the environment:
--   WRK_ALERTS_QUOTA         how many alerts this wrk sends in all (split evenly between its threads)
--   WRK_ALERTS_FINGERPRINTS  how many distinct fingerprints the bodies cycle over
--   WRK_ALERTS_TOKEN         WEBHOOK_SECRET, sent as ?token=
--   WRK_ALERTS_OFFSET        where this wrk starts in the cycle (so instances interleave fingerprints)
-- Each thread sends exactly its share of alerts, then only `GET /__bench_done` (a 404 that touches
-- nothing) until every alert it sent has been answered, and stops. So the count of alerts sent is
-- exact, whatever the connection count, and the run ends when the last alert is answered.
-- At the end it prints one line `WRK_JSON {...}`.

local function required(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error(name .. " is not set (run this script through bench/bench_alerts.py)")
  end
  return value
end

local quota_total = tonumber(required("WRK_ALERTS_QUOTA"))
local fingerprints = tonumber(required("WRK_ALERTS_FINGERPRINTS"))
local token = required("WRK_ALERTS_TOKEN")
local offset = tonumber(os.getenv("WRK_ALERTS_OFFSET") or "0")

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local bodies = {}
local quota, position = 0, 0
local post_path, done_request
-- globals, so that done() can read them from each thread with thread:get()
sent, answered, accepted, refused, discarded = 0, 0, 0, 0, 0

function init(args)
  for i = 0, fingerprints - 1 do
    bodies[i] = string.format(
      '{"title": "Storm alert %02d: 5xx above 5%%", "service": "api", "severity": "critical", ' ..
      '"status": "firing", "fingerprint": "storm-%02d", "url": "https://grafana.example.com/d/storm-%02d"}',
      i, i, i)
  end
  local threads_here = tonumber(os.getenv("WRK_ALERTS_THREADS") or "1")
  quota = math.floor(quota_total / threads_here)
  if index == threads_here - 1 then
    quota = quota_total - quota * (threads_here - 1)
  end
  -- wrk calls request() once on thread 0 right after init() to check the script
  -- (script_verify_request) and throws that request away: thread 0 makes one more, and counts it out.
  if index == 0 then
    discarded = 1
    quota = quota + 1
  end
  position = offset + index * 7
  post_path = "/webhooks/generic?token=" .. token
  done_request = wrk.format("GET", "/__bench_done")
end

function request()
  if sent < quota then
    sent = sent + 1
    local body = bodies[position % fingerprints]
    position = position + 1
    return wrk.format("POST", post_path, {["Content-Type"] = "application/json"}, body)
  end
  return done_request
end

function response(status, headers, body)
  if status == 404 then
    if answered >= sent - discarded and sent >= quota then
      wrk.thread:stop()
    end
    return
  end
  answered = answered + 1
  if status == 202 then
    accepted = accepted + 1
  else
    refused = refused + 1
  end
  if sent >= quota and answered >= sent - discarded then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local s, a, ok, bad = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    s = s + thread:get("sent") - thread:get("discarded")
    a = a + thread:get("answered")
    ok = ok + thread:get("accepted")
    bad = bad + thread:get("refused")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"sent": %d, "answered": %d, "accepted": %d, "refused": %d, "requests": %d, ' ..
    '"duration_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    s, a, ok, bad, summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
