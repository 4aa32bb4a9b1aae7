"""Benchmark: the fund-impact simulation of a draft over a million claims (PostgreSQL, real Celery
workers), side by side with the plain engine over the same claims.

    .venv/bin/python bench/simulation/run.py --size 1000000             # 100 000 person-years × 10 claims
    .venv/bin/python bench/simulation/run.py --size 20000 --workers 2,1 # a small run

Set-up (untimed): a fresh database (``--database-url``, default ``bench_sim``; DROPPED and created,
unless ``--reuse``), migrated; ``--size / --claims`` residents of 赣州's counties with ``--claims``
claims of 2023 each and one case holding them (``bench/recalc/fill.py``: 60 % 监测对象, 20 % 低保 from
mid-year, inpatient / chronic / general outpatient at every level and location); a draft of 赣州's
policy raising the 低保 inpatient ratio.

Timed, one after the other in one run:

1. **plain engine**: ``engine.settle`` once per person-year with the published book, over the same
   person-years and claims, already read and built (what ``bench/engine`` times), in this process;
2. **simulation** with a real Celery worker of N prefork processes for each N of ``--workers``
   (default ``2,1``): ``policies.simulation.start_simulation`` (its parts enqueued through the outbox
   to Redis) until the simulation is done — wall clock from the call to the report. Every part reads
   its person-years in bulk and settles each twice (in force and draft). Peak memory: the highest
   VmHWM (peak resident set) of the worker's pool processes.

Prints one summary line at the end (``SUMMARY …``): seconds per worker count, the plain engine's
seconds and the ratio, peak memory, the load average. ``--check`` exits 1 when the 2-process run
exceeds 10 s or the 1-process run 20 s (at 1 000 000 claims).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_sim"
DEFAULT_BROKER = "redis://127.0.0.1:6379/3"
TARGETS = {2: 10.0, 1: 20.0}   # seconds at 1 000 000 claims


def fresh_database(url: str) -> None:
    from bench.recalc.run import fresh_database as fresh

    fresh(url)


def start_worker(processes: int, env: dict) -> subprocess.Popen:
    args = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork", f"--concurrency={processes}",
            "-l", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
            "-n", f"bench_sim_{processes}@%h"]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        if " ready." in line:
            break
        if time.monotonic() > deadline:
            raise SystemExit("the Celery worker did not start")
    else:
        raise SystemExit(f"the Celery worker exited ({proc.wait()})")
    # keep draining its output so that it never blocks on a full pipe
    import threading

    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc


def pool_pids(proc: subprocess.Popen) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def stop_worker(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000, help="claims (default 1 000 000)")
    parser.add_argument("--claims", type=int, default=10, help="claims per person-year (default 10)")
    parser.add_argument("--workers", default="2,1", help="worker process counts to time, e.g. 2,1")
    parser.add_argument("--chunk", type=int, default=1000, help="person-years per part (default 1000)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--broker", default=os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER),
                        help="Redis URL for the Celery broker (its database is FLUSHED)")
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier run (same size)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    persons = max(1, args.size // args.claims)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]

    load0 = os.getloadavg()
    print(f"# simulation benchmark: {persons:,} person-years × {args.claims} claims = {persons * args.claims:,} claims; "
          f"{platform.processor() or platform.machine()}, nproc {os.cpu_count()}, Python {platform.python_version()}, "
          f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average {load0[0]:.1f}", flush=True)
    t = time.perf_counter()
    if not args.reuse:
        fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["CELERY_BROKER_URL"] = args.broker
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.recalc import fill
    from policies import engine, services
    from policies.models import PolicySimulation, PolicyVersion, SimulationStatus, VersionStatus
    from policies.simulation import reading, start_simulation
    from portal.roles.models import RoleAssignment

    if not args.reuse:
        call_command("migrate", verbosity=0)
    with transaction.atomic():
        fill.fill(persons=persons, claims=args.claims, open_share=0.5)
    from django.contrib.auth import get_user_model

    admin, _ = get_user_model().objects.get_or_create(username="bench_policy", defaults={"full_name": "bench"})
    RoleAssignment.objects.get_or_create(user=admin, role="policy_admin", region_id="360700",
                                         department_id="medical_security")
    published = PolicyVersion.objects.get(region_id="360700", status=VersionStatus.PUBLISHED)
    draft = PolicyVersion.objects.filter(region_id="360700", status=VersionStatus.DRAFT).first()
    if draft is None:
        draft = services.start_version(acting_user=admin, from_version=published)
        routes = draft.document["parameters"]["assistance"]["routes"]
        index = next(i for i, r in enumerate(routes) if "dibao" in (r["categories"]["value"] or [])
                     and "inpatient" in (r["kinds"]["value"] or []))
        services.set_parameter(acting_user=admin, version=draft, path=f"assistance.routes[{index}].ratio", value="0.90")
        draft.refresh_from_db()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"set-up (untimed) in {time.perf_counter() - t:.0f} s", flush=True)
    year = 2023
    regions = sorted(fill.COUNTIES)
    ids = reading.person_ids(regions=regions, year=year)

    # 1. The plain engine over the same person-years (read and built untimed, part by part).
    settle_s = settle_cpu = 0.0
    n_claims = n_py = refused = 0
    for i in range(0, len(ids), args.chunk):
        part = reading.read_part(regions=regions, year=year, first_person=ids[i],
                                 last_person=ids[min(i + args.chunk, len(ids)) - 1])
        inputs = []
        for py in part:
            case = py.cases[-1]
            person = engine.Person(residence=py.residence, scheme=py.scheme, identities=py.identities)
            inputs.append((engine.build_input(region=case.region_id, person=person, claims=py.claims,
                                              tilted_applied=case.tilted_applied), services.book_for(case.region_id)))
            n_claims += len(py.claims)
        n_py += len(inputs)
        w, c = time.perf_counter(), time.process_time()
        for inp, book in inputs:
            try:
                engine.settle(inp, book)
            except engine.EngineError:
                refused += 1
        settle_s += time.perf_counter() - w
        settle_cpu += time.process_time() - c
    print(f"plain engine: {n_py:,} person-years, {n_claims:,} claims settled once in {settle_s:.2f} s "
          f"({settle_cpu:.2f} s CPU; {n_claims / settle_s:,.0f} claims/s; {refused} refused)", flush=True)

    # 2. The simulation with real Celery workers.
    env = dict(os.environ, DATABASE_URL=args.database_url, CELERY_BROKER_URL=args.broker,
               DJANGO_SETTINGS_MODULE="portal.settings")
    redis.Redis.from_url(args.broker).flushdb()
    results = {}
    reference = None
    for n in counts:
        worker = start_worker(n, env)
        try:
            load = os.getloadavg()[0]
            pids = pool_pids(worker)
            cpu0 = sum(cpu_seconds(p) for p in pids)
            w = time.perf_counter()
            sim = start_simulation(acting_user=admin, version=draft, year=year, chunk_size=args.chunk)
            while True:
                sim = PolicySimulation.objects.get(pk=sim.pk)
                if sim.status in (SimulationStatus.DONE, SimulationStatus.FAILED):
                    break
                time.sleep(0.05)
            wall = time.perf_counter() - w
            cpu = sum(cpu_seconds(p) for p in pids) - cpu0
            peak = max((peak_rss_mb(p) for p in pool_pids(worker)), default=0.0)
        finally:
            stop_worker(worker)
        if sim.status != SimulationStatus.DONE:
            raise SystemExit(f"the simulation failed: {sim.error}")
        report = sim.report
        if reference is None:
            reference = report
        elif report != reference:
            raise SystemExit("the reports of two runs differ")
        results[n] = (wall, peak, cpu)
        print(f"simulation, {n} worker process(es): {report['person_years']:,} person-years in {wall:.2f} s "
              f"({cpu:.2f} s CPU in the pool processes; {sim.chunks_total} parts; {n_claims / wall:,.0f} claims/s; ratio to the plain engine "
              f"{wall / settle_s:.1f}×; peak RSS per pool process {peak:.0f} MB; load average at start {load:.1f}); "
              f"paid {report['totals']['paid']['before']} → {report['totals']['paid']['after']} 元, "
              f"{report['refused_person_years']} refused", flush=True)

    load1 = os.getloadavg()
    parts = [f"{n} proc {wall:.2f}s wall / {cpu:.2f}s CPU (x{wall / settle_s:.1f} engine wall, "
             f"x{cpu / settle_cpu:.1f} engine CPU, peak {peak:.0f} MB)" for n, (wall, peak, cpu) in results.items()]
    print(f"SUMMARY simulation of {n_claims:,} claims / {n_py:,} person-years: " + "; ".join(parts)
          + f"; plain engine {settle_s:.2f}s wall / {settle_cpu:.2f}s CPU; load avg {load0[0]:.1f}→{load1[0]:.1f} on nproc {os.cpu_count()}")
    if args.check and n_claims >= 1_000_000:
        missed = [n for n, (wall, _p, _l) in results.items() if n in TARGETS and wall > TARGETS[n]]
        return 1 if missed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
