"""What the recalculation stored for some cases, in a form two runs can be compared with.

``cases_state(application_ids)`` reads, for the cases, every settlement (with its hashes, revision,
status, JSON columns, money and lines), every adjustment and every allocation, the case's revision
— everything except database ids and timestamps, which differ between two runs (settlements,
adjustments and allocations are identified by their position among the case's rows, in id order,
and by their hashes). ``diff(a, b)`` lists the differences (empty: the same).
"""
from __future__ import annotations

from cases.models import Adjustment, Application, ClaimAllocation, Settlement, SettlementLine

SETTLEMENT_FIELDS = ("kind", "status", "revision", "year", "reason", "input_hash", "result_hash", "settlement_hash",
                     "payload", "result", "errors", "policies", "year_totals", "alerts", "total", "policy_scope",
                     "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket",
                     "maf_paid", "paid_before", "payable")
LINE_FIELDS = ("position", "claim_id", "in_application", "category", "route", "policy", "total", "policy_scope",
               "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket", "notes",
               "maf_pay", "paid_before", "payable")
ADJUSTMENT_FIELDS = ("kind", "amount", "basis_hash", "reason", "status", "current_batch_id")


def cases_state(application_ids) -> dict:
    ids = sorted(application_ids)
    out: dict = {}
    settlement_key: dict[int, tuple] = {}
    adjustment_key: dict[int, tuple] = {}
    for app in Application.objects.filter(pk__in=ids).order_by("pk").values("pk", "state", "calc_revision",
                                                                            "approved_settlement_id"):
        out[("case", app["pk"])] = {"state": app["state"], "calc_revision": app["calc_revision"]}
    for app_id in ids:
        settlements = list(Settlement.objects.filter(application_id=app_id).order_by("pk").values("pk", *SETTLEMENT_FIELDS))
        for n, s in enumerate(settlements):
            key = ("settlement", app_id, n)
            settlement_key[s.pop("pk")] = key
            out[key] = s
    lines: dict[int, list] = {}
    for row in SettlementLine.objects.filter(settlement__application_id__in=ids).order_by(
            "settlement_id", "position").values("settlement_id", *LINE_FIELDS):
        lines.setdefault(row.pop("settlement_id"), []).append(row)
    for pk, key in settlement_key.items():
        out[key]["lines"] = lines.get(pk, [])
    for app in Application.objects.filter(pk__in=ids).values("pk", "approved_settlement_id"):
        out[("case", app["pk"])]["approved_settlement"] = settlement_key.get(app["approved_settlement_id"])
    for app_id in ids:
        for n, adj in enumerate(Adjustment.objects.filter(application_id=app_id).order_by("pk").values(
                "pk", "settlement_id", *ADJUSTMENT_FIELDS)):
            key = ("adjustment", app_id, n)
            adjustment_key[adj.pop("pk")] = key
            adj["settlement"] = settlement_key.get(adj.pop("settlement_id"))
            out[key] = adj
    allocations = sorted(
        (a["application_id"], a["claim_id"], adjustment_key.get(a["adjustment_id"]) if a["adjustment_id"] else None,
         settlement_key.get(a["settlement_id"]), str(a["amount"]))
        for a in ClaimAllocation.objects.filter(application_id__in=ids).values(
            "application_id", "claim_id", "adjustment_id", "settlement_id", "amount"))
    out["allocations"] = allocations
    return out


def diff(a: dict, b: dict, *, limit: int = 10) -> list[str]:
    problems = []
    for key in sorted(set(a) | set(b), key=str):
        if a.get(key) != b.get(key):
            va, vb = a.get(key), b.get(key)
            if isinstance(va, dict) and isinstance(vb, dict):
                fields = [f for f in sorted(set(va) | set(vb)) if va.get(f) != vb.get(f)]
                problems.append(f"{key}: {', '.join(f'{f}: {va.get(f)!r:.120} ≠ {vb.get(f)!r:.120}' for f in fields)}")
            else:
                problems.append(f"{key}: {va!r:.200} ≠ {vb!r:.200}")
            if len(problems) >= limit:
                problems.append("…")
                break
    return problems
