"""Demo accounts: for 赣州市, 沧州市, 巴南区 and 东至县 one user of every role (and a liaison of each
department), a second reviewer and a supervisor (the first reviewer, who assigns cases: 分办转办), a
province-level auditor, a 广东省 policy administrator, and a superuser. Idempotent.

:func:`seed_more` (after the parts' own demo data) adds what makes every journey work on a fresh
start: statistics of the current year for every region with a policy (labelled demo figures, not
published ones), persons of 巴南 and 东至, a few identity pushes and a monitoring run's warnings."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from portal.roles.domain import DepartmentCode, Role
from portal.roles.models import RoleAssignment

DEMO_PASSWORD = "Demo@2026"

REGION_PREFIXES = {"360700": "gz", "130900": "cz", "500113": "bn", "341721": "dz"}
REGION_NAMES = {"360700": "赣州", "130900": "沧州", "500113": "巴南", "341721": "东至"}

ROLE_USERS: list[tuple[str, str, str, str]] = [
    # (username suffix, role, department, Chinese name suffix)
    ("caseworker", Role.CASEWORKER, DepartmentCode.MEDICAL_SECURITY, "经办人"),
    ("reviewer", Role.REVIEWER, DepartmentCode.MEDICAL_SECURITY, "审核人"),
    ("reviewer", Role.SUPERVISOR, DepartmentCode.MEDICAL_SECURITY, "审核人"),  # also assigns cases (分办转办)
    ("reviewer2", Role.REVIEWER, DepartmentCode.MEDICAL_SECURITY, "审核人（二）"),
    ("approver", Role.APPROVER, DepartmentCode.MEDICAL_SECURITY, "审批人"),
    ("payment", Role.PAYMENT_OFFICER, DepartmentCode.MEDICAL_SECURITY, "支付经办"),
    ("policy", Role.POLICY_ADMIN, DepartmentCode.MEDICAL_SECURITY, "政策管理员"),
    ("auditor", Role.AUDITOR, DepartmentCode.MEDICAL_SECURITY, "稽核"),
    ("civil", Role.LIAISON, DepartmentCode.CIVIL_AFFAIRS, "民政联络员"),
    ("rural", Role.LIAISON, DepartmentCode.RURAL_REVITALISATION, "乡村振兴联络员"),
    ("veterans", Role.LIAISON, DepartmentCode.VETERANS_AFFAIRS, "退役军人联络员"),
    ("finance", Role.LIAISON, DepartmentCode.FINANCE, "财政联络员"),
    ("tax", Role.LIAISON, DepartmentCode.TAX, "税务联络员"),
]


def demo_accounts() -> list[tuple[str, str, str, str]]:
    """(username, full name, role, region) of every demo account, superuser first."""
    rows = [("admin", "系统管理员", "superuser", "—"), ("jx_auditor", "江西省稽核", Role.AUDITOR, "360000"),
            ("gd_policy", "广东省政策管理员", Role.POLICY_ADMIN, "440000")]
    for region, prefix in REGION_PREFIXES.items():
        for suffix, role, _dept, name in ROLE_USERS:
            if role == Role.SUPERVISOR:
                rows[-1] = (rows[-1][0], rows[-1][1], f"{rows[-1][2]}+{role}", region)
                continue
            rows.append((f"{prefix}_{suffix}", f"{REGION_NAMES[region]}{name}", role, region))
    return rows


@transaction.atomic
def seed_accounts() -> list[tuple[str, str, str, str]]:
    User = get_user_model()
    admin, created = User.objects.get_or_create(
        username="admin", defaults={"full_name": "系统管理员", "is_staff": True, "is_superuser": True}
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save()

    def ensure(username: str, full_name: str, role: str, region: str, department: str) -> None:
        user, made = User.objects.get_or_create(username=username, defaults={"full_name": full_name})
        if made:
            user.set_password(DEMO_PASSWORD)
            user.save()
        RoleAssignment.objects.get_or_create(user=user, role=role, region_id=region, department_id=department)

    ensure("jx_auditor", "江西省稽核", Role.AUDITOR, "360000", DepartmentCode.MEDICAL_SECURITY)
    ensure("gd_policy", "广东省政策管理员", Role.POLICY_ADMIN, "440000", DepartmentCode.MEDICAL_SECURITY)
    for region, prefix in REGION_PREFIXES.items():
        for suffix, role, department, name in ROLE_USERS:
            ensure(f"{prefix}_{suffix}", f"{REGION_NAMES[region]}{name}", role, region, department)
    return demo_accounts()


# --- Beyond the accounts: statistics, persons of 巴南 and 东至, pushes, warnings -------------------------

DEMO_STAT_SOURCE = "演示数据（并非公布的统计数字，请替换）"
#: region → (city_income, province_rural_income) entered for the two years before the current one
DEMO_STATISTICS = {
    "360700": ("33000.00", "20000.00"),
    "130900": ("30000.00", "19500.00"),
    "440000": ("47000.00", "24000.00"),
    "500113": ("45000.00", "21000.00"),
    "341721": ("30000.00", "20500.00"),
}
#: policy admin entering each region's figures
STAT_ADMINS = {"360700": "gz_policy", "130900": "cz_policy", "440000": "gd_policy", "500113": "bn_policy",
               "341721": "dz_policy"}

# (area, birth, seq, name, region, residence, [(category, start, department)])
MORE_PERSONS = [
    ("500113", (1966, 5, 3), 611, "陈永福", "500113", "rural", [("dibao", (2021, 3, 1), "civil_affairs")]),
    ("500113", (1979, 10, 18), 622, "周玉兰", "500113", "urban", [("tekun", (2020, 1, 1), "civil_affairs")]),
    ("500113", (1988, 2, 9), 633, "黄志明", "500113", "rural", [("jiance", (2023, 4, 1), "rural_revitalisation")]),
    ("341721", (1959, 12, 1), 711, "汪国庆", "341721", "rural", [("tekun", (2019, 7, 1), "civil_affairs")]),
    ("341721", (1970, 6, 30), 722, "方桂花", "341721", "rural", [("dibao_edge", (2022, 9, 1), "civil_affairs")]),
    ("341721", (1992, 8, 8), 733, "吴小军", "341721", "urban", [("tuopin", (2021, 1, 1), "rural_revitalisation")]),
]


def _seed_statistics() -> int:
    import datetime
    from decimal import Decimal

    from policies.models import Statistic
    from policies.services import set_statistic

    User = get_user_model()
    year = datetime.date.today().year
    entered = 0
    for region, (city, rural) in DEMO_STATISTICS.items():
        admin = User.objects.filter(username=STAT_ADMINS[region]).first()
        for y in (year - 2, year - 1):
            for kind, value in (("city_income", city), ("province_rural_income", rural)):
                if Statistic.objects.filter(region_id=region, kind=kind, year=y).exists():
                    continue
                set_statistic(acting_user=admin, region=region, kind=kind, year=y, value=Decimal(value),
                              source=DEMO_STAT_SOURCE)
                entered += 1
    return entered


def _seed_persons() -> int:
    import datetime

    from cases.identity_numbers import compose
    from cases.models import Identity, Person, RecognitionMethod

    made = 0
    for area, birth, seq, name, region, residence, identities in MORE_PERSONS:
        number = compose(area, datetime.date(*birth), seq)
        person, created = Person.objects.get_or_create(id_number=number, defaults={
            "name": name, "sex": "M" if seq % 2 else "F", "birth_date": datetime.date(*birth), "region_id": region,
            "residence": residence, "bank_name": "农村商业银行", "bank_account": f"6217{number[-12:-1]}",
            "account_holder": name})
        if created:
            made += 1
            for category, start, department in identities:
                Identity.objects.create(person=person, category=category, start=datetime.date(*start),
                                        department_id=department, method=RecognitionMethod.PUSHED, reference="演示数据")
    return made


#: (liaison, department, region, rows) — pushed once (the same content is recognised as already received)
DEMO_PUSHES = [
    ("gz_civil", "civil_affairs", "360700", [
        {"身份证号码": ("360702", (1961, 3, 12), 131), "姓名": "赖福生", "类别": "特困人员", "操作": "新增",
         "生效日期": "2021-01-01", "文号": "章民字〔2021〕3号"},
        {"身份证号码": ("360731", (1975, 8, 15), 242), "姓名": "钟秀英", "类别": "低保对象", "操作": "新增",
         "生效日期": "2020-06-01", "文号": "于民字〔2020〕15号"},
    ]),
    ("bn_civil", "civil_affairs", "500113", [
        {"身份证号码": ("500113", (1966, 5, 3), 611), "姓名": "陈永福", "类别": "低保对象", "操作": "新增",
         "生效日期": "2021-03-01", "文号": "巴南民发〔2021〕8号"},
        {"身份证号码": ("500113", (1988, 2, 9), 633), "姓名": "黄志明", "类别": "低保对象", "操作": "新增",
         "生效日期": "2024-01-01", "文号": "巴南民发〔2024〕2号"},
    ]),
]


def _seed_pushes() -> int:
    import datetime

    from cases.exchange.services import pushes
    from cases.identity_numbers import compose

    User = get_user_model()
    made = 0
    for username, department, region, rows in DEMO_PUSHES:
        user = User.objects.filter(username=username).first()
        if user is None:
            continue
        data = [dict(r, 身份证号码=compose(r["身份证号码"][0], datetime.date(*r["身份证号码"][1]), r["身份证号码"][2]))
                for r in rows]
        _push, created = pushes.receive_rows(acting_user=user, department=department, region_code=region, rows=data,
                                             channel="api", name=f"演示推送-{region}.json")
        made += int(bool(created))
    return made


def _seed_warnings() -> int:
    """A resident of 赣州 with no hardship identity whose 2023 hospital bill leaves far more to pay
    than the province's rural income (因病致贫 monitoring), and one monitoring run per demo region for
    the demo claims' year (2023), once."""
    import datetime
    from decimal import Decimal

    from cases.identity_numbers import compose
    from cases.models import Claim, Person
    from cases.monitoring import services as monitoring
    from cases.monitoring.models import MonitoringRun
    from cases.services import claims

    number = compose("360702", datetime.date(1972, 4, 4), 881)
    person, _created = Person.objects.get_or_create(id_number=number, defaults={
        "name": "郭春生", "sex": "M", "birth_date": datetime.date(1972, 4, 4), "region_id": "360702",
        "residence": "rural", "bank_name": "农村商业银行", "bank_account": f"6217{number[-12:-1]}",
        "account_holder": "郭春生"})
    caseworker = get_user_model().objects.filter(username="gz_caseworker").first()
    if caseworker is not None and not Claim.objects.filter(setl_id="DEMO-GZ09").exists():
        claims.create_claim(acting_user=caseworker, person_id=person.pk, setl_id="DEMO-GZ09",
                            date=datetime.date(2023, 8, 21), kind="inpatient", hospital_level=3, location="province",
                            total=Decimal("186000.00"), policy_scope=Decimal("150000.00"),
                            basic_paid=Decimal("80000.00"), critical_paid=Decimal("20000.00"), maf_pay=Decimal("0.00"),
                            hospital_name="南昌大学第一附属医院")

    for region in ("360700", "130900"):
        if not MonitoringRun.objects.filter(region_code=region, year=2023).exists():
            monitoring.start_run(acting_user=None, trigger="command", year=2023, region_code=region)
    return MonitoringRun.objects.filter(year=2023, region_code__in=["360700", "130900"]).count()


def seed_more(*, stdout=None) -> None:
    """Statistics for every region, persons of 巴南 and 东至, pushes and warnings. Idempotent."""
    import logging

    log = logging.getLogger(__name__)
    report = []
    for label, step in (("statistics", _seed_statistics), ("persons of 巴南/东至", _seed_persons),
                        ("identity pushes", _seed_pushes), ("monitoring runs", _seed_warnings)):
        try:
            with transaction.atomic():
                report.append(f"{label}: {step()}")
        except Exception as exc:  # one demo step that cannot be made is reported, not fatal
            log.warning("demo %s not created: %s", label, exc)
            report.append(f"{label}: not created ({exc})")
    from cases.monitoring.models import MonitoringWarning

    report.append(f"monitoring warnings: {MonitoringWarning.objects.count()}")  # the runs ran on commit
    if stdout is not None:
        stdout.write("  " + "; ".join(report))
