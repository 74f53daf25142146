"""Integration tests of durable resume generation: rg-flow + rg-pdf against the real
PostgreSQL, RabbitMQ and S3 server that scripts/test starts (issue 4).

  it-flow.py e2e     the whole job: submit -> relay -> render -> store -> result -> done,
                     notifications, render cache, idempotency, retries up to the maximum,
                     non-retryable failures, malformed messages dead-lettered and counted,
                     SIGTERM of rg-pdf with tasks in flight
  it-flow.py faults  N generations (RG_FLOW_TEST_N, default 500 as the issue asks) per scenario: kill -9 of
                     render processes mid-render, kill -9 of rg-flow at the injected points
                     (before publish, after publish before commit, before and after the
                     result commit), RabbitMQ node killed (-9) and restarted, PostgreSQL immediate restart, two
                     rg-flow + two rg-pdf replicas.  After each: every run in exactly one
                     terminal state, one terminal history row and one notification of it,
                     no PDF missing, nothing stuck (outbox drained, queues empty)
  it-flow.py api     the same through rg-core: POST resumes/{id}/renders (Idempotency-Key),
                     GET renders/{id}, GET renders/{id}/pdf, GET resumes/{id}/renders
  it-flow.py s3      rg-pdf storing into the local S3 server, which checks SigV4
                     signatures; awkward keys round-trip; a wrong secret is refused

Each run gets its own database (corelib.Database) and its own RabbitMQ vhost.
"""
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corelib import Checker, Database, free_port, need_env  # noqa: E402

N = int(os.environ.get("RG_FLOW_TEST_N", "500"))
STACK = os.environ.get("RG_TEST_STACK", "")
TOOL = os.environ.get("RG_BIN_FLOW_TOOL", "")


def rabbitctl(*args):
    return subprocess.run([STACK, "rabbitmqctl", *args], capture_output=True, text=True, timeout=120)


