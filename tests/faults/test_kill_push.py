"""A worker SIGKILLed in the middle of an identity push, twice — once while it streams the file into
PostgreSQL, once inside the transaction that applies it — and started again: the push ends exactly
as an undisturbed run of the same file on the same registry ends. No person or identity period is
lost or written twice, the rejected rows are there once each, the counters are right, and the
person-years the push marked are recalculated once.

The scenario (deterministic): 赣州市 民政 pushes 40 000 rows for 360700; 10 000 of the people are
registered already with a 民政 identity (a quarter of them closed), 400 of those have an open case
of 2024 with two claims. The file meets every case: new people (with their county), periods kept,
backdated, reopened and closed, exits of unknown people, names that do not match, repeats inside
the file and 5 % bad rows of eight kinds.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
import time

import pytest
from django.db import connection, transaction

from bench.push.run import BAD_KINDS, spoil
from cases.exchange.models import IdentityPush, PushRejectedRow
from cases.exchange.services.pushes import receive_file
from cases.models import RecalcMark
from portal.models import OutboxJob
from tests.exchange.helpers import HEADER
from tests.factories import make_user
from tests.faults.snapshots import cases_state, diff, marks_state, push_state, registry_state

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.slow,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROWS = 40_000
EXISTING = 10_000
CASE_EVERY = 25  # every 25th registered person has an open case of 2024
REGION = "360700"
COUNTIES = ["360702", "360703", "360704", "360722", "360723", "360724", "360725", "360726"]
CATEGORIES = ["tekun", "dibao", "dibao_edge", "illness_poverty", "orphan"]
LABELS = ["特困人员", "低保对象", "dibao_edge", "illness_poverty", "孤儿"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红梅"
# The worker's statements that write the registry inside the applying transaction.
APPLYING = ('%INSERT INTO "cases_person"%', '%INSERT INTO "cases_identity"%', '%UPDATE "cases_identity"%',
            '%INSERT INTO "exchange_identitychange"%', '%INSERT INTO "exchange_pushrejectedrow"%',
            '%INSERT INTO "exchange_recalcmark"%')


def person(serial: int) -> tuple[str, str, str]:
    from cases.identity_numbers import compose

    area = COUNTIES[serial % len(COUNTIES)]
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=serial % 25000)
    name = SURNAMES[serial % len(SURNAMES)] + GIVEN[(serial // 7) % len(GIVEN)] + GIVEN[(serial // 131) % len(GIVEN)]
    return compose(area, birth, serial // 25000 % 1000), name, area


def push_file() -> bytes:
    """The 40 000 rows, always the same bytes."""
    rng = random.Random(20261205)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADER)
    written: list[list[str]] = []
    for serial in range(ROWS):
        n, name, area = person(serial)
        if serial < EXISTING:
            action = "退出" if serial % 4 == 1 else "新增"
            day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
            if serial % 97 == 5:
                name = name[::-1]  # name_mismatch
        else:
            action = "退出" if serial % 211 == 0 else "新增"  # exits of unknown people
            day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 500))
        row = [n, name, LABELS[serial % 5], action, day.isoformat(), f"赣民发〔2024〕{serial % 97}号",
               area if serial >= EXISTING and serial % 53 else ""]  # some new people without their county
        if rng.random() < 0.05:
            spoil(row, rng.choice(BAD_KINDS))
        elif written and serial % 389 == 0:
            row = list(written[rng.randrange(len(written))])  # a repeat inside the file
        written.append(row)
        w.writerow(row)
    return out.getvalue().encode("utf-8")


def build_registry() -> None:
    """Empty registry, then the 10 000 registered people, their 民政 periods and the open cases
    with their claims (set-based; the same rows every time)."""
    from bench.recalc.fill import add_statistics, system_users

    users = system_users()
    add_statistics()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE cases_person, exchange_identitypush, portal_outboxjob RESTART IDENTITY CASCADE")
        with cursor.cursor.copy("COPY cases_person (id_number, id_mask_key, name, sex, birth_date, region_id, "
                                "residence, scheme, phone, bank_name, bank_account, account_holder, created_at, "
                                "updated_at) FROM STDIN") as copy:
            now = dt.datetime.now(dt.UTC)
            for serial in range(EXISTING):
                n, name, area = person(serial)
                copy.write_row((n, n[:4] + n[-4:], name, "M" if int(n[16]) % 2 else "F",
                                dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14])), area,
                                "rural" if serial % 3 else "urban", "resident", "", "农村商业银行",
                                f"6217{serial:012d}", name, now, now))
        cursor.execute("""
            INSERT INTO cases_identity (person_id, category, start, "end", department_id, method, reference, source,
                                        created_at, updated_at)
            SELECT id, (ARRAY['tekun','dibao','dibao_edge','illness_poverty','orphan'])[1 + (id - 1) %% 5],
                   DATE '2023-03-01' + ((id - 1) %% 300)::int, CASE WHEN (id - 1) %% 4 = 0 THEN DATE '2024-02-01' END,
                   'civil_affairs', 'pushed', '旧名单', 'registry', now(), now()
              FROM cases_person""", {})
        cursor.execute("""
            INSERT INTO cases_application (number, person_id, region_id, year, state, tilted_applied, payee_type,
                payee_name, payee_bank, payee_account, agent_name, agent_relation, agent_phone, note,
                pending_category, calc_revision, created_by_id, created_at, updated_at, state_changed_at, submitted_at,
                approved_payee_type, approved_payee_name, approved_payee_bank, approved_payee_account,
                approved_payee_id_number)
            SELECT 'KP-2024-' || p.id, p.id, p.region_id, 2024, 'submitted', p.id %% 2 = 0, 'person',
                   '', '', '', '', '', '', '', '', 1, %(cw)s, now(), now(), now(), now(), '', '', '', '', ''
              FROM cases_person p WHERE (p.id - 1) %% %(every)s = 0""", {"cw": users["caseworker"].pk,
                                                                        "every": CASE_EVERY})
        cursor.execute("""
            INSERT INTO cases_claim (person_id, region_id, setl_id, date, kind, special_disease, hospital_level,
                                     location, referral_compliant, total, policy_scope, basic_paid, critical_paid,
                                     maf_pay, hospital_name, hospital_code, med_type, insutype, enrolment_area,
                                     source, created_at, updated_at)
            SELECT a.person_id, a.region_id, 'KP-' || a.person_id || '-' || j,
                   DATE '2024-01-10' + ((a.person_id * 37 + j * 151) %% 340)::int, 'inpatient', false, 1 + j,
                   'province', true, s.scope * 1.2, s.scope, round(s.scope * 0.55, 2), round(s.scope * 0.05, 2), 0,
                   '测试医院', '', '', '', '', 'manual', now(), now()
              FROM cases_application a CROSS JOIN generate_series(0, 1) j
              CROSS JOIN LATERAL (SELECT (5000 + (a.person_id * 7919 + j * 104729) %% 60000)::numeric(14, 2)
                                  AS scope) s""", {})
        cursor.execute("""
            INSERT INTO cases_applicationclaim (application_id, claim_id, active, added_at, added_by_id)
            SELECT a.id, c.id, true, now(), NULL
              FROM cases_application a JOIN cases_claim c ON c.person_id = a.person_id
        """)
        cursor.execute("ANALYZE cases_person; ANALYZE cases_identity; ANALYZE cases_application; ANALYZE cases_claim")


def send(liaison, data: bytes) -> int:
    with transaction.atomic():  # the job leaves the outbox for Redis on commit
        push, created = receive_file(acting_user=liaison, department="civil_affairs", region_code=REGION,
                                     fileobj=io.BytesIO(data), filename="民政名单.csv")
    assert created
    return push.pk


def push_row(push_id: int) -> IdentityPush:
    return IdentityPush.objects.get(pk=push_id)


def finished(push_id: int) -> bool:
    push = push_row(push_id)
    if push.status == "failed":
        pytest.fail(f"the push failed: {push.failure}")
    return (push.status == "done"
            and not RecalcMark.objects.filter(done_at__isnull=True).exists()
            and not OutboxJob.objects.filter(sent_at__isnull=True).exists())


def worker_running(patterns, push_id: int) -> bool:
    """Another session of this database is running one of ``patterns`` (LIKE) right now."""
    if push_row(push_id).status == "done":
        pytest.fail("the push finished before the worker could be killed: make the scenario bigger")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state = 'active' AND query LIKE ANY(%s)", [list(patterns)])
        return cursor.fetchone()[0] > 0


def snapshot(push_id: int) -> dict:
    return {**registry_state(), **push_state(push_id), **marks_state(), **cases_state()}


def check_invariants(push_id: int, data: bytes) -> None:
    push = push_row(push_id)
    assert (push.status, push.phase, push.progress, push.engine) == ("done", "finished", 100, "postgres")
    assert push.rows_total == ROWS == data.count(b"\n") - 1
    assert push.rows_rejected == PushRejectedRow.objects.filter(push_id=push_id).count() > 0
    rejected_rows = list(PushRejectedRow.objects.filter(push_id=push_id).values_list("row_no", flat=True))
    assert len(rejected_rows) == len(set(rejected_rows)), "a rejected row recorded twice"
    for counter in ("persons_created", "identities_opened", "identities_backdated", "identities_reopened",
                    "identities_closed", "rows_unchanged", "person_years_marked"):
        assert getattr(push, counter) > 0, counter  # the scenario meets every case
    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM (SELECT person_id, category, start FROM cases_identity
                           GROUP BY 1, 2, 3 HAVING count(*) > 1) d""")
        assert cursor.fetchone()[0] == 0, "an identity period written twice"
        cursor.execute("""SELECT count(*) FROM (SELECT person_id, category FROM cases_identity WHERE "end" IS NULL
                           GROUP BY 1, 2 HAVING count(*) > 1) d""")
        assert cursor.fetchone()[0] == 0, "two open periods of one category"
        cursor.execute("SELECT count(*), count(DISTINCT (person_id, year)) FROM exchange_recalcmark")
        marks, distinct = cursor.fetchone()
        assert marks == distinct == push.person_years_marked, "a person-year marked twice"
        cursor.execute("SELECT count(*) FROM exchange_identitychange WHERE source = %s", [f"push:{push_id}"])
        assert cursor.fetchone()[0] == push.identities_backdated + push.identities_reopened + push.identities_closed


