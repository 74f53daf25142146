#!/usr/bin/env bash
# End-to-end generation benchmark (issue 4): PostgreSQL + RabbitMQ + rg-flow + rg-pdf with
# 2 render processes on this machine, the sample resumes of ../shared/bench.
#
#   bench/bench-flow.sh
#
# Starts its own stack under var/bench-flow on other ports (PostgreSQL 15434, RabbitMQ
# 15682, rg-flow 18184, rg-pdf 18185; PDFs into var/bench-flow/storage), stops it at the
# end, and prints (bench/bench_flow.py): generations/s sustained with 2000 runs queued at
# once; submit -> done latency p50/p99 at a fixed offered rate of 100/s (from the
# database's own timestamps of the 'submitted' and 'done' history rows); the latency of a
# repeat request (same version/theme/paper/locale: done from the render cache); the CPU
# each part spent per generation in the sustained phase; PASS/MISS against the targets.
# Not a timed test.
#
#   RG_BUILD_DIR  build tree (default build-flow; built when missing)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

BUILD_DIR=${RG_BUILD_DIR:-build-flow}
export RG_STACK_DIR=$ROOT/var/bench-flow RG_PG_PORT=15434 RG_AMQP_PORT=15682 RG_PG_DB=bench_flow
export RG_PG_FSYNC=on
SAMPLES=$ROOT/../shared/bench
[ -f "$SAMPLES/sample-resume.json" ] || die "no $SAMPLES/sample-resume.json"
ensure_pkgs $PKGS_BUILD $PKGS_FONTS $PKGS_CORE $PKGS_FLOW
build_tree "$BUILD_DIR" --buildtype=release # up to date: a no-op

FLOW_PID="" PDF_PID=""
cleanup() {
    [ -n "$FLOW_PID" ] && kill -TERM "$FLOW_PID" 2>/dev/null
    [ -n "$PDF_PID" ] && kill -TERM "$PDF_PID" 2>/dev/null
    wait 2>/dev/null || true
    "$ROOT/scripts/stack" down rabbit pg >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$ROOT/scripts/stack" up pg rabbit >/dev/null
PG="postgresql://postgres@127.0.0.1:$RG_PG_PORT"
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS bench_flow" -c "CREATE DATABASE bench_flow" 2>/dev/null
"$ROOT/$BUILD_DIR/src/cli/resumego" migrate --url "$PG/bench_flow" >/dev/null
"$ROOT/scripts/stack" rabbitmqctl purge_queue rg.render >/dev/null 2>&1 || true
"$ROOT/scripts/stack" rabbitmqctl purge_queue rg.results >/dev/null 2>&1 || true
rm -rf "$RG_STACK_DIR/storage"

export RG_PG_URL="$PG/bench_flow" RG_AMQP_URL="amqp://guest:guest@127.0.0.1:$RG_AMQP_PORT"
export RG_STORAGE="fs://$RG_STACK_DIR/storage" RG_LOG_LEVEL=warn
RG_FLOW_PORT=18184 "$ROOT/$BUILD_DIR/src/flow/rg-flow" 2>>"$RG_STACK_DIR/log/rg-flow.log" &
FLOW_PID=$!
RG_PDF_PORT=18185 RG_PDF_SLOTS=2 "$ROOT/$BUILD_DIR/src/pdf/rg-pdf" 2>>"$RG_STACK_DIR/log/rg-pdf.log" &
PDF_PID=$!
for _ in $(seq 100); do
    curl -fsS http://127.0.0.1:18184/healthz >/dev/null 2>&1 && curl -fsS http://127.0.0.1:18185/healthz >/dev/null 2>&1 && break
    sleep 0.1
done
export RG_BENCH_PIDS="rg-pdf=$PDF_PID rg-flow=$FLOW_PID PostgreSQL=$(head -1 "$RG_STACK_DIR/pg/data/postmaster.pid") RabbitMQ=$(cat "$RG_STACK_DIR/rabbitmq/rabbit.pid")"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
python3 "$ROOT/bench/bench_flow.py" "$RG_PG_URL" 18185 "$SAMPLES/${RG_BENCH_SAMPLE:-sample-resume.json}"
