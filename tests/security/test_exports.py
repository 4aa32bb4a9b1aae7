"""CSV / Excel downloads neutralise formula injection.

The world gets a person, a claim, a payment, a warning, a subsidy-list entry, a rejected push row
and a failed import row whose text starts with ``=``, ``+``, ``-`` or ``@``. Every download found in
the URLconf (routes with ``export``, ``.csv``, ``.xlsx`` or a ``<fmt>``), in every format, is read
back cell by cell: no cell may start with a formula character (a plain negative number is a
number), and every download that lists people, payments or rows must show at least one of the
hostile values — neutralised (``'=…``) — so the check cannot pass on empty files.
"""
from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.test import Client

from .discovery import endpoints
from .matrix import url_sets
from .probe import spreadsheet_cells

pytestmark = pytest.mark.django_db

REGION = "360700"
PAYLOADS = {
    "name": '=HYPERLINK("http://evil.example/","点击")',
    "holder": "+SUM(1,2)+cmd|' /C calc'!A0",
    "hospital": "-2+3+cmd|' /C calc'!A0",
    "note": "@SUM(A1:A9)",
    "document": "=1+1",
    "push_name": "=cmd|' /C notepad'!A0",
    "push_reference": "+1-1",
    "import_value": "=2*3",
    "push_file": "=HYPERLINK(1) 名单.csv",
    "version_document": "=1+2 号文",
}
EXPORTS = [e for e in endpoints() if e.is_export]
#: Downloads with fixed content (templates) or aggregates only (charts): checked for formulas,
#: not for the hostile values.
NO_USER_TEXT = ("template", "dashboards",
                # a bank return's rejected rows: row number, the column's known name, and the portal's
                # reason (which quotes the file's value inside a sentence, never at a cell's start)
                "bank-returns/",
                # a policy file's problems: the position and the portal's sentence, which quotes a key or value
                # of the file inside “…” (e.g. “=2*3”：政策文件中没有这一项), never at a cell's start
                "policy-imports/")
#: Query parameters a superuser needs to download a list meant for a department.
DEPARTMENT = {"warning": "civil_affairs", "subsidy": "finance"}


def _dangerous(cell: str) -> bool:
    if not cell:
        return False
    if cell[0] in "=+@\t\r":
        return True
    return cell[0] == "-" and re.fullmatch(r"-[\d,]+(\.\d+)?", cell) is None


