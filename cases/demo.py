"""Demo data of the cases part (``manage.py seed_demo``): persons with hardship identities in
赣州市 and 沧州市, their 2023 claims, and applications in different states (draft, in review,
reviewed, approved, in payment, paid, returned) made through the real services by the demo users
(``portal.demo``). Idempotent: persons are keyed by identity number, claims by settlement id
(``DEMO-…``), applications by person and year.

赣州's document leaves the critical-illness deductible to the province (unset), so its demo claims
carry the basic and critical-illness amounts the hospital settled.
"""
from __future__ import annotations

import datetime
import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from .identity_numbers import compose
from .models import Application, Claim, Identity, Person, RecognitionMethod

log = logging.getLogger(__name__)

D = datetime.date

# (area, birth, seq, name, region, residence, identities[(category, start, end, department)])
PERSONS = [
    ("360702", D(1961, 3, 12), 131, "赖福生", "360702", "rural", [("tekun", D(2021, 1, 1), None, "civil_affairs")]),
    ("360731", D(1975, 8, 15), 242, "钟秀英", "360731", "rural", [("dibao", D(2020, 6, 1), None, "civil_affairs")]),
    ("360732", D(1983, 11, 2), 355, "谢建国", "360732", "rural", [("jiance", D(2022, 11, 1), None, "rural_revitalisation")]),
    ("360781", D(1990, 1, 1), 466, "刘小梅", "360781", "urban", [("illness_poverty", D(2023, 5, 1), None, "civil_affairs")]),
    ("360702", D(1968, 4, 20), 577, "曾德华", "360702", "rural", [("tuopin", D(2020, 1, 1), None, "rural_revitalisation")]),
    ("130903", D(1958, 7, 7), 111, "张桂兰", "130903", "rural", [("tekun", D(2021, 6, 1), None, "civil_affairs")]),
    ("130921", D(1972, 2, 28), 224, "王建军", "130921", "rural", [("dibao_edge", D(2022, 1, 1), None, "civil_affairs")]),
    ("130981", D(1985, 9, 9), 338, "李红霞", "130981", "rural", [("dibao", D(2021, 1, 1), None, "civil_affairs")]),
    ("130982", D(1995, 12, 24), 443, "赵志强", "130982", "urban", []),
]


@transaction.atomic
def seed(*, stdout=None) -> list[Person]:
    persons = []
    for area, birth, seq, name, region, residence, identities in PERSONS:
        number = compose(area, birth, seq)
        person, created = Person.objects.get_or_create(
            id_number=number,
            defaults={
                "name": name,
                "sex": "M" if seq % 2 else "F",
                "birth_date": birth,
                "region_id": region,
                "residence": residence,
                "bank_name": "农村商业银行",
                "bank_account": f"6217{number[-12:-1]}",
                "account_holder": name,
            },
        )
        if created:
            for category, start, end, department in identities:
                Identity.objects.create(
                    person=person,
                    category=category,
                    start=start,
                    end=end,
                    department_id=department,
                    method=RecognitionMethod.PUSHED,
                    reference="演示数据",
                )
        persons.append(person)
    cases = seed_cases(persons)
    if stdout is not None:
        stdout.write(f"  {len(persons)} demo persons in 赣州市 and 沧州市, {cases} demo cases")
    return persons


