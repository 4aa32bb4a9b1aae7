"""Identity pushes: each problem a row can have, what good rows do to the registry, repeats,
idempotence. Runs the path of the database in use (generic on SQLite, set-based on PostgreSQL)."""
import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.exchange.models import IdentityChange, IdentityPush
from cases.exchange.pushes import rules
from cases.exchange.pushes.checks import PushContext, RowChecker, check_fields
from cases.exchange.pushes.reading import RawRow
from cases.models import Identity, Person
from tests.exchange.helpers import civil_liaison, csv_bytes, new_number, push_file, rural_liaison
from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def codes(push: IdentityPush) -> dict[int, list[str]]:
    return {r.row_no: [e["code"] for e in r.errors] for r in push.rejected_rows.all()}


def test_every_column_problem_is_reported_with_row_and_field():
    liaison = civil_liaison("360702")
    good = new_number()
    future = datetime.date.today() + datetime.timedelta(days=3)
    rows = [
        ["", "张三", "低保", "新增", "2023-01-01", "文1", ""],                               # 2 id required
        [good[:17], "张三", "低保", "新增", "2023-01-01", "文1", ""],                        # 3 length
        [good[:16] + "A" + good[17], "张三", "低保", "新增", "2023-01-01", "文1", ""],       # 4 format
        ["360702" + "19701301" + "1234", "张三", "低保", "新增", "2023-01-01", "文1", ""],   # 5 birth date
        [good[:17] + ("0" if good[17] != "0" else "1"), "张三", "低保", "新增", "2023-01-01", "文1", ""],  # 6 check
        [new_number(), "", "低保", "新增", "2023-01-01", "文1", ""],                          # 7 name required
        [new_number(), "名" * 51, "低保", "新增", "2023-01-01", "文1", ""],                   # 8 name too long
        [new_number(), "李四", "", "新增", "2023-01-01", "文1", ""],                          # 9 category required
        [new_number(), "李四", "贫困户", "新增", "2023-01-01", "文1", ""],                    # 10 unknown category
        [new_number(), "李四", "返贫致贫人口", "新增", "2023-01-01", "文1", ""],              # 11 not owned
        [new_number(), "李四", "低保", "", "2023-01-01", "文1", ""],                          # 12 action required
        [new_number(), "李四", "低保", "变更", "2023-01-01", "文1", ""],                      # 13 unknown action
        [new_number(), "李四", "低保", "新增", "", "文1", ""],                                # 14 date required
        [new_number(), "李四", "低保", "新增", "2023-02-30", "文1", ""],                      # 15 impossible date
        [new_number(), "李四", "低保", "新增", future.isoformat(), "文1", ""],                # 16 future
        [new_number(birth=D(2000, 5, 1)), "李四", "低保", "新增", "1999-01-01", "文1", ""],  # 17 before birth
        [new_number(), "李四", "低保", "新增", "2023-01-01", "", ""],                         # 18 reference required
        [new_number(), "李四", "低保", "新增", "2023-01-01", "文" * 101, ""],                 # 19 reference too long
        [new_number(), "李四", "低保", "新增", "2023-01-01", "文1", "3607"],                  # 20 region format
        [new_number(), "李四", "低保", "新增", "2023-01-01", "文1", "360799"],                # 21 unknown region
        [new_number(), "李四", "低保", "新增", "2023-01-01", "文1", "130902"],                # 22 out of scope
    ]
    push, _ = push_file(liaison, csv_bytes(rows))
    assert push.status == "done"
    assert push.rows_total == 21 and push.rows_rejected == 21
    assert codes(push) == {
        2: ["id_required"], 3: ["id_length"], 4: ["id_format"], 5: ["id_birth_date"], 6: ["id_check"],
        7: ["name_required"], 8: ["name_too_long"], 9: ["category_required"], 10: ["category_unknown"],
        11: ["category_not_owned"], 12: ["action_required"], 13: ["action_unknown"], 14: ["date_required"],
        15: ["date_invalid"], 16: ["date_future"], 17: ["date_before_birth"], 18: ["reference_required"],
        19: ["reference_too_long"], 20: ["region_invalid"], 21: ["region_unknown"], 22: ["region_out_of_scope"],
    }
    check = push.rejected_rows.get(row_no=6).errors[0]
    assert check["field"] == "id_number" and check["params"]["want"] == good[17]
    assert "check character is wrong" in rules.message(check) or "校验码" in rules.message(check)
    owned = push.rejected_rows.get(row_no=11).errors[0]
    assert owned["params"] == {"category": "fanpin", "owner": "rural_revitalisation", "department": "civil_affairs"}
    assert not Person.objects.filter(name="李四").exists()