def test_a_push_whose_worker_is_killed_twice_ends_as_an_undisturbed_one(workers):
    data = push_file()
    liaison = make_user("liaison", region=REGION, department="civil_affairs", username="kill_push_liaison")

    # 1. Undisturbed.
    build_registry()
    t0 = time.monotonic()
    workers.start()
    push_id = send(liaison, data)
    workers.wait_for(lambda: finished(push_id), timeout=240, what="the undisturbed push and its recalculation")
    undisturbed_s = time.monotonic() - t0
    check_invariants(push_id, data)
    expected = snapshot(push_id)
    workers.stop()

    # 2. The same registry again, the same file; the worker killed while it streams the rows, then
    #    (the task redelivered to a new worker) while it writes them.
    build_registry()
    before = registry_state()
    t0 = time.monotonic()
    workers.start()
    push_id = send(liaison, data)
    workers.wait_for(lambda: worker_running(["COPY xs_v FROM STDIN%"], push_id), timeout=120,
                     what="the rows being staged")
    workers.kill()
    push = push_row(push_id)
    assert push.status == "processing", "the push was not mid-way at the first kill"
    first_kill_phase = push.phase
    assert registry_state() == before

    workers.start()
    workers.wait_for(lambda: worker_running(APPLYING, push_id), timeout=120,
                     what="the redelivered push writing its rows")
    workers.kill()
    push = push_row(push_id)
    assert push.status == "processing", "the push was not mid-way at the second kill"
    assert registry_state() == before, "a killed push left some of its rows"
    assert not PushRejectedRow.objects.filter(push_id=push_id).exists()
    assert not RecalcMark.objects.exists()

    workers.start()
    workers.wait_for(lambda: finished(push_id), timeout=240, what="the push and its recalculation after the kills")
    disturbed_s = time.monotonic() - t0
    check_invariants(push_id, data)
    problems = diff(expected, snapshot(push_id))
    assert not problems, "\n".join(problems)
    output = workers.output()
    assert output.count("exchange.process_push") >= 3, output  # received three times: killed, killed, done
    push = push_row(push_id)
    counts = {f: getattr(push, f) for f in ("rows_rejected", "rows_unchanged", "persons_created", "identities_opened",
                                             "identities_backdated", "identities_reopened", "identities_closed",
                                             "person_years_marked")}
    print(f"{counts}; undisturbed {undisturbed_s:.1f} s; killed while {first_kill_phase}, then while applying: "
          f"{disturbed_s:.1f} s")
