"""Driver of bench/bench-flow.sh: end-to-end generation on one machine (issue 4).

Talks to PostgreSQL through psql only (standard library Python): runs are submitted with
flow_render_submit, exactly as rg-core does, and latencies are taken from the database
(workflow_history: the 'submitted' row's transaction time to the 'done' row's), so the
driver's own overhead does not enter them.

  python3 bench_flow.py PG_URL PDF_METRICS_PORT SAMPLE.json [SAMPLE2.json ...]

Prints a Markdown table and one PASS/MISS line per target.
"""
import json
import os
import subprocess
import sys
import time

url, pdf_port, samples = sys.argv[1], sys.argv[2], sys.argv[3:]
SUSTAINED = int(os.environ.get("RG_BENCH_RUNS", "1000"))  # queued at once: throughput
RATE = int(os.environ.get("RG_BENCH_RATE", "100"))         # fixed offered rate: latency
SECONDS = int(os.environ.get("RG_BENCH_SECONDS", "10"))
REPEATS = 200        # cache-hit requests


def sql(q):
    return subprocess.run(["psql", "-tAq", "-v", "ON_ERROR_STOP=1", url, "-c", q],
                          capture_output=True, text=True, check=True).stdout.strip()


def psql_script(text):
    return subprocess.run(["psql", "-tAq", "-v", "ON_ERROR_STOP=1", url], input=text,
                          capture_output=True, text=True, check=True).stdout


docs = [json.load(open(p)) for p in samples]
uid = int(sql("INSERT INTO users (email, email_norm, password_hash) VALUES "
              "('bench-flow@example.com', 'bench-flow@example.com', 'x') "
              "ON CONFLICT (email_norm) DO UPDATE SET name = NULL RETURNING id"))


def make_resumes(n, tag):
    """n resumes with distinct content (so neither the cache nor storage dedupes)."""
    lines = []
    for i in range(n):
        d = json.loads(json.dumps(docs[i % len(docs)]))
        d.setdefault("basics", {})["name"] = f"Bench {tag} {i}"
        lines.append(json.dumps(d).replace("\\", "\\\\"))
    path = f"/tmp/bench-flow-{tag}.tsv"
    with open(path, "w") as f:
        for i, l in enumerate(lines):
            f.write(f"{i}\t{l}\n")
    out = psql_script(
        "CREATE TEMP TABLE x (n int, data json);\n"
        f"\\copy x FROM '{path}'\n"
        "CREATE TEMP TABLE y AS SELECT n, gen_random_uuid() AS id, data FROM x;\n"
        f"INSERT INTO resumes (id, user_id, title, data) SELECT id, {uid}, 'bench', data FROM y;\n"
        "INSERT INTO resume_versions (resume_id, version, title, data) SELECT id, 1, 'bench', data FROM y;\n"
        "SELECT id FROM y ORDER BY n;\n")
    return out.split()


