"""Harness for rg-core integration tests (python3 standard library only).

Each test run gets its own PostgreSQL database (rg_it_<pid>_<n>, created from
RG_TEST_PG_URL and migrated with `resumego migrate`) and its own Redis key prefix, and
starts rg-core from RG_BIN_CORE on a free loopback port.  Everything is removed at the
end, so re-runs start clean.  Without RG_TEST_PG_URL / RG_TEST_REDIS_URL the test exits
77 (meson's SKIP); scripts/test provides both.
"""
import atexit
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

SKIP = 77
_counter = [0]


def need_env(*names):
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        print(f"SKIP: {', '.join(missing)} not set (scripts/test starts the servers)")
        sys.exit(SKIP)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def psql(url, sql):
    env = dict(os.environ, PGOPTIONS="-c client_min_messages=warning")
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   stdout=subprocess.DEVNULL, env=env)


def redis_url_parts(url):
    u = urllib.parse.urlparse(url)
    return u.hostname or "127.0.0.1", u.port or 6379


class Checker:
    """Counts checks; prints `N passed, N failed` at the end."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=None):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}" + (f" -- {detail!r}"[:600] if detail is not None else ""), flush=True)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, what, f"got {got!r}, want {want!r}")

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def json(self):
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except ValueError:
            return None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Database:
    def __init__(self, tag):
        need_env("RG_TEST_PG_URL")
        _counter[0] += 1
        self.name = f"rg_it_{os.getpid()}_{tag}_{_counter[0]}"
        self.admin = os.environ["RG_TEST_PG_URL"]
        u = urllib.parse.urlparse(self.admin)
        self.url = urllib.parse.urlunparse(u._replace(path="/" + self.name))
        psql(self.admin, f'DROP DATABASE IF EXISTS "{self.name}"')
        psql(self.admin, f'CREATE DATABASE "{self.name}"')
        out = subprocess.run([os.environ["RG_BIN_RESUMEGO"], "migrate", "--url", self.url],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"migrate failed: {out.stderr}")
        self.migrate_output = out.stdout

    def sql(self, sql):
        out = subprocess.run(["psql", "-tA", "-v", "ON_ERROR_STOP=1", self.url, "-c", sql],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def drop(self):
        try:
            psql(self.admin, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        except subprocess.CalledProcessError:
            pass


class Core:
    """One rg-core process."""

    def __init__(self, db_url, redis_url=None, **cfg):
        need_env("RG_BIN_CORE", "RG_TEST_REDIS_URL")
        self.port = free_port()
        self.prefix = f"it{os.getpid()}_{self.port}:"
        env = dict(os.environ)
        env.update({
            "RG_PG_URL": db_url,
            "RG_REDIS_URL": redis_url or os.environ["RG_TEST_REDIS_URL"],
            "RG_CORE_PORT": str(self.port),
            "RG_CORE_REDIS_PREFIX": self.prefix,
            "RG_CORE_LOG_LEVEL": "info",
            # Tests register and log in many times from one address.
            "RG_CORE_REGISTER_IP_MAX": "1000000",
            "RG_CORE_LOGIN_IP_MAX": "1000000",
            # Cheaper hashing keeps the suite quick; still argon2id.
            "RG_CORE_ARGON2_MEMORY": "4MiB",
            "RG_CORE_ARGON2_ITERATIONS": "1",
            "RG_CORE_SECRET_KEY": os.urandom(32).hex(),
        })
        for k, v in cfg.items():
            env["RG_CORE_" + k.upper()] = str(v)
        self.log_path = f"/tmp/rg-core-it-{os.getpid()}-{self.port}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([os.environ["RG_BIN_CORE"]], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        # A test that dies half-way must not leave its rg-core behind.
        atexit.register(self._kill)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rg-core exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
            try:
                if self.request("GET", "/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("rg-core did not answer /healthz")

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, method, path, body=None, token=None, headers=None, raw=None, timeout=30):
        h = dict(headers or {})
        data = None
        if raw is not None:
            data = raw
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            h.setdefault("Content-Type", "application/json")
        if token:
            h["Authorization"] = "Bearer " + token
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            c.close()

    def register(self, email, password="correct horse 1", name=None):
        body = {"email": email, "password": password}
        if name is not None:
            body["name"] = name
        return self.request("POST", "/api/v1/auth/register", body)

    def user(self, email, password="correct horse 1"):
        r = self.register(email, password)
        if r.status != 201:
            raise RuntimeError(f"register {email}: {r}")
        return r.json["token"]

    def stop(self):
        """SIGTERM; returns the exit code (0 for a clean shutdown)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.redis_cleanup()
        return self.proc.returncode

    def redis_cleanup(self):
        host, port = redis_url_parts(os.environ["RG_TEST_REDIS_URL"])
        try:
            keys = subprocess.run(["redis-cli", "-h", host, "-p", str(port), "--scan", "--pattern",
                                   self.prefix + "*"], capture_output=True, text=True, timeout=10).stdout.split()
            for i in range(0, len(keys), 200):
                subprocess.run(["redis-cli", "-h", host, "-p", str(port), "DEL"] + keys[i:i + 200],
                               capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass


def parallel(fn, args_list):
    """Runs fn(*args) for each args at once (released together); returns the results."""
    results = [None] * len(args_list)
    barrier = threading.Barrier(len(args_list))

    def run(i, args):
        barrier.wait()
        try:
            results[i] = fn(*args)
        except Exception as e:  # noqa: BLE001 - reported as a result
            results[i] = e

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
