"""safe_cell neutralises every way a spreadsheet could read text as a formula (issue 13: leading
spaces, tab, line break, full-width ＝＋－＠, BOM and zero-width characters), checked with
hypothesis over generated text, and leaves harmless text and typed values alone."""
import datetime
import io
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.exports import csv_bytes, safe_cell, xlsx_bytes

TRIGGERS = ["=", "+", "-", "@", "＝", "＋", "－", "＠"]
SKIPPED = [" ", "\t", "\n", "\r", "\u3000", "\ufeff", "\u200b", "\u200c", "\u200d", "\u2060", "\u00a0", "\u200e"]


def looks_like_formula(text: str) -> bool:
    """What a spreadsheet might evaluate: a trigger after skippable characters, or a control start."""
    if not isinstance(text, str) or text.startswith("'"):
        return False
    if text[:1] in ("\t", "\r", "\n"):
        return True
    stripped = text
    while stripped and stripped[0] in SKIPPED or (stripped and stripped[0].isspace()):
        stripped = stripped[1:]
    return stripped[:1] in TRIGGERS


@settings(max_examples=400, deadline=None)
@given(prefix=st.text(alphabet=SKIPPED, max_size=4), trigger=st.sampled_from(TRIGGERS), rest=st.text(max_size=20))
def test_a_formula_behind_any_skippable_characters_is_neutralised(prefix, trigger, rest):
    cell = safe_cell(prefix + trigger + rest)
    assert cell.startswith("'") and cell[1:] == prefix + trigger + rest


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=30))
def test_no_text_comes_out_looking_like_a_formula(text):
    assert not looks_like_formula(safe_cell(text))


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=20))
def test_ordinary_text_is_unchanged(text):
    if text[0] not in TRIGGERS:
        assert safe_cell(text) == text


def test_typed_values_stay_typed():
    assert safe_cell(Decimal("-12.50")) == Decimal("-12.50")
    assert safe_cell(-3) == -3
    assert safe_cell(datetime.date(2024, 1, 2)) == datetime.date(2024, 1, 2)


def test_the_files_carry_the_neutralised_text():
    from openpyxl import load_workbook

    hostile = ["\u200b=1+1", " ＝SUM(A1)", "\ufeff@x", "\n-2+3"]
    import csv

    rows = list(csv.reader(io.StringIO(csv_bytes(["h"], [[h] for h in hostile]).decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + h for h in hostile]
    sheet = load_workbook(io.BytesIO(xlsx_bytes(["h"], [[h] for h in hostile])), read_only=True).worksheets[0]
    values = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert values == ["'" + h for h in hostile]
