"""Identity numbers have one spelling (issue 13 finding 3, issue 14 item 2): full-width and other
Unicode digits and a lower-case x are the same number as the ASCII one — in validation, storage,
uniqueness, searches, the claim import and department pushes."""
import datetime
import io
import sys
import unicodedata

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import identity_numbers
from cases.identity_numbers import compose, normalise, validate
from cases.models import Person
from cases.selectors import search_persons
from cases.services import persons
from tests.factories import make_user

# Every Unicode character that is the decimal digit d (full-width ０, Arabic-Indic ٠, Devanagari ०, …).
VARIANTS = {d: [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.decimal(chr(c), None) == d]
            for d in range(10)}
X_SPELLINGS = ["X", "x", "Ｘ", "ｘ"]
INVISIBLE = ["", " ", "\u3000", "\u200b", "\ufeff", "\t"]
GOOD = compose("360702", datetime.date(1961, 3, 12), 131)
GOOD_X = next(n for n in (compose("360702", datetime.date(1980, 1, 2), s) for s in range(1000)) if n.endswith("X"))


def test_there_are_many_spellings_of_each_digit():
    assert all(len(v) > 50 for v in VARIANTS.values())
    assert "０" in VARIANTS[0] and "٣" in VARIANTS[3] and "९" in VARIANTS[9]


@st.composite
def spellings(draw, number=None):
    number = number or draw(st.sampled_from([GOOD, GOOD_X]))
    out = []
    for ch in number:
        out.append(draw(st.sampled_from(INVISIBLE)) if draw(st.booleans()) else "")
        out.append(draw(st.sampled_from(X_SPELLINGS)) if ch == "X" else draw(st.sampled_from(VARIANTS[int(ch)])))
    return number, "".join(out)


@given(spellings())
@settings(max_examples=300)
def test_any_spelling_normalises_to_the_ascii_number_and_validates(pair):
    number, spelled = pair
    assert normalise(spelled) == number
    facts = validate(spelled)
    assert facts.number == number and facts.birth_date == identity_numbers.validate(number).birth_date
    assert identity_numbers.mask(spelled) == identity_numbers.mask(number)


def test_a_wrong_check_digit_in_full_width_is_reported_in_ascii():
    wrong = GOOD[:17] + ("1" if GOOD[17] != "1" else "2")
    wide = wrong.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    with translation.override("zh-hans"), pytest.raises(identity_numbers.IdentityNumberError) as err:
        validate(wide)
    message = str(err.value)
    assert not any(ch in message for ch in "０１２３４５６７８９")
    assert wrong[17] in message and GOOD[17] in message


def test_non_digits_stay_refused():
    for bad in ["36070219610312131①", "3607021961031213ⅰ1", "36070219610312131Y", GOOD[:17] + "ｙ"]:
        with pytest.raises(identity_numbers.IdentityNumberError):
            validate(bad)


def test_collisions_groups_rows_that_become_one_number():
    wide = GOOD.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert identity_numbers.collisions([(1, GOOD), (2, wide), (3, GOOD_X), (4, GOOD_X.lower())]) == {
        GOOD: [1, 2], GOOD_X: [3, 4]}


# --- In the database ---------------------------------------------------------------------------------


@pytest.fixture
def cw(db):
    return make_user("caseworker", region="360000")


@pytest.mark.django_db
@given(spellings())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_person_spelled_differently_is_the_same_person_in_any_region(cw, pair):
    number, spelled = pair
    Person.objects.filter(id_number=number).delete()
    first = persons.create_person(acting_user=cw, id_number=number, name="赖福生", region_code="360702")
    try:
        for region in ("360702", "360703"):
            with pytest.raises(ValidationError) as err:
                persons.create_person(acting_user=cw, id_number=spelled, name="赖福生", region_code=region)
            assert "id_number" in err.value.message_dict
        assert Person.objects.filter(id_mask_key=first.id_mask_key).count() == 1
        assert list(search_persons(cw, spelled)) == [first]
    finally:
        first.delete()


@pytest.mark.django_db
def test_a_person_registered_with_full_width_digits_is_stored_in_ascii(cw):
    wide = GOOD_X[:17].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "ｘ"
    person = persons.create_person(acting_user=cw, id_number=wide, name="张三", region_code="360702")
    person.refresh_from_db()
    assert person.id_number == GOOD_X and person.id_mask_key == GOOD_X[:4] + GOOD_X[-4:]


@pytest.mark.django_db
def test_the_collision_command_reports_duplicates_masked(cw):
    persons.create_person(acting_user=cw, id_number=GOOD, name="赖福生", region_code="360702")
    wide = GOOD.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    other = persons.create_person(acting_user=cw, id_number=GOOD_X, name="李四", region_code="360703")
    Person.objects.filter(pk=other.pk).update(id_number=wide)  # as stored before normalisation
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("find_id_number_collisions", stdout=out)
    assert exit_.value.code == 1
    text = out.getvalue()
    assert f"collision {identity_numbers.mask(GOOD)}: 2 persons" in text and "1 collision(s)" in text
    assert GOOD not in text and wide not in text
    Person.objects.filter(pk=other.pk).update(id_number=GOOD_X)
    out = io.StringIO()
    call_command("find_id_number_collisions", stdout=out)
    assert "0 collision(s), 0 number(s) not in normal form" in out.getvalue()


@pytest.mark.django_db
def test_the_data_migration_rewrites_stored_numbers_and_leaves_collisions(cw):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("cases.migrations.0004_normalise_identity_numbers")
    a = persons.create_person(acting_user=cw, id_number=GOOD, name="赖福生", region_code="360702")
    b = persons.create_person(acting_user=cw, id_number=GOOD_X, name="李四", region_code="360703")
    third = compose("360702", datetime.date(1990, 2, 3), 7)
    c = persons.create_person(acting_user=cw, id_number=third, name="王五", region_code="360703")
    wide = GOOD.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    Person.objects.filter(pk=b.pk).update(id_number=wide)  # collides with a
    Person.objects.filter(pk=c.pk).update(id_number=third.translate(str.maketrans("0123", "٠١٢٣")))
    migration.forwards(apps, None)
    assert Person.objects.get(pk=a.pk).id_number == GOOD
    assert Person.objects.get(pk=b.pk).id_number == wide  # left for the command
    c = Person.objects.get(pk=c.pk)
    assert c.id_number == third and c.id_mask_key == third[:4] + third[-4:]