# name → claims [(setl_id suffix, date, kind, level, location, total, scope, basic, critical, maf, hospital)]
CLAIMS = {
    "赖福生": [("GZ01", D(2023, 3, 8), "inpatient", 3, "city", "38000.00", "33000.00", "21000.00", "3000.00", "0.00", "赣州市人民医院")],
    "钟秀英": [("GZ02", D(2023, 4, 2), "inpatient", 2, "county", "26000.00", "23000.00", "15000.00", "1500.00", "2000.00", "于都县人民医院"),
              ("GZ03", D(2023, 9, 15), "outpatient_chronic", 2, "county", "6000.00", "5600.00", "3000.00", "0.00", "0.00", "于都县人民医院")],
    "谢建国": [("GZ04", D(2023, 6, 20), "inpatient", 3, "province", "92000.00", "80000.00", "42000.00", "14000.00", "0.00", "南昌大学第一附属医院")],
    "刘小梅": [("GZ05", D(2023, 7, 1), "inpatient", 3, "province", "90000.00", "80000.00", "40000.00", "12000.00", "0.00", "南昌大学第二附属医院")],
    "曾德华": [("GZ06", D(2023, 5, 5), "inpatient", 2, "county", "12000.00", "10000.00", "6000.00", "0.00", "0.00", "章贡区人民医院")],
    "张桂兰": [("CZ01", D(2023, 2, 11), "inpatient", 3, "city", "45000.00", "40000.00", "24000.00", "4000.00", "0.00", "沧州市中心医院")],
    "王建军": [("CZ02", D(2023, 3, 10), "inpatient", 3, "province", "52000.00", "48000.00", "30000.00", "6000.00", "0.00", "河北医科大学第二医院")],
    "李红霞": [("CZ03", D(2023, 8, 3), "inpatient", 2, "county", "18000.00", "16000.00", "9600.00", None, "0.00", "泊头市医院")],
    "赵志强": [("CZ04", D(2023, 10, 9), "outpatient_general", 1, "county", "800.00", "700.00", "350.00", "0.00", "0.00", "河间市社区卫生服务中心")],
}
# name → (how far the demo case goes, tilted applied, region prefix of the demo users)
CASES = {
    "赖福生": ("draft", False, "gz"),
    "钟秀英": ("in_review", False, "gz"),
    "谢建国": ("reviewed", False, "gz"),
    "刘小梅": ("approved", True, "gz"),
    "曾德华": ("returned", False, "gz"),
    "张桂兰": ("in_payment", False, "cz"),
    "王建军": ("paid", False, "cz"),
    "李红霞": ("submitted", False, "cz"),
    "赵志强": ("draft", False, "cz"),
}
STEPS = {
    "draft": [],
    "submitted": [("caseworker", "submit", "")],
    "in_review": [("caseworker", "submit", ""), ("reviewer", "start_review", "")],
    "returned": [("caseworker", "submit", ""), ("reviewer", "start_review", ""),
                 ("reviewer", "return", "请补充住院病历首页和费用清单。")],
    "reviewed": [("caseworker", "submit", ""), ("reviewer", "start_review", ""), ("reviewer", "pass", "")],
    "approved": [("caseworker", "submit", ""), ("reviewer", "start_review", ""), ("reviewer", "pass", ""),
                 ("approver", "approve", "")],
}
STEPS["in_payment"] = STEPS["approved"]
STEPS["paid"] = STEPS["approved"]


def seed_cases(persons: list[Person]) -> int:
    """Claims and applications of the demo persons; returns how many demo applications exist."""
    from .services import applications, claims, payments, settlement, workflow

    users = {u.username: u for u in get_user_model().objects.filter(username__regex=r"^(gz|cz)_")}
    by_name = {p.name: p for p in persons}
    made = 0
    for name, (target, tilted, prefix) in CASES.items():
        person = by_name.get(name)
        caseworker = users.get(f"{prefix}_caseworker")
        if person is None or caseworker is None:
            continue
        claim_ids = []
        for suffix, day, kind, level, location, total, scope, basic, critical, maf, hospital in CLAIMS[name]:
            setl_id = f"DEMO-{suffix}"
            claim = Claim.objects.filter(setl_id=setl_id).first()
            if claim is None:
                claim = claims.create_claim(
                    acting_user=caseworker, person_id=person.pk, setl_id=setl_id, date=day, kind=kind,
                    hospital_level=level, location=location, total=total, policy_scope=scope, basic_paid=basic,
                    critical_paid=critical, maf_pay=maf, hospital_name=hospital,
                )
            claim_ids.append(claim.pk)
        if Application.objects.filter(person=person, year=2023).exists():
            made += 1
            continue
        try:
            with transaction.atomic():
                app = applications.create_application(
                    acting_user=caseworker, person_id=person.pk, year=2023, claim_ids=claim_ids, tilted_applied=tilted,
                    note="演示案件",
                )
                for role, action, comment in STEPS[target]:
                    if action in ("submit", "pass"):
                        settlement.settle_application(app.pk, reason="demo")
                    workflow.transition(acting_user=users[f"{prefix}_{role}"], application_id=app.pk, action=action,
                                        comment=comment)
                    if action == "submit":
                        settlement.settle_application(app.pk, reason="demo")
                if target in ("in_payment", "paid"):
                    batch = payments.create_batch(acting_user=users[f"{prefix}_payment"], region_code=app.region_id[:4] + "00",
                                                  application_ids=[app.pk], note="演示批次")
                    if target == "paid":  # the bank file is exported (and delivered) before the results
                        payments.export_batch(acting_user=users[f"{prefix}_payment"], batch_id=batch.pk, fmt="csv")
                        line = batch.lines.get()
                        payments.record_results(acting_user=users[f"{prefix}_payment"], batch_id=batch.pk, results=[
                            {"line_id": line.pk, "outcome": "paid", "bank_reference": f"DEMO{line.pk:08d}"}])
        except Exception as exc:  # a demo case that cannot be made (e.g. statistics missing) is reported, not fatal
            log.warning("demo case for %s not created: %s", name, exc)
            continue
        made += 1
    return made
