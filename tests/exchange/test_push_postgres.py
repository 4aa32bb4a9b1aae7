"""The set-based PostgreSQL path and the generic path give the same results on the same file."""
import datetime
import io

import pytest
from django.db import transaction

from cases.exchange.models import IdentityChange, IdentityPush, PushRejectedRow
from cases.exchange.pushes.processing import COUNTERS, run
from cases.exchange.services.pushes import receive_file
from cases.models import Identity, Person, RecalcMark
from tests.exchange.helpers import civil_liaison, csv_bytes, new_number
from tests.factories import IdentityFactory, PersonFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
D = datetime.date


def rich_file():
    keep = PersonFactory(region_id="360702", name="甲")
    IdentityFactory(person=keep, category="dibao", start=D(2022, 1, 1))
    back = PersonFactory(region_id="360702", name="乙")
    IdentityFactory(person=back, category="dibao", start=D(2023, 6, 1))
    IdentityFactory(person=back, category="dibao", start=D(2023, 9, 1))  # two open periods: the earlier moves
    reopen = PersonFactory(region_id="360702", name="丙")
    IdentityFactory(person=reopen, category="dibao", start=D(2022, 1, 1), end=D(2023, 2, 28))
    IdentityFactory(person=reopen, category="dibao", start=D(2021, 1, 1), end=D(2021, 6, 30))
    leave = PersonFactory(region_id="360702", name="丁")
    IdentityFactory(person=leave, category="dibao_edge", start=D(2022, 1, 1))
    IdentityFactory(person=leave, category="tekun", start=D(2023, 1, 1), end=D(2023, 3, 31))
    far = PersonFactory(region_id="130903", name="远")
    fresh = new_number("360702")
    fresh2 = new_number("360731")
    rows = [
        [keep.id_number, "甲", "低保", "新增", "2022-06-01", "文1", ""],
        [back.id_number, "乙", "dibao", "新增", "2023-02-01", "文2", ""],
        [reopen.id_number, "丙", "低保对象", "新增", "2023-03-01", "文3", ""],
        [leave.id_number, "丁", "低保边缘", "退出", "2023-09-30", "文4", ""],
        [leave.id_number, "丁", "tekun", "退出", "2023-03-31", "文4", ""],      # already in effect
        [leave.id_number, "丁", "orphan", "退出", "2023-03-31", "文4", ""],     # nothing to close
        [far.id_number, "远", "低保", "新增", "2023-01-01", "文5", ""],         # out of scope
        [keep.id_number, "甲甲", "特困", "新增", "2023-01-01", "文6", ""],      # name mismatch
        [fresh, "新一", "低保", "退出", "2023-01-01", "文7", ""],              # unknown person (before creator)
        [fresh, "新一", "低保边缘", "新增", "2023-01-01", "文8", ""],           # creates (county default)
        [fresh, "新二", "特困", "新增", "2023-01-01", "文9", ""],              # name differs from the creator's
        [fresh, "新一", "孤儿", "退出", "2023-01-01", "文9", ""],              # nothing open (after creator)
        [fresh, "新一", "低保边缘", "新增", "2023-01-02", "文10", ""],          # repeat
        [fresh2, "新三", "低保", "新增", "2023-04-01", "文11", "360702"],
        [" " + fresh2.lower() + " ", "新三", " 特困人员 ", "新增", "2023年4月1日", "文12", "３６０７０２"],
        ["", "", "返贫致贫人口", "x", "2023-02-30", "", "999999"],
        [new_number(), "名" * 51, "低保", "新增", "2099-01-01", "文" * 101, "130902"],
    ]
    return csv_bytes(rows, encoding="gbk")


def snapshot(push):
    source = f"push:{push.pk}"
    counters = {k: getattr(push, k) for k in COUNTERS}
    rejected = [(r.row_no, r.id_number, r.name, r.category, r.action, r.effective, r.reference, r.region_code, r.errors)
                for r in PushRejectedRow.objects.filter(push=push).order_by("row_no")]
    persons = sorted(Person.objects.values_list("id_number", "name", "region_id", "sex", "birth_date"))
    idents = sorted((i.person.id_number, i.category, i.start, i.end, i.method, i.reference, i.department_id,
                     i.source.replace(source, "push:X"))
                    for i in Identity.objects.select_related("person"))
    changes = sorted((c.person.id_number, c.action, c.old_start, c.old_end, c.new_start, c.new_end, c.reference)
                     for c in IdentityChange.objects.filter(source=source).select_related("person"))
    marks = sorted(RecalcMark.objects.filter(reason=source).values_list("person_id", "year"))
    return counters, rejected, persons, idents, changes, marks


