"""The enrolment subsidy through its page and the API: a policy admin sets the contribution standard;
a tax system pulls a list's people (recorded as a delivery with its token)."""
import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from cases.enrolment import services as subsidy
from cases.enrolment.models import ContributionStandard
from cases.exchange.models import OutboundDelivery
from tests.exchange.test_api import client_for
from tests.factories import IdentityFactory, PersonFactory, make_user

pytestmark = pytest.mark.django_db
D = datetime.date


def test_contribution_standard_page(client):
    admin = make_user("policy_admin", region="130900")
    client.force_login(admin)
    response = client.post(reverse("enrolment:standards"), {"region": "130900", "year": "2024",
                                                           "tier1_personal": "380.00", "tier2_personal": ""})
    assert response.status_code == 302
    assert ContributionStandard.objects.get().tier1_personal == Decimal("380.00")
    page = client.get(reverse("enrolment:standards")).content.decode()
    assert "380.00" in page


def test_tax_pulls_the_subsidy_list_items():
    admin = make_user("policy_admin", region="130900")
    subsidy.set_contribution_standard(acting_user=admin, region_code="130900", year=2024, tier1_personal="380.00")
    p = PersonFactory(region_id="130903")
    IdentityFactory(person=p, category="tekun", start=D(2023, 1, 1))
    lst, _ = subsidy.produce_list(acting_user=admin, region_code="130900", year=2024, month=2)
    tax, key = client_for(make_user("liaison", region="130900", department="tax"))
    lists = tax.get("/api/v1/exchange/subsidy-lists/").json()["results"]
    assert [x["id"] for x in lists] == [lst.pk]
    items = tax.get(f"/api/v1/exchange/subsidy-lists/{lst.pk}/items/").json()["results"]
    assert items == [{"person_name": p.name, "id_number": p.id_number, "person_region": "130903", "change": "added",
                      "category": "tekun", "category_name": "特困人员", "previous_category": "",
                      "previous_category_name": "", "tier": 1, "personal_contribution": "380.00",
                      "amount": "380.00", "previous_amount": None, "problem": "", "document": "沧政办规〔2022〕7号",
                      "clause": "二(二)"}]
    delivery = OutboundDelivery.objects.get()
    assert (delivery.department_id, delivery.subsidy_list_id, delivery.api_token_hint) == ("tax", lst.pk, key[:8])
