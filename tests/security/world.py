"""The world of the security tests: the same kinds of objects in 赣州市 (360700) and in 沧州市 (130900),
made through the services and the suite's factories, each carrying text that identifies it.

Every person of a region is named ``<赣|沧>民<nnn>号`` so a name of one region is never a substring of
the other's; other markers (hospital, household, push file, draft title, statistic source, notes)
start with the region's character too. :class:`Side` keeps, per region, the ids of every object by
model and the strings that must never reach a user of the other region.
"""
from __future__ import annotations

import datetime
import io
import itertools
import os
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models as dj_models

from cases.identity_numbers import compose, mask

from .discovery import PORTAL_APPS

REGIONS = {"360700": "360702", "130900": "130903"}  # city → a county of it
CHAR = {"360700": "赣", "130900": "沧"}
OTHER = {"360700": "130900", "130900": "360700"}

#: Actors: key → (role, department or None). ``norole`` holds no role at all.
ACTORS: dict[str, tuple[str | None, str | None]] = {
    "caseworker": ("caseworker", None),
    "reviewer": ("reviewer", None),
    "approver": ("approver", None),
    "payment_officer": ("payment_officer", None),
    "policy_admin": ("policy_admin", None),
    "auditor": ("auditor", None),
    "liaison_civil_affairs": ("liaison", "civil_affairs"),
    "liaison_rural_revitalisation": ("liaison", "rural_revitalisation"),
    "liaison_veterans_affairs": ("liaison", "veterans_affairs"),
    "liaison_finance": ("liaison", "finance"),
    "liaison_tax": ("liaison", "tax"),
    "liaison_medical_security": ("liaison", "medical_security"),
    "norole": (None, None),
}

SAMPLE_STATES = ("draft", "in_review", "awaiting_identity", "approved", "paid")

serial = itertools.count(1)


@dataclass
class Side:
    """One region's part of the world."""

    region: str
    county: str
    actors: dict = field(default_factory=dict)  # key → user
    tokens: dict = field(default_factory=dict)  # key → API token key
    ids: dict = field(default_factory=lambda: defaultdict(list))  # model label → [pk, …]
    secrets: set = field(default_factory=set)  # strings that identify this region's objects
    persons: list = field(default_factory=list)
    cases: dict = field(default_factory=dict)  # state → Application
    formula_texts: list = field(default_factory=list)

    def samples(self, label: str) -> list[int]:
        """The objects of a model a matrix cell tries: cases in the states that matter (a draft,
        one in review, one waiting for a department, one approved, one paid — or every state with
        PORTAL_SECURITY_ALL_STATES=1), otherwise the first and the last."""
        ids = self.ids.get(label) or []
        if label == "cases.Application":
            states = list(self.cases) if os.environ.get("PORTAL_SECURITY_ALL_STATES") else SAMPLE_STATES
            return [self.cases[s].pk for s in states if s in self.cases]
        return sorted({ids[0], ids[-1]}) if ids else []

    def first(self, model) -> int | None:
        label = model if isinstance(model, str) else model._meta.label
        return self.ids[label][0] if self.ids.get(label) else None


@dataclass
class World:
    sides: dict  # region → Side
    superuser: object

    def side(self, region: str) -> Side:
        return self.sides[region]

    def other(self, region: str) -> Side:
        return self.sides[OTHER[region]]


def person_name(region: str) -> str:
    return f"{CHAR[region]}民{next(serial):03d}号"


def _person(side: Side, *, category: str | None = "dibao", name: str | None = None, start=datetime.date(2022, 1, 1)):
    from tests.factories import IdentityFactory, PersonFactory

    number = compose(side.county, datetime.date(1960, 1, 1) + datetime.timedelta(days=next(serial) * 97), next(serial) % 1000)
    person = PersonFactory(region_id=side.county, id_number=number, name=name or person_name(side.region),
                           bank_name="农村商业银行", bank_account=f"62170000{next(serial):08d}", phone=f"139{next(serial):08d}",
                           account_holder=name or person_name(side.region))
    if category:
        IdentityFactory(person=person, category=category, start=start)
    side.persons.append(person)
    return person


