-- One pre-signed Slack slash command, POSTed to /slack/events over and over.
--
-- bench_ack.py signs the body once at start (Slack, and Bolt, accept a timestamp up to 5 minutes
-- old, and a run lasts seconds) and passes it here through the environment:
--   WRK_SLASH_BODY_FILE   the form-encoded body, exactly as signed
--   WRK_SLASH_TIMESTAMP   X-Slack-Request-Timestamp
--   WRK_SLASH_SIGNATURE   X-Slack-Signature (v0=...)
--   WRK_SLASH_PACE_MS     optional: each connection waits on average this long (uniformly 0 to
--                         twice as long, so the connections drift apart instead of sending in
--                         bursts) after an answer before its next request, to measure below
--                         saturation rather than at it
-- At the end it prints one line `WRK_JSON {...}` with the figures bench_ack.py reads, next to
-- wrk's own report.

local function required(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error(name .. " is not set (run this script through bench/bench_ack.py)")
  end
  return value
end

local file = assert(io.open(required("WRK_SLASH_BODY_FILE"), "rb"))
wrk.body = file:read("*a")
file:close()
wrk.method = "POST"
wrk.path = "/slack/events"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Slack-Request-Timestamp"] = required("WRK_SLASH_TIMESTAMP")
wrk.headers["X-Slack-Signature"] = required("WRK_SLASH_SIGNATURE")

local pace_ms = tonumber(os.getenv("WRK_SLASH_PACE_MS") or "")
if pace_ms and pace_ms > 0 then
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  function delay()
    return math.random(0, 2 * pace_ms)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
