"""Every worked example of shared/spec/examples passes exactly through ``manage.py settle`` and the
preview API; the example without an expected file is refused by both, naming the field."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import make_user

from .conftest import EXAMPLES, comparable, example_names, load_example

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def run_settle(*args, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        call_command("settle", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


def test_there_are_examples_to_check():
    names = example_names()
    assert len(names) >= 7
    assert any(load_example(n)[1] is None for n in names), "an error example (no expected file) is part of the set"


@pytest.mark.parametrize("name", example_names())
def test_example_through_manage_py_settle(name):
    payload, expected = load_example(name)
    code, out, err = run_settle(str(EXAMPLES / f"{name}.input.json"))
    if expected is None:
        assert code == 2
        assert out == ""
        # In Chinese by default, the field path first (settlement.md).
        assert err.strip() == "claims[0].policy_scope: 48000.00 元超过了医疗总费用 45000.00 元"
        return
    assert code == 0, err
    assert err == ""
    assert comparable(json.loads(out)) == comparable(expected)


@pytest.mark.parametrize("name", example_names())
def test_example_through_the_preview_api(name):
    payload, expected = load_example(name)
    client = APIClient()
    client.force_authenticate(make_user("caseworker", region="360700"))
    response = client.post("/api/v1/settlements/preview/", payload, format="json")
    if expected is None:
        assert response.status_code == 400
        # In the reader's language (Chinese by default): the field in words, never its path.
        assert response.json()["errors"] == ["第 1 笔费用的政策范围内费用：48000.00 元超过了医疗总费用 45000.00 元"]
        return
    assert response.status_code == 200, response.content
    assert comparable(response.json()) == comparable(expected)


def test_settle_reads_standard_input_and_prints_only_json():
    text = (EXAMPLES / "cangzhou_dibao_edge_deductible.input.json").read_text(encoding="utf-8")
    code, out, err = run_settle("-", stdin=text)
    assert code == 0 and err == ""
    result = json.loads(out)
    assert result["claims"][0]["assistance"] == "6231.00"


def test_settle_refuses_broken_json_on_stderr_only():
    code, out, err = run_settle("-", stdin='{"region": "130900", "claims": [')
    assert code == 2 and out == ""
    assert "not valid JSON" in err


def test_settle_lists_every_problem_one_per_line():
    payload, _ = load_example("error_scope_over_total")
    payload["claims"].append({"id": "c2", "date": "2022-13-01", "kind": "inpatient", "total": "-1", "policy_scope": "1"})
    code, out, err = run_settle("-", stdin=json.dumps(payload))
    lines = err.strip().splitlines()
    assert code == 2 and out == ""
    assert any(line.startswith("claims[0].policy_scope:") for line in lines)
    assert any(line.startswith("claims[1].date:") for line in lines)
    assert any(line.startswith("claims[1].total:") for line in lines)
    assert "claims[1].date: 不是有效日期（请按 2023-05-01 的格式填写）" in lines
    code, out, err = run_settle("--lang", "en", "-", stdin=json.dumps(payload))
    assert code == 2 and "claims[0].policy_scope: 48000.00 exceeds total 45000.00" in err.splitlines()


def test_a_refusing_policy_is_explained_in_chinese_naming_what_to_do():
    """No basic-insurance rule in 赣州: enter 基本医保支付 from the hospital's settlement statement."""
    payload, _ = load_example("ganzhou_class2_annual_cap")
    payload["claims"][0].pop("basic_paid")
    code, out, err = run_settle("-", stdin=json.dumps(payload))
    assert (code, out) == (2, "")
    assert "请按医院结算单录入“基本医保支付”金额" in err and "basic_paid" not in err.split("：")[0]
    client = APIClient()
    client.force_authenticate(make_user("caseworker", region="360700"))
    response = client.post("/api/v1/settlements/preview/", payload, format="json")
    assert response.status_code == 400
    assert any("请按医院结算单录入“基本医保支付”金额" in e for e in response.json()["errors"])
    code, out, err = run_settle("--lang", "en", "-", stdin=json.dumps(payload))
    assert code == 2 and "gives no basic_paid" in err


