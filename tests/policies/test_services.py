"""Policy administration: drafts, parameters, publishing, frameworks, statistics, the change history."""
from __future__ import annotations

import copy
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from policies import services
from policies.models import ChangeAction, PolicyChange, PolicyVersion, Statistic, VersionStatus
from policies.signals import statistic_changed, version_published
from portal.regions.models import Region
from tests.factories import make_user

from .conftest import route_index

pytestmark = pytest.mark.django_db
D = datetime.date


def ratio_path(version, category="dibao"):
    return f"assistance.routes[{route_index(version, category)}].ratio"


# --- drafts and parameters --------------------------------------------------------------------

def test_start_version_copies_the_document_as_a_draft(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    assert draft.status == VersionStatus.DRAFT and draft.based_on == ganzhou
    assert draft.document["parameters"] == ganzhou.document["parameters"]
    assert (draft.region_id, draft.document_number, draft.in_force_from) == ("360700", ganzhou.document_number, ganzhou.in_force_from)
    change = draft.changes.get()
    assert change.action == ChangeAction.CREATED and change.actor == gz_admin and ganzhou.document_number in change.note


def test_set_parameter_saves_and_records_old_and_new(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    path = ratio_path(ganzhou)
    services.set_parameter(acting_user=gz_admin, version=draft, path=path, value="0.80")
    draft.refresh_from_db()
    assert draft.document["parameters"]["assistance"]["routes"][route_index(ganzhou, "dibao")]["ratio"]["value"] == "0.80"
    change = draft.changes.get(action=ChangeAction.PARAMETER)
    assert (change.path, change.old_value, change.new_value, change.actor) == (path, "0.75", "0.80", gz_admin)
    assert "救助比例" in change.label
    # the published version is untouched
    ganzhou.refresh_from_db()
    assert ganzhou.document["parameters"]["assistance"]["routes"][route_index(ganzhou, "dibao")]["ratio"]["value"] == "0.75"


def test_the_same_value_written_differently_is_not_a_change(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.set_parameter(acting_user=gz_admin, version=draft, path=ratio_path(ganzhou), value="0.750")
    assert not draft.changes.filter(action=ChangeAction.PARAMETER).exists()


def test_an_invalid_value_is_refused_naming_the_parameter_and_reason(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    path = ratio_path(ganzhou)
    with pytest.raises(services.ChangeRefused) as exc:
        services.set_parameter(acting_user=gz_admin, version=draft, path=path, value="1.5")
    assert exc.value.field == path
    [message] = exc.value.errors
    # the parameter in the editor's words, never its path
    assert path not in message and "救助路径 的 救助比例：应在 0 至 1 之间" in message, message
    draft.refresh_from_db()
    assert draft.document == services.PolicyVersion.objects.get(pk=draft.pk).document
    assert not draft.changes.filter(action=ChangeAction.PARAMETER).exists()


def test_a_parameter_that_breaks_another_rule_names_that_rule(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    with pytest.raises(services.ChangeRefused) as exc:
        services.set_parameter(acting_user=gz_admin, version=draft, path="categories.recipients", value=["tekun"])
    assert any("多重身份优先顺序" in e and "低保对象" in e and "categories" not in e
               for e in exc.value.errors), exc.value.errors  # the rule and the category in words


def test_unset_is_a_value_too(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.set_parameter(acting_user=gz_admin, version=draft, path=ratio_path(ganzhou), value=None)
    change = draft.changes.get(action=ChangeAction.PARAMETER)
    assert change.old_value == "0.75" and change.new_value is None


def test_no_such_parameter(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    with pytest.raises(services.ChangeRefused) as exc:
        services.set_parameter(acting_user=gz_admin, version=draft, path="assistance.routes[99].ratio", value="0.5")
    assert "assistance.routes[99].ratio" in exc.value.errors[0]


def test_only_drafts_are_edited(gz_admin, ganzhou):
    with pytest.raises(services.ChangeRefused) as exc:
        services.set_parameter(acting_user=gz_admin, version=ganzhou, path=ratio_path(ganzhou), value="0.80")
    assert "草稿" in exc.value.errors[0]
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=D(2024, 1, 1))
    with pytest.raises(services.ChangeRefused):
        services.set_parameter(acting_user=gz_admin, version=draft, path=ratio_path(ganzhou), value="0.80")


def test_only_the_regions_policy_admins_change_it(gz_admin, cz_admin, gz_auditor, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    for outsider in (cz_admin, gz_auditor, make_user("caseworker", region="360700")):
        with pytest.raises(PermissionDenied):
            services.set_parameter(acting_user=outsider, version=draft, path=ratio_path(ganzhou), value="0.80")
        with pytest.raises(PermissionDenied):
            services.publish_version(acting_user=outsider, version=draft, confirm_document=draft.document_number, in_force_from=D(2024, 1, 1))
    with pytest.raises(PermissionDenied):
        services.start_version(acting_user=cz_admin, from_version=ganzhou)


def test_a_county_starts_its_own_version_from_its_citys(ganzhou):
    county_admin = make_user("policy_admin", region="360702")
    draft = services.start_version(acting_user=county_admin, from_version=ganzhou, region=Region.objects.get(code="360702"))
    assert draft.region_id == "360702" and draft.document["region"] == "360702"
    with pytest.raises(PermissionDenied):
        services.start_version(acting_user=county_admin, from_version=ganzhou)  # not in the city itself


def test_details_of_a_draft(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.update_version_meta(acting_user=gz_admin, version=draft, document_number="赣市府办字〔2024〕1号",
                                 in_force_from=D(2024, 1, 1), retroactive_from=None)
    draft.refresh_from_db()
    assert draft.document["document"] == "赣市府办字〔2024〕1号" and draft.document["in_force_from"] == "2024-01-01"
    assert draft.document["retroactive_from"] is None
    paths = set(draft.changes.filter(action=ChangeAction.DETAILS).values_list("path", flat=True))
    assert paths == {"document_number", "in_force_from", "retroactive_from"}
    with pytest.raises(services.ChangeRefused) as exc:
        services.update_version_meta(acting_user=gz_admin, version=draft, in_force_to=D(2023, 1, 1))
    assert exc.value.errors[0].startswith("有效期至：") and "in_force_to" not in exc.value.errors[0]


# --- publishing -------------------------------------------------------------------------------

def test_publish_closes_the_previous_version_the_day_before(gz_admin, ganzhou, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, version, retroactive_from, **kwargs):
        received.append((version.pk, retroactive_from))

    version_published.connect(receiver)
    try:
        draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
        with django_capture_on_commit_callbacks(execute=True):
            services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=D(2024, 1, 1))
    finally:
        version_published.disconnect(receiver)
    ganzhou.refresh_from_db()
    draft.refresh_from_db()
    assert ganzhou.in_force_to == D(2023, 12, 31) and ganzhou.document["in_force_to"] == "2023-12-31"
    assert ganzhou.status == VersionStatus.PUBLISHED
    assert draft.status == VersionStatus.PUBLISHED and draft.in_force_from == D(2024, 1, 1) and draft.in_force_to is None
    assert draft.published_by == gz_admin and draft.published_at is not None
    assert received == [(draft.pk, D(2024, 1, 1))]
    closed = ganzhou.changes.get(action=ChangeAction.CLOSED)
    assert (closed.old_value, closed.new_value, closed.actor) == (None, "2023-12-31", gz_admin)
    published = draft.changes.get(action=ChangeAction.PUBLISHED)
    assert published.new_value == {"in_force_from": "2024-01-01", "in_force_to": None, "retroactive_from": None,
                                   "confirmed": draft.document_number, "simulation": None, "person_years": 0}


def exactly_one_in_force(region: str, days) -> None:
    published = list(PolicyVersion.objects.filter(region_id=region, status=VersionStatus.PUBLISHED, framework=False))
    for day in days:
        holders = [v for v in published if v.effective_from <= day <= (v.in_force_to or D.max)]
        assert len(holders) == 1, (day, holders)


def test_publishing_on_the_same_start_supersedes_the_previous_version(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=ganzhou.in_force_from,
                             retroactive_from=ganzhou.retroactive_from)
    ganzhou.refresh_from_db()
    assert ganzhou.status == VersionStatus.SUPERSEDED
    assert ganzhou.changes.filter(action=ChangeAction.SUPERSEDED).exists()
    exactly_one_in_force("360700", [D(2022, 10, 1), D(2025, 6, 1)])


def test_a_version_published_before_a_later_one_ends_the_day_before_it(gz_admin, ganzhou):
    later = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.publish_version(acting_user=gz_admin, version=later, confirm_document=later.document_number, in_force_from=D(2025, 1, 1))
    between = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.publish_version(acting_user=gz_admin, version=between, confirm_document=between.document_number, in_force_from=D(2024, 1, 1))
    between.refresh_from_db()
    ganzhou.refresh_from_db()
    assert between.in_force_to == D(2024, 12, 31)
    assert ganzhou.in_force_to == D(2023, 12, 31)
    assert "2024-12-31" in between.changes.get(action=ChangeAction.PUBLISHED).note
    exactly_one_in_force("360700", [D(2022, 10, 1), D(2023, 12, 31), D(2024, 1, 1), D(2024, 12, 31), D(2025, 1, 1)])


def test_a_version_that_would_cut_a_later_one_in_two_is_refused(gz_admin, ganzhou):
    later = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.publish_version(acting_user=gz_admin, version=later, confirm_document=later.document_number, in_force_from=D(2025, 1, 1), in_force_to=D(2025, 12, 31))
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    with pytest.raises(services.ChangeRefused) as exc:
        services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=D(2025, 1, 1), in_force_to=D(2025, 6, 30))
    assert "2025-12-31" in exc.value.errors[0]
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_retroactive_publication_settles_claims_from_the_retroactive_date(gz_admin, ganzhou, django_capture_on_commit_callbacks):
    received = []
    version_published.connect(lambda sender, version, retroactive_from, **kw: received.append(retroactive_from), weak=False,
                              dispatch_uid="test-retro")
    try:
        draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
        with django_capture_on_commit_callbacks(execute=True):
            services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=D(2024, 3, 1),
                                     retroactive_from=D(2024, 1, 1))
    finally:
        version_published.disconnect(dispatch_uid="test-retro")
    ganzhou.refresh_from_db()
    assert ganzhou.in_force_to == D(2023, 12, 31)
    assert received == [D(2024, 1, 1)]


def test_publish_rejects_bad_dates(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    with pytest.raises(services.ChangeRefused) as exc:
        services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=D(2024, 1, 1), retroactive_from=D(2024, 2, 1))
    assert exc.value.field == "retroactive_from"


# --- frameworks -------------------------------------------------------------------------------

def guangzhou_draft(cangzhou, user) -> PolicyVersion:
    """A 广州市 draft (under 粤府办〔2022〕40号) that keeps the framework's rules."""
    doc = copy.deepcopy(cangzhou.document)
    params = doc["parameters"]
    params["categories"]["recipients"]["value"].append("orphan")
    params["critical"]["preferential"]["categories"]["value"].append("orphan")
    doc.update(region="440100", document="穗医保〔2023〕1号", in_force_from="2023-01-01")
    return PolicyVersion.objects.create(
        region_id="440100", document_number="穗医保〔2023〕1号", title="广州市测试方案", status=VersionStatus.DRAFT,
        in_force_from=D(2023, 1, 1), document=doc, created_by=user,
    )


def test_a_framework_violation_is_refused_when_the_parameter_is_set(cangzhou):
    admin = make_user("policy_admin", region="440100")
    draft = guangzhou_draft(cangzhou, admin)
    path = f"assistance.routes[{route_index(cangzhou, 'dibao')}].deductible"
    with pytest.raises(services.ChangeRefused) as exc:
        services.set_parameter(acting_user=admin, version=draft, path=path,
                               value={"fraction": "0.05", "statistic": "city_income"})
    assert any("粤府办〔2022〕40号 二(四)" in e and "救助路径 的 救助起付标准" in e and path not in e
               for e in exc.value.errors), exc.value.errors


def test_publishing_a_version_that_breaks_its_framework_is_refused_naming_the_clause(cangzhou):
    admin = make_user("policy_admin", region="440100")
    draft = guangzhou_draft(cangzhou, admin)
    draft.document["parameters"]["assistance"]["routes"][route_index(cangzhou, "dibao")]["deductible"]["value"] = "500.00"
    draft.save()
    with pytest.raises(services.ChangeRefused) as exc:
        services.publish_version(acting_user=admin, version=draft, confirm_document=draft.document_number, in_force_from=D(2023, 1, 1))
    assert any("粤府办〔2022〕40号 二(四)" in e for e in exc.value.errors)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_a_version_keeping_its_framework_is_published_and_settles(cangzhou):
    admin = make_user("policy_admin", region="440100")
    draft = guangzhou_draft(cangzhou, admin)
    services.publish_version(acting_user=admin, version=draft, confirm_document=draft.document_number, in_force_from=D(2023, 1, 1))
    payload = {
        "region": "440106", "person": {"identities": [{"category": "dibao", "start": "2023-01-01"}]},
        "statistics": {"city_income": {"2022": "70000.00"}, "province_rural_income": {"2022": "23000.00"}},
        "claims": [{"id": "c1", "date": "2023-05-01", "kind": "inpatient", "total": "10000.00", "policy_scope": "9000.00",
                    "basic_paid": "6000.00", "critical_paid": "0.00"}],
    }
    with pytest.raises(services.SettlementRefused) as exc:  # 440106 is not a region the portal knows
        services.settle_payload(payload=payload)
    assert "440106" in exc.value.errors[0]
    payload["region"] = "440100"
    result = services.settle_payload(payload=payload)
    assert result["claims"][0]["assistance"] == "2100.00"  # 3 000 × 70 %, no deductible


# --- statistics -------------------------------------------------------------------------------

def test_statistics_are_entered_then_changed_with_history(gz_admin, django_capture_on_commit_callbacks):
    received = []
    statistic_changed.connect(lambda sender, statistic, previous, **kw: received.append(previous), weak=False,
                              dispatch_uid="test-stat")
    region = Region.objects.get(code="360700")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.set_statistic(acting_user=gz_admin, region=region, kind="city_income", year=2022,
                                   value="32000.00", source="赣州市统计公报")
        with django_capture_on_commit_callbacks(execute=True):
            services.set_statistic(acting_user=gz_admin, region=region, kind="city_income", year=2022,
                                   value="32100.50", source="赣州市统计公报（修订）")
    finally:
        statistic_changed.disconnect(dispatch_uid="test-stat")
    stat = Statistic.objects.get(region=region, kind="city_income", year=2022)
    assert stat.value == Decimal("32100.50") and stat.updated_by == gz_admin
    entered, changed = stat.changes.order_by("id")
    assert (entered.action, entered.new_value) == (ChangeAction.STATISTIC_ENTERED, "32000.00")
    assert (changed.action, changed.old_value, changed.new_value) == (ChangeAction.STATISTIC_CHANGED, "32000.00", "32100.50")
    assert "修订" in changed.note
    assert received == [None, Decimal("32000.00")]


@pytest.mark.parametrize("field,kwargs", [
    ("value", {"value": "-5"}),
    ("value", {"value": "12.345"}),
    ("value", {"value": "abc"}),
    ("year", {"year": 1980}),
    ("source", {"source": "  "}),
    ("kind", {"kind": "gdp"}),
])
def test_bad_statistics_are_refused_naming_the_field(gz_admin, field, kwargs):
    args = dict(region=Region.objects.get(code="360700"), kind="city_income", year=2022, value="32000.00", source="公报")
    args.update(kwargs)
    with pytest.raises(services.ChangeRefused) as exc:
        services.set_statistic(acting_user=gz_admin, **args)
    assert exc.value.field == field
    assert not Statistic.objects.exists()


def test_a_statistic_may_name_its_region_by_code(gz_admin):
    stat = services.set_statistic(acting_user=gz_admin, region="360702", kind="city_income", year=2022,
                                  value="30000.00", source="章贡区统计公报")
    assert stat.region_id == "360702"
    with pytest.raises(services.ChangeRefused) as exc:
        services.set_statistic(acting_user=gz_admin, region="369999", kind="city_income", year=2022,
                               value="30000.00", source="x")
    assert exc.value.field == "region" and "369999" in exc.value.errors[0]


def test_statistics_of_another_region_are_refused(cz_admin):
    with pytest.raises(PermissionDenied):
        services.set_statistic(acting_user=cz_admin, region=Region.objects.get(code="360700"), kind="city_income",
                               year=2022, value="32000.00", source="公报")


def test_withdraw_a_draft(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.withdraw_draft(acting_user=gz_admin, version=draft)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.WITHDRAWN
    assert PolicyChange.objects.filter(version=draft, action=ChangeAction.WITHDRAWN).exists()
    with pytest.raises(services.ChangeRefused):
        services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=D(2024, 1, 1))


def test_the_history_is_written_in_chinese_whatever_the_callers_language(gz_admin, ganzhou):
    from django.utils import translation

    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    with translation.override("en"):
        services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=D(2024, 1, 1))
        services.set_statistic(acting_user=gz_admin, region=Region.objects.get(code="360700"), kind="city_income",
                               year=2022, value="32000.00", source="赣州市统计公报")
    closed = ganzhou.changes.get(action=ChangeAction.CLOSED)
    assert "因发布" in closed.note
    change = PolicyChange.objects.get(action=ChangeAction.STATISTIC_ENTERED)
    with translation.override("en"):
        assert change.what == "Per-capita disposable income of urban and rural residents (region) 2022"
    assert change.what == "城乡居民人均可支配收入（本地区） 2022"
    assert closed.what == "有效期至"
