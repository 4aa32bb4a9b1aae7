"""Benchmark: the case queues and lists with 1 000 000 applications (PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cases_bench .venv/bin/python bench/cases_queue/run.py \
        [--applications 1000000] [--persons 200000] [--repeat 20]

Fills (once; skipped when the rows are there) persons and applications with SQL
``generate_series`` — 5 % each draft/returned (half created by the benchmark caseworker), 3 %
submitted, 2 % in review, 1 % awaiting identity, 2 % reviewed, the rest (82 %) in final states
(rejected / withdrawn: an approved or paid row needs a stored settlement, which a SQL fill cannot
make cheaply; for the queues a final state is a final state), spread over the counties of 赣州市 and 沧州市 and over 2021–2024 —
then times the first page and a page deep into the list of each queue through the API (the same
selectors the UI uses), and prints the query plans.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from cases import selectors  # noqa: E402
from cases.models import Application, Person  # noqa: E402
from tests.factories import make_user  # noqa: E402

COUNTIES = ["360702", "360703", "360704", "360722", "360731", "360732", "360781",
            "130902", "130903", "130921", "130922", "130981", "130982", "130983", "130984"]


def fill(n_apps: int, n_persons: int, creator_id: int) -> None:
    if Application.objects.filter(number__startswith="B-").exists():
        return  # filled by an earlier run
    counties = "ARRAY[" + ",".join(f"'{c}'" for c in COUNTIES) + "]"
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO cases_person (id_number, id_mask_key, name, sex, birth_date, region_id, residence, scheme,
                                      phone, bank_name, bank_account, account_holder, created_at, updated_at)
            SELECT '99' || lpad(g::text, 16, '0'), '9900' || right(lpad(g::text, 16, '0'), 4),
                   '测试' || g, 'M', DATE '1960-01-01' + (g % 15000), ({counties})[1 + g % {len(COUNTIES)}],
                   'rural', 'resident', '', '银行', '6217' || lpad(g::text, 12, '0'), '测试' || g, now(), now()
            FROM generate_series(1, {n_persons}) g
            ON CONFLICT DO NOTHING""")
        cur.execute("SELECT min(id), max(id) FROM cases_person")
        lo, hi = cur.fetchone()
        cur.execute(f"""
            INSERT INTO cases_application (number, person_id, region_id, year, state, tilted_applied, payee_type,
                payee_name, payee_bank, payee_account, agent_name, agent_relation, agent_phone, note,
                pending_category, calc_revision, created_by_id, created_at, updated_at, state_changed_at,
                approved_payee_type, approved_payee_name, approved_payee_bank, approved_payee_account,
                approved_payee_id_number)
            SELECT 'B-' || g, p.id, p.region_id, 2021 + g % 4,
                   CASE WHEN g % 100 < 5 THEN 'draft' WHEN g % 100 < 10 THEN 'returned'
                        WHEN g % 100 < 13 THEN 'submitted' WHEN g % 100 < 15 THEN 'in_review'
                        WHEN g % 100 < 16 THEN 'awaiting_identity' WHEN g % 100 < 18 THEN 'reviewed'
                        WHEN g % 100 < 60 THEN 'rejected' ELSE 'withdrawn' END,
                   false, 'person', '', '', '', '', '', '', '', CASE WHEN g % 100 = 15 THEN 'dibao' ELSE '' END, 0,
                   CASE WHEN g % 2 = 0 THEN {creator_id} ELSE NULL END, now(), now(), now(), '', '', '', '', ''
            FROM generate_series(1, {n_apps}) g
            JOIN cases_person p ON p.id = {lo} + (g % ({hi} - {lo} + 1))""")
        cur.execute("ANALYZE cases_person; ANALYZE cases_application;")


def timed(client, url, params, repeat):
    times = []
    body = None
    for _ in range(repeat):
        t = time.perf_counter()
        response = client.get(url, params)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
    return statistics.median(times), max(times), body


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    assert settings.IS_POSTGRES, "set DATABASE_URL=postgres://…"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cw = make_user("caseworker", region="360700", username="bench_cw")
    rv = make_user("reviewer", region="360700", username="bench_rv")
    make_user("reviewer", region="130900", username="bench_cz_rv")
    t = time.perf_counter()
    fill(args.applications, args.persons, cw.pk)
    print(f"rows: {Application.objects.count():,} applications, {Person.objects.count():,} persons "
          f"(fill {time.perf_counter() - t:.0f} s)")
    person = Person.objects.filter(region_id="360702").order_by("id").first()
    scenarios = [
        ("to_review, first page", rv, {"queue": "to_review"}),
        ("to_approve, first page", make_user("approver", region="360700", username="bench_ap"), {"queue": "to_approve"}),
        ("my_drafts, first page", cw, {"queue": "my_drafts"}),
        ("all visible, first page", rv, {}),
        ("state=rejected & region=360702 & year=2023", rv, {"state": "rejected", "region": "360702", "year": 2023}),
        ("q = masked identity number", rv, {"q": person.masked_id_number}),
    ]
    print(f"{'scenario':45} {'median ms':>10} {'max ms':>8}  rows")
    for label, user, params in scenarios:
        client = APIClient(SERVER_NAME="127.0.0.1")  # a host ALLOWED_HOSTS names
        client.force_authenticate(user)
        median, worst, body = timed(client, "/api/v1/applications/", {**params, "page_size": 50}, args.repeat)
        print(f"{label:45} {median:10.1f} {worst:8.1f}  {len(body['results'])}")
        # 20 pages deep through the cursor
        if body.get("next"):
            url = body["next"]
            for _ in range(19):
                nxt = client.get(url).json()
                url = nxt.get("next") or url
            t = time.perf_counter()
            client.get(url)
            print(f"{'  … page 21 via the cursor':45} {(time.perf_counter() - t) * 1000:10.1f}")
    # A full identity number never goes into a URL (access logs keep URLs): it is posted to persons/search/.
    client = APIClient(SERVER_NAME="127.0.0.1")
    client.force_authenticate(rv)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        response = client.post("/api/v1/persons/search/", {"q": person.id_number}, format="json")
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.content[:300]
        assert [row["id"] for row in response.json()] == [person.pk], response.content[:300]
    print(f"{'full identity number (POST persons/search/)':45} {statistics.median(times):10.1f} {max(times):8.1f}  1")
    print("\nplan of the to_review queue:")
    print(selectors.queue(rv, queue="to_review")[:51].explain(analyze=True))


if __name__ == "__main__":
    main()
