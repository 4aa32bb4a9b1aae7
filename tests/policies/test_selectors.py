"""Which versions, frameworks and statistics settle a region's claims."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from policies import selectors, services
from policies.engine import PolicyError
from policies.models import PolicyVersion, Statistic, VersionStatus

from .conftest import comparable, load_example, route_index

pytestmark = pytest.mark.django_db
D = datetime.date


def test_a_county_is_settled_by_its_citys_versions():
    book = selectors.get_policy_book(region_code="360702")
    assert book.region == "360702"
    assert [v.document for v in book.versions] == ["赣市府办字〔2022〕112号"]
    payload, expected = load_example("ganzhou_class2_annual_cap")
    payload["region"] = "360731"  # 于都县
    result = services.settle_payload(payload=payload)
    assert result["region"] == "360731"
    assert comparable(result)["claims"] == comparable(expected)["claims"]


def test_a_city_under_a_framework_gets_the_framework_but_no_versions_of_its_own():
    with pytest.raises(PolicyError) as exc:
        selectors.get_policy_book(region_code="440100")
    assert "no published policy version for 440100" in exc.value.errors[0]


def test_a_version_of_the_county_itself_wins_over_the_citys(gz_admin, ganzhou):
    county = services.start_version(acting_user=make_county_admin(), from_version=ganzhou,
                                    region=ganzhou.region.children.get(code="360702"))
    services.publish_version(acting_user=county.created_by, version=county, confirm_document=county.document_number, in_force_from=D(2023, 1, 1))
    assert [v.region for v in selectors.get_policy_book(region_code="360702").versions] == ["360702"]
    assert [v.region for v in selectors.get_policy_book(region_code="360731").versions] == ["360700"]


def make_county_admin():
    from tests.factories import make_user

    return make_user("policy_admin", region="360702")


def test_unknown_region_is_refused_by_name():
    with pytest.raises(PolicyError) as exc:
        selectors.get_policy_book(region_code="999999")
    assert exc.value.errors == ["region: 999999 is not a region known to the portal (GB/T 2260)"]


def test_stored_statistics_nearest_region_wins_per_kind(gz_admin):
    from portal.regions.models import Region
    from tests.factories import make_user

    province_admin = make_user("policy_admin", region="360000")
    services.set_statistic(acting_user=province_admin, region=Region.objects.get(code="360000"),
                           kind="province_rural_income", year=2022, value="19000.00", source="江西省统计公报")
    services.set_statistic(acting_user=province_admin, region=Region.objects.get(code="360000"),
                           kind="city_income", year=2022, value="99999.00", source="省级数字")
    services.set_statistic(acting_user=gz_admin, region=Region.objects.get(code="360700"),
                           kind="city_income", year=2022, value="32000.00", source="赣州市统计公报")
    book = selectors.get_policy_book(region_code="360702")
    assert book.statistics == {"city_income": {2022: Decimal("32000.00")}, "province_rural_income": {2022: Decimal("19000.00")}}


def test_statistics_in_the_input_replace_the_stored_ones_entirely(gz_admin, ganzhou):
    Statistic.objects.create(region_id="360700", kind="city_income", year=2022, value=Decimal("1.00"), source="x")
    Statistic.objects.create(region_id="360700", kind="province_rural_income", year=2022, value=Decimal("2.00"), source="x")
    book = selectors.get_policy_book(region_code="360700", statistics={"city_income": {"2022": "32000.00"}})
    assert book.statistics == {"city_income": {2022: Decimal("32000.00")}}


def test_settle_with_a_stored_statistic_and_without_one(gz_admin):
    payload, expected = load_example("ganzhou_class3_deductible_across_claims")
    del payload["statistics"]
    with pytest.raises(services.SettlementRefused) as exc:
        services.settle_payload(payload=payload)
    message = " ".join(exc.value.errors)
    # worded for the reader (Chinese by default): the statistic by its name, the region and the year
    assert "本地上年度城乡居民人均可支配收入" in message and "赣州市" in message and "2022" in message
    assert "360700" not in message  # the region by its name
    assert "缺少" in message and "city_income" not in message

    from portal.regions.models import Region

    services.set_statistic(acting_user=gz_admin, region=Region.objects.get(code="360700"), kind="city_income",
                           year=2022, value="32000.00", source="赣州市2022年国民经济和社会发展统计公报")
    services.set_statistic(acting_user=gz_admin, region=Region.objects.get(code="360700"),
                           kind="province_rural_income", year=2022, value="19000.00", source="江西省统计公报")
    assert comparable(services.settle_payload(payload=payload)) == comparable(expected)


def test_a_draft_substitutes_for_the_version_it_was_started_from(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.set_parameter(acting_user=gz_admin, version=draft, path=f"assistance.routes[{route_index(ganzhou, 'dibao')}].ratio", value="0.80")
    payload, expected = load_example("ganzhou_class2_annual_cap")
    published = services.settle_payload(payload=payload)
    what_if = services.settle_payload(payload=payload, draft_version_id=draft.pk)
    assert comparable(published) == comparable(expected)
    # class 2 inpatient at 80 % instead of 75 %: 30 000 × 0.80 = 24 000 on the first claim
    assert [c["assistance"] for c in what_if["claims"]][:1] == ["24000.00"]
    book = selectors.get_policy_book(region_code="360700", draft_version_id=draft.pk)
    assert len(book.versions) == 1  # the draft replaced the version it copies (same start date)
    assert PolicyVersion.objects.get(pk=ganzhou.pk).status == VersionStatus.PUBLISHED  # nothing was written


def test_a_draft_with_a_later_start_only_governs_claims_from_then(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.set_parameter(acting_user=gz_admin, version=draft, path=f"assistance.routes[{route_index(ganzhou, 'dibao')}].ratio", value="0.80")
    services.update_version_meta(acting_user=gz_admin, version=draft, in_force_from=D(2023, 6, 1), retroactive_from=None)
    payload, _ = load_example("ganzhou_class2_annual_cap")
    result = services.settle_payload(payload=payload, draft_version_id=draft.pk)
    by_id = {c["id"]: c for c in result["claims"]}
    assert by_id["a"]["assistance"] == "22500.00"  # 2023-02-01: the published version, 75 %
    assert by_id["b"]["policy"] == draft.document_number
    # b: 50 000 in scope self-pay at 80 % = 40 000, capped by the 50 000 annual pool less 22 500
    assert by_id["b"]["assistance"] == "27500.00"


def test_a_draft_of_another_region_does_not_apply(cz_admin, cangzhou):
    draft = services.start_version(acting_user=cz_admin, from_version=cangzhou)
    with pytest.raises(PolicyError) as exc:
        selectors.get_policy_book(region_code="360700", draft_version_id=draft.pk)
    assert "130900" in exc.value.errors[0]


def test_book_for_is_built_once_and_rebuilt_after_a_publication(gz_admin, ganzhou, django_assert_max_num_queries):
    first = services.book_for("360700")
    with django_assert_max_num_queries(1):
        assert services.book_for("360700") is first
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=D(2024, 1, 1))
    rebuilt = services.book_for("360700")
    assert rebuilt is not first
    assert len(rebuilt.versions) == 2


def test_book_for_notices_a_change_made_by_another_process(gz_admin, ganzhou):
    first = services.book_for("360700")
    # Another process's write is only visible here as a new change row (no signal in this process).
    from policies.models import ChangeAction, PolicyChange

    PolicyChange.objects.bulk_create([PolicyChange(region_id="360700", action=ChangeAction.DETAILS, path="x")])
    assert services.book_for("360700") is not first
