"""Benchmark: an identity push of N rows on PostgreSQL (the set-based fast path), against a raw
``psql \\copy`` of the same rows into an unindexed table.

    python bench/push/run.py --rows 1000000
    python bench/push/run.py --rows 20000            # what CI runs

It (untimed) creates a fresh database, migrates it, and registers ``--existing`` (default 20 %) of
the people with an open identity, so that the push meets every case: new people, periods kept,
backdated, reopened and closed. It writes the push as a UTF-8 CSV with ``--bad`` (default 5 %)
bad rows of every kind. Then it times, each in a fresh child process (peak RSS is that process's):

* the push: receiving the file (hash, encoding, header) and the task that checks and applies it;
* ``psql \\copy`` of the same file into an unindexed table of text columns.

It prints rows/s of both, their ratio (target ≥ 0.3), the push's peak RSS (target ≤ 300 MB), the
time of each phase (with ``BENCH_PUSH_STEPS=1`` also the commit and every statement over 0.05 s) and
how the rows ended up, and exits 1 when ``--check`` is given and a target is missed. Then it times
the same rows pushed again in another file (a list re-sent: every row is checked against the
registry and found already in effect), the common monthly case once people are registered.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.databases import create_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/exchange_bench"
REGIONS = ["360702", "360703", "360704", "360722", "360723", "360724", "360725", "360726"]
HEADER = ["身份证号码", "姓名", "类别", "操作", "生效日期", "文号", "行政区划"]
CIVIL = ["tekun", "dibao", "dibao_edge", "illness_poverty", "orphan"]
NAMES = ["低保对象", "特困人员", "dibao_edge", "illness_poverty", "孤儿"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红梅"


def number(area: str, serial: int) -> str:
    from cases.identity_numbers import compose

    birth = dt.date(1940, 1, 1) + dt.timedelta(days=serial % 25000)
    return compose(area, birth, serial // 25000 % 1000)


def person(serial: int) -> tuple[str, str, str]:
    area = REGIONS[serial % len(REGIONS)]
    name = SURNAMES[serial % len(SURNAMES)] + GIVEN[(serial // 7) % len(GIVEN)] + GIVEN[(serial // 131) % len(GIVEN)]
    return number(area, serial), name, area


def setup_database(url: str, rows: int, existing_share: float, seed: int) -> int:
    """Fresh database, migrated; ``existing_share`` of the people registered with an open identity."""
    import dj_database_url

    cfg = dj_database_url.parse(url)
    admin = dict(os.environ, PGPASSWORD=cfg.get("PASSWORD") or "")
    base = ["psql", "-h", cfg["HOST"] or "127.0.0.1", "-p", str(cfg["PORT"] or 5432), "-U", cfg["USER"] or "postgres"]
    subprocess.run(base + ["-d", "postgres", "-qc", f'DROP DATABASE IF EXISTS "{cfg["NAME"]}"'], check=True, env=admin)
    subprocess.run(base + ["-d", "postgres", "-qc", create_database(cfg["NAME"])], check=True, env=admin)
    env = dict(os.environ, DATABASE_URL=url)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], check=True, env=env, cwd=ROOT)
    existing = int(rows * existing_share)
    # Registered people and their open identities, straight into the tables.
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8") as f:
        for serial in range(existing):
            n, name, area = person(serial)
            birth = f"{n[6:10]}-{n[10:12]}-{n[12:14]}"
            f.write(f"{n}\t{n[:4] + n[-4:]}\t{name}\t{'M' if int(n[16]) % 2 else 'F'}\t{birth}\t{area}\n")
        persons = f.name
    sql = f"""
    CREATE TEMP TABLE p (id_number text, id_mask_key text, name text, sex text, birth date, region text);
    \\copy p FROM '{persons}'
    INSERT INTO cases_person (id_number, id_mask_key, name, sex, birth_date, region_id, residence, scheme, phone,
                              bank_name, bank_account, account_holder, created_at, updated_at)
      SELECT id_number, id_mask_key, name, sex, birth, region, 'rural', 'resident', '', '', '', '', now(), now() FROM p;
    INSERT INTO cases_identity (person_id, category, start, "end", department_id, method, reference, source,
                                created_at, updated_at)
      SELECT id, (ARRAY['tekun','dibao','dibao_edge','illness_poverty','orphan'])[1 + id % 5],
             DATE '2023-03-01' + (id % 300)::int, CASE WHEN id % 4 = 0 THEN DATE '2024-02-01' END,
             'civil_affairs', 'pushed', '旧名单', 'bench', now(), now()
        FROM cases_person;
    ANALYZE;
    """
    subprocess.run(base + ["-d", cfg["NAME"], "-q", "-v", "ON_ERROR_STOP=1"], input=sql, text=True, check=True,
                   env=admin)
    os.unlink(persons)
    return existing


# The eight kinds of bad rows of a push list (the fault tests spoil their lists the same way).
BAD_KINDS = ["check", "category", "date", "owner", "length", "future", "region", "action"]


def spoil(row: list, kind: str) -> None:
    """Make a good push row bad, in place, in one of the ``BAD_KINDS`` ways: wrong check character,
    unknown category, impossible date, a category of another department, short number, future
    date, region outside the scope, unknown action."""
    n = row[0]
    if kind == "check":
        row[0] = n[:17] + ("0" if n[17] != "0" else "1")
    elif kind == "category":
        row[2] = "贫困户"
    elif kind == "date":
        row[4] = "2023-02-30"
    elif kind == "owner":
        row[2] = "返贫致贫人口"
    elif kind == "length":
        row[0] = n[:15]
    elif kind == "future":
        row[4] = "2099-01-01"
    elif kind == "region":
        row[6] = "130902"
    else:
        row[3] = "变更"


def write_file(path: Path, rows: int, bad_share: float, existing: int, seed: int) -> dict:
    rng = random.Random(seed)
    kinds: dict[str, int] = {}
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(rows):
            serial = i  # people 0..existing-1 are registered; the others are new
            n, name, area = person(serial)
            cat = NAMES[serial % 5]
            if serial < existing:
                action = "退出" if serial % 4 == 1 else "新增"
                day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
            else:
                action = "新增"
                day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 500))
            row = [n, name, cat, action, day.isoformat(), f"赣民发〔2024〕{serial % 97}号", area if serial >= existing else ""]
            if rng.random() < bad_share:
                kind = rng.choice(BAD_KINDS)
                kinds[kind] = kinds.get(kind, 0) + 1
                spoil(row, kind)
            w.writerow(row)
    return kinds


def child_push(url: str, path: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    import logging

    from django.contrib.auth import get_user_model

    from cases.exchange.pushes.processing import run
    from cases.exchange.services.pushes import receive_file
    from cases.models import RecalcMark
    from portal.roles.models import RoleAssignment

    phases: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            phases.append(record.getMessage())

    logger = logging.getLogger("cases.exchange.pushes")
    logger.setLevel(logging.DEBUG if os.environ.get("BENCH_PUSH_STEPS") else logging.INFO)
    logger.addHandler(Keep())
    user, _ = get_user_model().objects.get_or_create(username="bench_liaison")
    RoleAssignment.objects.get_or_create(user=user, role="liaison", region_id="360700", department_id="civil_affairs")
    RecalcMark.objects.all().delete()
    from cases.exchange.services import pushes

    pushes.enqueue = lambda *a, **k: None  # the task is run (and timed) below
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        push, created = receive_file(acting_user=user, department="civil_affairs", region_code="360700",
                                     fileobj=f, filename=Path(path).name)
    t1 = time.perf_counter()
    push = run(push.pk)
    t2 = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "receive_s": t1 - t0, "process_s": t2 - t1, "total_s": t2 - t0, "peak_rss_mb": peak_kb / 1024,
        "status": push.status, "engine": push.engine, "failure": push.failure,
        "rows_total": push.rows_total, "rows_rejected": push.rows_rejected, "rows_unchanged": push.rows_unchanged,
        "persons_created": push.persons_created, "opened": push.identities_opened,
        "backdated": push.identities_backdated, "reopened": push.identities_reopened,
        "closed": push.identities_closed, "phases": phases,
    }))


def raw_copy(url: str, path: Path) -> float:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    base = ["psql", "-h", cfg["HOST"] or "127.0.0.1", "-p", str(cfg["PORT"] or 5432), "-U", cfg["USER"] or "postgres",
            "-d", cfg["NAME"], "-q", "-v", "ON_ERROR_STOP=1"]
    subprocess.run(base + ["-c", "DROP TABLE IF EXISTS bench_raw_copy; CREATE UNLOGGED TABLE bench_raw_copy "
                                 "(id_number text, name text, category text, action text, effective text, "
                                 "reference text, region text)"], check=True)
    t0 = time.perf_counter()
    subprocess.run(base + ["-c", f"\\copy bench_raw_copy FROM '{path}' WITH (FORMAT csv, HEADER true)"], check=True)
    elapsed = time.perf_counter() - t0
    subprocess.run(base + ["-c", "DROP TABLE bench_raw_copy"], check=True)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad", type=float, default=0.05, help="share of bad rows (default 0.05)")
    parser.add_argument("--existing", type=float, default=0.2, help="share of people already registered")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_push(args.database_url, args.child)
        return 0

    print(f"# push benchmark: {args.rows:,} rows, {args.bad:.0%} bad, {args.existing:.0%} already registered")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{dt.datetime.now():%Y-%m-%d %H:%M}")
    t = time.perf_counter()
    existing = setup_database(args.database_url, args.rows, args.existing, args.seed)
    print(f"setup (untimed): fresh database, migrated, {existing:,} people registered in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "push.csv"
        t = time.perf_counter()
        kinds = write_file(path, args.rows, args.bad, existing, args.seed)
        print(f"file (untimed): {path.stat().st_size / 1e6:.1f} MB, bad rows by kind {kinds}, "
              f"written in {time.perf_counter() - t:.1f} s")
        copy_s = raw_copy(args.database_url, path)
        env = dict(os.environ, DATABASE_URL=args.database_url, PORTAL_VAR_DIR=tmp)
        out = subprocess.run([sys.executable, __file__, "--child", str(path), "--database-url", args.database_url],
                             check=True, capture_output=True, text=True, env=env, cwd=ROOT)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        again = Path(tmp) / "push-again.csv"
        again.write_bytes(path.read_bytes() + b"\r\n")  # the same rows, another file
        out = subprocess.run([sys.executable, __file__, "--child", str(again), "--database-url", args.database_url],
                             check=True, capture_output=True, text=True, env=env, cwd=ROOT)
        resent = json.loads(out.stdout.strip().splitlines()[-1])
    push_rate = args.rows / result["total_s"]
    copy_rate = args.rows / copy_s
    ratio = push_rate / copy_rate
    print(f"psql \\copy: {copy_s:.2f} s = {copy_rate:,.0f} rows/s")
    print(f"push ({result['engine']}): {result['total_s']:.2f} s (receive {result['receive_s']:.2f} s, "
          f"check and apply {result['process_s']:.2f} s) = {push_rate:,.0f} rows/s")
    print(f"ratio push/copy: {ratio:.2f} (target ≥ 0.30)   peak RSS of the push: {result['peak_rss_mb']:.0f} MB "
          f"(target ≤ 300 MB)")
    for line in result.get("phases", []):
        print(f"  {line}")
    print(f"rows: {result['rows_total']:,} total, {result['rows_rejected']:,} rejected, "
          f"{result['rows_unchanged']:,} already in effect; {result['persons_created']:,} people registered, "
          f"{result['opened']:,} opened, {result['backdated']:,} backdated, {result['reopened']:,} reopened, "
          f"{result['closed']:,} closed; status {result['status']} {result['failure']}")
    print(f"re-sent list: {resent['total_s']:.2f} s = {args.rows / resent['total_s']:,.0f} rows/s, ratio "
          f"{args.rows / resent['total_s'] / copy_rate:.2f}, peak RSS {resent['peak_rss_mb']:.0f} MB; "
          f"{resent['rows_unchanged']:,} already in effect, {resent['rows_rejected']:,} rejected")
    for line in resent.get("phases", []):
        print(f"  {line}")
    ok = result["status"] == "done" and ratio >= 0.3 and result["peak_rss_mb"] <= 300
    if args.check and not ok:
        return 1
    return 0 if result["status"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
