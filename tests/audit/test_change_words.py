"""The change log (审计日志) shows every old → new value in words a Chinese auditor reads (issue 14
item 9): a department by its name, a region by its name, a category by its name, where an identity
came from (``push:5`` → 身份推送 #5), a person and a case by name and number, money as 24,675.00,
a push's file by its name (not the stored path), a rejected row's problems as sentences (not JSON).

On PostgreSQL the history triggers record the rows; on SQLite (no triggers) the test records them
as the triggers would, so the same page is checked on both."""
import datetime
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.cases.factories import ClaimFactory
from tests.e2e.english import english_words
from tests.exchange.helpers import civil_liaison, csv_bytes, new_number, push_file
from tests.factories import IdentityFactory, PersonFactory, make_user

pytestmark = pytest.mark.django_db


def recorded(obj, label: str = "insert") -> None:
    """What the history trigger writes for ``obj`` (on SQLite, where there is none)."""
    if connection.vendor == "postgresql":
        return
    history = apps.get_model(obj._meta.app_label, f"{type(obj).__name__}History")
    values = {f.attname: getattr(obj, f.attname) for f in history._meta.concrete_fields
              if not f.name.startswith("pgh_") and hasattr(obj, f.attname)}
    history.objects.create(pgh_obj_id=obj.pk, pgh_label=label, pgh_created_at=timezone.now(), **values)


def shown_text(html: str) -> str:
    main = html[html.index("<main"):html.index("</main>")]
    main = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", main, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def test_every_value_of_the_change_log_is_in_words(client):
    person = PersonFactory(name="钱多多", region_id="360702")
    recorded(person)
    identity = IdentityFactory(person=person, category="dibao", source="push:5", reference="章民字〔2023〕9号")
    recorded(identity)
    identity.end = datetime.date(2023, 6, 30)
    identity.category = "tekun"
    identity.department_id = "civil_affairs"
    identity.save()
    recorded(identity, "update")
    claim = ClaimFactory(person=person, total=Decimal("24675.00"), policy_scope=Decimal("20000.00"),
                         basic_paid=Decimal("10000.00"), critical_paid=Decimal("2000.00"))
    recorded(claim)
    bad = new_number()
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")
    liaison = civil_liaison()
    liaison.full_name = "章贡民政联络员"
    liaison.save()
    push, _ = push_file(liaison, csv_bytes([[bad, "孙七", "低保对象", "新增", "2023-05-01", "文", "360702"]]),
                        name="低保新增.csv")
    push.refresh_from_db()
    recorded(push)
    for row in push.rejected_rows.all():
        recorded(row)

    client.force_login(make_user(superuser=True))
    html = client.get(reverse("audit:log")).content.decode()
    text = shown_text(html)
    assert "钱多多" in text and "24,675.00" in text and "24675.00" not in text, text  # money as money
    assert "低保对象 → 特困人员" in text, text  # categories by name, old → new
    assert "身份推送 #5" in text and "push:5" not in text, text  # where the identity came from
    assert "民政局" in text and "civil_affairs" not in text, text  # the department by its name
    assert "章贡区" in text and "360702" not in text, text  # the region by its name
    assert "章贡民政联络员" in text, text  # who sent the push, by name
    assert "低保新增.csv" in text and "exchange/pushes/" not in text, text  # the file by its name, not its path
    assert "校验码" in text and "check_digit" not in text and "{" not in text, text  # the row's problem as a sentence
    assert english_words(text) == [], english_words(text)
