"""The dashboards as a supervisor reads them: a table beside each chart, Excel exports, the budget
they compare the payments with, people who reached the annual cap; only the user's regions."""
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases.reporting.models import AssistanceBudget
from tests.cases.factories import ClaimFactory, add_statistics, make_case, make_team, person_with_identity
from tests.factories import make_user

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def paid_world():
    add_statistics()
    team = make_team("360700")
    app = make_case(team, "paid")
    ClaimFactory(person=app.person, date=D(2023, 5, 1), referral_compliant=False, location="out_of_province",
                 total=Decimal("10000.00"), policy_scope=Decimal("5000.00"), basic_paid=Decimal("3000.00"),
                 critical_paid=Decimal("0.00"))
    return team, app


def test_dashboards_have_a_table_beside_each_chart_and_excel_exports(client, paid_world):
    team, app = paid_world
    admin = make_user("policy_admin", region="360700")
    client.force_login(admin)
    client.post(reverse("reporting:budgets"), {"region": "360700", "year": "2023", "amount": "100000.00"})
    assert AssistanceBudget.objects.get().amount == Decimal("100000.00")
    client.force_login(team.auditor)
    page = client.get(reverse("reporting:dashboard") + "?region=360700&year=2023")
    body = page.content.decode()
    charts = page.context["charts"]
    assert [c.key for c in charts] == ["paid", "category", "caps", "warnings", "referral", "scope"]
    # each chart is an SVG of its own (served apart, so the page's policy allows no inline style)
    assert "<script" not in body.split("<main")[1].split("</main>")[0].replace("htmx", "")
    for chart in charts:
        src = reverse("reporting:dashboard_chart", args=[chart.key]) + "?region=360700&amp;year=2023"
        assert f'<img src="{src}"' in body
        svg = client.get(src.replace("&amp;", "&"))
        assert svg.status_code == 200 and svg["Content-Type"].startswith("image/svg+xml")
        assert svg.content.lstrip().startswith(b"<svg")
    paid_year = app.paid_at.year
    paid = client.get(reverse("reporting:dashboard") + f"?region=360700&year={paid_year}").context["charts"][0]
    assert paid.footer[1] == app.amount_approved == Decimal("9000.00")
    if paid_year != 2023:
        assert paid.note.startswith("尚未录入")  # the 2023 budget does not apply to this year's payments
    referral = next(c for c in charts if c.key == "referral")
    assert referral.footer[1] == 2 and referral.footer[2] == "50.0 %" and referral.footer[3] == "0.0 %"
    assert any("90" in a for a in referral.alerts)
    scope = next(c for c in charts if c.key == "scope")
    assert scope.footer[1] == Decimal("62000.00") and scope.footer[2] == Decimal("9000.00")
    assert scope.footer[3] == "14.5 %" and scope.alerts
    response = client.get(reverse("reporting:dashboard_export", args=["scope"]) + "?region=360700&year=2023")
    wb = load_workbook(io.BytesIO(response.content))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][0] == "月份" and rows[-1][1] == 62000
    # Outside the user's regions: not found.
    assert client.get(reverse("reporting:dashboard") + "?region=130900").status_code == 404


def test_people_who_reached_the_annual_cap_are_counted(client):
    add_statistics()
    team = make_team("360700")
    # 赣州 class 2 (dibao): 75 % of the in-scope self-pay, cap 50 000 a year: S = 80 000 reaches it.
    big = ClaimFactory(date=D(2023, 4, 1), total=Decimal("200000.00"), policy_scope=Decimal("180000.00"),
                       basic_paid=Decimal("90000.00"), critical_paid=Decimal("10000.00"),
                       person=person_with_identity(region="360702"))
    make_case(team, "submitted", person=big.person, claims=[big])
    client.force_login(team.auditor)
    charts = client.get(reverse("reporting:dashboard") + "?region=360700&year=2023").context["charts"]
    caps = next(c for c in charts if c.key == "caps")
    assert caps.rows[0][1] == 1 and caps.rows[1][1] == 0