def test_refusals_are_structured_problems():
    from policies.services import SettlementRefused, settle_payload

    payload, _ = load_example("ganzhou_class2_annual_cap")
    payload["claims"][0].pop("basic_paid")
    with pytest.raises(SettlementRefused) as exc:
        settle_payload(payload=payload)
    [problem] = exc.value.problems
    assert (problem.code, problem.path, problem.params["claim"]) == ("input.basic_paid_needed", "claims[0].basic_paid", "a")
    payload, _ = load_example("error_scope_over_total")
    with pytest.raises(SettlementRefused) as exc:
        settle_payload(payload=payload)
    assert [(p.code, p.path, p.params) for p in exc.value.problems] == [
        ("input.scope_above_total", "claims[0].policy_scope", {"amount": "48000.00", "total": "45000.00"})]


def test_settle_speaks_english_when_the_environment_language_says_so(monkeypatch):
    payload, _ = load_example("ganzhou_class2_annual_cap")
    payload["claims"][0].pop("basic_paid")
    monkeypatch.setenv("LANGUAGE", "en_US:en")
    code, out, err = run_settle("-", stdin=json.dumps(payload))
    assert code == 2 and "gives no basic_paid" in err
    monkeypatch.setenv("LANGUAGE", "zh_CN:zh")
    code, out, err = run_settle("-", stdin=json.dumps(payload))
    assert code == 2 and "请按医院结算单录入“基本医保支付”金额" in err and "basic_paid" not in err


def test_settle_of_a_missing_file_exits_2():
    code, out, err = run_settle("/nonexistent/input.json")
    assert code == 2 and out == "" and "cannot read" in err


def test_preview_needs_a_signed_in_user():
    payload, _ = load_example("cangzhou_dibao_edge_deductible")
    response = APIClient().post("/api/v1/settlements/preview/", payload, format="json")
    assert response.status_code in (401, 403)


def test_preview_reports_broken_json_as_errors():
    client = APIClient()
    client.force_authenticate(make_user("caseworker", region="130900"))
    response = client.post("/api/v1/settlements/preview/", '{"region": ', content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["errors"][0]


def test_preview_takes_money_as_json_numbers_exactly():
    payload, expected = load_example("cangzhou_dibao_edge_deductible")
    claim = payload["claims"][0]
    for key in ("total", "policy_scope", "basic_paid", "critical_paid"):
        claim[key] = float(claim[key])
    client = APIClient()
    client.force_authenticate(make_user("caseworker", region="130900"))
    body = json.dumps(payload)
    response = client.post("/api/v1/settlements/preview/", body, content_type="application/json")
    assert response.status_code == 200
    assert comparable(response.json()) == comparable(expected)


def test_neither_entry_point_writes_to_the_database():
    from policies.models import PolicyChange, PolicyVersion, Statistic

    before = (PolicyVersion.objects.count(), Statistic.objects.count(), PolicyChange.objects.count())
    payload, _ = load_example("ganzhou_tilted_lookback")
    run_settle(str(EXAMPLES / "ganzhou_tilted_lookback.input.json"))
    client = APIClient()
    client.force_authenticate(make_user("caseworker", region="360700"))
    client.post("/api/v1/settlements/preview/", payload, format="json")
    assert (PolicyVersion.objects.count(), Statistic.objects.count(), PolicyChange.objects.count()) == before


@pytest.mark.slow
def test_settle_as_a_real_process_on_a_fresh_database(tmp_path):
    """From the command line, on a database migrated from nothing: stdout carries only the JSON."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(PORTAL_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="portal.settings")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=REPO, env=env, check=True, capture_output=True)
    good = subprocess.run([*manage, "settle", str(EXAMPLES / "cangzhou_tekun_cap_and_tilted.input.json")],
                          cwd=REPO, env=env, capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert comparable(json.loads(good.stdout)) == comparable(load_example("cangzhou_tekun_cap_and_tilted")[1])
    bad = subprocess.run([*manage, "settle", "--lang", "en", "-"], cwd=REPO, env=env, capture_output=True, text=True,
                         input=(EXAMPLES / "error_scope_over_total.input.json").read_text(encoding="utf-8"))
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.strip() == "claims[0].policy_scope: 48000.00 exceeds total 45000.00"