def collect(side: Side) -> None:
    """Fill ``side.ids`` with every row of the portal's own models that belongs to the region, and
    ``side.secrets`` with the strings identifying them."""
    from django.apps import apps

    prefix = side.region[:4]
    for model in apps.get_models():
        if model._meta.app_label not in PORTAL_APPS:
            continue
        path = region_path(model)
        if path is None:
            continue
        side.ids[model._meta.label] = list(
            model.objects.filter(**{f"{path}__startswith": prefix}).order_by("pk").values_list("pk", flat=True))
    from cases.models import Application, ClaimImport, Person

    users = [u.pk for u in side.actors.values()] + [u.pk for u in vars(side.team).values() if hasattr(u, "pk")]
    side.ids[ClaimImport._meta.label] = list(
        ClaimImport.objects.filter(uploaded_by__in=users).order_by("pk").values_list("pk", flat=True))
    for user in [*side.actors.values(), *(u for u in vars(side.team).values() if hasattr(u, "pk"))]:
        side.secrets.update({user.username, user.full_name} - {""})

    for p in Person.objects.filter(region__code__startswith=prefix):
        side.secrets.update({p.name, p.id_number, mask(p.id_number)})
    for number in Application.objects.filter(region__code__startswith=prefix).exclude(number=None).values_list(
            "number", flat=True):
        side.secrets.add(number)


def region_path(model) -> str | None:
    """The lookup from ``model`` to its region (``region``, ``person__region``, …), or None."""
    names = {f.name: f for f in model._meta.get_fields() if getattr(f, "concrete", False)}
    if "region" in names and isinstance(names["region"], dj_models.ForeignKey):
        return "region__code"
    if "region_code" in names:
        return "region_code"
    for via in ("person", "application", "batch", "settlement", "subsidy_list", "push", "version", "claim"):
        f = names.get(via)
        if isinstance(f, dj_models.ForeignKey):
            inner = region_path(f.related_model)
            if inner is not None:
                return f"{via}__{inner}"
    return None


