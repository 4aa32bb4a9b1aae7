"""The one-case path (``settlement.recalculate_person_year``, the ORM) and the batch path
(``recalc_batch.recalculate_person_years``, set-based reads and COPY on PostgreSQL) store exactly the
same rows — settlements with their hashes, revisions, JSON and lines (cap flags included),
adjustments and allocations — for random person-years given two successive changes (the second
exercises cancelling and reviving pending adjustments). Runs on SQLite and, with
``DATABASE_URL`` pointing at PostgreSQL, on PostgreSQL (the COPY writer)."""
import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cases.models import Adjustment, Application, ClaimAllocation, Identity, Settlement, SettlementLine
from cases.services import recalc_batch, settlement
from tests.cases.factories import ClaimFactory, make_case, person_with_identity

pytestmark = pytest.mark.django_db
D = datetime.date
CATEGORIES = ["tekun", "dibao", "dibao_edge", "illness_poverty", "jiance", "tuopin", None]


class Rollback(Exception):
    pass


def state_of(app_ids) -> dict:
    """Everything stored for the cases, without ids and timestamps (rows keyed by their position
    among the case's rows)."""
    out: dict = {}
    settlement_key, adjustment_key = {}, {}
    for app in Application.objects.filter(pk__in=app_ids).order_by("pk"):
        out[("case", app.pk)] = (app.state, app.calc_revision)
        for n, s in enumerate(Settlement.objects.filter(application=app).order_by("pk")):
            settlement_key[s.pk] = ("settlement", app.pk, n)
            row = {f.attname: getattr(s, f.attname) for f in Settlement._meta.concrete_fields
                   if f.attname not in ("id", "computed_at")}
            row["lines"] = [
                {f.attname: getattr(line, f.attname) for f in SettlementLine._meta.concrete_fields
                 if f.attname not in ("id", "settlement_id")}
                for line in s.lines.order_by("position")]
            out[settlement_key[s.pk]] = row
        for n, adj in enumerate(Adjustment.objects.filter(application=app).order_by("pk")):
            adjustment_key[adj.pk] = ("adjustment", app.pk, n)
            out[adjustment_key[adj.pk]] = (adj.kind, adj.amount, adj.basis_hash, adj.reason, adj.status,
                                           settlement_key[adj.settlement_id])
    out["allocations"] = sorted(
        ((a.application_id, a.claim_id, adjustment_key.get(a.adjustment_id), settlement_key[a.settlement_id],
          a.amount) for a in ClaimAllocation.objects.filter(application_id__in=app_ids)), key=str)
    return out


money = st.integers(min_value=0, max_value=6_000_000)  # fen
claims_st = st.lists(st.tuples(
    st.integers(min_value=1, max_value=360),                                    # day of 2023
    st.sampled_from(["inpatient", "outpatient_chronic", "outpatient_general"]),
    st.sampled_from(["county", "city", "province", "out_of_province"]),
    st.sampled_from([1, 2, 3]),
    st.booleans(),                                                             # referral compliant
    money, st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=1),
    st.sampled_from([0, 0, 50_000, 300_000]),                                  # maf_pay (fen)
), min_size=1, max_size=4)
identities_st = st.lists(st.tuples(st.sampled_from(CATEGORIES[:-1]), st.integers(min_value=-200, max_value=300),
                                   st.one_of(st.none(), st.integers(min_value=0, max_value=400))),
                         max_size=2)


def _claims(person, specs):
    out = []
    for day, kind, location, level, referral, total, scope_share, paid_share, maf in specs:
        scope = int(total * scope_share)
        basic = int(scope * paid_share * 0.7)
        critical = int((scope - basic) * paid_share * 0.3)
        payable_guess = max(0, scope - basic - critical)
        out.append(ClaimFactory(
            person=person, date=D(2023, 1, 1) + datetime.timedelta(days=day - 1), kind=kind, location=location,
            hospital_level=level, referral_compliant=referral, total=Decimal(total) / 100,
            policy_scope=Decimal(scope) / 100, basic_paid=Decimal(basic) / 100, critical_paid=Decimal(critical) / 100,
            maf_pay=Decimal(min(maf, payable_guess)) / 100))
    return out


def _set_identities(person, specs):
    from tests.factories import IdentityFactory

    Identity.objects.filter(person=person).delete()
    for category, start, length in specs:
        start_date = D(2023, 1, 1) + datetime.timedelta(days=start)
        IdentityFactory(person=person, category=category, start=start_date,
                        end=None if length is None else start_date + datetime.timedelta(days=length))


def _both_paths(person, app_ids, reason):
    states = {}
    for path in ("one", "batch"):
        try:
            with transaction.atomic():
                if path == "one":
                    settlement.recalculate_person_year(person_id=person.pk, year=2023, reason=reason)
                else:
                    recalc_batch.recalculate_person_years([(person.pk, 2023, reason)])
                states[path] = state_of(app_ids)
                raise Rollback
        except Rollback:
            pass
    return states


@settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(claims=claims_st, first=identities_st, second=identities_st, third=identities_st,
       split=st.integers(min_value=0, max_value=3), open_state=st.sampled_from([None, "draft", "submitted"]),
       tilted=st.booleans())
def test_one_case_and_batch_paths_store_the_same_rows(team, claims, first, second, third, split, open_state, tilted):
    try:
        with transaction.atomic():
            person = person_with_identity(category=None)
            _set_identities(person, [("tekun", -365, None)] + first)  # something to approve
            year_claims = [ClaimFactory(person=person, date=D(2023, 1, 2))] + _claims(person, claims)
            approved = make_case(team, "approved", person=person, claims=year_claims[:1 + split], tilted=tilted)
            app_ids = [approved.pk]
            rest = year_claims[1 + split:]
            if rest and open_state:
                app_ids.append(make_case(team, open_state, person=person, claims=rest).pk)
            for n, change in enumerate((second, third)):
                _set_identities(person, change)
                states = _both_paths(person, app_ids, f"change {n}")
                assert states["one"] == states["batch"]
                # keep the change (as the one-case path stores it) and go on with the next one
                settlement.recalculate_person_year(person_id=person.pk, year=2023, reason=f"change {n}")
            raise Rollback
    except Rollback:
        pass


def test_cap_flags_are_stored_on_the_lines_by_both_paths(team):
    """A 低保 person whose claims of the year exceed the 赣州 annual assistance cap: the lines from
    the one that reaches it on say so (as the engine's note does), on both paths."""
    person = person_with_identity(category="dibao", start=D(2022, 1, 1))
    claims = [ClaimFactory(person=person, date=D(2023, m, 1), total="60000.00", policy_scope="50000.00",
                           basic_paid="25000.00", critical_paid="5000.00") for m in range(1, 13)]
    app = make_case(team, "approved", person=person, claims=claims)
    lines = SettlementLine.objects.filter(settlement=app.approved_settlement).order_by("position")
    flags = [line.assistance_cap_reached for line in lines]
    assert any(flags) and not all(flags)
    assert [("已达年度救助限额" in line.notes) for line in lines] == flags
    Identity.objects.filter(person=person).update(category="tekun")
    states = _both_paths(person, [app.pk], "tekun")
    assert states["one"] == states["batch"]
    recalc_batch.recalculate_person_years([(person.pk, 2023, "tekun")])
    new = Settlement.objects.get(application=app, status="current")
    assert new.kind == "recalculation" and new.lines.count() == 12
    assert all(line.assistance_cap_reached == ("已达年度救助限额" in line.notes) for line in new.lines.all())
