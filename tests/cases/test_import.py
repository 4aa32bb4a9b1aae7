"""Importing the national platform's settlement records: encodings, Excel, the row report,
re-imports, atomicity and a constant number of queries."""
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from cases.imports.national import COLUMNS
from cases.models import Claim, ClaimImport, ClaimImportError
from cases.services import workflow
from tests.cases.factories import make_case, person_with_identity
from tests.factories import PersonFactory
from tests.uploads import import_claims

pytestmark = pytest.mark.django_db

HEADER = ["setl_id", "mdtrt_id", "psn_cert_type", "certno", "psn_name", "insutype", "insu_optins", "fixmedins_code",
          "fixmedins_name", "hosp_lv", "med_type", "setl_time", "medfee_sumamt", "inscp_scp_amt", "hifp_pay",
          "hifmi_pay", "hifob_pay", "maf_pay", "psn_pay"]


def row(person, setl_id, **kw):
    values = {
        "setl_id": setl_id, "mdtrt_id": "M" + setl_id, "psn_cert_type": "01", "certno": person.id_number,
        "psn_name": person.name, "insutype": "390", "insu_optins": "360702", "fixmedins_code": "H36070200001",
        "fixmedins_name": "赣州市人民医院", "hosp_lv": "02", "med_type": "21", "setl_time": "2023-03-10 10:20:30",
        "medfee_sumamt": "52000.00", "inscp_scp_amt": "48000.00", "hifp_pay": "30000.00", "hifmi_pay": "6000.00",
        "hifob_pay": "", "maf_pay": "0", "psn_pay": "16000.00",
    }
    values.update(kw)
    return [values[h] for h in HEADER]


def csv_bytes(rows, encoding="utf-8", header=HEADER):
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append([float(v) if v.replace(".", "", 1).isdigit() and "." in v else v for v in r])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def run(user, content, name="setlinfo.csv"):
    with translation.override("en"):
        return import_claims(user, content, name)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_each_csv_encoding(team, encoding):
    person = person_with_identity(name="钟秀英")
    record = run(team.caseworker, csv_bytes([row(person, "S1"), row(person, "S2", fixmedins_name="于都县人民医院")], encoding))
    assert (record.rows_total, record.rows_created, record.rows_failed) == (2, 2, 0), record.errors
    claim = Claim.objects.get(setl_id="S2")
    assert claim.hospital_name == "于都县人民医院" and claim.hospital_level == 3 and claim.kind == "inpatient"
    assert str(claim.critical_paid) == "6000.00" and claim.source == "import" and claim.claim_import == record
    assert record.file_format == "csv"


def test_xlsx(team):
    person = person_with_identity(name="钟秀英")
    record = run(team.caseworker, xlsx_bytes([row(person, "X1", med_type="14", hosp_lv="06")]), name="setlinfo.xlsx")
    assert (record.rows_created, record.rows_failed, record.file_format) == (1, 0, "xlsx"), record.errors
    claim = Claim.objects.get(setl_id="X1")
    assert (claim.kind, claim.hospital_level, str(claim.total)) == ("outpatient_chronic", 2, "52000.00")


def test_chinese_headers_and_portal_columns(team):
    person = person_with_identity(name="钟秀英")
    labels = {c.name: c.label for c in COLUMNS}
    header = [labels.get(h, h) for h in HEADER] + ["特殊疾病", "就医地", "按规定转诊"]
    record = run(team.caseworker, csv_bytes([row(person, "C1") + ["是", "省外", "0"]], "gbk", header=header))
    assert record.rows_created == 1, record.errors
    claim = Claim.objects.get(setl_id="C1")
    assert (claim.special_disease, claim.location, claim.referral_compliant) == (True, "out_of_province", False)


def test_defaults_of_the_portal_columns(team):
    person = person_with_identity()
    run(team.caseworker, csv_bytes([row(person, "D1", hifp_pay="", hifmi_pay="")]))
    claim = Claim.objects.get(setl_id="D1")
    assert (claim.special_disease, claim.location, claim.referral_compliant) == (False, "county", True)
    assert (claim.basic_paid, claim.critical_paid) == (None, None)


def test_employee_scheme_reads_hifob_pay(team):
    person = person_with_identity(scheme="employee")
    run(team.caseworker, csv_bytes([row(person, "E1", insutype="310", hifmi_pay="", hifob_pay="7000")]))
    assert str(Claim.objects.get(setl_id="E1").critical_paid) == "7000.00"