def test_all_problems_of_one_row_are_listed_in_column_order():
    push, _ = push_file(civil_liaison(), csv_bytes([["123", "", "x", "y", "z", "", "1"]]))
    assert [e["field"] for e in push.rejected_rows.get().errors] == [
        "id_number", "name", "category", "action", "effective", "reference", "region"]


def test_new_person_is_registered_with_an_open_identity_and_good_rows_apply_despite_bad_ones():
    liaison = civil_liaison("360702")
    n = new_number("360702", D(1961, 3, 12))
    rows = [[n, "赖福生", "特困人员", "新增", "2023-04-01", "章民〔2023〕12号", ""],
            ["bad", "坏行", "低保", "新增", "2023-04-01", "文", ""]]
    push, created = push_file(liaison, csv_bytes(rows))
    assert created and push.status == "done" and push.engine in ("generic", "postgres")
    person = Person.objects.get(id_number=n)
    assert (person.name, person.region_id, person.birth_date) == ("赖福生", "360702", D(1961, 3, 12))
    ident = Identity.objects.get(person=person)
    assert (ident.category, ident.start, ident.end, ident.method, ident.reference, ident.department_id) == (
        "tekun", D(2023, 4, 1), None, "pushed", "章民〔2023〕12号", "civil_affairs")
    assert ident.source == f"push:{push.pk}"
    assert push.persons_created == 1 and push.identities_opened == 1 and push.rows_rejected == 1


def test_registry_outcomes_keep_backdate_reopen_close():
    liaison = civil_liaison("360702")
    keep = PersonFactory(region_id="360702", name="甲")
    IdentityFactory(person=keep, category="dibao", start=D(2022, 1, 1))
    back = PersonFactory(region_id="360702", name="乙")
    moved = IdentityFactory(person=back, category="dibao", start=D(2023, 6, 1))
    reopen = PersonFactory(region_id="360702", name="丙")
    closed = IdentityFactory(person=reopen, category="dibao", start=D(2022, 1, 1), end=D(2023, 2, 28))
    leave = PersonFactory(region_id="360702", name="丁")
    open_one = IdentityFactory(person=leave, category="dibao_edge", start=D(2022, 1, 1))
    rows = [
        [keep.id_number, "甲", "低保", "新增", "2022-06-01", "文1", ""],
        [back.id_number, "乙", "低保", "新增", "2023-02-01", "文2", ""],
        [reopen.id_number, "丙", "低保", "新增", "2023-03-01", "文3", ""],
        [leave.id_number, "丁", "低保边缘", "退出", "2023-09-30", "文4", ""],
    ]
    push, _ = push_file(liaison, csv_bytes(rows))
    assert push.rows_rejected == 0, codes(push)
    assert (push.rows_unchanged, push.identities_backdated, push.identities_reopened, push.identities_closed) == (
        1, 1, 1, 1)
    moved.refresh_from_db()
    closed.refresh_from_db()
    open_one.refresh_from_db()
    assert moved.start == D(2023, 2, 1)
    assert (closed.start, closed.end) == (D(2022, 1, 1), None)
    assert open_one.end == D(2023, 9, 30)
    assert Identity.objects.filter(person=keep).count() == 1
    changes = {c.action: c for c in IdentityChange.objects.filter(source=f"push:{push.pk}")}
    assert changes["backdated"].old_start == D(2023, 6, 1) and changes["backdated"].new_start == D(2023, 2, 1)
    assert changes["closed"].new_end == D(2023, 9, 30)


