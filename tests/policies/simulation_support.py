"""A small region of cases for the simulation tests (赣州's counties, 2023), and the expectation
computed per person directly with the engine (the settlement-input JSON of each person-year,
``engine.parse_input`` + ``settle`` with the what-if book of the draft) — not by the service."""
from __future__ import annotations

import datetime
from decimal import Decimal

from cases.models import Application, ApplicationState, Claim, Identity
from cases.services import claims as claim_services
from policies import engine, selectors, services
from tests.cases.factories import ClaimFactory, add_statistics, make_case, make_team, person_with_identity
from tests.policies.conftest import route_index

YEAR = 2023


def claim(person, day, **kw):
    return ClaimFactory(person=person, date=datetime.date(YEAR, *day), **kw)


def make_region(gz_admin, ganzhou):
    """About a dozen person-years of 赣州's counties (one with two cases, one withdrawn case, a voided
    claim, one case the engine refuses — no C given where 赣州 leaves its deductible unset), one
    沧州 case (another region), and a draft raising the 低保 inpatient ratio. Returns (draft, team)."""
    add_statistics()
    team = make_team("360700")
    people = []
    for i, (county, category) in enumerate([("360702", "dibao"), ("360702", "tekun"), ("360703", "jiance"),
                                            ("360703", "dibao"), ("360702", ""), ("360731", "dibao"),
                                            ("360702", "dibao"), ("360703", "orphan"), ("360702", "dibao")]):
        person = person_with_identity(region=county, category=category)
        claims = [claim(person, (2 + i % 9, 5), total=Decimal(20_000 + 7_000 * i), policy_scope=Decimal(18_000 + 6_000 * i),
                        basic_paid=Decimal(9_000 + 2_000 * i), critical_paid=Decimal(1_000 * (i % 3)))]
        if i % 2:
            claims.append(claim(person, (11, 20), kind="outpatient_chronic", hospital_level=1, location="county",
                                total=Decimal("3500.00"), policy_scope=Decimal("3000.00"), basic_paid=Decimal("1500.00"),
                                critical_paid=Decimal("0.00")))
        people.append((person, claims))
    make_case(team, "draft", person=people[0][0], claims=people[0][1])
    make_case(team, "submitted", person=people[1][0], claims=people[1][1])
    make_case(team, "reviewed", person=people[2][0], claims=people[2][1], tilted=True)
    for person, claims in people[3:]:
        make_case(team, "draft", person=person, claims=claims)
    # a second case of the same person-year (its later claim), and a withdrawn case (not simulated)
    extra = claim(people[0][0], (12, 1), total=Decimal("90000.00"), policy_scope=Decimal("80000.00"),
                  basic_paid=Decimal("40000.00"), critical_paid=Decimal("9000.00"))
    make_case(team, "draft", person=people[0][0], claims=[extra])
    gone = person_with_identity(region="360702", category="dibao")
    make_case(team, "withdrawn", person=gone, claims=[claim(gone, (4, 4))])
    # a voided claim counts in no settlement
    voided = claim(people[4][0], (6, 6), total=Decimal("500000.00"), policy_scope=Decimal("400000.00"))
    claim_services.void_claim(acting_user=team.caseworker, claim_id=voided.pk, reason="重复录入")
    # refused by the engine: 赣州 leaves the critical-illness deductible unset, and C is not given
    refused = person_with_identity(region="360703", category="dibao")
    make_case(team, "draft", person=refused, claims=[claim(refused, (5, 5), critical_paid=None)])
    # 沧州: another region
    cz = make_team("130900")
    make_case(cz, "draft")

    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.set_parameter(acting_user=gz_admin, version=draft, path=f"assistance.routes[{route_index(ganzhou, 'dibao')}].ratio",
                           value="0.90")
    draft.refresh_from_db()
    return draft, team


def _payload(app: Application) -> dict:
    person = app.person
    idents = Identity.objects.filter(person=person).order_by("start", "category", "id")
    claims = Claim.objects.filter(person=person, date__year=app.year, voided_at__isnull=True).order_by("date", "id")
    return {
        "region": app.region_id, "tilted_applied": app.tilted_applied,
        "person": {"residence": person.residence, "scheme": person.scheme,
                   "identities": [{"category": i.category, "start": i.start.isoformat(),
                                   "end": i.end.isoformat() if i.end else None} for i in idents]},
        "claims": [{"id": f"c{c.pk}", "date": c.date.isoformat(), "kind": c.kind, "special_disease": c.special_disease,
                    "hospital_level": c.hospital_level, "location": c.location,
                    "referral_compliant": c.referral_compliant, "total": f"{c.total:.2f}",
                    "policy_scope": f"{c.policy_scope:.2f}",
                    **({"basic_paid": f"{c.basic_paid:.2f}"} if c.basic_paid is not None else {}),
                    **({"critical_paid": f"{c.critical_paid:.2f}"} if c.critical_paid is not None else {})}
                   for c in claims],
    }


def expected_totals(draft, regions_prefix: str = "3607") -> dict:
    """Σ over the region's live person-years (the latest case's input) of the engine's year totals,
    before (the published book) and after (the draft taken as published from 1 January, the
    what-if book), over the person-years both settle; and how many were refused."""
    # the what-if book of a draft published from 1 January of the year
    draft.in_force_from, draft.retroactive_from, draft.in_force_to = datetime.date(YEAR, 1, 1), None, None
    draft.save(update_fields=["in_force_from", "retroactive_from", "in_force_to"])
    sums = {side: dict.fromkeys(("assistance", "tilted", "out_of_pocket"), Decimal(0)) for side in ("before", "after")}
    latest = {}
    for app in (Application.objects.filter(year=YEAR, region__code__startswith=regions_prefix)
                .exclude(state__in=[ApplicationState.WITHDRAWN, ApplicationState.REJECTED]).order_by("id")):
        latest[app.person_id] = app
    refused = 0
    people = {"up": 0, "down": 0, "same": 0}
    for app in latest.values():
        payload = _payload(app)
        results = {}
        try:
            results["before"] = engine.result_to_dict(engine.settle(
                engine.parse_input(payload), selectors.get_policy_book(region_code=app.region_id)))
            results["after"] = engine.result_to_dict(engine.settle(
                engine.parse_input(payload),
                selectors.get_policy_book(region_code=app.region_id, draft_version_id=draft.pk)))
        except engine.EngineError:
            refused += 1
            continue
        for side, result in results.items():
            for key in sums[side]:
                sums[side][key] += Decimal(result["totals"][key])
        paid = {side: Decimal(r["totals"]["assistance"]) + Decimal(r["totals"]["tilted"]) for side, r in results.items()}
        people["up" if paid["after"] > paid["before"] else "down" if paid["after"] < paid["before"] else "same"] += 1
    return {"sums": sums, "refused": refused, "person_years": len(latest), "people": people}
