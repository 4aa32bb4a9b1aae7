"""Helpers shared by the engine tests (plain pytest, no database)."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from policies.engine import PolicyBook, PolicyVersion, settle_payload, static_book_from_seed

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("PORTAL_SHARED_DIR") or (REPO.parent / "shared"))
EXAMPLES = SHARED / "spec" / "examples"
SEED_DIR = REPO / "policies" / "seed"

STATS = {
    "city_income": {"2020": "25000.00", "2021": "27000.00", "2022": "29000.00", "2023": "31000.00"},
    "province_rural_income": {"2020": "16000.00", "2021": "18000.00", "2022": "19000.00", "2023": "20000.00"},
}


def seed_doc(region: str, index: int = 0) -> dict:
    """A fresh copy of a seed document."""
    return copy.deepcopy(json.loads((SEED_DIR / f"{region}.json").read_text(encoding="utf-8"))[index])


def claim(cid="c1", date="2023-03-01", kind="inpatient", total="10000.00", scope="10000.00", basic="5000.00",
          critical="0.00", **extra) -> dict:
    out = {"id": cid, "date": date, "kind": kind, "total": total, "policy_scope": scope}
    if basic is not None:
        out["basic_paid"] = basic
    if critical is not None:
        out["critical_paid"] = critical
    out.update(extra)
    return out


def payload(region, claims, identities=(), statistics=STATS, **person_or_top) -> dict:
    person = {"residence": person_or_top.pop("residence", "rural"), "scheme": person_or_top.pop("scheme", "resident"),
              "identities": [
                  {"category": i[0], "start": i[1], "end": i[2] if len(i) > 2 else None} for i in identities]}
    out = {"region": region, "person": person, "claims": list(claims)}
    if statistics is not None:
        out["statistics"] = statistics
    out.update(person_or_top)
    return out


def run(p: dict, factory=static_book_from_seed) -> dict:
    return settle_payload(p, factory)


def by_id(result: dict) -> dict[str, dict]:
    return {c["id"]: c for c in result["claims"]}


def book_of(docs: list[dict], region: str | None = None, frameworks: list[dict] = (), statistics=STATS):
    """A book factory over explicit documents (statistics from the input replace ``statistics``)."""
    versions = [PolicyVersion.from_document(d) for d in docs]
    fws = [PolicyVersion.from_document(d) for d in frameworks]

    def factory(code, stats):
        from decimal import Decimal
        chosen = stats if stats is not None else {k: {int(y): Decimal(v) for y, v in s.items()}
                                                  for k, s in (statistics or {}).items()}
        return PolicyBook(region=region or code, versions=versions, frameworks=fws, statistics=chosen)
    return factory
