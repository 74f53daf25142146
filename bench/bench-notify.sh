#!/usr/bin/env bash
# rg-notify benchmark (issue 5): idle connections held and hub memory per connection, then
# broker-to-socket latency while a steady rate of notifications fans out to every socket.
# Not a timed test.
#
#   bench/bench-notify.sh [CONNS [USERS [RATE [SECONDS]]]]     (default 10000 1000 1000 60)
#
# Starts its own stack under var/bench-notify on its own ports (PostgreSQL 17111, Redis
# 17112, RabbitMQ 17113, rg-core 17114, rg-notify 17115 with metrics on 17116; rg-notify
# with its default settings), registers USERS accounts through rg-core's
# POST /api/v1/auth/register (their session tokens are what the hub checks in Redis), and
# runs bench-notify (bench/bench-notify.c, a libwebsockets client): CONNS sockets, socket i
# with the session of user i mod USERS (CONNS/USERS tabs per user), the hub's RSS before
# and after they are all ready; then RATE notifications/s for SECONDS, written to
# PostgreSQL and published to rg.notify as rg-flow and its relay do, each to one user
# (round robin) and so to each of that user's sockets.  Everything is stopped at the end.
#
#   RG_BUILD_DIR  build tree (default build-bench, release; built when missing)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

CONNS=${1:-10000} USERS=${2:-1000} RATE=${3:-1000} SECONDS_=${4:-60}
for v in "$CONNS" "$USERS" "$RATE" "$SECONDS_"; do
    [[ $v =~ ^[0-9]+$ ]] || die "usage: bench/bench-notify.sh [CONNS [USERS [RATE [SECONDS]]]] (integers)"
done
[ "$USERS" -ge 1 ] && [ "$USERS" -le "$CONNS" ] || die "USERS must be 1..CONNS"
BUILD_DIR=${RG_BUILD_DIR:-build-bench}
# meson benchmark() passes the build tree as an absolute path; scripts/stack wants it
# relative to the source tree.
case $BUILD_DIR in /*) BUILD_DIR=$(realpath --relative-to="$ROOT" "$BUILD_DIR") ;; esac
export RG_BUILD_DIR=$BUILD_DIR
export RG_STACK_DIR=$ROOT/var/bench-notify RG_PG_DB=bench_notify
export RG_PG_PORT=17111 RG_REDIS_PORT=17112 RG_AMQP_PORT=17113 RG_CORE_PORT=17114
export RG_NOTIFY_PORT=17115 RG_NOTIFY_METRICS_PORT=17116
# Accounts are only the way to real sessions here: a cheap password hash, no sign-up limit.
export RG_CORE_ARGON2_MEMORY=1MiB RG_CORE_ARGON2_ITERATIONS=1 RG_CORE_REGISTER_IP_MAX=1000000
export RG_LOG_LEVEL=warn
ensure_pkgs $PKGS_BUILD $PKGS_FONTS $PKGS_CORE $PKGS_FLOW $PKGS_NOTIFY
[ -x "$ROOT/$BUILD_DIR/bench/bench-notify" ] || build_tree "$BUILD_DIR" -Dbuildtype=release
# CONNS sockets on each side: the open-file limit as far as the hard limit allows; the
# stack's daemons inherit it.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -gt $((CONNS + 256)) ] || die "open-file limit $(ulimit -n) is too low for $CONNS sockets"

cleanup() { "$ROOT/scripts/stack" down notify core rabbit redis pg >/dev/null 2>&1 || true; }
trap cleanup EXIT
# A fresh database and broker state each run.
"$ROOT/scripts/stack" down notify core >/dev/null 2>&1 || true
"$ROOT/scripts/stack" up pg >/dev/null
psql -q -h 127.0.0.1 -p "$RG_PG_PORT" -U postgres -c "DROP DATABASE IF EXISTS bench_notify" postgres
"$ROOT/scripts/stack" up pg redis core rabbit notify >/dev/null
redis-cli -p "$RG_REDIS_PORT" flushall >/dev/null
HUB_PID=$(cat "$RG_STACK_DIR/run/rg-notify.pid")

TOKENS=$RG_STACK_DIR/tokens.txt
say "registering $USERS accounts through rg-core"
python3 - "$USERS" "$TOKENS" "$RG_CORE_PORT" <<'PY' || die "registering the accounts failed"
import concurrent.futures, http.client, json, secrets, sys
users, path, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
run = secrets.token_hex(4)
def register(i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"email": f"bench-{run}-{i}@example.com", "password": "bench-password-" + run})
    c.request("POST", "/api/v1/auth/register", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 201:
        raise SystemExit(f"register {i}: HTTP {r.status} {data[:200]!r}")
    d = json.loads(data)
    return d["user"]["id"], d["token"]
with concurrent.futures.ThreadPoolExecutor(4) as ex:
    rows = list(ex.map(register, range(users)))
with open(path, "w") as f:
    for uid, tok in rows:
        f.write(f"{uid} {tok}\n")
PY

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rg-notify pid $HUB_PID (default settings); $CONNS sockets for $USERS users; $RATE msg/s for ${SECONDS_} s"
rc=0
"$ROOT/$BUILD_DIR/bench/bench-notify" "$RG_NOTIFY_PORT" \
    "postgresql://postgres@127.0.0.1:$RG_PG_PORT/bench_notify" \
    "amqp://guest:guest@127.0.0.1:$RG_AMQP_PORT" "$TOKENS" "$HUB_PID" "$CONNS" "$RATE" "$SECONDS_" || rc=$?
# The hub's own view: broker delivery -> socket write (rg_notify_delivery_seconds).
curl -fsS "http://127.0.0.1:$RG_NOTIFY_METRICS_PORT/metrics" | python3 -c '
import re, sys
m = sys.stdin.read()
get = lambda k: float(re.search("^" + re.escape(k) + r" (\S+)$", m, re.M).group(1))
print("hub metrics: messages in %d, out %d, dropped (no socket) %d, slow closes %d" % (
    get("rg_notify_messages_in_total"), get("rg_notify_messages_out_total"),
    get("rg_notify_messages_dropped_total{reason=\"no_socket\"}"),
    get("rg_notify_closed_total{reason=\"slow\"}")))
b = [(float(le), float(v)) for le, v in re.findall(r"^rg_notify_delivery_seconds_bucket\{le=\"([0-9.e+-]+)\"\} (\S+)$", m, re.M)]
n = get("rg_notify_delivery_seconds_count{}")
def q(p):
    for le, v in b:
        if v >= p * n:
            return "<= %g ms" % (le * 1000)
    return "> %g ms" % (b[-1][0] * 1000)
if n:
    print("hub-internal delivery (broker thread receive -> socket write): p50 %s, p99 %s (histogram buckets)" % (q(.5), q(.99)))
'
exit $rc
