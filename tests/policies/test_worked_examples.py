"""Worked examples stored on versions: the seeded versions carry their region's public examples and
pass them; a version started from another carries its examples; moving one must be said by editing
its expectation, which the version's history shows; the policy file carries them both ways."""
from __future__ import annotations

import json

import pytest

from policies import examples as worked
from policies import gate, services
from policies.models import ChangeAction, PolicyExample, PolicyVersion, VersionStatus

from .conftest import example_names, load_example, route_index

pytestmark = pytest.mark.django_db


def test_the_seeded_versions_carry_their_regions_public_examples_and_they_pass():
    public = example_names()
    by_region: dict[str, set[str]] = {}
    for name in public:
        payload, _expected = load_example(name)
        by_region.setdefault(payload["region"], set()).add(name)
    assert set(by_region) == {"360700", "130900", "500113"}
    for version in PolicyVersion.objects.filter(status=VersionStatus.PUBLISHED):
        names = set(version.examples.values_list("name", flat=True))
        assert names == by_region.get(version.region_id, set()), version.region_id
        for example in version.examples.all():
            payload, expected = load_example(example.name)
            assert example.input == payload and example.expected == expected
        assert gate.example_differences(version) == []
    assert not PolicyExample.objects.filter(name__startswith="region449900_").exists()
    assert PolicyExample.objects.filter(name="error_scope_over_total", expected__isnull=True).exists()


def _move_dibao_ratio(admin, draft, version, ratio="0.80"):
    dibao = route_index(version, "dibao")
    services.set_parameter(acting_user=admin, version=draft, path=f"assistance.routes[{dibao}].ratio", value=ratio)


def test_a_failing_example_blocks_publishing_and_each_difference_is_listed(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    _move_dibao_ratio(gz_admin, draft, ganzhou)
    found = worked.differences(draft)
    where = {(d.example, d.claim, d.field) for d in found}
    assert ("ganzhou_class2_annual_cap", "a", "assistance") in where
    first = next(d for d in found if (d.example, d.claim, d.field) == ("ganzhou_class2_annual_cap", "a", "assistance"))
    assert (first.expected, first.got) == ("22500.00", "24000.00")  # 30 000 × 75 % vs × 80 %
    with pytest.raises(services.ChangeRefused) as refused:
        services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=ganzhou.in_force_from,
                                 retroactive_from=ganzhou.retroactive_from)
    text = "\n".join(refused.value.errors)
    assert "算例 ganzhou_class2_annual_cap 第 a 笔费用：救助金额" in text or "第 a 笔费用" in text
    assert "24000.00" in text and "预期为 22500.00" in text
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_examples_are_copied_and_an_edited_expectation_is_in_the_history(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    assert list(draft.examples.values_list("name", "input", "expected")) == list(
        ganzhou.examples.values_list("name", "input", "expected"))
    _move_dibao_ratio(gz_admin, draft, ganzhou)
    # Say that the change moves the examples: take each difference as the new expectation.
    for example in draft.examples.all():
        result = worked.settle(draft, example.input)
        expected = {"claims": [{k: c[k] for k in ("id", *worked.CLAIM_KEYS)} for c in result["claims"]],
                    "totals": result["totals"],
                    "alerts": [{k: a[k] for k in worked.ALERT_KEYS} for a in result["alerts"]]}
        worked.save_example(acting_user=gz_admin, version=draft, example=example, name=example.name,
                            note=example.note, input=example.input, expected=expected)
    change = draft.changes.get(action=ChangeAction.EXAMPLE_CHANGED, path="examples.ganzhou_class2_annual_cap.claims.a.assistance")
    assert (change.old_value, change.new_value, change.actor) == ("22500.00", "24000.00", gz_admin)
    assert "ganzhou_class2_annual_cap" in change.what and "a" in change.what
    # the published version's examples are untouched; the draft now publishes
    assert ganzhou.examples.get(name="ganzhou_class2_annual_cap").expected["claims"][0]["assistance"] == "22500.00"
    services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=ganzhou.in_force_from,
                             retroactive_from=ganzhou.retroactive_from)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED


def test_an_example_is_changed_only_on_a_draft_and_only_when_valid(gz_admin, ganzhou):
    example = ganzhou.examples.first()
    with pytest.raises(services.ChangeRefused):
        worked.save_example(acting_user=gz_admin, version=ganzhou, example=example, name=example.name,
                            input=example.input, expected=None)
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    example = draft.examples.get(name="ganzhou_class2_annual_cap")
    bad = json.loads(json.dumps(example.expected))
    bad["claims"][0]["assistance"] = "22.555"
    with pytest.raises(services.ChangeRefused) as refused:
        worked.save_example(acting_user=gz_admin, version=draft, example=example, name=example.name,
                            input=example.input, expected=bad)
    assert any("example.expected.claims[0].assistance" in e for e in refused.value.errors)


def test_examples_round_trip_through_the_policy_file(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    example = draft.examples.get(name="ganzhou_class2_annual_cap")
    worked.save_example(acting_user=gz_admin, version=draft, example=example, name="赣州二类年度限额",
                        note="五(二) 年度限额", input=example.input, expected=example.expected)
    text = services.policy_file_text(draft)
    imported = services.import_policy(acting_user=gz_admin, content=text.encode(), filename="f.json")
    assert worked.as_file(imported) == worked.as_file(draft)
    assert imported.examples.get(name="赣州二类年度限额").note == "五(二) 年度限额"


def test_a_file_with_a_bad_example_is_refused_naming_its_path(gz_admin, ganzhou):
    data = json.loads(services.policy_file_text(ganzhou))
    data["examples"][1]["input"]["claims"][0]["total"] = "abc"
    data["examples"][2]["expected"]["claims"][0]["id"] = "zz"
    data["examples"].append({"name": "x", "input": {**data["examples"][0]["input"], "region": "130900"}, "expected": None})
    before = PolicyVersion.objects.count()
    with pytest.raises(services.ChangeRefused) as refused:
        services.import_policy(acting_user=gz_admin, content=json.dumps(data, ensure_ascii=False).encode(), filename="f.json")
    errors = refused.value.errors
    assert any(e.startswith("examples[1].input.claims[0].total") for e in errors), errors
    assert any(e.startswith("examples[2].expected.claims[0].id") for e in errors), errors
    assert any(e.startswith("examples[4].input.region") for e in errors), errors
    assert PolicyVersion.objects.count() == before
