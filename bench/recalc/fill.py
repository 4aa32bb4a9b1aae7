"""Synthetic person-years for the recalculation benchmark and the fault tests (PostgreSQL only).

Everything is written with set-based SQL (``generate_series``) in the current database, tagged by a
two-digit ``tag`` that starts every identity number, case number and claim ``setl_id``, so several
fills can live in one database and a second fill with the same tag is a no-op.

* :func:`fill` — ``persons`` residents of 赣州市's counties, each with ``claims`` claims of ``year``
  and ONE case of that year holding all of them: a share of the cases left open (submitted), the
  others reviewed (to be settled and approved by :func:`settle_and_approve`). Identities:
  60 % 监测对象 (jiance) since 2022, 20 % 低保 (dibao) from mid-year, 20 % none.
* :func:`settle_and_approve` — settles the cases (through ``settle``, a callable taking application
  ids — the per-case service or the batch one) and approves the reviewed ones the way the approval
  transition does (``approved_settlement``, ``amount_approved``, the allocation ledger), in SQL.
* :func:`backdate_change` — the change that makes a recalculation necessary: the mid-year 低保 is
  backdated to 1 January, a 低保 from 1 January is added to a third of the 监测对象 (precedence
  decides), and every person-year of the fill is marked for recalculation (``RecalcMark``).
"""
from __future__ import annotations

from django.db import connection

COUNTIES = ["360702", "360703", "360704", "360722", "360731", "360732", "360781"]
STATISTICS = [
    ("360700", "city_income", 2022, "32000.00"),
    ("360700", "province_rural_income", 2022, "19000.00"),
]


def add_statistics() -> None:
    from decimal import Decimal

    from policies.models import Statistic

    for region, kind, year, value in STATISTICS:
        Statistic.objects.get_or_create(region_id=region, kind=kind, year=year,
                                        defaults={"value": Decimal(value), "source": "bench"})


def system_users():
    """The system users the fill needs (a caseworker creates, a reviewer passes, an approver approves)."""
    from django.contrib.auth import get_user_model

    from portal.roles.models import RoleAssignment

    User = get_user_model()
    out = {}
    for role in ("caseworker", "reviewer", "approver", "payment_officer"):
        user, _ = User.objects.get_or_create(username=f"fill_{role}", defaults={"full_name": f"fill {role}"})
        RoleAssignment.objects.get_or_create(user=user, role=role, region_id="360700", department_id="medical_security")
        out[role] = user
    return out


