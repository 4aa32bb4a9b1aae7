"""Benchmark: the case queue page and the case list API with a million cases, served by gunicorn.

    .venv/bin/python bench/web/run.py --cases 1000000            # the figures in docs/performance.md
    .venv/bin/python bench/web/run.py --cases 20000 --duration 10 --check  # what bench/run-small runs (without --check)

Set-up (untimed): a fresh PostgreSQL database (``--database-url``, default ``bench_eng_web``; DROPPED and
created unless ``--reuse``), migrated, filled with ``--cases`` applications over ``--cases / 5``
persons by ``bench/cases_queue``'s SQL generator (5 % draft, 5 % returned, 3 % submitted, 2 % in
review, 1 % awaiting identity, 2 % reviewed, the rest rejected/withdrawn, 15 counties of 赣州 and
沧州, 2021–2024); a reviewer of 赣州市 (half of the rows) with a session and an API token;
``collectstatic``. Then gunicorn as deployed (``portal.settings.production``, ``--workers`` 4,
``--worker-class gthread --threads 4``; ``--worker-class sync`` for the old set-up) on
127.0.0.1 only, and for each endpoint — the queue page ``/cases/?queue=to_review``, the page of all
cases ``/cases/``, and the same two lists from ``/api/v1/applications/`` — ``wrk`` with
``--clients`` connections for ``--duration`` seconds, twice:

* *paced*: each client waits ``--think`` ms (on average; uniformly 0.5–1.5×) between its requests, as
  people reading a page do, and sends each request on a new connection — what gunicorn gets from the
  buffering proxy in front of it. The figures are the time to serve a request while 50 people work.
  (wrk's paced mode keeps each connection open during the pause; a sync worker that accepts such a
  connection then waits for its request, so without a proxy a few idle clients stall the server —
  p50 above a second at 6 requests/s when tried. ``--paced-keepalive`` reproduces it.)
* *flat out*: no pause — the server saturated (wrk); latency is then mostly waiting for a free worker
  (Little's law: latency ≈ clients ÷ throughput), which shows the throughput of the machine.

It prints p50 / p95 / p99 per endpoint and mode, requests/s and any non-2xx answer (the session
cookie and the token are checked first: a redirect to the login page would be fast and wrong). It
exits 1 when a request failed, and with ``--check`` also when a paced p95 is above ``--target`` ms.
Without ``wrk`` (``apt-get install wrk``) a Python load generator (threads, ``http.client``) is used.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.databases import create_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_eng_web"
SECRET = "bench-web-secret-key-0123456789-0123456789-0123456789-abcdef"
ENDPOINTS = [
    ("queue page: to review", "/cases/?queue=to_review", "session"),
    ("queue page: all cases", "/cases/", "session"),
    ("API: to review", "/api/v1/applications/?queue=to_review&page_size=50", "token"),
    ("API: all cases", "/api/v1/applications/?page_size=50", "token"),
]

LUA = r"""
local auth_header = os.getenv("BENCH_HEADER_NAME")
local auth_value = os.getenv("BENCH_HEADER_VALUE")
local think = tonumber(os.getenv("BENCH_THINK_MS") or "0")
wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers[auth_header] = auth_value
wrk.headers["Accept-Language"] = "zh-hans"

