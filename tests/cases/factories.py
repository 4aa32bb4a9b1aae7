"""Factories of the cases part: claims, a team of users per region, and cases driven through the
real services to any state."""
from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass
from decimal import Decimal

import factory

from cases.models import Application, Claim
from cases.services import applications, payments, settlement, workflow
from tests.factories import IdentityFactory, PersonFactory, make_user

_setl = itertools.count(1)

# Statistics the engine needs (the figures of the worked examples; not published statistics).
STATISTICS = [
    ("360700", "city_income", 2022, "32000.00"),
    ("360700", "province_rural_income", 2022, "19000.00"),
    ("130900", "city_income", 2021, "27000.00"),
    ("130900", "city_income", 2022, "27000.00"),
    ("130900", "province_rural_income", 2021, "17000.00"),
    ("130900", "province_rural_income", 2022, "17000.00"),
    # 沧政办规〔2022〕7号 二(三): the deductibles are announced each year (2022 暂定 2 700 / 6 700 is in the
    # document); the tests' 沧州 announces 2023's at the same amounts.
    ("130900", "annual_deductible_dibao_edge", 2023, "2700.00"),
    ("130900", "annual_deductible_illness_poverty", 2023, "6700.00"),
]


def add_statistics() -> None:
    from policies.models import Statistic

    for region, kind, year, value in STATISTICS:
        Statistic.objects.get_or_create(region_id=region, kind=kind, year=year,
                                        defaults={"value": Decimal(value), "source": "test"})


class ClaimFactory(factory.django.DjangoModelFactory):
    """An inpatient claim of 2023 with B and C given (赣州 leaves the critical deductible unset)."""

    class Meta:
        model = Claim

    person = factory.SubFactory(PersonFactory)
    region_id = factory.LazyAttribute(lambda o: o.person.region_id)
    setl_id = factory.LazyFunction(lambda: f"T{next(_setl):08d}")
    date = datetime.date(2023, 3, 10)
    kind = "inpatient"
    special_disease = False
    hospital_level = 3
    location = "province"
    referral_compliant = True
    total = Decimal("52000.00")
    policy_scope = Decimal("48000.00")
    basic_paid = Decimal("30000.00")
    critical_paid = Decimal("6000.00")
    maf_pay = Decimal("0.00")
    hospital_name = "测试医院"


@dataclass
class Team:
    """Distinct users of every role in one region (two of some, for four-eyes tests)."""

    region: str
    caseworker: object
    reviewer: object
    reviewer2: object
    approver: object
    approver2: object
    payment: object
    payment2: object
    auditor: object
    civil: object
    rural: object


def make_team(region: str = "360700", prefix: str = "") -> Team:
    prefix = prefix or f"t{region}_{next(_setl)}"
    return Team(
        region=region,
        caseworker=make_user("caseworker", region=region, username=f"{prefix}_cw"),
        reviewer=make_user("reviewer", region=region, username=f"{prefix}_rv"),
        reviewer2=make_user("reviewer", region=region, username=f"{prefix}_rv2"),
        approver=make_user("approver", region=region, username=f"{prefix}_ap"),
        approver2=make_user("approver", region=region, username=f"{prefix}_ap2"),
        payment=make_user("payment_officer", region=region, username=f"{prefix}_po"),
        payment2=make_user("payment_officer", region=region, username=f"{prefix}_po2"),
        auditor=make_user("auditor", region=region, username=f"{prefix}_au"),
        civil=make_user("liaison", region=region, department="civil_affairs", username=f"{prefix}_civil"),
        rural=make_user("liaison", region=region, department="rural_revitalisation", username=f"{prefix}_rural"),
    )


def person_with_identity(region: str = "360702", category: str = "dibao", start=datetime.date(2022, 1, 1), **kw):
    person = PersonFactory(region_id=region, bank_name="农村商业银行", bank_account="6217000012345678",
                           account_holder="户主", **kw)
    if category:
        IdentityFactory(person=person, category=category, start=start)
    return person


