"""Factories shared by every part of the suite (users with roles, persons, identities).
Parts of the suite keep their own factories next to their tests (e.g. tests/cases/factories.py)."""
from __future__ import annotations

import datetime
import itertools

import factory
from django.contrib.auth import get_user_model

from cases.identity_numbers import compose
from cases.models import Identity, Person, RecognitionMethod
from portal.roles.domain import CATEGORY_OWNER, DepartmentCode
from portal.roles.models import RoleAssignment
from portal.roles.scoping import forget_grants

PASSWORD = "Test@pass-2026"
_seq = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.LazyAttribute(lambda o: o.username)
    password = factory.django.Password(PASSWORD)


def make_user(
    *roles: str,
    region: str = "360700",
    department: str | None = None,
    username: str | None = None,
    superuser: bool = False,
):
    """A user holding each of ``roles`` in ``region`` (liaisons default to civil affairs)."""
    user = UserFactory(
        username=username or f"u{next(_seq)}", is_superuser=superuser, is_staff=superuser
    )
    for role in roles:
        dept = department or (DepartmentCode.CIVIL_AFFAIRS if role == "liaison" else DepartmentCode.MEDICAL_SECURITY)
        RoleAssignment.objects.get_or_create(user=user, role=role, region_id=region, department_id=dept)
    forget_grants(user)
    return user


def _person_number(region: str) -> str:
    n = next(_seq)
    birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=(n * 37) % 20000)
    return compose(region, birth, n % 1000)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    region_id = "360702"
    id_number = factory.LazyAttribute(lambda o: _person_number(o.region_id))
    name = factory.Sequence(lambda n: f"测试{n}")
    sex = factory.LazyAttribute(lambda o: "M" if int(o.id_number[16]) % 2 else "F")
    birth_date = factory.LazyAttribute(
        lambda o: datetime.date(int(o.id_number[6:10]), int(o.id_number[10:12]), int(o.id_number[12:14]))
    )
    residence = "rural"
    scheme = "resident"


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    person = factory.SubFactory(PersonFactory)
    category = "dibao"
    start = datetime.date(2022, 1, 1)
    end = None
    department_id = factory.LazyAttribute(lambda o: str(CATEGORY_OWNER[o.category]))
    method = RecognitionMethod.PUSHED