def wait_done(ids_sql, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        left = int(sql(f"SELECT count(*) FROM workflow_runs WHERE id IN ({ids_sql}) AND state NOT IN ('done','failed')"))
        if left == 0:
            return True
        time.sleep(0.05)
    return False


def latencies(run_filter):
    out = sql("SELECT extract(epoch FROM d.created_at - s.created_at) * 1000 FROM workflow_history s "
              "JOIN workflow_history d ON d.run_id = s.run_id AND d.event = 'done' "
              f"WHERE s.event = 'submitted' AND s.run_id IN ({run_filter}) ORDER BY 1")
    return [float(x) for x in out.split()]


def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


# warm-up: fonts, connections
warm = make_resumes(20, "warm")
sql("SELECT count(*) FROM (SELECT flow_render_submit(%d, id::uuid, 1, 'classic', 'a4', 'en', NULL, 5) "
    "FROM unnest(ARRAY[%s]) id) s" % (uid, ",".join(f"'{i}'" for i in warm)))
wait_done("SELECT id FROM workflow_runs")

# 1. sustained: SUSTAINED runs submitted in one go; generations/s until the last is done
ids = make_resumes(SUSTAINED, "sust")
t0 = time.time()
sql("CREATE TABLE IF NOT EXISTS bench_runs (tag text, run_id uuid)")
sql("INSERT INTO bench_runs SELECT 'sust', (flow_render_submit(%d, id::uuid, 1, 'classic', 'a4', 'en', NULL, 5)).run_id "
    "FROM unnest(ARRAY[%s]) id" % (uid, ",".join(f"'{i}'" for i in ids)))
ok = wait_done("SELECT run_id FROM bench_runs WHERE tag = 'sust'")
elapsed = time.time() - t0
failed = int(sql("SELECT count(*) FROM workflow_runs WHERE state = 'failed'"))
gps = SUSTAINED / elapsed

# 2. fixed offered rate: one submit every 1/RATE s through one psql session
def offered_rate(rate, tag):
    ids = make_resumes(rate * SECONDS, tag)
    p = subprocess.Popen(["psql", "-tAq", url], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    t0 = time.time()
    for k, rid in enumerate(ids):
        target = t0 + k / rate
        while time.time() < target:
            time.sleep(min(0.002, max(0, target - time.time())))
        p.stdin.write(f"INSERT INTO bench_runs SELECT '{tag}', run_id FROM flow_render_submit({uid}, '{rid}', 1, 'classic', 'a4', 'en', NULL, 5);\n")
        p.stdin.flush()
    p.stdin.close()
    p.wait()
    achieved = len(ids) / (time.time() - t0)
    wait_done(f"SELECT run_id FROM bench_runs WHERE tag = '{tag}'")
    return ids, achieved, latencies(f"SELECT run_id FROM bench_runs WHERE tag = '{tag}'")


ids, offered, lat = offered_rate(RATE, "rate")
half = max(1, int(gps * 0.6))
_, offered_half, lat_half = offered_rate(half, "rate60")

# 3. cache hits: the same version/theme/paper/locale again, timed by psql (\timing)
again = ids[:REPEATS]
script = "\\timing on\n" + "".join(
    f"SELECT run_state FROM flow_render_submit({uid}, '{rid}', 1, 'classic', 'a4', 'en', NULL, 5);\n" for rid in again)
out = psql_script(script)
times = sorted(float(l.split()[1]) for l in out.splitlines() if l.startswith("Time:"))
states = {l for l in out.splitlines() if l and not l.startswith("Time:")}

print("| measure | value | target |")
print("|---|---|---|")
print(f"| sustained generations/s ({SUSTAINED} queued at once, 2 render processes) | {gps:.0f} | >= 150 |")
print(f"| submit -> done p50 at {RATE}/s offered ({offered:.0f}/s achieved, {len(lat)} runs) | {pct(lat, 50):.1f} ms | <= 30 ms |")
print(f"| submit -> done p99 at {RATE}/s | {pct(lat, 99):.1f} ms | <= 150 ms |")
print(f"| submit -> done p50 / p99 at {half}/s (60% of sustained; {offered_half:.0f}/s achieved) | {pct(lat_half, 50):.1f} / {pct(lat_half, 99):.1f} ms | - |")
print(f"| repeat request (cache hit), p50 / p99 of {len(times)} | {pct(times, 50):.2f} / {pct(times, 99):.2f} ms | <= 5 ms |")
print(f"| failed runs | {failed} | 0 |")
print()
print(("PASS" if gps >= 150 else "MISS") + f" sustained {gps:.0f}/s (target 150/s)")
print(("PASS" if pct(lat, 50) <= 30 else "MISS") + f" p50 {pct(lat, 50):.1f} ms (target 30 ms)")
print(("PASS" if pct(lat, 99) <= 150 else "MISS") + f" p99 {pct(lat, 99):.1f} ms (target 150 ms)")
print(("PASS" if pct(times, 99) <= 5 and states == {"done"} else "MISS") + f" repeat p99 {pct(times, 99):.2f} ms, states {sorted(states)} (target 5 ms)")
sys.exit(0 if ok else 1)