class Vhost:
    def __init__(self, tag):
        self.name = f"it_flow_{os.getpid()}_{tag}"
        rabbitctl("delete_vhost", self.name)
        r = rabbitctl("add_vhost", self.name)
        if r.returncode != 0:
            raise RuntimeError(f"add_vhost: {r.stderr}")
        rabbitctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        self.url = os.environ["RG_TEST_AMQP_URL"].rstrip("/") + "/" + self.name

    def depth(self, queue):
        r = subprocess.run([TOOL, "depth", self.url, queue], capture_output=True, text=True)
        return int(r.stdout.strip()) if r.returncode == 0 else -1

    def publish(self, exchange, key, body):
        return subprocess.run([TOOL, "publish", self.url, exchange, key, body],
                              capture_output=True, text=True).returncode

    def drop(self):
        rabbitctl("delete_vhost", self.name)


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def metric(port, name):
    st, text = http_get(port, "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


class Daemon:
    """rg-flow or rg-pdf in its own process group, logging to a file."""

    def __init__(self, kind, env, logdir, tag):
        self.kind, self.env, self.tag = kind, env, tag
        self.port = int(env[f"RG_{kind.upper()}_PORT"])
        self.log = open(os.path.join(logdir, f"{kind}-{tag}.log"), "ab")
        self.proc = None

    def start(self, extra=None):
        env = dict(self.env, **(extra or {}))
        self.proc = subprocess.Popen([os.environ[f"RG_BIN_{self.kind.upper()}"]], env=env,
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            if http_get(self.port, "/healthz")[0] == 200:
                return True
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def children(self):
        """Live (not zombie) child processes: the render slots of rg-pdf."""
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                pids = [int(x) for x in f.read().split()]
        except OSError:
            return []
        live = []
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        live.append(pid)
            except OSError:
                pass
        return live

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if not self.alive():
            return None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()


def resume_doc(i, big=False):
    work = [{"name": f"Company {i}-{k}", "position": "Engineer", "startDate": "2019-01",
             "endDate": "2021-06", "summary": f"Built systems number {k} for person {i}.",
             "highlights": [f"Shipped feature {k}.{h} on time" for h in range(4)]}
            for k in range(25 if big else 2)]
    return {"basics": {"name": f"Person {i}", "label": "Software Engineer",
                       "email": f"p{i}@example.com", "summary": "Writes C for a living."},
            "work": work, "skills": [{"name": "C", "keywords": ["meson", "libpq"]}]}


class Env:
    def __init__(self, tag, ck, flow_extra=None):
        need_env("RG_TEST_PG_URL", "RG_TEST_AMQP_URL", "RG_TEST_STACK")
        self.ck = ck
        self.tmp = tempfile.mkdtemp(prefix=f"it-flow-{tag}-")
        self.storage = os.path.join(self.tmp, "objects")
        self.db = Database("flow" + tag)
        self.vh = Vhost(tag)
        self.uid = int(self.db.sql("INSERT INTO users (email, email_norm, password_hash) "
                                   "VALUES ('it@example.com', 'it@example.com', 'x') RETURNING id")
                       .splitlines()[0])
        base = dict(os.environ, RG_PG_URL=self.db.url, RG_AMQP_URL=self.vh.url,
                    RG_STORAGE="fs://" + self.storage, RG_LOG_LEVEL="info")
        self.flow_env = dict(dict(base, RG_FLOW_RETRY_BASE="100ms", RG_FLOW_RETRY_MAX="800ms",
                                  RG_FLOW_STEP_TIMEOUT="8s", RG_FLOW_REAP_INTERVAL="200ms",
                                  # the relay's own VACUUM of the outbox, often: it then runs
                                  # amid every fault of the fault tests too
                                  RG_FLOW_OUTBOX_VACUUM="50"),
                             **(flow_extra or {}))
        self.pdf_env = dict(base, RG_PDF_SLOTS="2", RG_PDF_STOP_GRACE="20s")
        self.daemons = []
        self.nres = 0

    def flow(self, tag="a"):
        d = Daemon("flow", dict(self.flow_env, RG_FLOW_PORT=str(free_port()),
                                RG_FLOW_REPLICA=f"flow-{tag}"), self.tmp, tag)
        self.daemons.append(d)
        return d

    def pdf(self, tag="a", extra=None):
        d = Daemon("pdf", dict(self.pdf_env, RG_PDF_PORT=str(free_port()), **(extra or {})),
                   self.tmp, tag)
        self.daemons.append(d)
        return d

    def add_resumes(self, n, big_every=0):
        """n new resumes with one version each; returns their ids."""
        rows = []
        for k in range(n):
            i = self.nres + k + 1
            big = big_every and i % big_every == 0
            rows.append((f"00000000-0000-0000-0000-{i:012d}", json.dumps(resume_doc(i, big))))
        self.nres += n
        path = os.path.join(self.tmp, "resumes.csv")
        with open(path, "w") as f:
            for rid, doc in rows:
                f.write(rid + "\t" + doc.replace("\\", "\\\\") + "\n")
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", self.db.url], check=True, input=(
            "CREATE TEMP TABLE x (id uuid, data json);\n"
            f"\\copy x FROM '{path}'\n"
            f"INSERT INTO resumes (id, user_id, title) SELECT id, {self.uid}, 'r' FROM x;\n"
            "INSERT INTO resume_versions (resume_id, version, title, data) SELECT id, 1, 'r', data FROM x;\n"),
            text=True)
        return [r[0] for r in rows]

    def submit(self, ids, theme="classic", idem=None, max_attempts=5):
        idl = ",".join(f"'{i}'" for i in ids)
        key = "NULL" if idem is None else f"'{idem}'"
        out = self.db.sql(
            f"SELECT s.run_id FROM unnest(ARRAY[{idl}]::uuid[]) AS r(id), "
            f"LATERAL flow_render_submit({self.uid}, r.id, 1, '{theme}', 'a4', 'en', {key}, {max_attempts}) s")
        return out.splitlines()

    def wait_terminal(self, timeout, tick=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if tick:
                tick()
            left = int(self.db.sql("SELECT count(*) FROM workflow_runs WHERE state NOT IN ('done','failed')"))
            if left == 0:
                return True
            time.sleep(0.1)
        return False

    def check_invariants(self, what, expect_failed=0):
        ck, sql = self.ck, self.db.sql
        ck.eq(int(sql("SELECT count(*) FROM workflow_runs WHERE state NOT IN ('done','failed')")), 0,
              f"{what}: every run reached a terminal state")
        ck.eq(int(sql("SELECT count(*) FROM workflow_runs WHERE state = 'failed'")), expect_failed,
              f"{what}: failed runs")
        ck.eq(int(sql("SELECT count(*) FROM workflow_runs r WHERE (SELECT count(*) FROM workflow_history h "
                      "WHERE h.run_id = r.id AND h.to_state IN ('done','failed')) <> 1")), 0,
              f"{what}: exactly one terminal transition per run")
        ck.eq(int(sql("SELECT count(*) FROM workflow_runs r WHERE (SELECT count(*) FROM notifications n "
                      "WHERE n.payload->>'run_id' = r.id::text AND n.kind = 'render.' || r.state) <> 1")), 0,
              f"{what}: exactly one done/failed notification per run")
        ck.eq(int(sql("SELECT count(*) FROM notifications n WHERE n.kind = 'render.done' AND NOT EXISTS "
                      "(SELECT 1 FROM workflow_runs r WHERE r.id::text = n.payload->>'run_id' AND r.state = 'done')")),
              0, f"{what}: no success notification for a run that is not done")
        missing = bad = 0
        keys = sql("SELECT DISTINCT output->>'storage_key' FROM workflow_runs WHERE state = 'done'").splitlines()
        for k in keys:
            p = os.path.join(self.storage, k)
            if not os.path.exists(p):
                missing += 1
                continue
            data = open(p, "rb").read()
            if not data.startswith(b"%PDF-") or f"pdf/{hashlib.sha256(data).hexdigest()}.pdf" != k:
                bad += 1
        ck.check(len(keys) > 0 or expect_failed, f"{what}: PDFs were produced")
        ck.eq(missing, 0, f"{what}: no PDF missing from storage")
        ck.eq(bad, 0, f"{what}: every stored PDF is a PDF whose SHA-256 is its key")
        # nothing stuck: the outbox drains (notifications included) and the queues empty
        deadline = time.time() + 20
        while time.time() < deadline:
            backlog = int(sql("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
            d_render, d_results = self.vh.depth("rg.render"), self.vh.depth("rg.results")
            if backlog == 0 and d_render == 0 and d_results == 0:
                break
            time.sleep(0.2)
        ck.eq((backlog, d_render, d_results), (0, 0, 0), f"{what}: outbox drained, rg.render and rg.results empty")

    def close(self):
        for d in self.daemons:
            d.stop(timeout=30)
        self.vh.drop()
        self.db.drop()
        if self.ck.failed:
            print(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def test_e2e(ck):
    e = Env("e2e", ck)
    try:
        flow, pdf = e.flow(), e.pdf()
        ck.check(flow.start(), "rg-flow starts and reports healthy")
        ck.check(pdf.start(), "rg-pdf starts and reports healthy")
        ids = e.add_resumes(40)
        t0 = time.time()
        runs = e.submit(ids)
        ck.eq(len(runs), 40, "40 runs submitted")
        ck.check(e.wait_terminal(60), "40 generations finish", time.time() - t0)
        e.check_invariants("e2e")
        ck.eq(int(e.db.sql("SELECT count(*) FROM workflow_runs WHERE state='done' AND attempt=1")), 40,
              "all done at the first attempt")
        kinds = e.db.sql(f"SELECT string_agg(kind, ',' ORDER BY id) FROM notifications WHERE payload->>'run_id' = '{runs[0]}'")
        ck.eq(kinds, "render.queued,render.progress,render.done", "the user is told queued, progress, done")
        msg = json.loads(e.db.sql(f"SELECT payload FROM notifications WHERE kind='render.done' AND payload->>'run_id' = '{runs[0]}'"))
        ck.eq(msg.get("pdf_url"), f"/api/v1/renders/{runs[0]}/pdf", "done notification carries pdf_url")
        ck.eq((msg.get("type"), msg.get("state")), ("render.done", "done"),
              "the payload is the WebSocket message of docs/notify.md")
        ck.eq(int(e.db.sql("SELECT count(*) FROM outbox WHERE exchange='rg.notify' AND published_at IS NULL")), 0,
              "notifications relayed to rg.notify")
        # 40 runs are 160 outbox rows (task, queued, progress, done): the relay vacuumed the
        # outbox after every 50 (at least twice, however the batches fell)
        ck.check((metric(flow.port, "rg_flow_outbox_vacuums_total") or 0) >= 2, "the relay vacuums the outbox",
                 metric(flow.port, "rg_flow_outbox_vacuums_total"))
        for step in ("render", "store", "result_publish", "idle"):
            ck.check((metric(pdf.port, f"rg_pdf_{step}_seconds_count") or 0) > 0, f"rg-pdf times its {step} step")

        # the same version/theme/paper/locale again: done at once from the cache, no render
        rendered = metric(pdf.port, 'rg_pdf_tasks_total{outcome="ok"}')
        t1 = time.time()
        again = e.submit(ids[:5])
        dt = time.time() - t1
        ck.eq(e.db.sql(f"SELECT string_agg(DISTINCT state, ',') FROM workflow_runs WHERE id IN ({','.join(repr(x) for x in again)})"),
              "done", "a repeat request is done when submitted")
        ck.check(dt < 2, "repeat requests need no render", dt)
        time.sleep(0.5)
        ck.eq(metric(pdf.port, 'rg_pdf_tasks_total{outcome="ok"}'), rendered, "a repeat request renders nothing")

        # idempotency key: the same run back
        r1 = e.submit(ids[5:6], theme="modern", idem="key-1")
        r2 = e.submit(ids[5:6], theme="modern", idem="key-1")
        ck.eq(r1, r2, "the same Idempotency-Key returns the same run")

        # deterministic bytes: another theme of the same resume is another object, the
        # same theme of an identical document is the same object
        twin = e.add_resumes(1)
        e.db.sql(f"UPDATE resume_versions SET data = (SELECT data FROM resume_versions WHERE resume_id = '{ids[0]}'), "
                 f"created_at = (SELECT created_at FROM resume_versions WHERE resume_id = '{ids[0]}') WHERE resume_id = '{twin[0]}'")
        tr = e.submit(twin)
        ck.check(e.wait_terminal(30), "twin finishes")
        ck.eq(e.db.sql(f"SELECT count(DISTINCT output->>'sha256') FROM workflow_runs WHERE id IN ('{tr[0]}', '{runs[0]}')"), "1",
              "identical input gives identical bytes (one object)")

        # a resume that fails every time: retried with backoff up to max_attempts, then failed
        bad = e.add_resumes(1)
        fr = e.submit(bad, theme="no-such-theme", max_attempts=4)
        ck.check(e.wait_terminal(30), "the always-failing run ends")
        row = e.db.sql(f"SELECT state || '|' || attempt || '|' || (error->>'code') || '|' || (error->>'message') FROM workflow_runs WHERE id = '{fr[0]}'")
        st, att, code, message = row.split("|", 3)
        ck.eq((st, att, code), ("failed", "4", "unknown_theme"), "fails after max_attempts with its code")
        ck.check("no-such-theme" in message and "gave up after 4 attempts" in message, "the reason is readable", message)
        delays = e.db.sql(f"SELECT string_agg(detail->>'tier_ms', ',' ORDER BY id) FROM workflow_history WHERE run_id = '{fr[0]}' AND event = 'retry'")
        ck.eq(delays, "100,200,400", "exponential backoff through the retry tiers")
        jit = e.db.sql(f"SELECT bool_and((detail->>'delay_ms')::int BETWEEN (detail->>'tier_ms')::int * 0.8 AND (detail->>'tier_ms')::int * 1.2) FROM workflow_history WHERE run_id = '{fr[0]}' AND event = 'retry'")
        ck.eq(jit, "t", "jittered delays stay within +-20% of the tier")
        ck.eq(int(e.db.sql(f"SELECT count(*) FROM notifications WHERE kind = 'render.failed' AND payload->>'run_id' = '{fr[0]}'")), 1,
              "one failure notification")

        # a broken resume is not retried
        e.db.sql(f"UPDATE resume_versions SET data = '[1,2]' WHERE resume_id = '{bad[0]}'")
        nr = e.submit(bad, theme="classic")
        ck.check(e.wait_terminal(30), "the invalid resume ends")
        ck.eq(e.db.sql(f"SELECT state || '|' || attempt || '|' || (error->>'code') FROM workflow_runs WHERE id = '{nr[0]}'"),
              "failed|1|invalid_resume", "an invalid resume fails at once (not retryable)")

        # malformed messages: dead-lettered and counted, workers keep going
        ck.eq(e.vh.publish("rg.tasks", "render", "this is not json"), 0, "garbage task published")
        ck.eq(e.vh.publish("rg.tasks", "render", '{"run_id":"x","attempt":"one"}'), 0, "task without input published")
        ck.eq(e.vh.publish("rg.results", "result", '{"ok":true}'), 0, "garbage result published")
        ck.eq(e.vh.publish("rg.results", "result", '{"run_id":"00000000-0000-0000-0000-00000000dead","attempt":1,"ok":false,"error":{"code":"x"}}'),
              0, "result of an unknown run published")
        # a well-formed result that PostgreSQL refuses ("retryable" that is no boolean, for a
        # running run): retried, it would hold the result consumer for ever
        held = e.db.sql("INSERT INTO workflow_runs (kind, user_id, resume_id, state, input, lease_until) "
                        "SELECT kind, user_id, resume_id, 'running', input, now() + interval '1 hour' "
                        "FROM workflow_runs LIMIT 1 RETURNING id").split()[0]
        ck.eq(e.vh.publish("rg.results", "result", '{"run_id":"%s","attempt":1,"ok":false,'
                           '"error":{"code":"x","message":"m","retryable":"maybe"}}' % held),
              0, "result PostgreSQL refuses published")
        deadline = time.time() + 10
        while time.time() < deadline and e.vh.depth("rg.dead") < 4:
            time.sleep(0.1)
        ck.eq(e.vh.depth("rg.dead"), 4, "four malformed messages in rg.dead")
        ck.eq(e.db.sql(f"SELECT state FROM workflow_runs WHERE id = '{held}'"), "running",
              "the refused result changed nothing")
        e.db.sql(f"DELETE FROM workflow_runs WHERE id = '{held}'")
        ck.eq(metric(pdf.port, "rg_pdf_dead_letters_total"), 2.0, "rg-pdf counted two dead letters")
        time.sleep(2.5)  # the gauges refresh every 2 s
        ck.eq(metric(flow.port, "rg_flow_dead_letters_total"), 2.0, "rg-flow counted two dead letters")
        ck.eq(metric(flow.port, 'rg_flow_results_total{outcome="unknown"}'), 1.0, "a result for no run is ignored, counted")
        ck.check(pdf.alive() and flow.alive(), "malformed messages crash nothing")
        ck.eq(metric(pdf.port, "rg_pdf_children_restarted_total"), 0.0, "no render process died")
        st, text = http_get(flow.port, "/metrics")
        for m in ['rg_flow_queue_depth{queue="rg.dead"} 4', 'rg_flow_runs{state="failed"} 2', "rg_flow_run_seconds_count"]:
            ck.check(m in text, f"flow metric {m}", text[-400:])

        # SIGTERM with tasks in flight: finished or returned, none lost
        more = e.add_resumes(30, big_every=2)
        mr = e.submit(more)
        time.sleep(0.3)
        rc = pdf.stop(signal.SIGTERM)
        ck.eq(rc, 0, "rg-pdf stops cleanly on SIGTERM")
        ck.check(pdf.start(), "rg-pdf restarts")
        ck.check(e.wait_terminal(60), "all runs finish after the restart")
        e.check_invariants("sigterm", expect_failed=2)
        ck.eq(len(mr), 30, "30 more runs")
        flow_rc = flow.stop(signal.SIGTERM)
        ck.eq(flow_rc, 0, "rg-flow stops cleanly on SIGTERM")
    finally:
        e.close()


def test_poison(ck):
    """A resume that crashes the render process itself (not an error: the process dies)
    is redelivered; after PDF_MAX_CRASHES deaths it is failed, never crash-looped."""
    e = Env("poison", ck)
    try:
        flow = e.flow()
        pdf = e.pdf(extra={"RG_PDF_CRASH_ON": "Person 1\""})
        ck.check(flow.start(), "rg-flow starts")
        ck.check(pdf.start(), "rg-pdf starts (with a crash trigger for one resume)")
        ids = e.add_resumes(6)  # resume 1 kills its renderer; 2..6 are fine
        runs = e.submit(ids)
        ck.check(e.wait_terminal(60), "every run ends, the poison one included")
        row = e.db.sql(f"SELECT state || '|' || (error->>'code') FROM workflow_runs WHERE id = '{runs[0]}'")
        ck.eq(row, "failed|render_crashed", "the poison run fails with render_crashed")
        ck.eq(int(e.db.sql("SELECT count(*) FROM workflow_runs WHERE state = 'done'")), 5,
              "the other five are done")
        deadline = time.time() + 5  # a child that dies at once is restarted after 0.5 s
        while time.time() < deadline and (metric(pdf.port, "rg_pdf_children_restarted_total") or 0) < 2:
            time.sleep(0.1)
        time.sleep(1)
        restarted = metric(pdf.port, "rg_pdf_children_restarted_total")
        ck.check(restarted is not None and 2 <= restarted <= 3,
                 "the render process died two times (not for ever)", restarted)
        ck.eq(metric(pdf.port, 'rg_pdf_tasks_total{outcome="poison"}'), 1.0, "counted as poison")
        e.check_invariants("poison", expect_failed=1)

        # rg-flow as a role that may use the tables but does not own them: PostgreSQL skips
        # the relay's VACUUM with a WARNING; it is logged once as a JSON line, not counted,
        # not tried again, and nothing else changes
        flow.stop(signal.SIGTERM)
        role = f"rg_it_flow_user_{os.getpid()}"
        e.db.sql(f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN; "
                 f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}; "
                 f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        try:
            u = urllib.parse.urlparse(e.db.url)
            url = urllib.parse.urlunparse(u._replace(netloc=f"{role}@{u.hostname}:{u.port}"))
            user_flow = Daemon("flow", dict(e.flow_env, RG_PG_URL=url, RG_FLOW_OUTBOX_VACUUM="5",
                                            RG_FLOW_PORT=str(free_port()), RG_FLOW_REPLICA="flow-user"),
                               e.tmp, "user")
            e.daemons.append(user_flow)
            ck.check(user_flow.start(), "rg-flow starts as a role that does not own the tables")
            runs = e.submit(e.add_resumes(6)[1:])
            ck.check(e.wait_terminal(60), "its runs end")
            ck.eq(int(e.db.sql("SELECT count(*) FROM workflow_runs WHERE state = 'done'")), 10, "and are done")
            ck.eq(metric(user_flow.port, "rg_flow_outbox_vacuums_total"), 0.0, "a skipped VACUUM is not counted")
            user_flow.stop(signal.SIGTERM)
            with open(os.path.join(e.tmp, "flow-user.log"), errors="replace") as f:
                log = f.read()
            ck.check(log.count("flow.outbox_vacuum_refused") == 1, "the refusal is said once", log[-600:])
            ck.check(not any(l.startswith("WARNING") for l in log.splitlines()),
                     "PostgreSQL's warnings come as JSON lines, not bare on stderr", log[-600:])
        finally:
            e.db.sql(f"REASSIGN OWNED BY {role} TO CURRENT_USER; DROP OWNED BY {role}; DROP ROLE {role}")
    finally:
        e.close()


def test_faults(ck):
    e = Env("faults", ck)
    try:
        pdf = e.pdf("a")
        ck.check(pdf.start(), "rg-pdf starts")
        flow = e.flow("a")

        # 1. kill -9 of rg-flow at each injected point while render processes are killed mid-render
        ids = e.add_resumes(N, big_every=3)
        points = ["relay_before_publish:2", "relay_after_publish:3", "result_before_commit:7",
                  "result_after_commit:7", None]
        crashes = 0
        ck.check(flow.start({"RG_FLOW_CRASH_AT": points.pop(0)}), "rg-flow starts (crash armed)")
        e.submit(ids)
        kills = [0]
        state = {"last_kill": 0.0}

        def tick():
            nonlocal crashes
            if not flow.alive() and points:
                crashes += 1
                p = points.pop(0)
                flow.start({"RG_FLOW_CRASH_AT": p} if p else {})
            if kills[0] < 5 and time.time() - state["last_kill"] > 0.4 and metric(pdf.port, "rg_pdf_busy_slots"):
                kids = pdf.children()
                if kids:
                    os.kill(random.choice(kids), signal.SIGKILL)
                    kills[0] += 1
                    state["last_kill"] = time.time()
        ok = e.wait_terminal(240, tick)
        ck.check(ok, f"{N} generations finish through the crashes")
        ck.eq(crashes, 4, "rg-flow was killed at each of the four injected points")
        ck.check(kills[0] >= 1, "render processes were killed mid-render", kills[0])
        deadline = time.time() + 10
        while time.time() < deadline and metric(pdf.port, "rg_pdf_ready_slots") != 2.0:
            time.sleep(0.1)
        ck.check(metric(pdf.port, "rg_pdf_children_restarted_total") >= 1 and
                 metric(pdf.port, "rg_pdf_ready_slots") == 2.0, "killed render processes were replaced")
        e.check_invariants("kill -9 pdf + flow")

        # 2. RabbitMQ restart, then PostgreSQL immediate restart, during generation
        ids = e.add_resumes(N, big_every=3)
        e.submit(ids)
        time.sleep(0.3)
        # the whole node dies (kill -9 of the Erlang VM) and is started again: what was
        # confirmed was on disk, everything else is re-sent by rg-flow or rg-pdf
        with open(os.path.join(os.environ["RG_STACK_DIR"], "rabbitmq", "rabbit.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGKILL)
        time.sleep(1)
        r = subprocess.run([STACK, "up", "rabbit"], capture_output=True, text=True, timeout=180)
        ck.check(r.returncode == 0, "RabbitMQ started again after kill -9 of its node", r.stderr)
        ck.check(e.wait_terminal(180), f"{N} generations finish across a RabbitMQ crash and restart")
        e.check_invariants("rabbitmq restart")

        ids = e.add_resumes(N, big_every=3)
        e.submit(ids)
        time.sleep(0.3)
        data = os.path.join(os.environ.get("RG_STACK_DIR", ""), "pg", "data")
        pgctl = ["/usr/lib/postgresql/15/bin/pg_ctl", "-D", data]
        if os.getuid() == 0:
            pgctl = ["runuser", "-u", "postgres", "--"] + pgctl
        r = subprocess.run(pgctl + ["-m", "immediate", "-w", "stop"], capture_output=True, text=True)
        ck.check(r.returncode == 0, "PostgreSQL stopped in immediate mode", r.stderr)
        time.sleep(1)
        r = subprocess.run([STACK, "up", "pg"], capture_output=True, text=True)
        ck.check(r.returncode == 0, "PostgreSQL started again", r.stderr)
        ck.check(e.wait_terminal(120), f"{N} generations finish across a PostgreSQL crash")
        e.check_invariants("postgres restart")
        ck.check(flow.alive() and pdf.alive(), "rg-flow and rg-pdf rode out both restarts")

        # 3. two rg-flow and two rg-pdf replicas
        flow2, pdf2 = e.flow("b"), e.pdf("b")
        ck.check(flow2.start(), "second rg-flow starts")
        ck.check(pdf2.start(), "second rg-pdf starts")
        before = [metric(p.port, 'rg_pdf_tasks_total{outcome="ok"}') for p in (pdf, pdf2)]
        ids = e.add_resumes(N)
        runs = e.submit(ids)
        ck.check(e.wait_terminal(120), f"{N} generations finish with two replicas each")
        e.check_invariants("two replicas")
        after = [metric(p.port, 'rg_pdf_tasks_total{outcome="ok"}') for p in (pdf, pdf2)]
        ck.check(all(a - b > 0 for a, b in zip(after, before)), "both rg-pdf replicas rendered", (before, after))
        owners = e.db.sql("SELECT count(DISTINCT detail->>'by') FROM workflow_history WHERE event = 'dispatched' "
                          f"AND run_id IN ({','.join(repr(r) for r in runs)})")
        ck.check(int(owners) >= 1, "dispatches recorded with their replica", owners)
        # a step that outlives its deadline is re-dispatched, by exactly one replica
        lost = e.add_resumes(1)
        lr = e.submit(lost)
        ck.check(e.wait_terminal(30), "lost-step run done first time")
        # one statement string = one transaction: the reaper must not see half of it
        e.db.sql(f"DELETE FROM workflow_history WHERE run_id = '{lr[0]}' AND to_state = 'done'; "
                 f"DELETE FROM notifications WHERE payload->>'run_id' = '{lr[0]}' AND kind = 'render.done'; "
                 f"UPDATE workflow_runs SET state = 'running', lease_until = now() - interval '1 s', output = NULL WHERE id = '{lr[0]}'")
        ck.check(e.wait_terminal(30), "a timed-out step is re-dispatched and finishes")
        ck.eq(e.db.sql(f"SELECT count(*) FROM workflow_history WHERE run_id = '{lr[0]}' AND event = 'timeout'"), "1",
              "exactly one replica re-dispatched it")
        e.check_invariants("timeout re-dispatch")
    finally:
        e.close()


def test_s3(ck):
    need_env("RG_TEST_S3_ENDPOINT")
    bucket_url = f"s3://resumego?endpoint={os.environ['RG_TEST_S3_ENDPOINT']}&region=us-east-1"
    env = dict(os.environ, RG_S3_ACCESS_KEY="S3RVER", RG_S3_SECRET_KEY="S3RVER")
    r = subprocess.run([TOOL, "s3-check", bucket_url], capture_output=True, text=True, env=env)
    ck.check(r.returncode == 0, "awkward keys round-trip through the signature-checking S3 server", r.stdout + r.stderr)
    wrong = dict(env, RG_S3_SECRET_KEY="not-the-secret")
    r = subprocess.run([TOOL, "s3-check", bucket_url], capture_output=True, text=True, env=wrong)
    ck.check(r.returncode != 0 and "403" in r.stdout, "a wrong secret is refused (signatures are checked)", r.stdout)

    e = Env("s3", ck)
    try:
        e.pdf_env.update(RG_STORAGE=bucket_url, RG_S3_ACCESS_KEY="S3RVER", RG_S3_SECRET_KEY="S3RVER")
        flow, pdf = e.flow(), e.pdf()
        ck.check(flow.start(), "rg-flow starts")
        ck.check(pdf.start(), "rg-pdf starts with S3 storage")
        ids = e.add_resumes(10)
        e.submit(ids)
        ck.check(e.wait_terminal(60), "10 generations into S3 finish")
        rows = e.db.sql("SELECT output->>'storage_key' || '|' || (output->>'sha256') FROM workflow_runs WHERE state='done'").splitlines()
        ck.eq(len(rows), 10, "all 10 done")
        good = 0
        for row in rows:
            key, sha = row.split("|")
            g = subprocess.run([TOOL, "s3-get", bucket_url, key], capture_output=True, env=env)
            if g.returncode == 0 and g.stdout.startswith(b"%PDF-") and hashlib.sha256(g.stdout).hexdigest() == sha:
                good += 1
        ck.eq(good, 10, "every PDF is in S3 with the bytes its SHA-256 names")
    finally:
        e.close()


def test_api(ck):
    """The job through rg-core's API: POST renders, GET state, GET the PDF, list."""
    from corelib import Core
    need_env("RG_BIN_CORE", "RG_TEST_REDIS_URL")
    e = Env("api", ck)
    core = None
    try:
        os.environ["RG_STORAGE"] = "fs://" + e.storage  # rg-core reads PDFs from there
        flow, pdf = e.flow(), e.pdf()
        ck.check(flow.start() and pdf.start(), "rg-flow and rg-pdf start")
        core = Core(e.db.url)
        tok = core.user("render@example.com")
        other = core.user("other@example.com")
        r = core.request("POST", "/api/v1/resumes", {"data": resume_doc(7)}, token=tok)
        ck.eq(r.status, 201, "resume created")
        rid = r.json["id"]
        url = f"/api/v1/resumes/{rid}/renders"
        body = {"theme": "modern", "paper": "letter", "locale": "en"}
        r1 = core.request("POST", url, body, token=tok, headers={"Idempotency-Key": "abc"})
        r2 = core.request("POST", url, body, token=tok, headers={"Idempotency-Key": "abc"})
        ck.check(r1.status == 202 and r1.json.get("state") == "queued", "POST renders: 202 queued", r1)
        ck.eq(r2.json.get("run_id"), r1.json.get("run_id"), "same Idempotency-Key, same run")
        r2b = core.request("POST", url, dict(body, theme="classic"), token=tok, headers={"Idempotency-Key": "abc"})
        ck.check(r2b.status == 422 and r2b.json["error"]["code"] == "idempotency_key_reused",
                 "the same Idempotency-Key for other options: 422, not the other run", r2b)
        r2c = core.request("POST", url, {}, token=tok)
        ck.check(r2c.status == 202, "render options may be left out (classic, a4, en)", r2c)
        run = r1.json["run_id"]
        ck.eq(r1.header("Location"), f"/api/v1/renders/{run}", "Location names the render")
        st, deadline = None, time.time() + 30
        while time.time() < deadline:
            st = core.request("GET", f"/api/v1/renders/{run}", token=tok).json
            if st.get("state") in ("done", "failed"):
                break
            time.sleep(0.05)
        ck.check(st.get("state") == "done" and st.get("attempt") == 1 and st.get("theme") == "modern",
                 "GET renders/{id}: done, attempt, theme", st)
        ck.eq(st.get("pdf_url"), f"/api/v1/renders/{run}/pdf", "pdf_url")
        p = core.request("GET", f"/api/v1/renders/{run}/pdf", token=tok)
        ck.check(p.status == 200 and p.header("Content-Type") == "application/pdf" and p.body.startswith(b"%PDF-"),
                 "GET renders/{id}/pdf streams the PDF", p.status)
        key = e.db.sql(f"SELECT output->>'sha256' FROM workflow_runs WHERE id = '{run}'")
        ck.eq(hashlib.sha256(p.body).hexdigest(), key, "the PDF served is the stored one")
        t0 = time.time()
        r3 = core.request("POST", url, body, token=tok)
        dt = time.time() - t0
        ck.check(r3.status == 202 and r3.json.get("state") == "done" and r3.json["run_id"] != run,
                 "the same version again: a new run, done at once from the cache", r3)
        ck.check(dt < 0.5, "repeat request answered quickly", dt)
        lst = core.request("GET", url + "?limit=1", token=tok).json
        ck.check(len(lst["items"]) == 1 and lst["next_cursor"], "list renders: a page and a cursor", lst)
        lst2 = core.request("GET", url + "?limit=1&cursor=" + lst["next_cursor"], token=tok).json
        ck.check(len(lst2["items"]) == 1 and lst2["items"][0]["run_id"] != lst["items"][0]["run_id"],
                 "list renders: the second page", lst2)
        ck.eq(core.request("POST", url, {"theme": "nope"}, token=tok).status, 422, "unknown theme: 422")
        ck.eq(core.request("POST", url, {"paper": "a5"}, token=tok).status, 422, "unknown paper: 422")
        ck.eq(core.request("GET", f"/api/v1/renders/{run}", token=other).status, 404, "another user's render: 404")
        ck.eq(core.request("GET", f"/api/v1/renders/{run}/pdf", token=other).status, 404, "another user's PDF: 404")
        ck.eq(core.request("POST", url, body, token=other).status, 404, "rendering another user's resume: 404")
        ck.eq(core.request("GET", f"/api/v1/renders/{run}").status, 401, "no session: 401")
        pub = core.request("GET", f"/api/v1/public/no-such-slug/pdf")
        ck.eq(pub.status, 404, "public PDF of an unknown link: 404")
        sh = core.request("POST", f"/api/v1/resumes/{rid}/share", token=tok)
        slug = (sh.json or {}).get("slug")
        pub = core.request("GET", f"/api/v1/public/{slug}/pdf")
        ck.check(pub.status == 200 and pub.body.startswith(b"%PDF-") and
                 hashlib.sha256(pub.body).hexdigest() == key, "the public share link serves the PDF", pub.status)
        e.check_invariants("api")
    finally:
        if core:
            ck.eq(core.stop(), 0, "rg-core stops cleanly")
        e.close()


def main():
    need_env("RG_TEST_PG_URL", "RG_TEST_AMQP_URL", "RG_TEST_STACK")
    ck = Checker()
    {"e2e": test_e2e, "faults": test_faults, "s3": test_s3, "api": test_api,
     "poison": test_poison}[sys.argv[1]](ck)
    ck.finish()


if __name__ == "__main__":
    main()
