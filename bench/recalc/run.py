"""Benchmark: recalculating a million claims after an identity change (PostgreSQL).

    .venv/bin/python bench/recalc/run.py --size 1000000          # 100 000 person-years × 10 claims
    .venv/bin/python bench/recalc/run.py --size 20000 --check    # what bench/run-small runs

Set-up (untimed): a fresh database (``--database-url``, default ``bench_eng``; DROPPED and created),
migrated; ``--size / --claims`` residents of 赣州 with ``--claims`` claims of 2023 each and one case
holding them — 20 % left open (submitted), the others settled and approved (``bench/recalc/fill.py``);
then the change that needs a recalculation: mid-year 低保 backdated to 1 January, a 低保 added to a
third of the 监测对象, every person-year marked (``cases.RecalcMark``), as an identity push does.

Timed, on the same marks:

1. the per-person-year service (``cases.services.settlement.recalculate_person_year``, what the
   exchange ran for each mark before the batch path) over ``--sample`` person-years, rolled back;
2. the portal's recalculation task body, ``cases.services.recalc.recalculate_pending`` (what
   ``exchange.recalculate_marked`` runs), over every mark: the set-based batch path
   (``cases.services.recalc_batch`` around the settlement planner ``cases.services.planner``, which
   the per-person-year service uses too), 200 person-years per transaction.

Then it checks, on ``--verify`` person-years, that both paths store exactly the same settlements,
lines, adjustments and allocations, that every mark is done and none failed, and that marking
everything again and recalculating creates no adjustment (nothing is paid twice). Prints claims per
second (target ≥ 13 182, issue 10) for both; ``--check`` exits 1 when the target or a check fails.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.databases import create_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_eng"
TARGET = 13_182  # issue 10: the batch path at 1 000 000 claims with two processes, measured before the planner


class Rollback(Exception):
    pass


def fresh_database(url: str) -> None:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    env = dict(os.environ, PGPASSWORD=cfg.get("PASSWORD") or "")
    base = ["psql", "-h", cfg["HOST"] or "127.0.0.1", "-p", str(cfg["PORT"] or 5432), "-U", cfg["USER"] or "postgres",
            "-d", "postgres", "-qc"]
    subprocess.run(base + [f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)'], check=True, env=env)
    subprocess.run(base + [create_database(cfg["NAME"])], check=True, env=env)


def backend_cpu(connection) -> float | None:
    """CPU seconds (user + system) of this connection's PostgreSQL backend so far, when it runs on
    this machine (read from /proc), else None."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_in_processes(processes: int, limit: int) -> tuple[dict, float, float | None]:
    """``recalculate_pending`` in ``processes`` forked processes at once (each with its own database
    connection), as that many worker processes run ``exchange.recalculate_marked``. Returns the
    summed result, the processes' CPU seconds and their PostgreSQL backends' CPU seconds."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # each child opens its own
    queue = multiprocessing.get_context("fork").Queue()

    def child():
        from django.db import connection

        from cases.services.recalc import recalculate_pending

        pg0, c0 = backend_cpu(connection), time.process_time()
        result = recalculate_pending(limit=limit)
        pg1 = backend_cpu(connection)
        queue.put((result, time.process_time() - c0, (pg1 - pg0) if pg0 is not None and pg1 is not None else None))

    procs = [multiprocessing.get_context("fork").Process(target=child) for _ in range(processes)]
    for proc in procs:
        proc.start()
    answers = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode:
            raise SystemExit(f"a recalculation process exited with {proc.exitcode}")
    total = {"recalculated": 0, "adjustments": 0, "failed": 0}
    for result, _cpu, _pg in answers:
        for key in total:
            total[key] += result[key]
    pg = [a[2] for a in answers]
    return total, sum(a[1] for a in answers), (sum(pg) if None not in pg else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000, help="claims to recalculate (default 1 000 000)")
    parser.add_argument("--claims", type=int, default=10, help="claims per person-year (default 10)")
    parser.add_argument("--sample", type=int, default=2000, help="person-years timed on the per-person path")
    parser.add_argument("--verify", type=int, default=300, help="person-years compared between the two paths")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of an earlier run (same size) and time the reverse change")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target or a check fails")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the batch path into FILE (pstats; one process)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="processes running the task body at once, as worker processes do (default: nproc); "
                             "they share the marks (FOR UPDATE SKIP LOCKED)")
    args = parser.parse_args()
    persons = max(1, args.size // args.claims)

    print(f"# recalculation benchmark: {persons:,} person-years × {args.claims} claims = {persons * args.claims:,} "
          f"claims; {platform.processor() or platform.machine()}, nproc {os.cpu_count()}, "
          f"Python {platform.python_version()}, {dt.datetime.now():%Y-%m-%d %H:%M}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    t = time.perf_counter()
    if not args.reuse:
        fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.pop("CELERY_BROKER_URL", None)  # eager: nothing leaves the process
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.recalc import fill
    from cases.models import Adjustment, Application, RecalcMark, Settlement, SettlementLine
    from cases.services.recalc import recalculate_pending
    from cases.services.recalc_batch import recalculate_person_years
    from cases.services.settlement import recalculate_person_year

    if not args.reuse:
        call_command("migrate", verbosity=0)
    with transaction.atomic():
        ids = fill.fill(persons=persons, claims=args.claims)

    def settle(app_ids):
        pairs = sorted(set(Application.objects.filter(pk__in=app_ids).values_list("person_id", "year")))
        recalculate_person_years([(p, y, "bench: first settlement") for p, y in pairs])

    if not Settlement.objects.exists():
        with transaction.atomic():
            approved = fill.settle_and_approve(ids, settle)
        with transaction.atomic():
            fill.backdate_change()
    else:  # --reuse: the change of the last run is undone (or done again): the same amount of work
        approved = Application.objects.filter(state="approved").count()
        if not RecalcMark.objects.filter(done_at__isnull=True).exists():
            with transaction.atomic():
                if fill.change_applied():
                    fill.revert_change()
                else:
                    fill.backdate_change()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    marks = list(RecalcMark.objects.filter(done_at__isnull=True).order_by("id").values_list("person_id", "year",
                                                                                           "reason"))
    print(f"set-up (untimed): {persons:,} persons, {len(ids['applications']):,} cases ({approved:,} approved, "
          f"{len(ids['open']):,} open), {len(marks):,} person-years marked, in {time.perf_counter() - t:.0f} s",
          flush=True)
    ok = True

    # 1. The per-person-year service over a sample, rolled back.
    sample = marks[:args.sample]
    sample_claims = args.claims * len(sample)
    try:
        with transaction.atomic():
            t, c = time.perf_counter(), time.process_time()
            for person_id, year, reason in sample:
                recalculate_person_year(person_id=person_id, year=year, reason=reason)
            slow_s, slow_cpu = time.perf_counter() - t, time.process_time() - c
            raise Rollback
    except Rollback:
        pass
    slow_rate = sample_claims / slow_s
    print(f"per-person-year service: {len(sample):,} person-years = {sample_claims:,} claims in {slow_s:.1f} s = "
          f"{slow_rate:,.0f} claims/s ({slow_cpu:.1f} s CPU in this process)", flush=True)

    # 2. The recalculation task's body over every mark: the batch path.
    settlements_before, lines_before = Settlement.objects.count(), SettlementLine.objects.count()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    processes = 1 if profiler is not None else max(1, args.processes)
    pg_before, load_before = backend_cpu(connection), os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    if processes == 1:
        result = recalculate_pending(limit=len(marks))
        fast_s, fast_cpu = time.perf_counter() - t, time.process_time() - c
        pg_cpu = None
    else:
        result, fast_cpu, pg_cpu = run_in_processes(processes, len(marks))
        fast_s = time.perf_counter() - t
    pg_after, load_after = backend_cpu(connection), os.getloadavg()[0]
    if pg_cpu is None and pg_before is not None and pg_after is not None:
        pg_cpu = pg_after - pg_before
    pg_cpu = f"{pg_cpu:.1f} s" if pg_cpu is not None else "unknown"
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    claims = args.claims * len(marks)
    fast_rate = claims / fast_s
    new_settlements = Settlement.objects.count() - settlements_before
    new_lines = SettlementLine.objects.count() - lines_before
    print(f"recalculate_pending (batch path): {len(marks):,} person-years = {claims:,} claims in {fast_s:.1f} s = "
          f"{fast_rate:,.0f} claims/s in {processes} process{'es' if processes > 1 else ''} ({fast_cpu:.1f} s CPU in "
          f"{'them' if processes > 1 else 'this process'}, {pg_cpu} in {'their' if processes > 1 else 'its'} "
          f"PostgreSQL backend{'s' if processes > 1 else ''}; "
          f"load average {load_before:.1f} → {load_after:.1f}; target ≥ {TARGET:,}); "
          f"{result['recalculated']:,} recalculated, {result['failed']} failed, {result['adjustments']:,} adjustments, "
          f"{new_settlements:,} settlements and {new_lines:,} lines written", flush=True)
    print(f"speed-up over the per-person-year service: {fast_rate / slow_rate:.1f}×")
    if result["failed"] or result["recalculated"] != len(marks) or RecalcMark.objects.filter(done_at__isnull=True).exists():
        print("FAILED: not every mark was recalculated")
        ok = False

    # 3. Both paths store the same thing (a sample, rolled back), and nothing is adjusted twice.
    from bench.recalc.snapshot import cases_state, diff

    t = time.perf_counter()
    with transaction.atomic():
        fill.mark_all(reason="bench: verify")  # nothing changed: the marks alone
        verify = list(RecalcMark.objects.filter(done_at__isnull=True).order_by("id").values_list(
            "person_id", "year", "reason"))
    with connection.cursor() as cur:  # a second, real change for the verification sample
        cur.execute("UPDATE cases_identity SET \"end\" = DATE '2023-04-30' WHERE source = 'fill:change' AND "
                    "person_id = ANY(%s)", [[p for p, _y, _r in verify[:args.verify]]])
    subset = verify[:args.verify]
    apps = list(Application.objects.filter(person_id__in=[p for p, _y, _r in subset]).values_list("id", flat=True))
    snaps = {}
    for mode in ("service", "batch"):
        try:
            with transaction.atomic():
                if mode == "service":
                    for person_id, year, reason in subset:
                        recalculate_person_year(person_id=person_id, year=year, reason=reason)
                else:
                    recalculate_person_years(subset)
                snaps[mode] = cases_state(apps)
                raise Rollback
        except Rollback:
            pass
    problems = diff(snaps["service"], snaps["batch"])
    print(f"same result on both paths ({len(subset)} person-years with a second change): "
          f"{'yes' if not problems else 'NO: ' + '; '.join(problems)}")
    ok = ok and not problems
    with connection.cursor() as cur:
        cur.execute("UPDATE cases_identity SET \"end\" = NULL WHERE source = 'fill:change' AND person_id = ANY(%s)",
                    [[p for p, _y, _r in subset]])
    adjustments_before = Adjustment.objects.count()
    again = recalculate_pending(limit=len(verify))
    twice = Adjustment.objects.count() - adjustments_before
    print(f"every person-year marked again and recalculated: {again['recalculated']:,} recalculated, "
          f"{twice} new adjustments (must be 0), in {time.perf_counter() - t:.0f} s")
    ok = ok and twice == 0 and again["failed"] == 0
    ok_rate = fast_rate >= TARGET
    print(f"{'OK' if ok else 'CHECK FAILED'}; target {'met' if ok_rate else 'MISSED'}: {fast_rate:,.0f} claims/s vs "
          f"{TARGET:,} ({(fast_rate / TARGET - 1) * 100:+.0f} %)")
    if args.check and not (ok and ok_rate):
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