def test_rows_against_the_registry_are_refused_with_reasons():
    liaison = civil_liaison("360702")
    other_region = PersonFactory(region_id="130903", name="外地")
    named = PersonFactory(region_id="360702", name="王五")
    late = PersonFactory(region_id="360702", name="赵六")
    IdentityFactory(person=late, category="dibao", start=D(2023, 5, 1))
    ended = PersonFactory(region_id="360702", name="钱七")
    IdentityFactory(person=ended, category="dibao", start=D(2022, 1, 1), end=D(2022, 12, 31))
    newcomer = new_number("360702")
    rows = [
        [other_region.id_number, "外地", "低保", "新增", "2023-01-01", "文", ""],  # 2 out of scope
        [named.id_number, "王二", "低保", "新增", "2023-01-01", "文", ""],         # 3 name mismatch
        [late.id_number, "赵六", "低保", "退出", "2023-03-01", "文", ""],          # 4 exit before start
        [named.id_number, "王五", "低保边缘", "退出", "2023-03-01", "文", ""],     # 5 nothing open
        [ended.id_number, "钱七", "低保", "退出", "2023-03-01", "文", ""],         # 6 ended before
        [new_number("360702"), "孙八", "低保", "退出", "2023-03-01", "文", ""],    # 7 unknown person
        [ended.id_number, "钱七", "低保", "退出", "2022-12-31", "文", ""],         # 8 repeat of 6
        [newcomer, "新人", "低保", "新增", "2023-03-01", "文", ""],                # 9 ok (push region is a county)
    ]
    push, _ = push_file(liaison, csv_bytes(rows))
    assert codes(push) == {2: ["person_out_of_scope"], 3: ["name_mismatch"], 4: ["exit_before_start"],
                           5: ["no_open_identity"], 6: ["no_open_identity_ended"], 7: ["person_unknown"],
                           8: ["duplicate"]}
    assert push.rejected_rows.get(row_no=8).errors[0]["params"] == {"row": 6}
    assert push.rejected_rows.get(row_no=3).errors[0]["params"] == {"name": "王二", "registered": "王五"}
    assert push.rejected_rows.get(row_no=2).errors[0]["params"] == {"region": "130903"}
    assert Person.objects.get(id_number=newcomer).region_id == "360702"


def test_city_liaison_must_give_the_region_of_a_new_person():
    liaison = civil_liaison("360700")
    n = new_number("360703")
    push, _ = push_file(liaison, csv_bytes([[n, "新人", "低保", "新增", "2023-03-01", "文", ""],
                                            [n, "新人", "特困", "新增", "2023-03-01", "文", "360703"]]),
                        region="360700")
    assert codes(push) == {2: ["region_needed"]}
    assert Person.objects.get(id_number=n).region_id == "360703"


def test_an_exit_already_in_effect_is_a_no_op():
    liaison = civil_liaison("360702")
    person = PersonFactory(region_id="360702", name="甲")
    IdentityFactory(person=person, category="dibao", start=D(2022, 1, 1), end=D(2023, 3, 31))
    push, _ = push_file(liaison, csv_bytes([[person.id_number, "甲", "低保", "退出", "2023-03-31", "文", ""]]))
    assert push.rows_rejected == 0 and push.rows_unchanged == 1 and push.identities_closed == 0


def test_the_same_push_twice_is_recognised_and_rows_reapplied_change_nothing():
    liaison = civil_liaison("360702")
    n = new_number("360702")
    data = csv_bytes([[n, "张三", "低保", "新增", "2023-01-05", "文1", ""]])
    first, created = push_file(liaison, data)
    again, created_again = push_file(liaison, data)
    assert created and not created_again and again.pk == first.pk
    assert IdentityPush.objects.count() == 1
    # The same rows in another file (another hash) are applied again: nothing changes.
    other, created_other = push_file(liaison, data.replace(b"\r\n", b"\n") + b"\n")
    assert created_other and other.pk != first.pk
    assert other.rows_unchanged == 1 and other.identities_opened == 0 and other.persons_created == 0
    assert Identity.objects.filter(person__id_number=n).count() == 1


def test_rural_liaison_pushes_its_own_categories():
    liaison = rural_liaison("360702")
    n = new_number("360702")
    push, _ = push_file(liaison, csv_bytes([[n, "乡亲", "jiance", "add", "2023-07-01", "赣乡〔2023〕3号", ""],
                                            [n, "乡亲", "dibao", "add", "2023-07-01", "x", ""]]),
                        department="rural_revitalisation")
    assert codes(push) == {3: ["category_not_owned"]}
    assert Identity.objects.get(person__id_number=n).department_id == "rural_revitalisation"


# --- the fast lane never accepts what the full check would not --------------------------------

