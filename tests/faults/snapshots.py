"""Normalised snapshots of what a background job wrote, to compare a run whose worker was killed
with an undisturbed one.

A snapshot leaves out everything two honest runs may differ in — primary keys, timestamps, the
push's own id (``push:12`` → ``push``) — and keeps everything a user could notice: which persons and
identity periods exist, the audit of changed periods, the rejected rows with their reasons, the
push's status and counters, the recalculation marks, every settlement of a case (current and
superseded) with its numbers and lines, every 补发 / 追回 adjustment and the allocation ledger.
Rows are keyed by what identifies them to a person (identity number, case number, the claim's
``setl_id``), never by id. Lists are sorted but keep duplicates (a row written twice shows twice).
"""
from __future__ import annotations

import json
import re

from django.db import connection

PUSH_SOURCE = re.compile(r"push:\d+")
MONEY = ("total", "policy_scope", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted",
         "out_of_pocket", "maf_paid", "paid_before", "payable")
LINE_MONEY = ("total", "policy_scope", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted",
              "out_of_pocket", "maf_pay", "paid_before", "payable")


def _norm(value):
    if isinstance(value, str):
        return PUSH_SOURCE.sub("push", value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted((tuple(_norm(v) for v in row) for row in cursor.fetchall()), key=repr)


def registry_state() -> dict[str, list[tuple]]:
    """Persons, identity periods and the audit of changed periods."""
    return {
        "persons": _rows("SELECT id_number, name, sex, birth_date, region_id, residence, scheme FROM cases_person"),
        "identities": _rows(
            'SELECT p.id_number, i.category, i.start, i."end", i.department_id, i.method, i.reference, i.source, '
            "i.created_by_id FROM cases_identity i JOIN cases_person p ON p.id = i.person_id"),
        "identity_changes": _rows(
            "SELECT p.id_number, i.category, c.action, c.old_start, c.old_end, c.new_start, c.new_end, c.reference, "
            "c.source FROM exchange_identitychange c JOIN cases_person p ON p.id = c.person_id "
            "JOIN cases_identity i ON i.id = c.identity_id"),
    }


PUSH_FIELDS = ("status", "phase", "progress", "engine", "failure", "rows_total", "rows_rejected", "rows_unchanged",
               "persons_created", "identities_opened", "identities_backdated", "identities_reopened",
               "identities_closed", "person_years_marked")


def push_state(push_id: int) -> dict[str, list[tuple]]:
    """The push's status and counters, and its rejected rows with their reasons."""
    return {
        "push": _rows(f"SELECT {', '.join(PUSH_FIELDS)} FROM exchange_identitypush WHERE id = %s", [push_id]),
        "rejected": _rows(
            "SELECT row_no, id_number, name, category, action, effective, reference, region_code, errors "
            "FROM exchange_pushrejectedrow WHERE push_id = %s", [push_id]),
    }


def marks_state() -> dict[str, list[tuple]]:
    return {"marks": _rows(
        "SELECT p.id_number, m.year, m.reason, m.done_at IS NOT NULL, m.outcome, m.failed "
        "FROM exchange_recalcmark m JOIN cases_person p ON p.id = m.person_id")}


def cases_state(application_ids=None) -> dict[str, list[tuple]]:
    """Cases, all their settlements, the lines of the current ones, adjustments and the ledger
    (of ``application_ids``, or of every case)."""
    where, params = ("", [])
    if application_ids is not None:
        where, params = ("WHERE a.id = ANY(%s)", [list(application_ids)])
    s_cols = ", ".join(f"s.{c}" for c in MONEY)
    l_cols = ", ".join(f"l.{c}" for c in LINE_MONEY)
    return {
        "applications": _rows(
            "SELECT a.number, a.state, a.calc_revision, a.amount_approved, s.payable, s.kind "
            f"FROM cases_application a LEFT JOIN cases_settlement s ON s.id = a.approved_settlement_id {where}",
            params),
        "settlements": _rows(
            f"SELECT a.number, s.kind, s.status, s.revision, s.year, s.reason, s.errors, s.policies, s.year_totals, "
            f"s.alerts, {s_cols} FROM cases_settlement s JOIN cases_application a ON a.id = s.application_id {where}",
            params),
        "current_lines": _rows(
            f"SELECT a.number, c.setl_id, l.position, l.in_application, l.category, l.route, l.policy, l.notes, "
            f"{l_cols} FROM cases_settlementline l JOIN cases_settlement s ON s.id = l.settlement_id "
            f"JOIN cases_application a ON a.id = s.application_id JOIN cases_claim c ON c.id = l.claim_id "
            f"{where}{' AND' if where else 'WHERE'} s.status = 'current'", params),
        "adjustments": _rows(
            "SELECT a.number, j.kind, j.amount, j.status, j.reason, s.kind, s.status, s.payable "
            "FROM cases_adjustment j JOIN cases_application a ON a.id = j.application_id "
            f"JOIN cases_settlement s ON s.id = j.settlement_id {where}", params),
        "allocations": _rows(
            "SELECT a.number, c.setl_id, k.amount, j.kind, j.amount, j.status, s.kind, s.status "
            "FROM cases_claimallocation k JOIN cases_application a ON a.id = k.application_id "
            "JOIN cases_claim c ON c.id = k.claim_id JOIN cases_settlement s ON s.id = k.settlement_id "
            f"LEFT JOIN cases_adjustment j ON j.id = k.adjustment_id {where}", params),
    }


def diff(expected: dict, actual: dict, *, limit: int = 5) -> list[str]:
    """What differs between two snapshots, readably (empty when they are equal)."""
    problems = []
    for key in sorted(set(expected) | set(actual)):
        a, b = expected.get(key, []), actual.get(key, [])
        if a == b:
            continue
        missing = _minus(a, b)
        extra = _minus(b, a)
        problems.append(f"{key}: {len(a)} rows expected, {len(b)} found; missing {missing[:limit]}; "
                        f"unexpected {extra[:limit]}")
    return problems


def _minus(a: list, b: list) -> list:
    from collections import Counter

    left = Counter(a)
    left.subtract(Counter(b))
    return [row for row, n in left.items() if n > 0 for _ in range(n)]
