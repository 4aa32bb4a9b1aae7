"""Enrolment subsidy (参保资助): amounts per region, the highest identity only, 巴南's tier 2,
unset amounts refused with the parameter and document, and the monthly lists for 财政 / 税务."""
import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from cases.enrolment import services as subsidy
from cases.enrolment.models import ContributionStandard, SubsidyList
from cases.enrolment.tasks import monthly_subsidy_lists
from cases.exchange.errors import Conflict, Invalid, NotPermitted
from cases.exchange.models import OutboundDelivery
from cases.models import IdNumberView
from tests.factories import IdentityFactory, PersonFactory, make_user

pytestmark = pytest.mark.django_db
D = datetime.date
AS_OF = D(2024, 6, 30)


def standard(region, tier1="380.00", tier2=None, year=2024):
    admin = make_user("policy_admin", region=region)
    return subsidy.set_contribution_standard(acting_user=admin, region_code=region, year=year, tier1_personal=tier1,
                                             tier2_personal=tier2)


def person(region, *categories, start=D(2023, 1, 1)):  # noqa: B008  (a date is immutable)
    p = PersonFactory(region_id=region)
    for c in categories:
        IdentityFactory(person=p, category=c, start=start)
    return p


def amount(p, tier=None):
    result = subsidy.subsidy_for(person=p, year=2024, as_of=AS_OF, tier=tier)
    return result


def test_cangzhou_tekun_in_full_dibao_and_fanpin_sixty_percent():
    standard("130900")
    assert amount(person("130903", "tekun")).amount == Decimal("380.00")
    a = amount(person("130903", "dibao"))
    assert (a.amount, a.category, a.document, a.clause) == (Decimal("228.00"), "dibao", "沧政办规〔2022〕7号", "二(二)")
    assert amount(person("130903", "fanpin")).amount == Decimal("228.00")
    assert amount(person("130903", "dibao_edge")) is None  # 沧州 subsidises no dibao_edge


def test_highest_identity_only_never_two_subsidies():
    standard("130900")
    both = amount(person("130903", "dibao", "tekun"))
    assert (both.category, both.amount) == ("tekun", Decimal("380.00"))


def test_dongzhi_percentages_and_half_up_rounding():
    standard("341721", tier1="333.33")
    assert amount(person("341721", "tekun")).amount == Decimal("333.33")
    assert amount(person("341721", "dibao")).amount == Decimal("300.00")    # 0.90 × 333.33 = 299.997
    assert amount(person("341721", "fanpin")).amount == Decimal("266.66")   # 0.80 × 333.33 = 266.664
    assert amount(person("341721", "jiance")).amount == Decimal("166.67")   # 0.50 × 333.33 = 166.665


def test_banan_tiers_and_the_unset_orphan_rule():
    standard("500113", tier1="380.00", tier2="1000.00")
    assert amount(person("500113", "dibao")).amount == Decimal("342.00")
    assert amount(person("500113", "dibao_edge")).amount == Decimal("266.00")
    tier2 = amount(person("500113", "dibao_edge"), tier=2)
    assert (tier2.tier, tier2.personal, tier2.amount) == (2, Decimal("1000.00"), Decimal("380.00"))
    orphan = amount(person("500113", "orphan"))
    assert orphan.amount is None
    assert "巴南府办发〔2023〕30号" in orphan.problem and "参保资助 第5条资助标准 的 资助方式（孤儿）" in orphan.problem


def test_banan_tier2_needs_its_contribution_standard():
    standard("500113", tier1="380.00")
    tier2 = amount(person("500113", "dibao"), tier=2)
    assert tier2.amount is None and "巴南区" in tier2.problem and "2024" in tier2.problem
    assert "二档" in tier2.problem or "tier-2" in tier2.problem


def test_ganzhou_fixed_amounts_are_unset_and_refused_with_parameter_and_document():
    standard("360700")
    a = amount(person("360702", "dibao"))
    assert a.amount is None
    assert "赣市府办字〔2022〕112号" in a.problem and "参保资助 第2条资助标准 的 资助比例或金额（低保对象）" in a.problem
    assert "二" in a.problem and "尚未设定" in a.problem
    # The full subsidy of a 特困 person does not depend on the unset amount.
    assert amount(person("360702", "tekun", "dibao")).amount == Decimal("380.00")
    assert amount(person("360702", "orphan")).amount == Decimal("380.00")


def test_no_contribution_standard_is_refused_naming_it():
    a = amount(person("130903", "dibao"))
    assert a.amount is None and "运河区" in a.problem and "2024" in a.problem
    assert "个人缴费标准" in a.problem or "contribution standard" in a.problem


def test_county_uses_its_citys_standard():
    standard("130900", tier1="400.00")
    assert amount(person("130981", "tekun")).amount == Decimal("400.00")


