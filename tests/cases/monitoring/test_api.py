"""The monitoring API: a civil-affairs system pulls the warnings (each pull recorded with its token)
and records outcomes; a run started through the API needs a region in the caller's scope."""
import datetime
from decimal import Decimal

import pytest

from cases.exchange.models import OutboundDelivery
from cases.monitoring import services as monitoring
from cases.monitoring.models import MonitoringWarning
from tests.cases.factories import ClaimFactory, add_statistics
from tests.exchange.oncommit import run_on_commit
from tests.exchange.test_api import client_for
from tests.factories import PersonFactory, make_user

pytestmark = pytest.mark.django_db
D = datetime.date


def test_civil_affairs_pulls_warnings_and_each_pull_is_recorded_with_the_token():
    add_statistics()
    p = PersonFactory(region_id="130903")
    ClaimFactory(person=p, date=D(2023, 5, 1), total=Decimal("30000.00"), policy_scope=Decimal("0.00"),
                 basic_paid=Decimal("0.00"), critical_paid=Decimal("0.00"))
    run = monitoring.start_run(acting_user=None, trigger="command", year=2023, region_code="130900", enqueue=False)
    monitoring.execute_run(run_id=run.pk)
    civil = make_user("liaison", region="130900", department="civil_affairs")
    api, key = client_for(civil)
    rows = api.get("/api/v1/exchange/warnings/?year=2023&state=open").json()["results"]
    assert len(rows) == 1 and rows[0]["id_number"] == p.id_number and rows[0]["kind"] == "fall_into_poverty"
    delivery = OutboundDelivery.objects.get()
    assert (delivery.kind, delivery.department_id, delivery.channel, delivery.api_token_hint, delivery.rows) == (
        "warnings", "civil_affairs", "api", key[:8], 1)
    w = MonitoringWarning.objects.get()
    bad = api.post(f"/api/v1/exchange/warnings/{w.pk}/outcome/", {"outcome": "other"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "note"
    ok = api.post(f"/api/v1/exchange/warnings/{w.pk}/outcome/", {"outcome": "assisted", "note": "纳入低保"},
                  format="json")
    assert ok.status_code == 200 and ok.json()["outcome"] == "assisted"
    # Another region's liaison sees nothing.
    far, _k = client_for(make_user("liaison", region="360700", department="civil_affairs"))
    assert far.get("/api/v1/exchange/warnings/").json()["results"] == []


def test_monitoring_run_through_the_api_needs_a_region_in_scope():
    admin = make_user("policy_admin", region="130900")
    api, _k = client_for(admin)
    assert api.post("/api/v1/exchange/monitoring-runs/", {"region": "360700", "year": 2023},
                    format="json").status_code == 403
    with run_on_commit():
        response = api.post("/api/v1/exchange/monitoring-runs/", {"region": "130900", "year": 2023}, format="json")
    assert response.status_code == 201
