"""seed_demo gives every journey what it needs on a fresh start — all five regions' users, persons,
current statistics, pushes and warnings — and adds nothing the second time."""
import datetime
import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def counts():
    from django.contrib.auth import get_user_model

    from cases.exchange.models import IdentityPush
    from cases.models import Application, Person
    from cases.monitoring.models import MonitoringWarning
    from policies.models import Statistic
    from portal.roles.models import RoleAssignment

    return (get_user_model().objects.count(), RoleAssignment.objects.count(), Person.objects.count(),
            Application.objects.count(), Statistic.objects.count(), IdentityPush.objects.count(),
            MonitoringWarning.objects.count())


def test_seed_demo_covers_every_region_and_is_idempotent(settings, django_capture_on_commit_callbacks):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.contrib.auth import get_user_model

    from cases.exchange.models import IdentityPush
    from cases.models import Person
    from cases.monitoring.models import MonitoringWarning
    from policies.models import Statistic
    from portal.roles.scoping import user_roles

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # the pushes and the monitoring run are jobs
        call_command("seed_demo", stdout=out)
    first = counts()
    User = get_user_model()
    for prefix in ("gz", "cz", "bn", "dz"):
        for suffix in ("caseworker", "reviewer", "reviewer2", "approver", "payment", "policy", "auditor", "civil"):
            assert User.objects.filter(username=f"{prefix}_{suffix}").exists(), f"{prefix}_{suffix}"
    assert "supervisor" in user_roles(User.objects.get(username="gz_reviewer"))
    assert user_roles(User.objects.get(username="gd_policy"), region_code="440000") == {"policy_admin"}
    assert Person.objects.filter(region_id="500113").count() >= 3
    assert Person.objects.filter(region_id="341721").count() >= 3
    last_year = datetime.date.today().year - 1
    for region in ("360700", "130900", "440000", "500113", "341721"):
        assert Statistic.objects.filter(region_id=region, year=last_year).count() == 2, region
    assert IdentityPush.objects.count() >= 2
    assert MonitoringWarning.objects.count() >= 1
    assert "bn_caseworker" in out.getvalue() and "gd_policy" in out.getvalue()
    # 沧州's 2023 announced deductible is demo data with its clause, so its demo cases are made too
    from cases.models import Application

    announced = Statistic.objects.get(region_id="130900", kind="annual_deductible_dibao_edge", year=2023)
    assert "演示" in announced.source and "二(三)" in announced.source
    assert Application.objects.filter(person__name="王建军", year=2023, state="paid").exists()
    assert "not created" not in out.getvalue()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
    assert counts() == first