@pytest.fixture(scope="module")
def hostile(world, django_db_blocker):
    """Hostile text in every kind of row a download carries (added to the module's world)."""
    from cases.enrolment import services as subsidy
    from cases.exchange.services import pushes
    from cases.monitoring.models import MonitoringWarning
    from cases.services import payments
    from portal.celery import app as celery_app
    from tests.cases.factories import ClaimFactory, make_case
    from tests.exchange.oncommit import run_on_commit
    from tests.factories import IdentityFactory, PersonFactory
    from tests.uploads import import_claims

    from .world import collect, compose, serial

    side = world.side(REGION)
    eager, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, True  # the push runs here
    with django_db_blocker.unblock():
        number = compose(side.county, datetime.date(1966, 6, 6), next(serial) % 1000)
        person = PersonFactory(region_id=side.county, id_number=number, name=PAYLOADS["name"],
                               account_holder=PAYLOADS["holder"], bank_name="@银行", bank_account="6217000099990000")
        IdentityFactory(person=person, category="dibao", start=datetime.date(2022, 1, 1))
        claim = ClaimFactory(person=person, hospital_name=PAYLOADS["hospital"])
        app = make_case(side.team, "approved", person=person, claims=[claim])
        payments.create_batch(acting_user=side.team.payment, region_code=REGION, application_ids=[app.pk],
                              note=PAYLOADS["note"])
        from cases.services import persons as person_service

        # a bank-account change (the audit log's export of bank-account changes carries the holder)
        person_service.update_person(acting_user=side.team.caseworker, person_id=person.pk,
                                     bank_account="6217000099991111")
        MonitoringWarning.objects.create(person=person, region_id=side.county, year=2023, kind="fall_into_poverty",
                                         claim_date=datetime.date(2023, 3, 10), threshold=Decimal("100.00"),
                                         out_of_pocket=Decimal("200.00"), document=PAYLOADS["document"],
                                         outcome="other", outcome_note=PAYLOADS["note"])
        try:
            subsidy.produce_list(acting_user=side.actors["policy_admin"], region_code=REGION, year=2024, month=2)
        except Exception:  # noqa: BLE001 - the subsidy export is then checked on January's list
            pass
        bad = number[:-1] + ("0" if number[-1] != "0" else "1")
        rows = ["身份证号码,姓名,类别,操作,生效日期,文号,行政区划",
                f"{bad},{PAYLOADS['push_name']},低保对象,新增,2023-01-01,{PAYLOADS['push_reference']},{side.county}"]
        with run_on_commit():
            pushes.receive_file(acting_user=side.actors["liaison_civil_affairs"], department="civil_affairs",
                                region_code=side.county, fileobj=io.BytesIO("\n".join(rows).encode("utf-8")),
                                filename=PAYLOADS["push_file"])
        csv_text = ("setl_id,certno,psn_name,med_type,setl_time,medfee_sumamt,inscp_scp_amt\n"
                    f"H{next(serial)},{number},{PAYLOADS['name']},{PAYLOADS['import_value']},2023-05-01,100,90\n")
        import_claims(side.actors["caseworker"], csv_text.encode("utf-8"), "hostile.csv")
        # a simulation of a draft whose document number is hostile (the report names the version)
        from policies.models import PolicyVersion
        from policies.services import update_version_meta
        from policies.simulation import run_all, start_simulation

        admin = side.actors["policy_admin"]
        draft = PolicyVersion.objects.filter(region_id=REGION, status="draft", framework=False).order_by("pk").last()
        update_version_meta(acting_user=admin, version=draft, document_number=PAYLOADS["version_document"])
        run_all(start_simulation(acting_user=admin, version=draft, year=2023, in_process=True))
        # a recorded list export by an operator whose name is hostile (the audit log's list-exports tab)
        from portal.lists import record_export
        from tests.factories import make_user

        operator = make_user("caseworker", region=REGION)
        operator.full_name = PAYLOADS["note"]
        operator.save(update_fields=["full_name"])
        record_export(acting_user=operator, list_name="persons", filters={"q": PAYLOADS["name"]}, rows=1)
        side.ids.clear()
        collect(side)
    celery_app.conf.task_always_eager = eager
    return side


@pytest.mark.parametrize("endpoint", EXPORTS, ids=[f"GET /{e.route}" for e in EXPORTS])
def test_downloads_neutralise_formulas(world, hostile, endpoint):
    client = Client()
    client.force_login(world.superuser)
    query = {}
    for word, department in DEPARTMENT.items():
        if word in endpoint.route:
            query["department"] = department
    problems, carried, answered = [], set(), 0
    sets = url_sets(endpoint, hostile)
    if endpoint.route.startswith("audit/"):  # the audit log exports each of its tabs
        sets = [(url, {**kw, "tab": tab}) for url, kw in sets
                for tab in ("log", "id_views", "bank_changes", "list_exports")]
    if endpoint.api:
        sets = [(url, kw) for url, _kw in sets for kw in ({"file_format": "csv"}, {"file_format": "xlsx"})]
    for url, kwargs in sets:
        response = client.get(url, {**query, **({k: v for k, v in kwargs.items() if k in ("file_format", "tab")})})
        if response.status_code != 200:
            continue
        answered += 1
        for cell in spreadsheet_cells(response):
            if _dangerous(cell):
                problems.append(f"{url} {kwargs}: cell {cell!r}")
            if cell.startswith("'") and any(cell[1:].startswith(p[:6]) for p in PAYLOADS.values()):
                carried.add(cell)
    assert answered, f"no download of /{endpoint.route} answered 200"
    assert not problems, "\n".join(problems[:20])
    if not any(word in endpoint.route for word in NO_USER_TEXT):
        assert carried, f"/{endpoint.route}: no hostile value in the download, so nothing was checked"