def fill(*, persons: int, claims: int = 10, year: int = 2023, open_share: float = 0.2, tag: str = "98") -> dict:
    """Insert the persons, identities, claims, cases and claim links (skipped when the tag is there).
    Returns ``{"applications": [...ids], "open": [...ids], "reviewed": [...ids]}``."""
    assert len(tag) == 2 and tag.isdigit()
    users = system_users()
    add_statistics()
    counties = "ARRAY[" + ",".join(f"'{c}'" for c in COUNTIES) + "]"
    open_mod = round(open_share * 100)
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM cases_application WHERE number = %s", [f"F{tag}-{year}-1"])
        if cur.fetchone() is None:
            cur.execute(f"""
                INSERT INTO cases_person (id_number, id_mask_key, name, sex, birth_date, region_id, residence, scheme,
                                          phone, bank_name, bank_account, account_holder, created_at, updated_at)
                SELECT '{tag}' || lpad(g::text, 16, '0'), '{tag}00' || right(lpad(g::text, 16, '0'), 4),
                       '测' || g, CASE WHEN g %% 2 = 0 THEN 'F' ELSE 'M' END, DATE '1950-01-01' + (g %% 20000),
                       ({counties})[1 + g %% {len(COUNTIES)}], CASE WHEN g %% 3 = 0 THEN 'urban' ELSE 'rural' END,
                       'resident', '', '农村商业银行', '6217' || lpad(g::text, 12, '0'), '测' || g, now(), now()
                  FROM generate_series(1, %(n)s) g""", {"n": persons})
            cur.execute(f"""
                CREATE TEMP TABLE fill_p ON COMMIT DROP AS
                SELECT id, region_id, substr(id_number, 3)::bigint AS g FROM cases_person
                 WHERE id_number LIKE '{tag}%%' AND length(id_number) = 18""")
            cur.execute("""
                INSERT INTO cases_identity (person_id, category, start, "end", department_id, method, reference, source,
                                            created_by_id, created_at, updated_at)
                SELECT id, CASE WHEN g %% 10 < 6 THEN 'jiance' ELSE 'dibao' END,
                       CASE WHEN g %% 10 < 6 THEN DATE '2022-01-01' ELSE make_date(%(y)s, 7, 1) END,
                       NULL, CASE WHEN g %% 10 < 6 THEN 'rural_revitalisation' ELSE 'civil_affairs' END,
                       'pushed', 'fill', 'fill', NULL, now(), now()
                  FROM fill_p WHERE g %% 10 < 8""", {"y": year})
            cur.execute(f"""
                INSERT INTO cases_claim (person_id, region_id, setl_id, date, kind, special_disease, hospital_level,
                                         location, referral_compliant, total, policy_scope, basic_paid, critical_paid,
                                         maf_pay, hospital_name, hospital_code, med_type, insutype, enrolment_area,
                                         source, void_reason, created_at, updated_at)
                SELECT p.id, p.region_id, 'F{tag}-' || p.g || '-' || j,
                       make_date(%(y)s, 1, 3) + ((p.g * 37 + j * 31) %% 355)::int,
                       (ARRAY['inpatient','inpatient','outpatient_chronic','outpatient_general','inpatient'])[1 + j %% 5],
                       (p.g + j) %% 7 = 0, 1 + (p.g + j) %% 3,
                       (ARRAY['county','county','city','province','out_of_province'])[1 + (p.g * 3 + j) %% 5],
                       (p.g + j) %% 10 <> 0,
                       round(s.scope * 1.15, 2), s.scope, round(s.scope * 0.55, 2), round(s.scope * 0.05, 2),
                       0, '测试医院', '', '', '', '', 'manual', '', now(), now()
                  FROM fill_p p CROSS JOIN generate_series(0, %(c)s - 1) j
                  CROSS JOIN LATERAL (SELECT CASE WHEN j %% 5 = 3 THEN 300 + (p.g * 7919 + j * 104729) %% 4000
                                                  ELSE 3000 + (p.g * 7919 + j * 104729) %% 90000 END::numeric(14, 2)
                                             AS scope) s""", {"y": year, "c": claims})
            cur.execute(f"""
                INSERT INTO cases_application (number, person_id, region_id, year, state, tilted_applied, payee_type,
                    payee_name, payee_bank, payee_account, agent_name, agent_relation, agent_phone, note,
                    pending_category, calc_revision, created_by_id, created_at, updated_at, state_changed_at,
                    submitted_at, reviewed_by_id, approved_payee_type, approved_payee_name, approved_payee_id_number,
                    approved_payee_bank, approved_payee_account)
                SELECT 'F{tag}-{year}-' || p.g, p.id, p.region_id, %(y)s,
                       CASE WHEN p.g %% 100 < %(open)s THEN 'submitted' ELSE 'reviewed' END, p.g %% 4 = 0, 'person',
                       '', '', '', '', '', '', '', '', 1, %(cw)s, now(), now(), now(), now(),
                       CASE WHEN p.g %% 100 < %(open)s THEN NULL ELSE %(rv)s END, '', '', '', '', ''
                  FROM fill_p p""", {"y": year, "open": open_mod, "cw": users["caseworker"].pk,
                                     "rv": users["reviewer"].pk})
            cur.execute("ANALYZE fill_p; ANALYZE cases_claim; ANALYZE cases_application")
            cur.execute(f"""
                INSERT INTO cases_applicationclaim (application_id, claim_id, active, added_at, added_by_id)
                SELECT a.id, c.id, true, now(), NULL
                  FROM fill_p p JOIN cases_application a ON a.person_id = p.id
                  JOIN cases_claim c ON c.person_id = p.id
                 WHERE a.number LIKE 'F{tag}-{year}-%%' AND c.date BETWEEN make_date(%(y)s, 1, 1) AND make_date(%(y)s, 12, 31)
                   AND c.setl_id LIKE 'F{tag}-%%'""", {"y": year})
            cur.execute("DROP TABLE IF EXISTS fill_p")
            cur.execute("ANALYZE cases_person; ANALYZE cases_identity; ANALYZE cases_claim; ANALYZE cases_application; "
                        "ANALYZE cases_applicationclaim")
        cur.execute(f"SELECT id, state FROM cases_application WHERE number LIKE 'F{tag}-{year}-%%' ORDER BY id")
        rows = cur.fetchall()
    return {"applications": [r[0] for r in rows], "open": [r[0] for r in rows if r[1] == "submitted"],
            "reviewed": [r[0] for r in rows if r[1] == "reviewed"]}


