"""Helpers for the exchange tests: identity numbers, push files in every encoding, users."""
from __future__ import annotations

import csv
import datetime
import io
import itertools

from cases.identity_numbers import compose
from tests.factories import make_user

_seq = itertools.count(100)
HEADER = ["身份证号码", "姓名", "类别", "操作", "生效日期", "文号", "行政区划"]


def new_number(area: str = "360702", birth: datetime.date = datetime.date(1970, 5, 6)) -> str:
    return compose(area, birth, next(_seq))


def civil_liaison(region: str = "360702", **kw):
    return make_user("liaison", region=region, department="civil_affairs", **kw)


def rural_liaison(region: str = "360702", **kw):
    return make_user("liaison", region=region, department="rural_revitalisation", **kw)


def csv_bytes(rows, *, encoding: str = "utf-8", header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    text = buffer.getvalue()
    if encoding == "utf-8-sig":
        return text.encode("utf-8-sig")
    return text.encode(encoding)


def xlsx_bytes(rows, *, header=HEADER) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def push_file(user, data: bytes, name: str = "list.csv", *, department: str = "civil_affairs", region: str = "360702"):
    """Send a file as ``user`` and run the task (on commit, eagerly). Returns (push, created)."""
    from cases.exchange.models import IdentityPush
    from cases.exchange.services.pushes import receive_file
    from tests.exchange.oncommit import run_on_commit

    with run_on_commit():
        push, created = receive_file(acting_user=user, department=department, region_code=region,
                                     fileobj=io.BytesIO(data), filename=name)
    return IdentityPush.objects.get(pk=push.pk), created
