"""Nothing of another region leaks through an error message (issue 13, medium findings)."""
import pytest
from django.core.exceptions import ValidationError

from cases.services import applications, persons
from tests.cases.factories import make_case, person_with_identity

pytestmark = pytest.mark.django_db


def test_a_claim_of_another_region_is_not_found_not_its_case_number(team, cz_team):
    theirs = make_case(cz_team, "submitted")
    their_claim = theirs.claim_links.get().claim
    mine = make_case(team, "draft")
    with pytest.raises(ValidationError) as err:
        applications.add_claims(acting_user=team.caseworker, application_id=mine.pk, claim_ids=[their_claim.pk])
    text = " ".join(err.value.message_dict["claim_ids"])
    assert theirs.number not in text and "130" not in text.replace(str(their_claim.pk), "")


def test_registering_a_number_known_elsewhere_names_no_other_region(team, cz_team):
    other = person_with_identity(region="130903")  # 沧州市 运河区
    with pytest.raises(ValidationError) as err:
        persons.create_person(acting_user=team.caseworker, id_number=other.id_number, name="张三", region_code="360702")
    text = " ".join(err.value.message_dict["id_number"])
    assert other.region.name not in text and "沧州" not in text and "130903" not in text
    assert "其他地区" in text
    same_city = person_with_identity(region="360703")
    with pytest.raises(ValidationError) as err:
        persons.create_person(acting_user=team.caseworker, id_number=same_city.id_number, name="李四",
                              region_code="360702")
    assert same_city.region.name in " ".join(err.value.message_dict["id_number"])  # the user's own regions