def settle_and_approve(ids: dict, settle) -> int:
    """Settle every case of the fill with ``settle(application_ids)``, then approve the reviewed ones
    whose settlement pays something, as the approval transition does (SQL). Returns how many were
    approved."""
    settle(ids["applications"])
    approver = system_users()["approver"]
    reviewed = ids["reviewed"]
    with connection.cursor() as cur:
        cur.execute("""
            CREATE TEMP TABLE fill_ap ON COMMIT DROP AS
            SELECT s.application_id, s.id AS settlement_id, s.payable
              FROM cases_settlement s
             WHERE s.application_id = ANY(%(ids)s) AND s.status = 'current' AND s.payable > 0""", {"ids": reviewed})
        cur.execute("""
            UPDATE cases_application a SET state = 'approved', approved_by_id = %(ap)s, approved_at = now(),
                   approved_settlement_id = f.settlement_id, amount_approved = f.payable, state_changed_at = now()
              FROM fill_ap f WHERE a.id = f.application_id""", {"ap": approver.pk})
        approved = cur.rowcount
        cur.execute("""
            INSERT INTO cases_claimallocation (claim_id, application_id, adjustment_id, settlement_id, amount, created_at)
            SELECT l.claim_id, f.application_id, NULL, f.settlement_id, l.payable, now()
              FROM fill_ap f JOIN cases_settlementline l ON l.settlement_id = f.settlement_id AND l.in_application""")
        cur.execute("DROP TABLE IF EXISTS fill_ap")
        cur.execute("ANALYZE cases_application; ANALYZE cases_claimallocation; ANALYZE cases_settlement; "
                    "ANALYZE cases_settlementline")
    return approved


def backdate_change(*, tag: str = "98", year: int = 2023, reason: str = "fill: backdated identities") -> int:
    """Backdate the mid-year 低保 to 1 January, add a 低保 from 1 January to a third of the 监测对象,
    and mark every person-year of the fill for recalculation. Returns the number of marks."""
    with connection.cursor() as cur:
        cur.execute(f"""
            UPDATE cases_identity i SET start = make_date(%(y)s, 1, 1), updated_at = now()
              FROM cases_person p
             WHERE p.id = i.person_id AND p.id_number LIKE '{tag}%%' AND i.category = 'dibao'
               AND i.start = make_date(%(y)s, 7, 1)""", {"y": year})
        cur.execute(f"""
            INSERT INTO cases_identity (person_id, category, start, "end", department_id, method, reference, source,
                                        created_by_id, created_at, updated_at)
            SELECT p.id, 'dibao', make_date(%(y)s, 1, 1), NULL, 'civil_affairs', 'pushed', 'fill', 'fill:change',
                   NULL, now(), now()
              FROM cases_person p
             WHERE p.id_number LIKE '{tag}%%' AND substr(p.id_number, 3)::bigint %% 10 < 2""", {"y": year})
        cur.execute("ANALYZE cases_identity")
    return mark_all(tag=tag, year=year, reason=reason)


def mark_all(*, tag: str = "98", year: int = 2023, reason: str = "fill: marked") -> int:
    """Mark every person-year of the fill for recalculation (as an identity push does). Returns the
    number of marks added."""
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO exchange_recalcmark (person_id, year, reason, created_at, outcome, failed)
            SELECT a.person_id, a.year, %(r)s, now(), '', false
              FROM cases_application a WHERE a.number LIKE 'F{tag}-{year}-%%'
            ON CONFLICT DO NOTHING""", {"r": reason[:120]})
        marks = cur.rowcount
        cur.execute("ANALYZE exchange_recalcmark")
    return marks


def revert_change(*, tag: str = "98", year: int = 2023, reason: str = "fill: change reverted") -> int:
    """Undo :func:`backdate_change` (the 低保 back to mid-year, the added 低保 removed) and mark every
    person-year again: another recalculation of the same size, for a second timed run on the same
    database. Returns the number of marks."""
    with connection.cursor() as cur:
        cur.execute(f"""
            UPDATE cases_identity i SET start = make_date(%(y)s, 7, 1), updated_at = now()
              FROM cases_person p
             WHERE p.id = i.person_id AND p.id_number LIKE '{tag}%%' AND i.category = 'dibao' AND i.source = 'fill'
               AND i.start = make_date(%(y)s, 1, 1)""", {"y": year})
        cur.execute(f"""
            DELETE FROM cases_identity i USING cases_person p
             WHERE p.id = i.person_id AND p.id_number LIKE '{tag}%%' AND i.source = 'fill:change'""")
        cur.execute("ANALYZE cases_identity")
    return mark_all(tag=tag, year=year, reason=reason)


def change_applied(*, tag: str = "98") -> bool:
    from cases.models import Identity

    return Identity.objects.filter(source="fill:change", person__id_number__startswith=tag).exists()
