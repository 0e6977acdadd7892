-- One wrk script for every scenario, configured by environment variables set by bench/run.py:
--   BENCH_METHOD, BENCH_BODY        the request (headers come from wrk's -H options)
--   BENCH_THREADS                   wrk's -t, so each thread takes its own slice of a file
--   BENCH_ITEMS                     a file of one-time values (authorization codes, refresh tokens),
--                                   substituted for {item} in BENCH_BODY, each sent once
--   BENCH_ROTATE=1                  refresh rotation: every response's new refresh_token goes back
--                                   into the thread's pool, so each connection follows its own chain
--   BENCH_MAX                       stop after this many responses in all (split over the threads)
-- done() prints one line "BENCH_RESULT {json}" that bench/run.py reads. With BENCH_ITEMS or BENCH_MAX it
-- also counts responses other than 200: "non200" while every request still carried an item, "non200_late"
-- once a placeholder has gone out ("exhausted" counts those), since no response says which request it
-- answers. A scenario can so tell a refused item from a round that outran its file.

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body == "" then body = nil end
local items_file = os.getenv("BENCH_ITEMS")
if items_file == "" then items_file = nil end
local rotate = os.getenv("BENCH_ROTATE") == "1"
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local max_total = tonumber(os.getenv("BENCH_MAX") or "0")

wrk.method = method
wrk.body = body
if body then
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

-- Ending a run early: SIGINT to wrk itself makes it stop, report the real elapsed time and call done()
-- (thread:stop() alone would leave wrk sleeping until -d ran out, and count that idle time).
local ffi = require("ffi")
ffi.cdef[[int getpid(void); int kill(int pid, int sig);]]
local function finish()
  ffi.C.kill(ffi.C.getpid(), 2)
  wrk.thread:stop()
end

local counter = 1
local threads = {}

function setup(thread)
  thread:set("thread_id", counter - 1)
  table.insert(threads, thread)
  counter = counter + 1
end

-- A queue: items are taken at head and rotated refresh tokens appended at tail.
local pool = {}
local head = 1
local tail = 0
local seen = 0
local max_here = 0
-- Globals, so that done() can read each thread's through thread:get.
non200 = 0
non200_late = 0
exhausted = 0

function init(args)
  thread_id = thread_id or 0  -- a global set by setup() through thread:set
  if max_total > 0 then
    max_here = math.floor(max_total / nthreads)
    if thread_id < max_total % nthreads then max_here = max_here + 1 end
  end
  if items_file then
    local i = 0
    for line in io.lines(items_file) do
      if line ~= "" and i % nthreads == thread_id then
        tail = tail + 1
        pool[tail] = line
      end
      i = i + 1
    end
  end
end

if items_file then
  function request()
    local item = pool[head]
    if item then
      pool[head] = nil
      head = head + 1
    else
      item = "exhausted"  -- answered 400 and counted as an error, never as served
      exhausted = exhausted + 1
    end
    return wrk.format(nil, nil, nil, (body:gsub("{item}", item)))
  end
end

if items_file or max_total > 0 then
  function response(status, headers, resp_body)
    if status ~= 200 then
      if exhausted == 0 then non200 = non200 + 1 else non200_late = non200_late + 1 end
    end
    if rotate and status == 200 then
      local token = resp_body:match('"refresh_token"%s*:%s*"([^"]+)"')
      if token then
        tail = tail + 1
        pool[tail] = token
      end
    end
    seen = seen + 1
    if max_here > 0 and seen >= max_here then
      finish()
    elseif items_file and not rotate and head > tail then
      finish()  -- every one-time item has been sent: the round ends early, never sends junk
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local refused, late, ran_out = 0, 0, 0
  for _, thread in ipairs(threads) do
    refused = refused + (thread:get("non200") or 0)
    late = late + (thread:get("non200_late") or 0)
    ran_out = ran_out + (thread:get("exhausted") or 0)
  end
  io.write(string.format(
    'BENCH_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"latency_p50_us":%d,"latency_p99_us":%d,"non200":%d,"non200_late":%d,' ..
    '"exhausted":%d}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), refused, late, ran_out))
end
