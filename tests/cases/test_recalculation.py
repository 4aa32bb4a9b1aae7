"""Recalculation after a backdated identity or a retroactive policy: the exact difference on a
paid case becomes one 补发 / 追回 adjustment, never twice."""
import datetime
from decimal import Decimal

import pytest

from cases.models import Adjustment, RecalcMark
from cases.services.recalc import recalculate_pending
from policies.signals import version_published
from tests.cases.factories import ClaimFactory, add_statistics, make_case, make_team, person_with_identity
from tests.exchange.helpers import csv_bytes, push_file
from tests.exchange.oncommit import run_on_commit

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def paid_case():
    """赣州: a 监测对象 (class 3) whose 2023 inpatient claim was paid: S = 12 000, deductible
    10 % × 32 000 = 3 200, 65 % of 8 800 = 5 720.00."""
    add_statistics()
    team = make_team("360700")
    person = person_with_identity(region="360702", category="jiance", start=D(2022, 1, 1), name="钟秀英")
    claim = ClaimFactory(person=person, date=D(2023, 3, 10))
    app = make_case(team, "paid", person=person, claims=[claim])
    assert app.amount_approved == Decimal("5720.00")
    return team, app


def test_backdated_dibao_pushed_pays_the_exact_difference_once(paid_case):
    team, app = paid_case
    person = app.person
    data = csv_bytes([[person.id_number, person.name, "低保对象", "新增", "2023-01-01", "章民〔2023〕9号", ""]])
    push, _ = push_file(team.civil, data, region="360700")
    assert push.identities_opened == 1 and push.person_years_marked == 1
    adjustment = Adjustment.objects.get(application=app)
    # Class 2 (dibao): 75 % of 12 000 with no deductible = 9 000.00; 9 000.00 − 5 720.00 = 3 280.00.
    assert (adjustment.kind, adjustment.amount) == ("supplementary", Decimal("3280.00"))
    assert RecalcMark.objects.get(person=person, year=2023).done_at is not None
    # Nothing is paid twice: the same push again, another mark, a second run — no new adjustment.
    again, created = push_file(team.civil, data, region="360700")
    assert not created and again.pk == push.pk
    RecalcMark.objects.create(person=person, year=2023, reason="test: again")
    assert recalculate_pending()["adjustments"] == 0
    assert Adjustment.objects.filter(application=app).count() == 1


def test_closing_the_identity_before_the_claim_recovers_what_was_paid(paid_case):
    team, app = paid_case
    person = app.person
    data = csv_bytes([[person.id_number, person.name, "jiance", "退出", "2023-02-28", "赣乡〔2023〕2号", ""]])
    push, _ = push_file(team.rural, data, department="rural_revitalisation", region="360700")
    assert push.identities_closed == 1
    adjustment = Adjustment.objects.get(application=app)
    assert (adjustment.kind, adjustment.amount) == ("recovery", Decimal("-5720.00"))


def test_a_retroactive_policy_version_marks_the_region_person_years(paid_case):
    team, app = paid_case

    class Version:  # what the policies part sends (its model has these attributes)
        region_id = "360700"
        document_number = "赣市府办字〔2023〕1号"

    with run_on_commit():
        version_published.send(sender=None, version=Version(), retroactive_from=D(2023, 1, 1))
    mark = RecalcMark.objects.get(person=app.person, year=2023)
    assert mark.reason.startswith("policy:360700") and mark.done_at is not None
    assert not Adjustment.objects.filter(application=app).exists()  # the policy did not change: no difference
