"""Demo data of the policies part (``manage.py seed_demo``): the seeded versions brought up to date
with policies/seed/, and clearly labelled demo statistics for 赣州市 and 沧州市 so that the what-if
page calculates out of the box. The figures are the ones the worked examples
(shared/spec/examples) use as input — they are NOT published statistics; a policy admin replaces
them with the statistics bureau's figures; and 沧州's 2023 announced deductibles (二(三)), demo amounts
entered through the same service with their clause in the source, until the bureau's are entered. Idempotent."""
from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from portal.regions.models import Region

from .models import PolicyChange, PolicyExample, PolicyVersion, Statistic
from .seeding import load_seeds

DEMO_SOURCE = "演示数据（取自结算示例的输入，并非公布的统计数字，请替换）"

# (region, policy admin username, kind, year, value)
DEMO_STATISTICS = [
    ("360700", "gz_policy", "city_income", 2022, "32000.00"),
    ("360700", "gz_policy", "province_rural_income", 2022, "19000.00"),
    ("130900", "cz_policy", "city_income", 2021, "27000.00"),
    ("130900", "cz_policy", "city_income", 2022, "29000.00"),
    ("130900", "cz_policy", "province_rural_income", 2021, "18000.00"),
    ("130900", "cz_policy", "province_rural_income", 2022, "19000.00"),
]
#: 沧州's deductibles after 2022 are amounts the bureau announces each year (沧政办规〔2022〕7号 二(三));
#: the demo enters 2023's as 10 % / 25 % of the demo 2022 income above — demo figures, NOT announced ones.
DEMO_CZ_CLAUSE = "沧政办规〔2022〕7号 二(三)"
DEMO_ANNOUNCED = [
    ("130900", "cz_policy", "annual_deductible_dibao_edge", 2023, "2900.00",
     "按上年度居民人均可支配收入的10%左右确定，每年公布"),
    ("130900", "cz_policy", "annual_deductible_illness_poverty", 2023, "7250.00",
     "按上年度居民人均可支配收入的25%左右确定，每年公布"),
]


def announced_source(clause_words: str) -> str:
    return (f"演示数据（{DEMO_CZ_CLAUSE}：{clause_words}；此为演示数额，并非公布的数字，请按公布的数额替换）")


def example_payload(region_code: str) -> dict:
    """A settlement input to start the what-if from: a 低保 person with an inpatient stay and a
    chronic-disease outpatient claim in 2023 (statistics: the stored ones)."""
    return {
        "region": region_code,
        "person": {
            "residence": "rural",
            "scheme": "resident",
            "identities": [{"category": "dibao", "start": "2022-01-01", "end": None}],
        },
        "tilted_applied": False,
        "claims": [
            {"id": "c1", "date": "2023-06-10", "kind": "inpatient", "special_disease": False, "hospital_level": 2,
             "location": "city", "referral_compliant": True, "total": "60000.00", "policy_scope": "50000.00",
             "basic_paid": "30000.00", "critical_paid": "5000.00"},
            {"id": "c2", "date": "2023-09-20", "kind": "outpatient_chronic", "special_disease": False,
             "hospital_level": 2, "location": "county", "referral_compliant": True, "total": "9000.00",
             "policy_scope": "8000.00", "basic_paid": "4800.00", "critical_paid": "0.00"},
        ],
    }


@transaction.atomic
def seed(*, stdout=None) -> None:
    from .services import set_statistic

    created, reloaded = load_seeds(PolicyVersion, PolicyChange, reload_unchanged=True, PolicyExample=PolicyExample)
    users = {u.username: u for u in get_user_model().objects.filter(
        username__in={row[1] for row in DEMO_STATISTICS + DEMO_ANNOUNCED})}
    entered = 0
    for region_code, username, kind, year, value in DEMO_STATISTICS:
        user = users.get(username)
        if user is None or Statistic.objects.filter(region_id=region_code, kind=kind, year=year).exists():
            continue
        set_statistic(acting_user=user, region=Region.objects.get(code=region_code), kind=kind, year=year,
                      value=Decimal(value), source=DEMO_SOURCE)
        entered += 1
    for region_code, username, kind, year, value, words in DEMO_ANNOUNCED:
        user = users.get(username)
        if user is None or Statistic.objects.filter(region_id=region_code, kind=kind, year=year).exists():
            continue
        set_statistic(acting_user=user, region=Region.objects.get(code=region_code), kind=kind, year=year,
                      value=Decimal(value), source=announced_source(words))
        entered += 1
    if stdout is not None:
        stdout.write(
            f"  policies: {PolicyVersion.objects.filter(status='published').count()} published versions "
            f"({created} new, {reloaded} reloaded from policies/seed), {entered} demo statistics entered "
            f"for 赣州市/沧州市 (labelled 演示数据; 沧州's 2023 announced deductibles are demo amounts too)"
        )