def test_standards_are_checked_and_only_for_admins_of_the_region():
    admin = make_user("policy_admin", region="130900")
    with pytest.raises(Invalid) as err:
        subsidy.set_contribution_standard(acting_user=admin, region_code="130900", year=2024, tier1_personal="-1")
    assert err.value.field == "tier1_personal"
    with pytest.raises(Invalid) as err:
        subsidy.set_contribution_standard(acting_user=admin, region_code="130900", year=2024, tier1_personal="1.234")
    assert err.value.field == "tier1_personal"
    with pytest.raises(NotPermitted):
        subsidy.set_contribution_standard(acting_user=admin, region_code="360700", year=2024, tier1_personal="380")
    assert not ContributionStandard.objects.exists()


# --- monthly lists -------------------------------------------------------------------------------


def test_monthly_list_added_changed_exited_then_delivered_to_finance():
    standard("130900")
    stays = person("130903", "dibao")
    leaves = person("130903", "dibao")
    admin = make_user("policy_admin", region="130900")
    first, created = subsidy.produce_list(acting_user=admin, region_code="130900", year=2024, month=3)
    assert created and (first.added, first.exited, first.changed, first.subsidised) == (2, 0, 0, 2)
    assert first.total_amount == Decimal("456.00")
    again, created_again = subsidy.produce_list(acting_user=admin, region_code="130900", year=2024, month=3)
    assert not created_again and again.pk == first.pk
    # April: one becomes 特困 (subsidy changes), the other's dibao ends, a newcomer arrives.
    IdentityFactory(person=stays, category="tekun", start=D(2024, 4, 10))
    leaves.identities.update(end=D(2024, 4, 15))
    newcomer = person("130981", "fanpin", start=D(2024, 4, 20))
    april, _ = subsidy.produce_list(acting_user=admin, region_code="130900", year=2024, month=4)
    items = {(i.person_id, i.change): i for i in april.items.all()}
    assert (april.added, april.exited, april.changed) == (1, 1, 1)
    changed = items[(stays.pk, "changed")]
    assert (changed.previous_amount, changed.amount, changed.previous_category, changed.category) == (
        Decimal("228.00"), Decimal("380.00"), "dibao", "tekun")
    assert items[(leaves.pk, "exited")].previous_amount == Decimal("228.00")
    assert items[(newcomer.pk, "added")].amount == Decimal("228.00")
    with pytest.raises(Conflict):  # months go in order
        subsidy.produce_list(acting_user=admin, region_code="130900", year=2024, month=2)


def test_finance_downloads_the_list_and_the_delivery_is_recorded(client):
    standard("130900")
    p = person("130903", "dibao")
    admin = make_user("policy_admin", region="130900")
    lst, _ = subsidy.produce_list(acting_user=admin, region_code="130900", year=2024, month=5)
    finance = make_user("liaison", region="130900", department="finance")
    client.force_login(finance)
    page = client.get(reverse("enrolment:subsidy_list", args=[lst.pk])).content.decode()
    assert p.masked_id_number in page and p.id_number not in page
    response = client.get(reverse("enrolment:subsidy_export", args=[lst.pk, "csv"]))
    body = response.content.decode("utf-8-sig")
    assert response.status_code == 200 and p.id_number in body and "228.00" in body
    delivery = OutboundDelivery.objects.get()
    assert (delivery.kind, delivery.department_id, delivery.delivered_by, delivery.rows, delivery.period) == (
        "subsidy_list", "finance", finance, 1, "2024-05")
    assert IdNumberView.objects.filter(user=finance, person=p, channel="export").exists()
    # A civil-affairs liaison is not a recipient of subsidy lists: the pages are not for their role.
    client.force_login(make_user("liaison", region="130900", department="civil_affairs"))
    assert client.get(reverse("enrolment:subsidy_list", args=[lst.pk])).status_code == 403


def test_unset_amounts_are_listed_with_the_problem_and_counted():
    standard("360700")
    person("360702", "dibao")
    person("360702", "tekun")
    lst, _ = subsidy.produce_list(acting_user=None, region_code="360700", year=2024, month=1)
    assert lst.added == 2 and lst.total_amount == Decimal("380.00")
    assert len(lst.problems) == 1 and lst.problems[0]["persons"] == 1
    # in words a clerk reads (the rule, the category, the clause and who can set it), not the engine's path
    message = lst.problems[0]["message"]
    assert "参保资助 第2条资助标准" in message and "低保对象" in message and "政策管理员" in message
    assert "enrolment" not in message and "360700" not in message


def test_beat_runs_the_lists_on_the_first_of_each_month():
    entry = settings.CELERY_BEAT_SCHEDULE["exchange-monthly-subsidy-lists"]
    assert entry["task"] == "exchange.monthly_subsidy_lists"
    schedule = entry["schedule"]
    assert schedule.day_of_month == {1} and schedule.hour == {1} and schedule.minute == {30}
    assert schedule.month_of_year == set(range(1, 13))
    standard("130900", year=datetime.date.today().year)
    standard("130900", year=datetime.date.today().year - 1)
    person("130903", "dibao", start=D(2020, 1, 1))
    ids = monthly_subsidy_lists.apply().get()
    year, month = subsidy.previous_month()
    made = SubsidyList.objects.filter(pk__in=ids)
    assert {sl.region_id for sl in made} >= {"130900", "360700", "500113", "341721"}
    cz = made.get(region_id="130900")
    assert (cz.year, cz.month, cz.added) == (year, month, 1)