def build_side(region: str) -> Side:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from cases.services import payments, persons, settlement
    from policies import services as policy_services
    from policies.models import PolicyVersion, VersionStatus
    from portal.roles.models import RoleAssignment
    from portal.roles.scoping import forget_grants
    from tests.cases.factories import ClaimFactory, make_case, make_team
    from tests.exchange.oncommit import run_on_commit

    side = Side(region=region, county=REGIONS[region])
    c = CHAR[region]
    team = make_team(region, prefix=f"sec{region}")
    User = get_user_model()
    for key, (role, dept) in ACTORS.items():
        user = User.objects.create_user(username=f"sec_{region}_{key}", password="Sec@pass-2026",
                                        full_name=f"{c}{key}")
        if role:
            RoleAssignment.objects.create(user=user, role=role, region_id=region,
                                          department_id=dept or "medical_security")
        forget_grants(user)
        side.actors[key] = user
        side.tokens[key] = Token.objects.create(user=user).key
    # The team drives the workflow (four eyes needs two reviewers/approvers); the actors read.
    side.team = team

    # --- persons, households, identities, claims ------------------------------------------------
    household = persons.create_household(acting_user=team.caseworker, region_code=side.county,
                                         number=f"{c}户{next(serial):04d}", head_name=person_name(region),
                                         address=f"{c}地址{next(serial)}号")
    side.secrets.update({household.number, household.head_name})
    lone = _person(side, category="tekun")
    lone.household = household
    lone.save()
    unattached = ClaimFactory(person=lone, hospital_name=f"{c}医院{next(serial)}", setl_id=f"{c}S{next(serial):06d}")
    side.secrets.update({unattached.hospital_name})

    # --- cases in every state --------------------------------------------------------------------
    states = ["draft", "submitted", "in_review", "returned", "reviewed", "approved", "rejected", "withdrawn",
              "in_payment", "paid"]
    for state in states:
        # the paid person holds a lesser identity, and a better one is found later (an adjustment)
        person = _person(side, category="dibao_edge" if state == "paid" else "dibao")
        claim = ClaimFactory(person=person, hospital_name=f"{c}医院{next(serial)}", setl_id=f"{c}S{next(serial):06d}")
        side.secrets.add(claim.hospital_name)
        side.cases[state] = make_case(team, state, person=person, claims=[claim],
                                      agent_name=person_name(region), agent_relation="子女", agent_phone="13800000000")
    # awaiting_identity: the exchange opens the confirmation request on commit.
    person = _person(side)
    claim = ClaimFactory(person=person, hospital_name=f"{c}医院{next(serial)}", setl_id=f"{c}S{next(serial):06d}")
    with run_on_commit():
        side.cases["awaiting_identity"] = make_case(team, "awaiting_identity", person=person, claims=[claim])

    # An adjustment: a paid case whose person turns out to have held a better identity all year.
    paid = side.cases["paid"]
    entry = persons.add_identity(acting_user=team.reviewer, person_id=paid.person_id, category="tekun",
                                 start=datetime.date(2022, 6, 1), reference=f"{c}补录")
    persons.confirm_identity_entry(acting_user=team.reviewer2, entry_id=entry.pk)
    settlement.recalculate_person_year(person_id=paid.person_id, year=paid.year, reason="security test")
    # An open batch still holding an approved case.
    extra = make_case(team, "approved", person=_person(side))
    batch = payments.create_batch(acting_user=team.payment, region_code=region, application_ids=[extra.pk],
                                  note=f"{c}批次备注")
    side.secrets.add(f"{c}批次备注")
    payments.export_batch(acting_user=team.payment, batch_id=batch.pk, fmt="csv")  # sent to the bank first
    # The bank's return file of that batch: one row rejected (wrong amount), so the batch stays open.
    from cases.services import bank_returns

    line = batch.lines.get()
    return_name = f"{c}回盘{next(serial)}.csv"
    return_csv = ("明细号,批次号,收款人,账号,金额,结果,银行流水号,失败原因\n"
                  f"{line.pk},{batch.number},{line.payee_name},{line.payee_account},{line.amount + 1},成功,{c}流水,\n")
    received = bank_returns.receive_bank_return(acting_user=team.payment2, batch_id=batch.pk, filename=return_name,
                                                fileobj=io.BytesIO(return_csv.encode("utf-8")))
    bank_returns.apply_bank_return(bank_return_id=received.pk)  # the worker's part: check, then apply
    side.secrets.add(return_name)

    # A reveal (IdNumberView) and a claim import by the region's caseworker actor.
    persons.reveal_id_number(acting_user=team.reviewer, person=paid.person, context="security world",
                             reason=f"{c}核对")
    from tests.uploads import import_claims

    other_number = side.persons[0].id_number
    csv_text = ("setl_id,certno,psn_name,med_type,setl_time,medfee_sumamt,inscp_scp_amt\n"
                f"{c}IMP{next(serial):05d},{other_number},{side.persons[0].name},21,2023-05-01 10:00:00,1000.00,900.00\n"
                f"{c}IMP{next(serial):05d},{other_number[:-1]}0,{c}错行,99,2023-05-01,x,y\n")
    import_claims(side.actors["caseworker"], csv_text.encode("utf-8"), f"{c}导入{next(serial)}.csv")
    import_claims(team.caseworker, csv_text.encode("utf-8"), f"{c}导入{next(serial)}.csv")

    # --- policies: a draft and a statistic ----------------------------------------------------------
    admin = side.actors["policy_admin"]
    published = PolicyVersion.objects.filter(region_id=region, status=VersionStatus.PUBLISHED, framework=False).first()
    if published is not None:
        draft = policy_services.start_version(acting_user=admin, from_version=published)
        title = f"{c}草案{next(serial)}"
        policy_services.update_version_meta(acting_user=admin, version=draft, title=title)
        side.secrets.add(title)
        from policies.simulation import run_all, start_simulation

        run_all(start_simulation(acting_user=admin, version=draft, year=2023, in_process=True))
    source = f"{c}统计公报{next(serial)}"
    policy_services.set_statistic(acting_user=admin, region=region, kind="city_income", year=2019,
                                  value=Decimal("12345.67"), source=source)
    side.secrets.add(source)
    policy_name = f"{c}政策导入{next(serial)}.json"  # refused by the worker: its problems are rows to page
    received = policy_services.receive_policy_file(
        acting_user=admin, region=region, filename=policy_name,
        fileobj=io.BytesIO(b'{"region": "' + region.encode() + b'", "x": [1e400, 1e400]}'))
    policy_services.process_policy_import(import_id=received.pk)
    side.secrets.add(policy_name)

    # --- exchange -------------------------------------------------------------------------------------
    from cases.enrolment import services as subsidy
    from cases.exchange.services import outbound, pushes
    from cases.monitoring import services as monitoring
    from cases.monitoring.models import MonitoringRun, MonitoringWarning
    from cases.reporting import services as budgets

    liaison = side.actors["liaison_civil_affairs"]
    good = compose(side.county, datetime.date(1971, 2, 3), next(serial) % 1000)
    bad_name = person_name(region)
    rows = ["身份证号码,姓名,类别,操作,生效日期,文号,行政区划",
            f"{good},{person_name(region)},低保对象,新增,2023-01-01,{c}民发1号,{side.county}",
            f"{good[:-1]}{'0' if good[-1] != '0' else '1'},{bad_name},低保对象,新增,2023-01-01,{c}民发2号,{side.county}"]
    with run_on_commit():
        pushes.receive_file(acting_user=liaison, department="civil_affairs", region_code=side.county,
                            fileobj=io.BytesIO("\n".join(rows).encode("utf-8")), filename=f"{c}推送{next(serial)}.csv")
    side.secrets.add(bad_name)

    # Warnings: from a monitoring run where the policy sets thresholds, else written directly.
    run = monitoring.start_run(acting_user=None, trigger="command", year=2023, region_code=region, enqueue=False)
    monitoring.execute_run(run_id=run.pk)
    if not MonitoringWarning.objects.filter(region__code__startswith=region[:4]).exists():
        for kind in ("return_to_poverty", "fall_into_poverty"):
            MonitoringWarning.objects.create(
                person=side.persons[1 if kind == "return_to_poverty" else 2], region_id=side.county, year=2023,
                kind=kind, claim_date=datetime.date(2023, 3, 10), threshold=Decimal("8500.00"),
                out_of_pocket=Decimal("9000.00"), document=f"{c}文件", run=run)
    MonitoringRun.objects.create(year=2023, region_code=region, trigger="manual", started_by=admin)

    subsidy.set_contribution_standard(acting_user=admin, region_code=region, year=2024, tier1_personal="380.00",
                                      reference=f"{c}缴费文件")
    try:
        lst, _created = subsidy.produce_list(acting_user=admin, region_code=region, year=2024, month=1)
    except Exception:  # noqa: BLE001 - a region whose policy cannot list yet
        lst = None
    budgets.set_budget(acting_user=admin, region_code=region, year=2024, amount="1000000.00")
    if lst is not None:
        outbound.record(acting_user=side.actors["liaison_finance"], kind="subsidy_list", department="finance",
                        region_code=region, period="2024-01", file_format="csv", channel="download",
                        person_ids=[], subsidy_list=lst)
    outbound.record(acting_user=liaison, kind="warnings", department="civil_affairs", region_code=region,
                    period="2023", file_format="csv", channel="download", person_ids=[])
    collect(side)
    return side


def build_world() -> World:
    from django.contrib.auth import get_user_model

    from policies import bookcache
    from tests.cases.factories import add_statistics

    bookcache.forget()
    add_statistics()
    superuser = get_user_model().objects.create_superuser(username="sec_super", password="Sec@pass-2026",
                                                          email="")
    sides = {region: build_side(region) for region in REGIONS}
    return World(sides=sides, superuser=superuser)
