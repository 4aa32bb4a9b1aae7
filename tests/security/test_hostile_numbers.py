"""Hostile numbers (issue 13): ``1e400``, ``1E+30``, JSON nested 5 000 deep, a JSON number beyond
Decimal's range are refused naming the field, never a 500; ``1e10``, ``1_000`` and Arabic-Indic
digits never become money. Generated over every money field of the claim (form, API, import) and
of the settlement preview."""
from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.factories import PersonFactory, make_user

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "spec" / "examples" / "banan_special_disease_and_large_stay.input.json"
CLAIM_MONEY = ["total", "policy_scope", "basic_paid", "critical_paid", "maf_pay"]
PREVIEW_MONEY = ["total", "policy_scope", "basic_paid", "critical_paid"]
# text that is no amount of money: exponents, underscores, other digits, beyond any range
NOT_MONEY = ["1e400", "1E+30", "1e10", "1_000", "١٠٠٠", "۱۰۰۰", "१०००", "1e-400", "9" * 5000, "Infinity", "NaN",
             "0x10", "1,0,0,0.0.0", "\x00"]
# JSON numbers (written into the raw body) beyond float's and Decimal's range
RAW_NUMBERS = ["1e400", "1E+30", "-1e400", "1e999999999999", "1" + "0" * 5000]


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def caseworker():
    return make_user("caseworker", region="360700")


@pytest.fixture
def person():
    return PersonFactory(region_id="360702")


def _claim(person, **money):
    body = {"person_id": person.pk, "date": "2023-03-01", "kind": "inpatient", "total": "100.00",
            "policy_scope": "80.00", "basic_paid": "10.00", "critical_paid": "0.00", "maf_pay": "0.00"}
    body.update(money)
    return body


def _refused_naming(response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert field in response.content.decode(), response.content[:300]


@pytest.mark.parametrize("field", CLAIM_MONEY)
@pytest.mark.parametrize("text", NOT_MONEY)
def test_claim_api_refuses_text_that_is_not_money(caseworker, person, field, text):
    from cases.models import Claim

    response = _api(caseworker).post("/api/v1/claims/", _claim(person, **{field: text}), format="json")
    _refused_naming(response, field)
    assert not Claim.objects.exists()


@pytest.mark.parametrize("field", CLAIM_MONEY)
@pytest.mark.parametrize("raw", RAW_NUMBERS)
def test_claim_api_refuses_json_numbers_beyond_range(caseworker, person, field, raw):
    body = json.dumps(_claim(person, **{field: "__N__"})).replace('"__N__"', raw)
    response = _api(caseworker).post("/api/v1/claims/", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]


@pytest.mark.parametrize("field", CLAIM_MONEY)
@pytest.mark.parametrize("text", NOT_MONEY)
def test_claim_form_refuses_text_that_is_not_money(client, caseworker, person, field, text):
    from cases.models import Claim

    client.force_login(caseworker)
    data = _claim(person, **{field: text})
    data["person"] = data.pop("person_id")
    response = client.post(f"/cases/persons/{person.pk}/claims/new/", data)
    assert response.status_code in (200, 400, 404), response.status_code
    assert not Claim.objects.exists()


def _preview(**money):
    payload = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    payload = copy.deepcopy(payload)
    payload["claims"][0].update(money)
    return payload


@pytest.mark.parametrize("field", PREVIEW_MONEY)
@pytest.mark.parametrize("text", NOT_MONEY)
def test_preview_refuses_text_that_is_not_money(caseworker, field, text):
    response = _api(caseworker).post("/api/v1/settlements/preview/", _preview(**{field: text}), format="json")
    _refused_naming(response, field)


@pytest.mark.parametrize("field", PREVIEW_MONEY)
@pytest.mark.parametrize("raw", RAW_NUMBERS)
def test_preview_refuses_json_numbers_beyond_range(caseworker, field, raw):
    body = json.dumps(_preview(**{field: "__N__"})).replace('"__N__"', raw)
    response = _api(caseworker).post("/api/v1/settlements/preview/", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]


@pytest.mark.parametrize("path", ["/api/v1/settlements/preview/", "/api/v1/claims/"])
def test_json_nested_5000_deep_is_refused_not_a_500(caseworker, path):
    body = '{"claims": ' + "[" * 5000 + "]" * 5000 + "}"
    response = _api(caseworker).post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]


@pytest.mark.parametrize("text", NOT_MONEY)
def test_claim_import_refuses_text_that_is_not_money_naming_the_column(caseworker, person, text):
    from cases.models import Claim
    from tests.uploads import import_claims

    header = "setl_id,psn_name,certno,setl_time,med_type,medfee_sumamt,inscp_scp_amt,hifp_pay,hifmi_pay,maf_pay\n"
    out = io.StringIO()
    csv.writer(out).writerow(["S1", person.name, person.id_number, "2023-03-01 10:00:00", "21", text, "80.00", "10.00",
                              "0.00", "0.00"])
    row = out.getvalue()
    record = import_claims(caseworker, (header + row).encode(), "x.csv")
    assert record.rows_failed == 1 and not Claim.objects.exists()
    assert any(e["row"] == 2 and e["column"] == "medfee_sumamt" for e in record.errors), record.errors
