"""parse_input: every problem of the settlement input, each naming its field."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from engine_support import claim, payload

from policies.engine import InputError, PolicyError, parse_input


def problems(p) -> list[str]:
    with pytest.raises(InputError) as err:
        parse_input(p)
    return err.value.errors


def test_good_input_with_defaults():
    inp = parse_input({"region": "360700", "claims": [{"id": "a", "date": "2023-01-02", "kind": "inpatient",
                                                       "total": 100, "policy_scope": "80.5"}]})
    assert (inp.person.residence, inp.person.scheme, inp.person.identities, inp.tilted_applied, inp.statistics) == \
           ("rural", "resident", [], False, None)
    c = inp.claims[0]
    assert (c.date, c.special_disease, c.hospital_level, c.location, c.referral_compliant) == \
           (dt.date(2023, 1, 2), False, 1, "county", True)
    assert (c.total, c.policy_scope, c.basic_paid, c.critical_paid) == (Decimal("100.00"), Decimal("80.50"), None, None)


def test_statistics_are_parsed_by_year():
    inp = parse_input(payload("130900", [claim()], statistics={"city_income": {"2021": "27000.00"}}))
    assert inp.statistics == {"city_income": {2021: Decimal("27000.00")}}


def test_all_problems_are_collected_with_zero_based_field_names():
    p = payload("130900", [
        claim("a", scope="48000.00", total="45000.00"),
        claim("b", date="2023-02-30"),
        claim("a", total="10.001", scope="10.00", basic="-1"),
        claim("d", kind="dental", basic="30000.00", critical="20000.00", scope="40000.00", total="40000.00"),
        claim("e", hospital_level=4, location="moon", referral_compliant="yes", special_disease=1),
    ], identities=[("VIP", "2020-01-01"), ("dibao", "2020-13-01")])
    p["claims"][4]["colour"] = "red"
    p["tilted_applied"] = "no"
    p["statistics"] = {"city_income": {"21": "x"}}
    errors = problems(p)
    expected = [
        "person.identities[0].category: unknown category 'VIP'",
        "person.identities[1].start: not a date (expected YYYY-MM-DD)",
        "statistics.city_income.21: not a year (expected YYYY)",
        "tilted_applied: must be true or false",
        "claims[0].policy_scope: 48000.00 exceeds total 45000.00",
        "claims[1].date: not a date (expected YYYY-MM-DD)",
        "claims[2].id: duplicate id 'a' (also claims[0])",
        "claims[2].total: at most two decimals",
        "claims[2].basic_paid: must not be negative",
        "claims[3].kind: unknown kind 'dental'",
        "claims[3]: basic_paid + critical_paid (50000.00) exceeds policy_scope 40000.00",
        "claims[4].colour: unknown field",
        "claims[4].special_disease: must be true or false",
        "claims[4].referral_compliant: must be true or false",
        "claims[4].hospital_level: unknown hospital level 4",
        "claims[4].location: unknown location 'moon'",
    ]
    for e in expected:
        assert any(msg.startswith(e) for msg in errors), (e, errors)


@pytest.mark.parametrize("mutate,expected", [
    (lambda p: p.pop("region"), "region: required"),
    (lambda p: p.update(region="36070"), "region: '36070' is not a 6-digit GB/T 2260 code"),
    (lambda p: p.pop("claims"), "claims: required"),
    (lambda p: p.update(claims={}), "claims: must be a list"),
    (lambda p: p["claims"][0].pop("total"), "claims[0].total: required"),
    (lambda p: p["claims"][0].pop("date"), "claims[0].date: required"),
    (lambda p: p["claims"][0].pop("kind"), "claims[0].kind: required"),
    (lambda p: p["claims"][0].update(total="abc"), "claims[0].total: not a money amount"),
    (lambda p: p["claims"][0].update(total=True), "claims[0].total: not a money amount"),
    (lambda p: p["claims"][0].update(total="NaN"), "claims[0].total: not a money amount"),
    (lambda p: (p["claims"][0].pop("critical_paid"), p["claims"][0].update(basic_paid="20000.00")),
     "claims[0].basic_paid: 20000.00 exceeds policy_scope 10000.00"),
    (lambda p: p["person"].update(residence="town"), "person.residence: unknown residence 'town'"),
    (lambda p: p["person"].update(scheme="private"), "person.scheme: unknown scheme 'private'"),
    (lambda p: p["person"]["identities"].append({"category": "dibao", "start": "2023-02-01", "end": "2023-01-01"}),
     "person.identities[1].end: 2023-01-01 is before start 2023-02-01"),
    (lambda p: p["person"]["identities"].append({"category": "dibao"}), "person.identities[1].start: required"),
    (lambda p: p.update(extra=1), "extra: unknown field"),
])
def test_single_problem(mutate, expected):
    p = payload("130900", [claim()], identities=[("dibao", "2020-01-01")])
    mutate(p)
    errors = problems(p)
    assert any(e.startswith(expected) for e in errors), errors


def test_not_an_object():
    assert problems([]) == ["input: must be a JSON object"]


def test_numbers_are_accepted_as_money_and_ids():
    inp = parse_input(payload("130900", [dict(claim(), id=7, total=120, policy_scope=100.5, basic_paid=0)]))
    c = inp.claims[0]
    assert (c.id, c.total, c.policy_scope, c.basic_paid) == ("7", Decimal("120.00"), Decimal("100.50"), Decimal("0.00"))


def test_a_category_the_regions_policy_does_not_define_is_refused_naming_the_field():
    from engine_support import claim, payload, run

    p = payload("360700", [claim(date="2023-03-01")], [("de_facto_orphan", "2022-01-01")])
    with pytest.raises(InputError) as err:
        run(p)
    assert err.value.errors == ["person.identities[0].category: unknown category 'de_facto_orphan' (neither national "
                                "nor a category of region 360700's policy)"]
    # 巴南 defines it (第三条): known there, and refused as a category left to the previous policy.
    p["region"] = "500113"
    p["claims"][0]["date"] = "2023-06-01"
    with pytest.raises(PolicyError) as err:
        run(p)
    assert "de_facto_orphan" in err.value.errors[0] and "第三条" in err.value.errors[0]
