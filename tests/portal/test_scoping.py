"""One helper decides what a user may see: a role in a region covers it and everything below."""
import pytest

from cases.models import Person
from portal.regions.codes import ancestors, contains, level_of, scope_prefix
from portal.roles.scoping import in_scope, region_prefixes, scope_queryset, scoped_regions
from tests.factories import PersonFactory, make_user

pytestmark = pytest.mark.django_db


def test_codes():
    assert level_of("360000") == "province" and level_of("360700") == "city" and level_of("360702") == "county"
    assert scope_prefix("360000") == "36" and scope_prefix("360700") == "3607" and scope_prefix("500113") == "500113"
    assert ancestors("360702") == ["360700", "360000"]
    assert contains("360700", "360781") and not contains("360700", "130900")


def test_seeded_regions_form_a_tree():
    from portal.regions.models import Region

    assert Region.objects.get(code="360700").parent_id == "360000"
    assert Region.objects.get(code="341721").parent.parent_id == "340000"
    assert Region.objects.get(code="500113").parent_id == "500000"
    assert Region.objects.get(code="440000").name == "广东省"
    assert Region.objects.get(code="130900").name == "沧州市"


def test_ganzhou_caseworker_sees_nothing_of_cangzhou():
    gz_person = PersonFactory(region_id="360702")
    cz_person = PersonFactory(region_id="130903")
    user = make_user("caseworker", region="360700")
    visible = scope_queryset(Person.objects.all(), user, roles=["caseworker"])
    assert list(visible) == [gz_person]
    assert cz_person not in visible
    assert in_scope(user, "360781", roles=["caseworker"])
    assert not in_scope(user, "130903", roles=["caseworker"])
    assert set(scoped_regions(user).values_list("code", flat=True)) >= {"360700", "360702"}
    assert "130900" not in set(scoped_regions(user).values_list("code", flat=True))


def test_province_user_sees_the_city_below():
    gz_person = PersonFactory(region_id="360731")
    user = make_user("auditor", region="360000")
    assert list(scope_queryset(Person.objects.all(), user, roles=["auditor"])) == [gz_person]
    assert in_scope(user, "360700")


def test_county_user_does_not_see_the_rest_of_the_city():
    PersonFactory(region_id="360731")
    mine = PersonFactory(region_id="360702")
    user = make_user("caseworker", region="360702")
    assert list(scope_queryset(Person.objects.all(), user, roles=["caseworker"])) == [mine]
    assert not in_scope(user, "360700", roles=["caseworker"])


def test_roles_are_scoped_separately():
    user = make_user("caseworker", region="360700")
    # a reviewer role elsewhere is added below
    from portal.roles.models import RoleAssignment
    from portal.roles.scoping import forget_grants

    RoleAssignment.objects.create(user=user, role="reviewer", region_id="130900")
    forget_grants(user)
    assert region_prefixes(user, roles=["caseworker"]) == ["3607"]
    assert region_prefixes(user, roles=["reviewer"]) == ["1309"]
    assert not in_scope(user, "130903", roles=["caseworker"])
    assert in_scope(user, "130903", roles=["reviewer"])


def test_no_role_sees_nothing_and_superuser_sees_everything():
    PersonFactory(region_id="360702")
    PersonFactory(region_id="130903")
    nobody = make_user()
    admin = make_user(superuser=True)
    assert scope_queryset(Person.objects.all(), nobody).count() == 0
    assert scope_queryset(Person.objects.all(), admin).count() == 2


def test_liaison_scope_is_per_department():
    user = make_user("liaison", region="130900", department="rural_revitalisation")
    assert in_scope(user, "130921", roles=["liaison"], department="rural_revitalisation")
    assert not in_scope(user, "130921", roles=["liaison"], department="civil_affairs")


def test_guardian_grant_opens_one_object_outside_the_region():
    from guardian.shortcuts import assign_perm

    cz_person = PersonFactory(region_id="130903")
    other = PersonFactory(region_id="130921")
    user = make_user("reviewer", region="360700")
    assign_perm("cases.view_person", user, cz_person)
    visible = scope_queryset(Person.objects.all(), user, roles=["reviewer"], grant_perm="cases.view_person")
    assert cz_person in visible and other not in visible


def test_path_through_a_foreign_key():
    from cases.models import Identity
    from tests.factories import IdentityFactory

    mine = IdentityFactory(person=PersonFactory(region_id="360702"))
    IdentityFactory(person=PersonFactory(region_id="130903"))
    user = make_user("reviewer", region="360700")
    assert list(scope_queryset(Identity.objects.all(), user, field="person__region")) == [mine]
