"""A push's rejected rows (issue 13: "Push rejected rows show malformed numbers unmasked, and no view
is logged"): whatever looks like an identity number is masked in every column — valid or not, in
any script — on the page, in the API and in both downloads, and every view is written to the
full-number view log (who, when, which push, where), which the auditors' 审计日志 shows."""
import io
import re

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from rest_framework.test import APIClient

from cases.identity_numbers import mask_in_text, normalise
from cases.models import IdNumberView
from tests.exchange.helpers import civil_liaison, csv_bytes, new_number, push_file
from tests.factories import make_user

pytestmark = pytest.mark.django_db
NUMBER_RUN = re.compile(r"\d{14,}")


@pytest.fixture
def pushed():
    liaison = civil_liaison("360702")
    short = new_number()[:17]  # one digit short
    inside = new_number("360703")  # a valid number typed into the name column
    wide = "".join(chr(ord(c) + 0xFEE0) for c in new_number("360704")[:16]) + "１２"  # full-width, wrong check
    data = csv_bytes([
        [short, "张三", "低保对象", "新增", "2023-05-01", "文1", ""],
        ["", f"李四{inside}", "低保对象", "新增", "2023-05-01", "文2", ""],
        [new_number()[:10], "王五", "低保对象", "新增", "2023-05-01", f"章民发{wide}号", ""],
    ])
    push, _ = push_file(liaison, data, region="360702")
    assert push.rows_rejected == 3
    return liaison, push, [short, inside, normalise(wide), wide]


def _assert_masked(text: str, secrets) -> None:
    for secret in secrets:
        assert secret not in text
    assert not NUMBER_RUN.search(normalise(text).replace("*", "-")), "a number-like run is shown in full"


def _views(user, push, channel):
    return IdNumberView.objects.filter(user=user, push=push, person=None, channel=channel)


def test_the_page_masks_every_number_like_value_and_logs_the_view(client, pushed):
    liaison, push, secrets = pushed
    client.force_login(liaison)
    body = client.get(reverse("exchange:push_detail", args=[push.pk])).content.decode()
    rejected = body.split('id="rejected"', 1)[1]
    _assert_masked(rejected, secrets)
    assert secrets[0][:4] + "*" * 9 + secrets[0][-4:] in rejected  # the length still shows in the stars
    assert "李四" + secrets[1][:4] in rejected
    view = _views(liaison, push, "screen").get()
    assert f"#{push.pk}" in view.context and view.reason


def test_the_api_masks_and_logs(pushed):
    liaison, push, secrets = pushed
    api = APIClient()
    api.force_authenticate(liaison)
    answer = api.get(f"/api/v1/exchange/pushes/{push.pk}/rejected/")
    assert answer.status_code == 200
    _assert_masked(answer.content.decode("unicode_escape"), secrets)
    _assert_masked(answer.content.decode(), secrets)
    assert _views(liaison, push, "api").count() == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_both_downloads_mask_and_log(client, pushed, fmt):
    liaison, push, secrets = pushed
    client.force_login(liaison)
    response = client.get(reverse("exchange:push_rejected", args=[push.pk, fmt]))
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if fmt == "csv":
        text = content.decode("utf-8-sig")
    else:
        text = "\n".join(" ".join(str(c.value) for c in row) for row in load_workbook(io.BytesIO(content)).active.iter_rows())
    _assert_masked(text, secrets)
    assert _views(liaison, push, "export").count() == 1


def test_auditors_see_the_views_on_the_audit_log_and_other_regions_do_not(client, pushed):
    liaison, push, _secrets = pushed
    client.force_login(liaison)
    client.get(reverse("exchange:push_detail", args=[push.pk]))
    auditor = make_user("auditor", region="360700")
    client.force_login(auditor)
    page = client.get(reverse("audit:id_views")).content.decode()
    assert reverse("exchange:push_detail", args=[push.pk]) in page and liaison.display_name in page
    export = client.get(reverse("audit:export"), {"tab": "id_views"})
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert any(f"#{push.pk}" in " ".join(str(c.value) for c in row) for row in sheet.iter_rows())
    client.force_login(make_user("auditor", region="130900"))
    assert reverse("exchange:push_detail", args=[push.pk]) not in client.get(reverse("audit:id_views")).content.decode()


DIGITS = st.sampled_from("0123456789")
SCRIPTS = st.sampled_from([0, 0xFEE0, 0x0660 - 0x30, 0x0966 - 0x30])  # ASCII, full-width, 阿, 天城


@given(prefix=st.text(alphabet="张李号文〔〕-年 ", max_size=6), digits=st.lists(DIGITS, min_size=14, max_size=19),
       script=SCRIPTS, x=st.booleans(), suffix=st.text(alphabet="号文 ", max_size=4))
def test_any_number_like_run_is_masked_whatever_its_length_or_script(prefix, digits, script, x, suffix):
    number = "".join(chr(ord(d) + script) if script else d for d in digits) + ("x" if x else "")
    shown = mask_in_text(prefix + number + suffix)
    assert not NUMBER_RUN.search(normalise(shown).replace("*", "-"))
    assert shown.startswith(prefix) and shown.endswith(suffix)


def test_dates_document_numbers_and_phone_numbers_are_left_alone():
    for text in ("2023-05-01", "章民〔2023〕9号", "13800138000", "360702"):
        assert mask_in_text(text) == text