CTX = PushContext(push_id=1, department="civil_affairs", prefix="3607", default_region="360702",
                  today=D(2024, 6, 30), regions=frozenset({"360702", "360703", "130902"}), user_id=None)


def _raw(id_number, name, category, action, effective, reference, region, numeric=False, residence="", scheme=""):
    return (2, numeric, id_number, name, category, action, effective, reference, region, residence, scheme)


@settings(max_examples=300, deadline=None)
@given(
    id_number=st.one_of(st.sampled_from([new_number(), new_number("110101"), new_number()[:17] + "X",
                                         "３６０７０２１９７０" + "0506" + "1234"]),
                        st.text(alphabet="0123456789Xx ", min_size=0, max_size=19)),
    name=st.sampled_from(["张三", " 张三", "张三\u3000", "", "名" * 51]),
    category=st.sampled_from(["dibao", "DIBAO", "低保", " 低保", "fanpin", "x", ""]),
    action=st.sampled_from(["新增", "退出", "ADD", "新增 ", ""]),
    effective=st.sampled_from(["2023-01-05", "2023/1/5", "20230105", "2023-02-30", "2099-01-01", "1899-12-31", ""]),
    reference=st.sampled_from(["文1", " 文1", "", "文" * 101]),
    region=st.sampled_from(["", "360703", "130902", "999999", "3607"]),
    residence=st.sampled_from(["", "农村", "urban", "URBAN", " 城镇", "城里", "非农业户口"]),
    scheme=st.sampled_from(["", "390", "职工医保", "Employee", "城乡居民基本医疗保险 ", "商业保险"]),
)
def test_fast_lane_agrees_with_the_full_check(id_number, name, category, action, effective, reference, region,
                                              residence, scheme):
    raw = _raw(id_number, name, category, action, effective, reference, region, residence=residence, scheme=scheme)
    fast = RowChecker(CTX).fast(raw)
    values, problems = check_fields(RawRow._make(raw), CTX)
    if fast is not None:
        assert problems == []
        assert fast == (values["id_number"], values["name"], values["category"], values["action"],
                        values["effective"], values["reference"], values["region_code"], values["residence"],
                        values["scheme"])


def test_residence_and_scheme_are_read_by_code_or_chinese_name_and_an_unknown_one_is_refused_naming_the_column():
    n = new_number()
    values, problems = check_fields(RawRow._make(_raw(n, "张三", "dibao", "新增", "2023-01-05", "文1", "",
                                                      residence=" 城镇", scheme="３１０")), CTX)
    assert problems == [] and (values["residence"], values["scheme"]) == ("urban", "employee")
    values, problems = check_fields(RawRow._make(_raw(n, "张三", "dibao", "新增", "2023-01-05", "文1", "")), CTX)
    assert problems == [] and (values["residence"], values["scheme"]) == ("", "")  # 待核实, not assumed
    values, problems = check_fields(RawRow._make(_raw(n, "张三", "dibao", "新增", "2023-01-05", "文1", "",
                                                      residence="城里", scheme="商业保险")), CTX)
    assert [p["field"] for p in problems] == ["residence", "scheme"]
    from django.utils import translation

    from cases.exchange.pushes import rules

    with translation.override("zh-hans"):
        text = rules.describe(problems)
    assert "户籍性质" in text and "城里" in text and "参保类型" in text and "商业保险" in text


def test_full_width_and_lower_case_spellings_are_understood():
    n = new_number()
    wide = n.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    values, problems = check_fields(RawRow._make(_raw(wide[:17] + n[17].lower(), " 张三 ", "ＤＩＢＡＯ", " 新增",
                                                      "2023年1月5日", "文1", "")), CTX)
    assert problems == [] and values["id_number"] == n and values["category"] == "dibao"
    assert values["effective"] == D(2023, 1, 5) and values["name"] == "张三"


def test_a_pushed_number_in_other_unicode_digits_is_the_registered_person():
    liaison = civil_liaison("360702")
    person = PersonFactory(region_id="360702", name="甲")
    arabic = person.id_number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    push, _ = push_file(liaison, csv_bytes([[arabic, "甲", "低保", "新增", "2023-04-01", "文1", ""]]))
    assert push.rows_rejected == 0 and push.persons_created == 0
    assert Identity.objects.get(person=person).category == "dibao"
    assert Person.objects.filter(name="甲").count() == 1