function delay()
  if think > 0 then return math.random(math.floor(think / 2), think + math.floor(think / 2)) end
  return 0
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.3f, "p50": %.3f, "p95": %.3f, "p99": %.3f, "max": %.3f, ' ..
    '"non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def fresh_database(url: str) -> None:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    env = dict(os.environ, PGPASSWORD=cfg.get("PASSWORD") or "")
    base = ["psql", "-h", cfg["HOST"] or "127.0.0.1", "-p", str(cfg["PORT"] or 5432), "-U", cfg["USER"] or "postgres",
            "-d", "postgres", "-qc"]
    subprocess.run(base + [f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)'], check=True, env=env)
    subprocess.run(base + [create_database(cfg["NAME"])], check=True, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, headers: dict) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body, (time.perf_counter() - t) * 1000


def run_wrk(port: int, path: str, header: tuple[str, str], clients: int, duration: int, think: int,
            script: Path) -> dict:
    env = dict(os.environ, BENCH_PATH=path, BENCH_HEADER_NAME=header[0], BENCH_HEADER_VALUE=header[1],
               BENCH_THINK_MS=str(think))
    threads = max(1, min(clients, os.cpu_count() or 1))
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{clients}", f"-d{duration}s", "--timeout", "10s", "-s",
                          str(script), f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, env=env, timeout=duration + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    return json.loads(line[6:])


def run_python(port: int, path: str, header: tuple[str, str], clients: int, duration: int, think: int) -> dict:
    """The Python load generator: ``clients`` threads; with ``think``, each pauses (0.5–1.5 × think ms)
    before every request and sends it on a new connection, as a buffering proxy would deliver it."""
    import random

    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + duration
    rng = random.Random(1)

    def client(delay: float):
        mine = []
        time.sleep(delay)
        conn = None
        while time.monotonic() < stop:
            if think:
                time.sleep(rng.uniform(think / 2, think * 1.5) / 1000)
                if time.monotonic() >= stop:
                    break
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers={header[0]: header[1]})
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 300
                if think or response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                ok = False
            mine.append((time.perf_counter() - t) * 1000)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            times.extend(mine)

    t0 = time.perf_counter()
    # With a pause, the clients start spread over one pause (not all at the same instant).
    threads = [threading.Thread(target=client, args=(think * i / clients / 1000 / 2 if think else 0,))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not times:
        raise SystemExit(f"no request completed on {path} in {duration} s: make --duration longer than --think")
    return {"requests": len(times), "seconds": time.perf_counter() - t0, "p50": percentile(times, 50),
            "p95": percentile(times, 95), "p99": percentile(times, 99), "max": max(times), "non2xx": errors[0],
            "connect": 0, "read": 0, "write": 0, "timeout": 0}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: defined for any non-empty sample (a short paced run may have few)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=int, default=20, help="seconds per endpoint and mode (default 20)")
    parser.add_argument("--think", type=int, default=5000,
                        help="paced mode: mean pause of a client between two requests, ms (default 5000)")
    parser.add_argument("--workers", type=int, default=max(2, 2 * (os.cpu_count() or 1)),
                        help="gunicorn workers (default 2 × cores, as deploy/systemd/portal-web.service runs 4)")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"],
                        help="gunicorn worker class (default gthread, as deployed)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4, as deployed)")
    parser.add_argument("--target", type=float, default=100.0, help="p95 target in ms (default 100)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier run")
    parser.add_argument("--loader", choices=["auto", "wrk", "python"], default="auto",
                        help="flat out: wrk when installed (auto); paced runs use the Python generator")
    parser.add_argument("--paced-keepalive", action="store_true",
                        help="paced runs with wrk, each connection kept open during the pauses")
    parser.add_argument("--check", action="store_true", help="exit 1 when a paced p95 misses the target")
    args = parser.parse_args()
    loader = args.loader if args.loader != "auto" else ("wrk" if shutil.which("wrk") else "python")

    print(f"# web benchmark: {args.cases:,} cases, gunicorn {args.workers} {args.worker_class} workers × {args.threads if args.worker_class == 'gthread' else 1} threads, {args.clients} clients on "
          f"127.0.0.1, {args.duration} s per run, flat out by {loader}, paced ({args.think} ms pauses) by "
          f"{'wrk' if loader == 'wrk' and args.paced_keepalive else 'python'}; {platform.machine()}, "
          f"nproc {os.cpu_count()}, "
          f"Python {platform.python_version()}, {dt.datetime.now():%Y-%m-%d %H:%M}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    t = time.perf_counter()
    if not args.reuse:
        fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DJANGO_SECRET_KEY"] = SECRET  # the session and its auth hash are signed with it
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from cases.models import Application
    from tests.factories import make_user

    if not args.reuse:
        call_command("migrate", verbosity=0)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    creator = make_user("caseworker", region="360700", username="bench_cw")
    reviewer = make_user("reviewer", region="360700", username="bench_web_rv")
    from bench.cases_queue.run import fill

    fill(args.cases, max(1, args.cases // 5), creator.pk)
    session = SessionStore()
    session[SESSION_KEY] = str(reviewer.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = reviewer.get_session_auth_hash()
    session.save()
    token, _ = Token.objects.get_or_create(user=reviewer)
    cases = Application.objects.count()
    print(f"set-up (untimed): {cases:,} cases in {time.perf_counter() - t:.0f} s", flush=True)
    headers = {"session": ("Cookie", f"sessionid={session.session_key}"), "token": ("Authorization",
                                                                                    f"Token {token.key}")}

    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="portal.settings.production", DJANGO_SECRET_KEY=SECRET,
                   DJANGO_ALLOWED_HOSTS="127.0.0.1", DJANGO_SECURE_SSL_REDIRECT="0", PORTAL_VAR_DIR=tmp,
                   DJANGO_LOG_LEVEL="WARNING", DATABASE_URL=args.database_url)
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                       check=True)
        port = free_port()
        log = open(Path(tmp) / "gunicorn.log", "wb")
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--worker-class", args.worker_class, "--threads", str(args.threads),
             "--timeout", "60", "--error-logfile", "-"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        failed = False
        ok = True
        missed: list[str] = []
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    get(port, "/health/", {})
                    break
                except OSError as exc:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("gunicorn did not start:\n"
                                           + (Path(tmp) / "gunicorn.log").read_text(errors="replace")) from exc
                    time.sleep(0.2)
            # Every endpoint answers 200 with a full page of cases (not a login page), and warm up.
            for label, path, auth in ENDPOINTS:
                name, value = headers[auth]
                for _ in range(3 * args.workers):
                    status, body, ms = get(port, path, {name: value})
                if status != 200:
                    raise RuntimeError(f"{label}: HTTP {status} {body[:300]!r}")
                rows = (len(json.loads(body)["results"]) if path.startswith("/api/")
                        else body.count(b'href="/cases/') - body.count(b'href="/cases/?'))
                print(f"  {label}: {path} → 200, {len(body):,} bytes, {rows} links to cases, {ms:.0f} ms", flush=True)
            print(f"{'endpoint':24} {'mode':9} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
                  f"{'errors':>6}")
            script = Path(tmp) / "bench.lua"
            script.write_text(LUA)
            for label, path, auth in ENDPOINTS:
                for mode, think in (("paced", args.think), ("flat out", 0)):
                    if loader == "wrk" and (think == 0 or args.paced_keepalive):
                        r = run_wrk(port, path, headers[auth], args.clients, args.duration, think, script)
                    else:
                        r = run_python(port, path, headers[auth], args.clients, args.duration, think)
                    errors = r["non2xx"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
                    print(f"{label:24} {mode:9} {r['requests'] / r['seconds']:7.0f} {r['p50']:8.1f} {r['p95']:8.1f} "
                          f"{r['p99']:8.1f} {r['max']:8.1f} {errors:6d}", flush=True)
                    if errors:
                        failed = True
                    if mode == "paced" and r["p95"] > args.target:
                        ok = False
                        missed.append(label)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
            log.close()
    verdict = "met on every endpoint" if ok else "MISSED on " + ", ".join(missed)
    print(f"{'FAILED REQUESTS; ' if failed else ''}paced p95 target ({args.target:.0f} ms) {verdict}; "
          f"load average now {os.getloadavg()[0]:.1f}")
    if failed or (args.check and not ok):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
