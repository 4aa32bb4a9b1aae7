"""Monitoring's SQL (``cases.monitoring.services``: the stored settlements' and the ordinary
residents' out-of-pocket, summed and compared with the thresholds in SQL) is pinned to the engine's
step 8: for random person-years — watched or assisted identities starting and ending during the year,
residences, schemes, claims with or without the insurers' payments, some with a case whose stored
settlement is read instead of settling — the warnings a run raises are exactly the alerts
``policies.engine.settle`` gives for the same person-year (kind, claim, threshold, out-of-pocket)."""
import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from cases.monitoring import services as monitoring
from cases.monitoring.models import MonitoringWarning
from policies import engine
from policies.services import book_for
from tests.cases.factories import ClaimFactory, add_statistics, make_case, make_team
from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db
D = datetime.date

REGIONS = {"130900": "130903", "360700": "360702"}   # 沧州, 赣州: city → county
CATEGORIES = ["dibao_edge", "dibao", "tuopin", "jiance", "tekun", "fanpin"]


class Rollback(Exception):
    pass


identity = st.tuples(st.sampled_from(CATEGORIES), st.integers(min_value=-400, max_value=330),
                     st.one_of(st.none(), st.integers(min_value=0, max_value=200)))
claim = st.tuples(
    st.integers(min_value=0, max_value=364),                 # day of 2023
    st.builds(lambda yuan, fen: yuan * 100 + fen,            # total, fen (near and far from the thresholds)
              st.sampled_from([3_000, 8_000, 9_500, 12_000, 17_000, 19_000, 25_000, 40_000, 60_000]),
              st.integers(min_value=0, max_value=99_999)),
    st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=0.5), st.floats(min_value=0, max_value=0.5),
    st.sampled_from([True, True, False]),                    # B and C given
)
person = st.tuples(st.sampled_from(["rural", "rural", "urban"]), st.sampled_from(["resident", "resident", "employee"]),
                   st.lists(identity, max_size=1), st.lists(claim, min_size=1, max_size=4),
                   st.sampled_from([None, "submitted"]))


def _make(region, spec, team):
    residence, scheme, identities, claims, case = spec
    p = PersonFactory(region_id=region, residence=residence, scheme=scheme, bank_name="银行",
                      bank_account="6217000012345678", account_holder="户主")
    for category, start, length in identities:
        s = D(2023, 1, 1) + datetime.timedelta(days=start)
        IdentityFactory(person=p, category=category, start=s,
                        end=None if length is None else s + datetime.timedelta(days=length))
    made = []
    for day, total, scope_share, basic_share, critical_share, given_bc in claims:
        scope = int(total * scope_share)
        basic = int(scope * basic_share)
        critical = int((scope - basic) * critical_share)
        made.append(ClaimFactory(
            person=p, date=D(2023, 1, 1) + datetime.timedelta(days=day), location="county",
            total=Decimal(total) / 100, policy_scope=Decimal(scope) / 100,
            basic_paid=Decimal(basic) / 100 if given_bc else None,
            critical_paid=Decimal(critical) / 100 if given_bc else None))
    if case:  # not tilted: the engine below settles without tilted assistance too
        make_case(team, case, person=p, claims=made)
    return p


def _engine_alerts(p, region):
    identities = [engine.Identity(category=i.category, start=i.start, end=i.end)
                  for i in p.identities.order_by("start", "category", "id")]
    claims = [engine.Claim(id=f"c{c.pk}", date=c.date, kind=c.kind, total=c.total, policy_scope=c.policy_scope,
                           special_disease=c.special_disease, hospital_level=c.hospital_level, location=c.location,
                           referral_compliant=c.referral_compliant, basic_paid=c.basic_paid,
                           critical_paid=c.critical_paid)
              for c in p.claims.filter(voided_at__isnull=True).order_by("date", "id")]
    inp = engine.SettlementInput(region=region, person=engine.Person(p.residence, p.scheme, identities), claims=claims,
                                 tilted_applied=False)
    try:
        result = engine.settle(inp, book_for(region))
    except engine.EngineError:
        return set()
    return {(a.kind, a.claim, a.threshold, a.out_of_pocket) for a in result.alerts}


@pytest.fixture
def teams():
    add_statistics()
    return {city: make_team(city) for city in REGIONS}


@settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(city=st.sampled_from(sorted(REGIONS)), people=st.lists(person, min_size=1, max_size=3))
def test_monitoring_raises_exactly_the_engines_alerts(teams, city, people):
    region = REGIONS[city]
    try:
        with transaction.atomic():
            made = [_make(region, spec, teams[city]) for spec in people]
            run = monitoring.start_run(acting_user=None, trigger="command", year=2023, region_code=city,
                                       enqueue=False)
            run = monitoring.execute_run(run_id=run.pk)
            event(f"person-years read in SQL: {run.person_years - run.computed_person_years}, "
                  f"warnings: {min(run.warnings_created, 2)}")
            for p in made:
                got = {(w.kind, w.claim_ref, w.threshold, w.out_of_pocket)
                       for w in MonitoringWarning.objects.filter(person=p, year=2023)}
                assert got == _engine_alerts(p, region), (p.pk, people)
            raise Rollback
    except Rollback:
        pass
