#!/usr/bin/env bash
# API load benchmark for rg-core with wrk, against a running stack (scripts/stack up):
#
#   bench/bench-core.sh [seconds]        (default 10 s per run)
#
# Runs, each with 64 connections on 2 wrk threads:
#   1. authenticated GET /api/v1/resumes/{id} (served from the Redis cache);
#   2. authenticated PUT /api/v1/resumes/{id} (If-Match: *, spread over 256 resumes so
#      writers rarely collide; every PUT is a PostgreSQL write plus a version row);
#   3. Caddy answering a static `respond` on the same machine: the ceiling of HTTP here;
#   4. authenticated POST /api/v1/preview (the editor's live preview: a PNG of the
#      unsaved document, 600 and 1,200 pixels wide) with 2 connections: rg-core draws one
#      preview at a time, so more connections only wait or get 503 preview_busy.
# Then prints requests/s, p50/p99 latency and rg-core's idle RSS as a Markdown table
# for docs/BENCHMARKS.md.  wrk and Caddy share the cores with the server, as in the
# targets of issue 3.
#
#   RG_CORE_URL   base URL of rg-core (default http://127.0.0.1:8081)
#   RG_CORE_PID   pid of rg-core for the RSS (default: var/run/rg-core.pid)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

DUR=${1:-10}
BASE=${RG_CORE_URL:-http://127.0.0.1:8081}
PIDFILE=${RG_STACK_DIR:-$ROOT/var}/run/rg-core.pid
PID=${RG_CORE_PID:-$(cat "$PIDFILE" 2>/dev/null || true)}
WORK=$(mktemp -d /tmp/bench-core.XXXXXX)
CADDY_PID=""
cleanup() {
    [ -n "$CADDY_PID" ] && kill "$CADDY_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || ensure_pkgs wrk
curl -fsS "$BASE/healthz" >/dev/null || die "rg-core does not answer at $BASE (scripts/stack up)"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo "?"; }
IDLE_RSS=$([ -n "$PID" ] && rss_kb "$PID" || echo "?")

# A user and resumes to work on.
email="bench-$(date +%s%N)@example.com"
token=$(curl -fsS -X POST "$BASE/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"benchmark password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
body=$(python3 -c 'import json,sys; print(json.dumps({"data": json.load(open(sys.argv[1]))}))' "$ROOT/examples/resume.json")
printf '%s' "$body" >"$WORK/body.json"
# One python3 process creates the 256 resumes (a process per resume is slow).
mapfile -t ids < <(python3 - "$BASE" "$token" "$WORK/body.json" <<'PY'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port or 80)
body = open(sys.argv[3], "rb").read()
for _ in range(256):
    c.request("POST", "/api/v1/resumes", body, {"Authorization": "Bearer " + sys.argv[2],
              "Content-Type": "application/json"})
    r = c.getresponse()
    print(json.loads(r.read())["id"])
PY
)
[ ${#ids[@]} -eq 256 ] || die "could not create the benchmark resumes"
curl -fsS "$BASE/api/v1/resumes/${ids[0]}" -H "Authorization: Bearer $token" >/dev/null # warm the cache

cat >"$WORK/put.lua" <<EOF
local ids = { $(printf '"%s",' "${ids[@]}") }
local body = io.open("$WORK/body.json"):read("*a")
local n = 0
request = function()
  n = n + 1
  local id = ids[(n * 7 + math.random(0, 255)) % #ids + 1]
  return wrk.format("PUT", "/api/v1/resumes/" .. id, {
    ["Authorization"] = "Bearer $token", ["Content-Type"] = "application/json", ["If-Match"] = "*" }, body)
end
EOF
cat >"$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("RESULT req=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF

ticks() { [ -n "$PID" ] && awk '{print $14 + $15}' "/proc/$PID/stat" 2>/dev/null || echo 0; }
run() { # name, wrk args...
    local name=$1; shift
    say "$name"
    local t0; t0=$(ticks)
    wrk -t2 -c64 -d"${DUR}s" --latency "$@" | tee "$WORK/$name.out" | grep -E 'Requests/sec|Latency|99%' >&2 || true
    # rg-core's own CPU time per request: the figure that other load on the machine does
    # not move (clock ticks of 10 ms).
    echo "CPU ticks=$(( $(ticks) - t0 ))" >>"$WORK/$name.out"
}
# wrk takes one script; the report hook is appended to the PUT and preview scripts.
cat "$WORK/report.lua" >>"$WORK/put.lua"
for w in 600 1200; do
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"data": d["data"], "width": int(sys.argv[2])}))' \
        "$WORK/body.json" "$w" >"$WORK/preview$w.json"
    {
        echo 'wrk.method = "POST"'
        echo "wrk.body = io.open(\"$WORK/preview$w.json\"):read(\"*a\")"
        echo "wrk.headers[\"Authorization\"] = \"Bearer $token\""
        echo 'wrk.headers["Content-Type"] = "application/json"'
        cat "$WORK/report.lua"
    } >"$WORK/preview$w.lua"
done
run get -s "$WORK/report.lua" -H "Authorization: Bearer $token" "$BASE/api/v1/resumes/${ids[0]}"
run put -s "$WORK/put.lua" "$BASE"
LOAD_RSS=$([ -n "$PID" ] && rss_kb "$PID" || echo "?")
run_preview() { # width
    local name=preview$1
    say "$name"
    local t0; t0=$(ticks)
    wrk -t1 -c2 -d"${DUR}s" --latency -s "$WORK/preview$1.lua" "$BASE/api/v1/preview" | tee "$WORK/$name.out" |
        grep -E 'Requests/sec|Latency|99%' >&2 || true
    echo "CPU ticks=$(( $(ticks) - t0 ))" >>"$WORK/$name.out"
}
run_preview 600
sleep 1 # the previews wrk left in flight are answered (or skipped) before the next run
run_preview 1200
PREVIEW_RSS=$([ -n "$PID" ] && rss_kb "$PID" || echo "?")

caddy_line="| Caddy static \`respond\` (ceiling) | not run: caddy not installed | | | | |"
if command -v caddy >/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf '{\n  admin off\n}\nhttp://127.0.0.1:%s {\n  respond "ok"\n}\n' "$port" >"$WORK/Caddyfile"
    caddy run --config "$WORK/Caddyfile" --adapter caddyfile >"$WORK/caddy.log" 2>&1 &
    CADDY_PID=$!
    for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
    run caddy -s "$WORK/report.lua" "http://127.0.0.1:$port/"
    kill "$CADDY_PID" 2>/dev/null || true
    wait "$CADDY_PID" 2>/dev/null || true
    CADDY_PID=""
fi

field() { sed -n "s/.*RESULT.* $2=\([^ ]*\).*/\1/p" "$WORK/$1.out"; }
cpu_ms() { # name -> rg-core CPU ms per request
    local t n; t=$(sed -n 's/^CPU ticks=//p' "$WORK/$1.out"); n=$(field "$1" req)
    python3 -c "import sys; t, n = int(sys.argv[1] or 0), int(sys.argv[2] or 0); print(f'{t * 10 / n:.3f}' if n and t else '-')" "$t" "$n"
}
line() { # name, label, with cpu column (1/0)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "$(field "$1" rps)" "$(field "$1" p50_ms)" \
        "$(field "$1" p99_ms)" "$(field "$1" non2xx)/$(field "$1" errors)" "$([ "$3" = 1 ] && cpu_ms "$1" || echo -)"
}
echo
echo "$(nproc) cores, $(date -u +%Y-%m-%d), wrk -t2 -c64 -d${DUR}s on the same machine"
echo
echo "| run | requests/s | p50 ms | p99 ms | non-2xx / socket errors | rg-core CPU ms/request |"
echo "|---|---:|---:|---:|---:|---:|"
line get "GET /api/v1/resumes/{id} (cached, Bearer)" 1
line put "PUT /api/v1/resumes/{id} (If-Match: *, 256 resumes)" 1
if [ -f "$WORK/caddy.out" ]; then line caddy "Caddy static \`respond\` (ceiling)" 0; else echo "$caddy_line"; fi
line preview600 "POST /api/v1/preview, 600 px (2 connections)" 1
line preview1200 "POST /api/v1/preview, 1,200 px (2 connections)" 1
echo
echo "rg-core RSS: idle ${IDLE_RSS} kB before the runs, ${LOAD_RSS} kB after GET and PUT, ${PREVIEW_RSS} kB after the previews (the renderer loaded)"