PATH = {
    "draft": [],
    "submitted": [("caseworker", "submit", "")],
    "in_review": [("caseworker", "submit", ""), ("reviewer", "start_review", "")],
    "awaiting_identity": [("caseworker", "submit", ""), ("reviewer", "start_review", ""),
                          ("reviewer", "ask_department", "")],
    "returned": [("caseworker", "submit", ""), ("reviewer", "start_review", ""), ("reviewer", "return", "补正材料")],
    "reviewed": [("caseworker", "submit", ""), ("reviewer", "start_review", ""), ("reviewer", "pass", "")],
    "approved": [("caseworker", "submit", ""), ("reviewer", "start_review", ""), ("reviewer", "pass", ""),
                 ("approver", "approve", "")],
    "rejected": [("caseworker", "submit", ""), ("reviewer", "start_review", ""), ("reviewer", "reject", "不符合条件")],
    "withdrawn": [("caseworker", "withdraw", "")],
}


def make_case(team: Team, state: str = "draft", *, person=None, claims=None, year: int = 2023, tilted: bool = False,
              **fields) -> Application:
    """A case for ``person`` (default: a 低保 person of the team's region) with ``claims`` (default:
    one ClaimFactory claim), walked to ``state`` through the transition service; settlements are
    computed synchronously where the workflow needs them."""
    if person is None:
        county = {"360700": "360702", "130900": "130903"}.get(team.region, team.region)
        person = person_with_identity(region=county)
    if claims is None:
        claims = [ClaimFactory(person=person)]
    app = applications.create_application(acting_user=team.caseworker, person_id=person.pk, year=year,
                                          claim_ids=[c.pk for c in claims], tilted_applied=tilted, **fields)
    steps = list(PATH[state] if state in PATH else PATH["approved"])
    for role, action, comment in steps:
        if action in ("pass", "approve"):
            settlement.settle_application(app.pk, reason="test")
        workflow.transition(acting_user=getattr(team, role), application_id=app.pk, action=action, comment=comment,
                            category="dibao" if action == "ask_department" else None)
        if action == "submit":
            settlement.settle_application(app.pk, reason="test")
    if state in ("in_payment", "paid"):
        batch = payments.create_batch(acting_user=team.payment, region_code=team.region, application_ids=[app.pk])
        sent_to_bank(team, batch)
        if state == "paid":
            line = batch.lines.get(application=app)
            payments.record_results(acting_user=team.payment, batch_id=batch.pk,
                                    results=[{"line_id": line.pk, "outcome": "paid", "bank_reference": f"R{line.pk}"}])
    app.refresh_from_db()
    assert app.state == state, (app.state, state)
    return app


def sent_to_bank(team: Team, batch) -> None:
    """The team's officer exports the batch's bank file (results are recorded only after that)."""
    payments.export_batch(acting_user=team.payment, batch_id=batch.pk, fmt="csv")
    batch.refresh_from_db()


def approve_adjustment(team: Team, adj) -> None:
    """A 补发 passed by the team's reviewer and approved by its approver (four eyes)."""
    from cases.services import adjustments

    adjustments.review(acting_user=team.reviewer, adjustment_id=adj.pk, passed=True)
    adjustments.decide(acting_user=team.approver, adjustment_id=adj.pk, approved=True)


def batched_adjustment(team: Team):
    """A paid case whose person turns out to be 特困 (a 补发 of 3 000.00 follows), the adjustment
    put into a payment batch by the team's officer. Returns ``(case, adjustment, batch, line)``."""
    from cases.models import Adjustment, Identity

    app = make_case(team, "paid")
    Identity.objects.filter(person=app.person).update(category="tekun")
    settlement.recalculate_person_year(person_id=app.person_id, year=2023, reason="tekun")
    adj = Adjustment.objects.get(application=app)
    approve_adjustment(team, adj)
    batch = payments.create_batch(acting_user=team.payment, region_code=team.region)
    sent_to_bank(team, batch)
    return app, adj, batch, batch.lines.get()