def test_banan_tier_two_person_set_on_the_page_is_listed_at_the_tier_one_contribution(client):
    admin = make_user("policy_admin", region="500113")
    client.force_login(admin)
    client.post(reverse("enrolment:standards"), {"region": "500113", "year": "2024", "tier1_personal": "380.00",
                                                "tier2_personal": "1000.00"})
    p = person("500113", "jiance")
    bad = client.post(reverse("enrolment:standards"), {"form": "tier", "id_number": "110101199001011234",
                                                      "year": "2024", "tier": "2"})
    assert bad.status_code == 200 and bad.context["tier_form"].errors["id_number"]
    ok = client.post(reverse("enrolment:standards"), {"form": "tier", "id_number": p.id_number, "year": "2024",
                                                     "tier": "2"})
    assert ok.status_code == 302
    lst, _ = subsidy.produce_list(acting_user=admin, region_code="500113", year=2024, month=6)
    item = lst.items.get()
    assert (item.tier, item.personal_contribution, item.amount) == (2, Decimal("1000.00"), Decimal("380.00"))


def _shili_with_subsidies(categories_per_rule):
    """示例市 entered as data, with enrolment subsidy rules naming ``categories_per_rule``."""
    import json

    from policies import services as policy_services
    from policies.models import PolicyVersion, VersionStatus
    from portal.regions.models import Region, RegionLevel
    from tests.shili import CITY, FIXTURE

    Region.objects.create(code=CITY, name="示例市", level=RegionLevel.CITY, parent_id="440000")
    admin = make_user("policy_admin", region=CITY, username="shili_subsidy")
    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    doc["parameters"]["enrolment"] = {"subsidies": [
        {"label": f"资助{i}", "categories": {"value": cats, "clause": "第九条"}, "tier": {"value": 1, "clause": "第九条"},
         "basis": {"value": "percent_of_personal", "clause": "第九条"}, "standard": {"value": "1.00", "clause": "第九条"}}
        for i, cats in enumerate(categories_per_rule)]}
    draft = policy_services.import_policy(acting_user=admin, content=json.dumps(doc, ensure_ascii=False).encode("utf-8"),
                                          filename="449900.policy.json")
    version = policy_services.publish_version(acting_user=admin, version=draft, confirm_document=draft.document_number,
                                              in_force_from=D(2023, 1, 1))
    assert version.status == VersionStatus.PUBLISHED
    return PolicyVersion.objects.get(pk=version.pk), admin


def test_a_regions_own_category_is_subsidised_and_listed_by_its_name(client):
    from tests.shili import CITY

    _version, admin = _shili_with_subsidies([["de_facto_orphan"]])
    standard(CITY, tier1="400.00")
    child = PersonFactory(region_id=CITY)
    IdentityFactory(person=child, category="de_facto_orphan", department_id="civil_affairs", start=D(2023, 1, 1))
    a = amount(child)
    assert (a.category, a.amount) == ("de_facto_orphan", Decimal("400.00"))
    lst, _ = subsidy.produce_list(acting_user=admin, region_code=CITY, year=2024, month=2)
    item = lst.items.get()
    assert item.category == "de_facto_orphan" and item.get_category_display() == "事实无人抚养儿童"
    assert lst.problems == []
    client.force_login(admin)
    page = client.get(reverse("enrolment:subsidy_list", args=[lst.pk])).content.decode()
    assert "事实无人抚养儿童" in page and "de_facto_orphan" not in page


def test_a_subsidy_rule_naming_a_category_the_region_does_not_define_subsidises_no_one_and_says_so():
    from tests.shili import CITY

    version, admin = _shili_with_subsidies([["tekun"]])
    # A version whose rule names a category no policy of the region defines (an old document, a typo):
    doc = dict(version.document)
    doc["parameters"]["enrolment"]["subsidies"][0]["categories"]["value"] = ["tekun", "waixing_hardship"]
    version.document = doc
    version.save(update_fields=["document"])  # the book cache is cleared on save
    standard(CITY, tier1="400.00")
    person(CITY, "tekun")
    IdentityFactory(person=PersonFactory(region_id=CITY), category="waixing_hardship",
                    department_id="civil_affairs", start=D(2023, 1, 1))
    lst, _ = subsidy.produce_list(acting_user=admin, region_code=CITY, year=2024, month=2)
    assert not lst.items.filter(category="waixing_hardship").exists()
    assert "waixing_hardship" in " ".join(p["message"] for p in lst.problems)