def test_bad_rows_are_reported_row_by_row_and_good_rows_imported(team, cz_team):
    person = person_with_identity(name="钟秀英")
    far = PersonFactory(region_id="130903")
    unknown = PersonFactory.build(region_id="360702").id_number
    rows = [
        row(person, "G1"),  # row 2: good
        row(person, "B1", med_type="99"),  # 3
        row(person, "B2", insutype="320"),  # 4
        row(person, "B3", psn_cert_type="03"),  # 5
        row(person, "B4", inscp_scp_amt="60000"),  # 6
        row(person, "B5", medfee_sumamt="-5"),  # 7
        row(person, "B6", certno=person.id_number[:17] + ("1" if person.id_number[17] != "1" else "2")),  # 8
        row(far, "B7", psn_name=far.name),  # 9: outside the caseworker's regions
        row(person, "B8", certno=unknown, psn_name=""),  # 10: not registered
        row(person, "B9", psn_name="别人"),  # 11
        row(person, "G1"),  # 12: repeated in the file
        row(person, "B10", hifp_pay="40000", hifmi_pay="9000"),  # 13
        row(person, "B11", setl_time="2023-13-01"),  # 14
        row(person, "B12", insutype="310"),  # 15: scheme mismatch
        row(person, "G2", hosp_lv="08", med_type="11"),  # 16: good
    ]
    record = run(team.caseworker, csv_bytes(rows))
    assert (record.rows_total, record.rows_created, record.rows_failed) == (15, 2, 13)
    by_row = {}
    for e in record.errors:
        by_row.setdefault(e["row"], []).append(e)
    expect = {
        3: ("med_type", "99"), 4: ("insutype", "320"), 5: ("psn_cert_type", "03"), 6: ("inscp_scp_amt", "exceeds"),
        7: ("medfee_sumamt", "negative"), 8: ("certno", "check character"), 9: ("certno", "no registered person"),
        10: ("certno", "no registered person"), 11: ("psn_name", "does not match"), 12: ("setl_id", "row 2"),
        13: ("hifp_pay", "exceeds"), 14: ("setl_time", "not a date"), 15: ("insutype", "does not match"),
    }
    for number, (column, words) in expect.items():
        errors = by_row[number]
        assert any(e["column"] == column and (words in e["message"] or words == e["value"]) for e in errors), (number, errors)
    assert set(Claim.objects.values_list("setl_id", flat=True)) == {"G1", "G2"}
    assert "360702" not in str(by_row[9]) or "*" in str(by_row[9])  # identity numbers in the report are masked


def test_re_import_unchanged_is_skipped_and_changed_is_updated(team):
    person = person_with_identity()
    run(team.caseworker, csv_bytes([row(person, "R1"), row(person, "R2")]))
    again = run(team.caseworker, csv_bytes([row(person, "R1"), row(person, "R2", maf_pay="1200.00")]))
    assert (again.rows_created, again.rows_unchanged, again.rows_updated, again.rows_failed) == (0, 1, 1, 0)
    assert Claim.objects.count() == 2
    assert str(Claim.objects.get(setl_id="R2").maf_pay) == "1200.00"


def test_re_import_of_a_claim_under_review_is_refused(team):
    person = person_with_identity()
    run(team.caseworker, csv_bytes([row(person, "L1")]))
    claim = Claim.objects.get(setl_id="L1")
    app = make_case(team, "draft", person=person, claims=[claim])
    workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
    again = run(team.caseworker, csv_bytes([row(person, "L1", maf_pay="999.00")]))
    assert again.rows_failed == 1 and again.errors[0]["column"] == "setl_id" and app.number in again.errors[0]["message"]
    assert str(Claim.objects.get(setl_id="L1").maf_pay) == "0.00"


def test_a_setl_id_of_another_person_is_refused(team):
    a, b = person_with_identity(), person_with_identity()
    run(team.caseworker, csv_bytes([row(a, "P1")]))
    again = run(team.caseworker, csv_bytes([row(b, "P1")]))
    assert again.rows_failed == 1 and "another person" in again.errors[0]["message"]


def test_a_file_that_cannot_be_read_imports_nothing(team):
    """The request stores the file; the worker reads its header and encoding and fails the import
    with a message naming the problem. An empty file is refused in the request."""
    person = person_with_identity()
    lacking = run(team.caseworker, csv_bytes([row(person, "F1")[:3]], header=HEADER[:3]))
    assert lacking.status == "failed" and "med_type" in lacking.failure, lacking.failure
    garbage = run(team.caseworker, b"\xff\xfe\x00\x00garbage\x00\x81\x00")
    assert garbage.status == "failed" and "GB18030" in garbage.failure, garbage.failure
    with pytest.raises(ValidationError):
        run(team.caseworker, b"", name="empty.csv")
    assert not Claim.objects.exists() and ClaimImport.objects.count() == 2
    assert not ClaimImportError.objects.exists()


def test_nothing_half_imported_on_a_crash(team, monkeypatch):
    person = person_with_identity()

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("cases.services.settlement.person_years_changed", crash)
    record = run(team.caseworker, csv_bytes([row(person, f"K{i}") for i in range(5)]))
    # the worker's failure is shown on the import, and nothing of it is in the database
    assert record.status == "failed" and "disk full" in record.failure
    assert not Claim.objects.exists() and not record.row_errors.exists()


def test_the_number_of_queries_does_not_grow_with_the_rows(team):
    people = [person_with_identity() for _ in range(4)]
    small = csv_bytes([row(p, f"Q{i}-{j}") for j, p in enumerate(people) for i in range(2)])
    big = csv_bytes([row(p, f"Z{i}-{j}") for j, p in enumerate(people) for i in range(60)])
    with CaptureQueriesContext(connection) as few:
        run(team.caseworker, small)
    with CaptureQueriesContext(connection) as many:
        record = run(team.caseworker, big)
    assert record.rows_created == 240
    # a handful of chunked reads and bulk inserts (SQLite splits a bulk insert by its variable
    # limit), never one per row
    assert len(many.captured_queries) <= len(few.captured_queries) + 8 < 40


def test_only_caseworkers_import(team):
    from cases.services.errors import NotPermitted

    with pytest.raises(NotPermitted):
        run(team.auditor, csv_bytes([]))


def test_a_certno_in_full_width_or_arabic_indic_digits_is_the_registered_person(team):
    person = person_with_identity(name="钟秀英")
    wide = person.id_number.translate(str.maketrans("0123456789X", "０１２３４５６７８９ｘ"))
    arabic = person.id_number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")).lower()
    record = run(team.caseworker, csv_bytes([row(person, "W1", certno=wide), row(person, "W2", certno=arabic)]))
    assert (record.rows_created, record.rows_failed) == (2, 0), record.errors
    assert set(Claim.objects.filter(setl_id__in=["W1", "W2"]).values_list("person_id", flat=True)) == {person.pk}