def test_fast_path_equals_generic_path():
    liaison = civil_liaison("360702")
    data = rich_file()
    results = {}
    for engine in ("generic", "postgres"):
        sid = transaction.savepoint()
        push, _ = receive_file(acting_user=liaison, department="civil_affairs", region_code="360702",
                               fileobj=io.BytesIO(data), filename="rich.csv")
        push = run(push.pk, force_generic=engine == "generic")
        assert push.status == "done" and push.engine == engine, push.failure
        results[engine] = snapshot(push)
        transaction.savepoint_rollback(sid)
    generic, fast = results["generic"], results["postgres"]
    for part, a, b in zip(("counters", "rejected", "persons", "identities", "changes", "marks"), generic, fast):
        assert a == b, part
    counters, rejected = generic[0], generic[1]
    assert counters["rows_total"] == 17 and counters["rows_rejected"] == 9
    assert counters["identities_backdated"] == counters["identities_reopened"] == counters["identities_closed"] == 1
    assert counters["persons_created"] == 2
    assert {r[0]: [e["code"] for e in r[8]] for r in rejected}[14] == ["duplicate"]


def test_fast_path_on_a_larger_file_matches_too():
    liaison = civil_liaison("360700")
    rows = []
    for i in range(3000):
        n = new_number(["360702", "360703", "360704"][i % 3], D(1950, 1, 1) + datetime.timedelta(days=i * 7))
        rows.append([n, f"人{i}", ["低保", "特困", "dibao_edge"][i % 3], "新增", "2023-01-05", f"文{i % 9}",
                     ["360702", "360703", "360704"][i % 3]])
        if i % 10 == 0:
            rows.append([n, f"人{i}", ["低保", "特困", "dibao_edge"][i % 3], "退出", "2023-06-30", "文", ""])
        if i % 37 == 0:
            rows.append([n[:-1] + "Z", "坏", "低保", "新增", "2023-01-05", "文", ""])
    data = csv_bytes(rows)
    results = {}
    for engine in ("generic", "postgres"):
        sid = transaction.savepoint()
        push, _ = receive_file(acting_user=liaison, department="civil_affairs", region_code="360700",
                               fileobj=io.BytesIO(data), filename="big.csv")
        results[engine] = snapshot(run(push.pk, force_generic=engine == "generic"))
        transaction.savepoint_rollback(sid)
    assert results["generic"] == results["postgres"]
    assert IdentityPush.objects.count() == 0


def test_both_paths_register_new_persons_with_the_files_residence_and_scheme_or_mark_them_to_be_verified():
    liaison = civil_liaison("360702")
    told, untold, bad = new_number("360702"), new_number("360731"), new_number("360702")
    header = ["身份证号码", "姓名", "类别", "操作", "生效日期", "文号", "行政区划", "户籍性质", "参保类型"]
    data = csv_bytes([[told, "城一", "低保", "新增", "2023-01-05", "文1", "", "城镇", "310"],
                      [untold, "乡二", "dibao", "新增", "2023-01-05", "文2", "360702", "", ""],
                      [bad, "错三", "dibao", "新增", "2023-01-05", "文3", "", "城里", "职工医保"]], header=header)
    results = {}
    for engine in ("generic", "postgres"):
        sid = transaction.savepoint()
        push, _ = receive_file(acting_user=liaison, department="civil_affairs", region_code="360702",
                               fileobj=io.BytesIO(data), filename="persons.csv")
        push = run(push.pk, force_generic=engine == "generic")
        assert push.status == "done" and push.engine == engine, push.failure
        results[engine] = (sorted(Person.objects.values_list("id_number", "residence", "scheme")),
                           [(r.row_no, [e["code"] for e in r.errors]) for r in push.rejected_rows.order_by("row_no")])
        transaction.savepoint_rollback(sid)
    assert results["generic"] == results["postgres"]
    persons, rejected = results["postgres"]
    assert (told, "urban", "employee") in persons and (untold, "", "") in persons
    assert rejected == [(4, ["residence_unknown"])] and bad not in {p[0] for p in persons}
