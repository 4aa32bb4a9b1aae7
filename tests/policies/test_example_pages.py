"""The worked examples on a version's page: read in Chinese words (no JSON), changed on a draft in a
form of rows with labelled fields, pasted as an import, the change shown in the history."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse

from policies import services
from policies.models import ChangeAction

from .conftest import load_example

pytestmark = pytest.mark.django_db


def form_data(body_example, *, name, note="", claims, identities, stats=(), alerts=(), refused=False):
    data = {"name": name, "note": note, "save": "1",
            "person-residence": body_example["person"].get("residence", "rural"),
            "person-scheme": body_example["person"].get("scheme", "resident"), "person-tilted_applied": "no"}
    if refused:
        data["must_be_refused"] = "on"
    for prefix, rows in (("ident", identities), ("stat", stats), ("claim", claims), ("alert", alerts)):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = value
    return data


def test_the_example_page_shows_words_not_json_and_passes(client, gz_admin, ganzhou):
    client.force_login(gz_admin)
    body = client.get(reverse("policies:version", args=[ganzhou.pk])).content.decode()
    assert "算例" in body and "ganzhou_class2_annual_cap" in body
    example = ganzhou.examples.get(name="ganzhou_class2_annual_cap")
    body = client.get(reverse("policies:example", args=[ganzhou.pk, example.pk])).content.decode()
    assert "算例通过" in body or "本版本得出预期结果" in body
    assert "低保对象" in body and "住院" in body and "门诊特殊慢性病" in body
    assert '"claims"' not in body and "outpatient_chronic</" not in body


def test_a_draft_example_is_entered_in_rows_and_its_change_is_in_the_history(client, gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    example = draft.examples.get(name="ganzhou_class2_annual_cap")
    client.force_login(gz_admin)
    url = reverse("policies:example", args=[draft.pk, example.pk])
    body = client.get(url).content.decode()
    assert 'name="claim-0-exp_assistance"' in body and 'value="22500.00"' in body
    payload, expected = load_example("ganzhou_class2_annual_cap")
    claims = []
    for c, w in zip(payload["claims"], expected["claims"], strict=True):
        row = {"id": c["id"], "date": c["date"], "kind": c["kind"], "special_disease": "no", "hospital_level": "1",
               "location": "county", "referral_compliant": "yes", "total": c["total"], "policy_scope": c["policy_scope"],
               "basic_paid": c["basic_paid"], "critical_paid": c["critical_paid"], "exp_category": w["category"]}
        row.update({f"exp_{k}": w[k] for k in ("basic_paid", "critical_paid", "self_pay_in_scope", "assistance",
                                              "tilted", "out_of_pocket")})
        claims.append(row)
    claims[0]["exp_assistance"] = "22600.00"  # the expectation moved on purpose
    stats = [{"kind": kind, "year": year, "value": value} for kind, years in payload["statistics"].items()
             for year, value in years.items()]
    identities = [{"category": "dibao", "start": "2020-01-01", "end": ""}]
    response = client.post(url, form_data(payload, name=example.name, note="五(二)", claims=claims,
                                          identities=identities, stats=stats))
    assert response.status_code == 302, response.content.decode()[:3000]
    example.refresh_from_db()
    assert example.expected["claims"][0]["assistance"] == "22600.00"
    assert example.input["claims"] == [{**c, "special_disease": False, "hospital_level": 1, "location": "county",
                                        "referral_compliant": True} for c in payload["claims"]]
    change = draft.changes.get(action=ChangeAction.EXAMPLE_CHANGED, path__endswith="claims.a.assistance")
    assert (change.old_value, change.new_value) == ("22500.00", "22600.00")
    body = client.get(reverse("policies:version", args=[draft.pk])).content.decode()
    assert "修改算例" in body and "22500.00 → <strong>22600.00</strong>" in body
    # the example page now says the version does not give it, marking the field
    body = client.get(url).content.decode()
    assert "算例未通过" in body and "预期 22600.00" in body


def test_a_wrong_row_is_refused_naming_the_field_and_pasting_fills_the_rows(client, gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    client.force_login(gz_admin)
    url = reverse("policies:example-new", args=[draft.pk])
    payload, _ = load_example("ganzhou_class3_deductible_across_claims")
    bad = form_data(payload, name="新算例", claims=[{"id": "a", "date": "2023-01-01", "kind": "inpatient",
                                                 "special_disease": "no", "hospital_level": "1", "location": "county",
                                                 "referral_compliant": "yes", "total": "100.00", "policy_scope": "200.00"}],
                    identities=[])
    response = client.post(url, bad)
    assert response.status_code == 400
    assert "政策范围内费用多于医疗总费用" in response.content.decode() or "政策范围内" in response.content.decode()
    assert not draft.examples.filter(name="新算例").exists()
    pasted = client.post(url, {"name": "新算例", "paste": "1", "pasted": json.dumps(payload, ensure_ascii=False)})
    body = pasted.content.decode()
    assert pasted.status_code == 200 and 'name="claim-1-policy_scope"' in body
    assert f'value="{payload["claims"][1]["policy_scope"]}"' in body
