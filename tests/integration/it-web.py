"""End-to-end test of the web app (issue 6): builds web/ when out of date, starts rg-core,
rg-flow, rg-pdf (and rg-notify when it is built) on a fresh database and RabbitMQ vhost,
Caddy in front of them with deploy/Caddyfile, then runs web/e2e/e2e.mjs in Debian's
Chromium.  Screenshots, the downloaded PDF and measures.json go to
$MESON_BUILD_ROOT/web-e2e (or RG_WEB_E2E_ARTIFACTS).

Ports: the edge listens on RG_TEST_EDGE_HTTP_PORT / RG_TEST_EDGE_HTTPS_PORT (default: free
ports); the services on free loopback ports.  Needs what scripts/test starts (PostgreSQL,
Redis, RabbitMQ); SKIPs (77) without it.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corelib import Core, Database, free_port, need_env  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
STACK = os.environ.get("RG_TEST_STACK", "")


def wait_http(url, secs=30):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


def main():
    need_env("RG_TEST_PG_URL", "RG_TEST_REDIS_URL", "RG_TEST_AMQP_URL", "RG_TEST_STACK")
    if not os.path.exists("/usr/bin/chromium") or not shutil.which("caddy"):
        print("FAIL: chromium or caddy missing (scripts/deps installs them)")
        return 1
    # The app (web/out + web/out.csp), built only when a source is newer than the last build.
    r = subprocess.run(["bash", "-c", f'. "{ROOT}/scripts/lib.sh" && web_build'], cwd=ROOT)
    if r.returncode != 0:
        print("FAIL: the web app did not build")
        return 1

    tmp = tempfile.mkdtemp(prefix="it-web-")
    procs = []
    db = Database("web")
    vhost = f"it_web_{os.getpid()}"
    subprocess.run([STACK, "rabbitmqctl", "add_vhost", vhost], capture_output=True, timeout=120)
    subprocess.run([STACK, "rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   capture_output=True, timeout=120)
    amqp = os.environ["RG_TEST_AMQP_URL"].rstrip("/") + "/" + vhost
    storage = "fs://" + os.path.join(tmp, "objects")
    os.environ["RG_STORAGE"] = storage
    os.environ.setdefault("RG_DATA_DIR", os.path.join(ROOT, "data"))
    core = None
    try:
        core = Core(db.url)
        base = dict(os.environ, RG_PG_URL=db.url, RG_AMQP_URL=amqp, RG_STORAGE=storage,
                    RG_REDIS_URL=os.environ["RG_TEST_REDIS_URL"])

        def daemon(name, binvar, env):
            log = open(os.path.join(tmp, name + ".log"), "ab")
            p = subprocess.Popen([os.environ[binvar]], env=env, stdout=log, stderr=log, start_new_session=True)
            procs.append(p)
            return p

        fport, pport = free_port(), free_port()
        daemon("rg-flow", "RG_BIN_FLOW", dict(base, RG_FLOW_PORT=str(fport)))
        daemon("rg-pdf", "RG_BIN_PDF", dict(base, RG_PDF_PORT=str(pport), RG_PDF_SLOTS="2"))
        hub = False
        nport, nmport = free_port(), free_port()
        nbin = os.environ.get("RG_BIN_NOTIFY", "")
        if nbin and os.path.exists(nbin):
            # rg-notify reads sessions with rg-core's Redis key prefix.
            daemon("rg-notify", "RG_BIN_NOTIFY", dict(base, RG_NOTIFY_PORT=str(nport),
                                                      RG_NOTIFY_METRICS_PORT=str(nmport),
                                                      RG_NOTIFY_REDIS_PREFIX=core.prefix))
            hub = True
        for port, what in ((fport, "rg-flow"), (pport, "rg-pdf")):
            if not wait_http(f"http://127.0.0.1:{port}/healthz"):
                print(f"FAIL: {what} did not start (log in {tmp})")
                return 1
        if hub and not wait_http(f"http://127.0.0.1:{nmport}/healthz"):
            print(f"FAIL: rg-notify did not start (log in {tmp})")
            return 1

        http_port = int(os.environ.get("RG_TEST_EDGE_HTTP_PORT") or free_port())
        https_port = int(os.environ.get("RG_TEST_EDGE_HTTPS_PORT") or free_port())
        with open(os.path.join(ROOT, "web", "out.csp")) as f:
            csp = f.read().strip()
        cenv = dict(os.environ, RG_EDGE_HTTP_PORT=str(http_port), RG_EDGE_HTTPS_PORT=str(https_port),
                    RG_CORE_PORT=str(core.port), RG_NOTIFY_PORT=str(nport),
                    RG_WEB_ROOT=os.path.join(ROOT, "web", "out"), RG_WEB_CSP=csp,
                    RG_EDGE_DATA=os.path.join(tmp, "caddy"), HOME=tmp, XDG_DATA_HOME=tmp, XDG_CONFIG_HOME=tmp)
        log = open(os.path.join(tmp, "caddy.log"), "ab")
        procs.append(subprocess.Popen(["caddy", "run", "--config", os.path.join(ROOT, "deploy", "Caddyfile"),
                                       "--adapter", "caddyfile"], env=cenv, stdout=log, stderr=log,
                                      start_new_session=True))
        if not wait_http(f"http://127.0.0.1:{http_port}/"):
            print(f"FAIL: Caddy did not start (log in {tmp})")
            return 1

        out = os.environ.get("RG_WEB_E2E_ARTIFACTS") or os.path.join(os.environ.get("MESON_BUILD_ROOT", tmp), "web-e2e")
        shutil.rmtree(out, ignore_errors=True)
        env = dict(os.environ, RG_E2E_BASE=f"http://localhost:{http_port}", RG_E2E_ARTIFACTS=out,
                   RG_E2E_HUB="1" if hub else "0")
        r = subprocess.run(["node", os.path.join(ROOT, "web", "e2e", "e2e.mjs")], env=env, cwd=os.path.join(ROOT, "web"),
                           timeout=900)
        if r.returncode != 0:
            print(f"service logs in {tmp}")
        return r.returncode
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
        if core:
            core.stop()
        db.drop()
        subprocess.run([STACK, "rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=120)


if __name__ == "__main__":
    sys.exit(main())
