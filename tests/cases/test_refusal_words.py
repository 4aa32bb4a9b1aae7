"""A caseworker reads why a case's calculation was refused in Chinese words, never the engine's
English: the refusal is stored as a problem (code, params, path) and worded when shown."""
from __future__ import annotations

import importlib

import pytest
from django.urls import reverse
from django.utils import translation

from cases.models import Settlement
from cases.services import settlement, workflow
from cases.services.errors import CaseCode
from tests.cases.factories import ClaimFactory, make_case, person_with_identity
from tests.web import page

pytestmark = pytest.mark.django_db

ADVICE = "请按医院结算单录入“基本医保支付”金额"


def _case_without_basic_paid(team):
    person = person_with_identity(region="360702")
    claim = ClaimFactory(person=person, basic_paid=None)
    app = make_case(team, "draft", person=person, claims=[claim])
    return app, settlement.settle_application(app.pk, reason="test")


def test_a_claim_without_basic_paid_tells_the_caseworker_what_to_enter(client, team):
    app, current = _case_without_basic_paid(team)
    assert current.refused
    [stored] = current.errors
    assert (stored["code"], stored["path"]) == ("input.basic_paid_needed", "claims[0].basic_paid")
    assert stored["params"]["date"] == "2023-03-10"
    _, body = page(client, team.caseworker, reverse("cases:case", args=[app.pk]))
    assert ADVICE in body
    assert "第 1 笔费用（2023-03-10）" in body
    assert "basic_paid" not in body and "gives no" not in body
    # the calculation status that blocks submission says the same, in the reader's language
    with pytest.raises(workflow.SettlementNotReady) as refused:
        workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
    assert refused.value.code == CaseCode.CALCULATION_FAILED
    assert ADVICE in str(refused.value) and "basic_paid" not in str(refused.value)


def test_the_same_stored_refusal_reads_in_english_for_an_english_reader(team):
    _app, current = _case_without_basic_paid(team)
    with translation.override("en"):
        [text] = Settlement.objects.get(pk=current.pk).refusals()
    assert "gives no basic_paid" in text


def test_sentences_stored_before_become_problems():
    migration = importlib.import_module("cases.migrations.0016_settlement_refusals_as_problems")
    payload = {"claims": [{"id": "c1", "date": "2023-04-02"}]}
    basic = migration.to_problem(
        "360700 赣市府办字〔2022〕112号: claims[0] (id 'c1') gives no basic_paid and the document has no "
        "basic-insurance rule for resident inpatient at hospital level 3 — give basic_paid", payload)
    assert basic["code"] == "input.basic_paid_needed" and basic["path"] == "claims[0].basic_paid"
    assert basic["params"] == {"policy": "360700 赣市府办字〔2022〕112号", "claim": "c1", "date": "2023-04-02",
                               "scheme": "resident", "kind": "inpatient", "level": 3}
    unset = migration.to_problem(
        "130900 沧政办规〔2022〕7号: basic-insurance deductible (basic.rules[0].deductible, 三(二)) is unset — an "
        "administrator must set it", payload)
    assert (unset["code"], unset["path"], unset["params"]["clause"]) == ("policy.unset", "basic.rules[0].deductible",
                                                                          "三(二)")
    assert migration.to_problem("该人员在 2023 年度没有结算记录。", payload)["params"] == {"year": 2023}
    other = migration.to_problem("something the engine said once", payload)
    assert other["code"] == "case.legacy_refusal" and other["text"] == "something the engine said once"
    from policies.messages import render

    with translation.override("zh-hans"):
        assert ADVICE in render(basic)
        assert "重新计算" in render(other) and "engine" not in render(other)


def test_the_api_words_the_refusal_in_the_readers_language(team):
    from rest_framework.test import APIClient

    app, _current = _case_without_basic_paid(team)
    client = APIClient()
    client.force_authenticate(team.caseworker)
    body = client.get(f"/api/v1/applications/{app.pk}/").json()
    assert body["settlement"]["errors"][0]["code"] == "input.basic_paid_needed"
    assert ADVICE in body["settlement"]["refusals"][0]
    refused = client.post(f"/api/v1/applications/{app.pk}/transition/", {"action": "submit"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "calculation_failed"
    assert ADVICE in refused.json()["detail"] and "basic_paid" not in refused.json()["detail"]
