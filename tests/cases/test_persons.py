"""Persons, identities and the full identity number."""
import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError

from cases import identity_numbers
from cases.identity_numbers import compose
from cases.models import Identity, IdNumberView, Person
from cases.selectors import search_persons
from cases.services import persons
from cases.services.errors import NotPermitted
from tests.factories import PersonFactory, make_user

pytestmark = pytest.mark.django_db

GOOD = compose("360702", datetime.date(1961, 3, 12), 131)  # odd sequence: male


@pytest.fixture
def cw(db):
    return make_user("caseworker", region="360700")


def create(cw, **kw):
    data = dict(id_number=GOOD, name="赖福生", region_code="360702", bank_name="农商行", bank_account="6217 0000 1111 2222")
    data.update(kw)
    return persons.create_person(acting_user=cw, **data)


def test_sex_and_birth_date_come_from_the_number(cw):
    person = create(cw)
    assert (person.sex, person.birth_date) == ("M", datetime.date(1961, 3, 12))
    assert person.bank_account == "6217000011112222" and person.account_holder == "赖福生"
    assert person.id_mask_key == GOOD[:4] + GOOD[-4:]


@pytest.mark.parametrize("number,expected", [
    ("", "请填写身份证号码"),
    ("36070219610312131", "应为18位，当前为17位"),
    ("36070219610312A31X", "应为17位数字加1位数字或X"),
    ("360702196102301310", "出生日期（19610230）不存在"),
    ("360702209901011310", "晚于今天"),
    (GOOD[:17] + ("0" if GOOD[17] != "0" else "1"), "校验码错误"),
    ("990702196103121310", "不是有效的省级行政区划代码"),
])
def test_each_identity_number_error_says_what_is_wrong(cw, number, expected):
    if expected == "不是有效的省级行政区划代码":
        body = "990702196103121" + "31"
        from stdnum.cn import ric

        number = body + ric.calc_check_digit(body + "0")
    if expected == "出生日期（19610230）不存在":
        body = "36070219610230131"
        number = body + "0"
    with pytest.raises(ValidationError) as err:
        create(cw, id_number=number)
    message = " ".join(err.value.message_dict["id_number"])
    assert expected in message


def test_a_duplicate_is_refused_with_where(cw):
    create(cw)
    with pytest.raises(ValidationError) as err:
        create(cw, id_number=GOOD.lower(), name="另一人")
    assert "已登记" in err.value.message_dict["id_number"][0] and "章贡区" in err.value.message_dict["id_number"][0]


def test_field_errors_name_the_field(cw):
    with pytest.raises(ValidationError) as err:
        create(cw, name="", bank_account="12ab", region_code="999999")
    assert set(err.value.message_dict) == {"name", "bank_account", "region_code"}


def test_region_outside_scope_and_missing_role(cw):
    with pytest.raises(ValidationError) as err:
        create(cw, region_code="130903")
    assert "region_code" in err.value.message_dict
    with pytest.raises(NotPermitted):
        create(make_user("auditor", region="360700"))


def test_update_rederives_sex_and_birth(cw):
    person = create(cw)
    other = compose("360702", datetime.date(1970, 5, 6), 222)
    person = persons.update_person(acting_user=cw, person_id=person.pk, id_number=other, scheme="employee")
    assert (person.sex, person.birth_date, person.scheme) == ("F", datetime.date(1970, 5, 6), "employee")
    assert person.id_mask_key == other[:4] + other[-4:]
    with pytest.raises(ValidationError):
        persons.update_person(acting_user=cw, person_id=person.pk, sex="M")


# --- identities -------------------------------------------------------------------------------------------


def test_identity_source_department_is_the_owner(cw):
    person = create(cw)
    entry = persons.add_identity(acting_user=cw, person_id=person.pk, category="jiance", start="2023-01-01")
    assert entry.status == "pending" and not person.identities.exists()
    identity = persons.confirm_identity_entry(acting_user=make_user("reviewer", region="360700"), entry_id=entry.pk)
    assert identity.department_id == "rural_revitalisation" and identity.method == "evidence"
    assert identity.created_by == cw and identity.source == f"entry:{entry.pk}"
    liaison = make_user("liaison", region="360700", department="civil_affairs")
    mine = persons.add_identity(acting_user=liaison, person_id=person.pk, category="dibao", start="2023-02-01",
                                method="pushed", reference="赣民〔2023〕1号")
    assert (mine.department_id, mine.method) == ("civil_affairs", "pushed")
    with pytest.raises(NotPermitted):
        persons.add_identity(acting_user=liaison, person_id=person.pk, category="tuopin", start="2023-01-01")


