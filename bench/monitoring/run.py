"""Benchmark: monthly monitoring (因病返贫 / 因病致贫) over N person-years on PostgreSQL.

    python bench/monitoring/run.py --person-years 1000000
    python bench/monitoring/run.py --person-years 20000        # what CI runs

It (untimed) creates a fresh database, migrates it, enters the 沧州 statistics and generates, with
``INSERT … SELECT generate_series``, N people of 沧州市 with one to three claims each in 2023:

* 90 % ordinary residents whose claims carry the insurers' payments (out-of-pocket in SQL);
* 5 % people whose year has a stored, fresh settlement (lines read in SQL) — half of them 低保边缘
  (watched for 因病返贫), half ordinary;
* 5 % 低保边缘 people without a case (their year is settled by the engine).

Then it times one monitoring run over the region in a fresh child process and prints person-years
per second, the warnings raised and the run's peak RSS.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.databases import create_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/exchange_bench_monitoring"
REGIONS = "ARRAY['130902','130903','130921','130922','130981']"


def psql_base(url: str) -> list[str]:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    return ["psql", "-h", cfg["HOST"] or "127.0.0.1", "-p", str(cfg["PORT"] or 5432), "-U", cfg["USER"] or "postgres"]


def fresh_database(url: str) -> None:
    import dj_database_url

    name = dj_database_url.parse(url)["NAME"]
    base = psql_base(url)
    subprocess.run(base + ["-d", "postgres", "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(base + ["-d", "postgres", "-qc", create_database(name)], check=True)
    env = dict(os.environ, DATABASE_URL=url)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], check=True, env=env, cwd=ROOT)


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def generate(n: int) -> dict:
    """People, identities, claims, and the stored settlements of 5 % of them — all in SQL."""
    from django.db import connection
    from django.utils import timezone

    from cases.exchange.pushes.postgres import insert_parts
    from cases.models import Application, Claim, Identity, Person, Settlement, SettlementLine
    from policies.models import Statistic

    for kind, year, value in (("province_rural_income", 2022, "17000.00"), ("city_income", 2022, "27000.00")):
        Statistic.objects.get_or_create(region_id="130900", kind=kind, year=year,
                                        defaults={"value": value, "source": "bench"})
    now = timezone.now()
    params = {"n": n, "now": now, "later": now + dt.timedelta(minutes=5)}

    def insert(model, provided, select_from):
        cols, exprs, defaults = insert_parts(model, provided)
        sql = f"INSERT INTO {model._meta.db_table} ({', '.join(cols)}) SELECT {', '.join(exprs)} {select_from}"
        for i, value in enumerate(defaults):
            sql = sql.replace("%s", f"%(_d{i})s", 1)
            params[f"_d{i}"] = value
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    insert(Person, {
        "id_number": "'1309' || lpad(g::text, 14, '0')", "id_mask_key": "'1309' || right(lpad(g::text, 14, '0'), 4)",
        "name": "'居民' || g", "sex": "CASE WHEN g %% 2 = 0 THEN 'M' ELSE 'F' END",
        "birth_date": "DATE '1950-01-01' + (g %% 20000)", "region_id": f"({REGIONS})[1 + g %% 5]",
        "residence": "CASE WHEN g %% 10 < 7 THEN 'rural' ELSE 'urban' END",
        "scheme": "CASE WHEN g %% 25 = 0 THEN 'employee' ELSE 'resident' END",
    }, "FROM generate_series(1, %(n)s) g")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bp AS SELECT id, row_number() OVER (ORDER BY id) AS g FROM cases_person")
        cursor.execute("ANALYZE bp")
    insert(Identity, {
        "person_id": "bp.id", "category": "'dibao_edge'", "start": "DATE '2022-01-01'", "end": "NULL",
        "department_id": "'civil_affairs'", "method": "'pushed'", "reference": "'bench'", "source": "'bench'",
    }, "FROM bp WHERE bp.g %% 100 < 3 OR bp.g %% 100 >= 95")
    # One to three claims per person; amounts vary with the person and the claim.
    insert(Claim, {
        "person_id": "bp.id", "region_id": f"({REGIONS})[1 + bp.g %% 5]", "setl_id": "'B' || bp.g || '-' || k",
        "date": "DATE '2023-01-01' + ((bp.g * 37 + k * 101) %% 365)::int", "kind": "'inpatient'",
        "hospital_level": "2", "location": "'county'", "referral_compliant": "true",
        "total": "((bp.g * 7919 + k * 104729) %% 1500000) / 100.0 + 100",
        "policy_scope": "(((bp.g * 7919 + k * 104729) %% 1500000) / 100.0 + 100) * 0.8",
        "basic_paid": "round((((bp.g * 7919 + k * 104729) %% 1500000) / 100.0 + 100) * 0.4, 2)",
        "critical_paid": "0", "source": "'import'", "created_at": "%(now)s", "updated_at": "%(now)s",
    }, "FROM bp CROSS JOIN generate_series(1, 3) k WHERE k <= 1 + bp.g %% 3")
    # Stored settlements: a case of 2023 with a current settlement covering every claim.
    insert(Application, {
        "person_id": "bp.id", "region_id": "p.region_id", "year": "2023", "state": "'submitted'",
    }, "FROM bp JOIN cases_person p ON p.id = bp.id WHERE bp.g %% 100 < 5")
    insert(Settlement, {
        "application_id": "a.id", "kind": "'case'", "status": "'current'", "computed_at": "%(later)s",
        "revision": "0", "year": "2023", "input_hash": "'bench'", "settlement_hash": "'bench' || a.id",
        "payload": "'{}'::jsonb", "result": "'{}'::jsonb",
    }, "FROM cases_application a")
    insert(SettlementLine, {
        "settlement_id": "s.id", "claim_id": "c.id", "position": "row_number() OVER (PARTITION BY s.id ORDER BY c.date, c.id)",
        "in_application": "true", "category": "''", "route": "''", "policy": "'沧政办规〔2022〕7号'",
        "total": "c.total", "policy_scope": "c.policy_scope", "basic_paid": "c.basic_paid",
        "critical_paid": "c.critical_paid", "self_pay_in_scope": "c.policy_scope - c.basic_paid - c.critical_paid",
        "assistance": "0", "tilted": "0", "out_of_pocket": "c.total - c.basic_paid - c.critical_paid",
    }, "FROM cases_settlement s JOIN cases_application a ON a.id = s.application_id "
       "JOIN cases_claim c ON c.person_id = a.person_id")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT (SELECT count(*) FROM cases_person), (SELECT count(*) FROM cases_claim), "
                       "(SELECT count(*) FROM cases_settlementline)")
        persons, claims, lines = cursor.fetchone()
    return {"persons": persons, "claims": claims, "lines": lines}


def child(url: str) -> None:
    django_setup(url)
    from cases.monitoring.models import MonitoringWarning
    from cases.monitoring.services import execute_run, start_run

    MonitoringWarning.objects.all().delete()
    t0 = time.perf_counter()
    run = start_run(acting_user=None, trigger="command", year=2023, region_code="130900", enqueue=False)
    run = execute_run(run_id=run.pk)
    elapsed = time.perf_counter() - t0
    from django.db.models import Count

    kinds = dict(MonitoringWarning.objects.values_list("kind").annotate(n=Count("id")))
    print(json.dumps({"seconds": elapsed, "person_years": run.person_years, "computed": run.computed_person_years,
                      "warnings": run.warnings_created, "kinds": kinds, "problems": run.problem_texts(),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--person-years", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_MONITORING_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url)
        return 0
    print(f"# monitoring benchmark: {args.person_years:,} person-years of 沧州市, 2023")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{dt.datetime.now():%Y-%m-%d %H:%M}")
    t = time.perf_counter()
    fresh_database(args.database_url)
    django_setup(args.database_url)
    counts = generate(args.person_years)
    print(f"setup (untimed): {counts['persons']:,} people, {counts['claims']:,} claims, {counts['lines']:,} stored "
          f"settlement lines in {time.perf_counter() - t:.1f} s")
    out = subprocess.run([sys.executable, __file__, "--child", "--database-url", args.database_url], check=True,
                         capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, DATABASE_URL=args.database_url))
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"monitoring run: {r['seconds']:.1f} s for {r['person_years']:,} person-years = "
          f"{r['person_years'] / r['seconds']:,.0f} person-years/s; {r['computed']:,} settled by the engine")
    print(f"warnings: {r['warnings']:,} {r['kinds']}; peak RSS {r['peak_rss_mb']:.0f} MB")
    for p in r["problems"]:
        print(f"  note: {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