def test_overlapping_period_of_the_same_category_is_refused(cw):
    person = create(cw)
    civil = make_user("liaison", region="360700", department="civil_affairs")
    rural = make_user("liaison", region="360700", department="rural_revitalisation")
    persons.add_identity(acting_user=civil, person_id=person.pk, category="dibao", start="2022-01-01", end="2022-12-31")
    with pytest.raises(ValidationError) as err:
        persons.add_identity(acting_user=civil, person_id=person.pk, category="dibao", start="2022-06-01")
    assert "start" in err.value.message_dict
    with pytest.raises(ValidationError) as err:  # bureau staff: the same check
        persons.add_identity(acting_user=cw, person_id=person.pk, category="dibao", start="2022-06-01")
    persons.add_identity(acting_user=civil, person_id=person.pk, category="dibao", start="2023-01-01")
    persons.add_identity(acting_user=rural, person_id=person.pk, category="jiance", start="2022-06-01")  # another category
    with pytest.raises(ValidationError) as err:
        persons.add_identity(acting_user=civil, person_id=person.pk, category="dibao", start="2021-01-01", end="2021-01-01")
        persons.add_identity(acting_user=civil, person_id=person.pk, category="dibao", start="2020-12-01")
    assert Identity.objects.filter(person=person, category="dibao").count() == 3


def test_close_identity(cw):
    person = create(cw)
    identity = persons.add_identity(acting_user=None, person_id=person.pk, category="dibao", start="2022-01-01")
    with pytest.raises(ValidationError):
        persons.close_identity(acting_user=cw, identity_id=identity.pk, end="2021-12-31")
    closed = persons.close_identity(acting_user=cw, identity_id=identity.pk, end="2023-06-30")
    assert closed.end == datetime.date(2023, 6, 30)
    with pytest.raises(ValidationError) as err:
        persons.add_identity(acting_user=cw, person_id=person.pk, category="dibao", start="2023-06-30", end="x")
    assert "end" in err.value.message_dict


# --- full identity numbers ------------------------------------------------------------------------------------


def test_reviewers_and_approvers_may_reveal_and_every_view_is_logged():
    person = PersonFactory(region_id="360702")
    reviewer = make_user("reviewer", region="360700")
    assert persons.reveal_id_number(acting_user=reviewer, person=person, context="case X", reason="核对") == person.id_number
    assert persons.reveal_id_number(acting_user=reviewer, person=person, context="case X") == person.id_number
    views = IdNumberView.objects.filter(person=person)
    assert views.count() == 2
    view = views.first()
    assert (view.user, view.context, view.channel) == (reviewer, "case X", "screen")


@pytest.mark.parametrize("role", ["caseworker", "payment_officer", "auditor", "liaison"])
def test_other_roles_see_masks_only(role):
    person = PersonFactory(region_id="360702")
    user = make_user(role, region="360700")
    with pytest.raises(NotPermitted):
        persons.reveal_id_number(acting_user=user, person=person, context="x")
    assert not IdNumberView.objects.exists()


def test_the_permission_itself_grants_it_within_the_region():
    person = PersonFactory(region_id="360702")
    user = make_user("caseworker", region="360700")
    user.user_permissions.add(Permission.objects.get(codename="view_full_id_number"))
    user = type(user).objects.get(pk=user.pk)
    assert persons.reveal_id_number(acting_user=user, person=person, context="数据修复") == person.id_number
    far = PersonFactory(region_id="130903")
    with pytest.raises(NotPermitted):
        persons.reveal_id_number(acting_user=user, person=far, context="x")


def test_reviewer_of_another_region_may_not_reveal():
    person = PersonFactory(region_id="360702")
    with pytest.raises(NotPermitted):
        persons.reveal_id_number(acting_user=make_user("reviewer", region="130900"), person=person, context="x")


def test_search_by_full_masked_number_and_name():
    person = PersonFactory(region_id="360702", name="钟秀英")
    other = PersonFactory(region_id="360702", name="钟小明")
    far = PersonFactory(region_id="130903", name="钟秀英")
    cw = make_user("caseworker", region="360700")
    assert list(search_persons(cw, person.id_number)) == [person]
    assert list(search_persons(cw, person.id_number.lower())) == [person]
    assert list(search_persons(cw, identity_numbers.mask(person.id_number))) == [person]
    assert set(search_persons(cw, "钟")) == {person, other}
    assert list(search_persons(cw, far.id_number)) == []
    assert Person.objects.filter(id_mask_key=far.id_mask_key).exists()
