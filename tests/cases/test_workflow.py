"""The transition service, over its whole table: every transition by the role that may take it,
refused for every other role, from every other state, outside the region; four eyes; reasons."""
import pytest
from django.db import transaction

from cases.models import ApplicationEvent, ApplicationState
from cases.selectors import allowed_actions
from cases.services import workflow
from cases.services.workflow import TRANSITIONS
from tests.cases.factories import make_case, make_team
from tests.factories import make_user

pytestmark = pytest.mark.django_db

ROLES = ["caseworker", "reviewer", "approver", "payment_officer", "liaison", "auditor"]

# The workflow as the bureau's procedure describes it, written out by hand (not derived from the
# code): (action, from state, the one role that may take it, to state).
EXPECTED = [
    ("submit", "draft", "caseworker", "submitted"),
    ("resubmit", "returned", "caseworker", "submitted"),
    ("withdraw", "draft", "caseworker", "withdrawn"),
    ("withdraw", "submitted", "caseworker", "withdrawn"),
    ("withdraw", "returned", "caseworker", "withdrawn"),
    ("start_review", "submitted", "reviewer", "in_review"),
    ("pass", "in_review", "reviewer", "reviewed"),
    ("return", "in_review", "reviewer", "returned"),
    ("ask_department", "in_review", "reviewer", "awaiting_identity"),
    ("identity_answered", "awaiting_identity", "liaison", "in_review"),
    ("approve", "reviewed", "approver", "approved"),
    ("reject", "in_review", "reviewer", "rejected"),
    ("reject", "reviewed", "approver", "rejected"),
    ("batch", "approved", "payment_officer", "in_payment"),
    ("bank_ok", "in_payment", "payment_officer", "paid"),
    ("bank_failed", "in_payment", "payment_officer", "approved"),
]
ALLOWED = [(action, state, role) for action, state, role, _to in EXPECTED]
TO_STATE = {action: to for action, _state, _role, to in EXPECTED}


def test_the_code_allows_exactly_the_written_workflow():
    in_code = sorted(
        (action, str(state), str(role), str(rule.to_state))
        for action, rule in TRANSITIONS.items() for state, role in rule.roles.items()
    )
    assert in_code == sorted(EXPECTED)
REFUSED_ROLE = [(a, s, other) for a, s, role in ALLOWED for other in ROLES if other != role]
WRONG_STATE = [
    (action, state)
    for action in TO_STATE
    for state in ("draft", "submitted", "in_review", "reviewed", "approved", "paid")
    if (action, state) not in {(a, s) for a, s, _r in ALLOWED}
]


def actor(team, role):
    return {
        "caseworker": team.caseworker, "reviewer": team.reviewer, "approver": team.approver,
        "payment_officer": team.payment, "liaison": team.civil, "auditor": team.auditor,
    }[role]


def run(team, app, action, user, comment="理由"):
    return workflow.transition(
        acting_user=user, application_id=app.pk, action=action, comment=comment,
        category="dibao" if action == "ask_department" else None,
        via_payments=action in ("batch", "bank_ok", "bank_failed"),
    )


@pytest.mark.parametrize("action,state,role", ALLOWED, ids=[f"{a}-{s}-{r}" for a, s, r in ALLOWED])
def test_every_transition_by_its_role(team, action, state, role):
    app = make_case(team, state)
    user = actor(team, role)
    before = ApplicationEvent.objects.filter(application=app).count()
    moved = run(team, app, action, user)
    assert moved.state == TO_STATE[action]
    app.refresh_from_db()
    assert app.state == TO_STATE[action]
    event = ApplicationEvent.objects.filter(application=app).order_by("-id").first()
    assert ApplicationEvent.objects.filter(application=app).count() == before + 1
    assert (event.action, event.from_state, event.to_state, event.actor_id, event.comment) == (
        action, state, TO_STATE[action], user.pk, "理由")


@pytest.mark.parametrize("action,state,role", REFUSED_ROLE, ids=[f"{a}-{s}-{r}" for a, s, r in REFUSED_ROLE])
def test_every_transition_refused_for_other_roles(team, action, state, role):
    app = make_case(team, state)
    with pytest.raises((workflow.RoleRequired, workflow.FourEyesViolation)) as err:
        run(team, app, action, actor(team, role))
    assert err.value.http_status == 403
    app.refresh_from_db()
    assert app.state == state


@pytest.mark.parametrize("action,state", WRONG_STATE, ids=[f"{a}-from-{s}" for a, s in WRONG_STATE])
def test_every_transition_refused_from_other_states(team, action, state):
    app = make_case(team, state)
    role = next(r for a, _s, r in ALLOWED if a == action)
    with pytest.raises(workflow.StateConflict) as err:
        run(team, app, action, actor(team, role))
    assert err.value.http_status == 409
    app.refresh_from_db()
    assert app.state == state


@pytest.mark.parametrize("action,state,role", ALLOWED, ids=[f"{a}-{s}-{r}" for a, s, r in ALLOWED])
def test_every_transition_refused_outside_the_region(team, cz_team, action, state, role):
    app = make_case(team, state)
    outsider = actor(cz_team, role)
    with pytest.raises(workflow.OutOfRegion) as err:
        run(team, app, action, outsider)
    assert err.value.http_status == 403 and "360702" in str(err.value)


def test_a_province_role_covers_the_cities_below(team):
    app = make_case(team, "submitted")
    provincial = make_user("reviewer", region="360000")
    assert run(team, app, "start_review", provincial).state == "in_review"


def test_conflict_names_who_moved_the_case_first(team):
    app = make_case(team, "submitted")
    workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="start_review")
    with pytest.raises(workflow.StateConflict) as err:
        workflow.transition(acting_user=team.reviewer2, application_id=app.pk, action="start_review")
    assert team.reviewer.display_name in str(err.value)


def test_expected_state_turns_a_stale_screen_into_a_conflict(team):
    app = make_case(team, "in_review")
    with pytest.raises(workflow.StateConflict):
        workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="pass", expected_state="submitted")
    assert workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="pass",
                               expected_state="in_review").state == "reviewed"


def test_four_eyes_approver_is_not_the_reviewer(team):
    both = make_user("reviewer", "approver", region="360700")
    app = make_case(team, "in_review")
    workflow.transition(acting_user=both, application_id=app.pk, action="pass")
    with pytest.raises(workflow.FourEyesViolation) as err:
        workflow.transition(acting_user=both, application_id=app.pk, action="approve")
    assert err.value.http_status == 403
    with pytest.raises(workflow.FourEyesViolation):
        workflow.transition(acting_user=both, application_id=app.pk, action="reject", comment="x")
    assert "approve" not in allowed_actions(both, app)
    assert workflow.transition(acting_user=team.approver, application_id=app.pk, action="approve").state == "approved"


def test_four_eyes_payment_officer_is_not_the_approver(team):
    both = make_user("approver", "payment_officer", region="360700")
    app = make_case(team, "reviewed")
    workflow.transition(acting_user=both, application_id=app.pk, action="approve")
    with pytest.raises(workflow.FourEyesViolation):
        workflow.transition(acting_user=both, application_id=app.pk, action="batch", via_payments=True)


@pytest.mark.parametrize("action,state,role", [
    ("return", "in_review", "reviewer"), ("reject", "in_review", "reviewer"), ("reject", "reviewed", "approver"),
    ("bank_failed", "in_payment", "payment_officer"),
])
def test_a_reason_is_required(team, action, state, role):
    app = make_case(team, state)
    with pytest.raises(workflow.ReasonRequired) as err:
        run(team, app, action, actor(team, role), comment="   ")
    assert err.value.http_status == 400
    app.refresh_from_db()
    assert app.state == state


def test_payment_actions_only_through_the_payment_service(team):
    app = make_case(team, "approved")
    with pytest.raises(workflow.PaymentsOnly):
        workflow.transition(acting_user=team.payment, application_id=app.pk, action="batch")


def test_unknown_action_and_missing_case(team):
    app = make_case(team, "draft")
    with pytest.raises(workflow.UnknownAction):
        workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="teleport")
    with pytest.raises(workflow.ApplicationNotFound):
        workflow.transition(acting_user=team.caseworker, application_id=999999, action="submit")


def test_identity_answered_by_the_owning_department_or_the_system(team):
    app = make_case(team, "awaiting_identity")
    assert app.pending_category == "dibao"
    with pytest.raises(workflow.RoleRequired) as err:
        workflow.transition(acting_user=team.rural, application_id=app.pk, action="identity_answered")
    assert "民政" in str(err.value) or "Civil" in str(err.value)
    assert allowed_actions(team.civil, app) == ["identity_answered"]
    assert allowed_actions(team.rural, app) == []
    moved = workflow.transition(acting_user=None, application_id=app.pk, action="identity_answered", comment="已确认")
    assert moved.state == "in_review" and moved.pending_category == ""
    assert ApplicationEvent.objects.filter(application=app).last().actor_id is None


def test_the_system_may_not_take_other_actions(team):
    app = make_case(team, "submitted")
    with pytest.raises(workflow.RoleRequired):
        workflow.transition(acting_user=None, application_id=app.pk, action="start_review")


def test_ask_department_needs_a_category_a_department_owns(team):
    app = make_case(team, "in_review")
    with pytest.raises(workflow.DetailMissing):
        workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="ask_department")
    with pytest.raises(workflow.DetailMissing):
        workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="ask_department",
                            category="other_special")


def test_submit_needs_claims_and_a_payee(team):
    from cases.services import applications
    from tests.cases.factories import person_with_identity
    from tests.factories import PersonFactory

    person = person_with_identity()
    app = applications.create_application(acting_user=team.caseworker, person_id=person.pk, year=2023)
    with pytest.raises(workflow.DetailMissing) as err:
        workflow.transition(acting_user=team.caseworker, application_id=app.pk, action="submit")
    assert "claim" in str(err.value).lower() or "结算记录" in str(err.value)
    no_bank = PersonFactory(region_id="360702")
    app2 = make_case(team, "draft", person=no_bank, claims=[])
    from tests.cases.factories import ClaimFactory

    applications.add_claims(acting_user=team.caseworker, application_id=app2.pk, claim_ids=[ClaimFactory(person=no_bank).pk])
    with pytest.raises(workflow.DetailMissing) as err:
        workflow.transition(acting_user=team.caseworker, application_id=app2.pk, action="submit")
    assert "bank" in str(err.value).lower() or "银行" in str(err.value)


def test_allowed_actions_per_role(team):
    draft = make_case(team, "draft")
    assert allowed_actions(team.caseworker, draft) == ["submit", "withdraw"]
    assert allowed_actions(team.reviewer, draft) == []
    review = make_case(team, "in_review")
    assert allowed_actions(team.reviewer, review) == ["pass", "return", "ask_department", "reject"]
    assert allowed_actions(team.approver, review) == []
    reviewed = make_case(team, "reviewed")
    assert allowed_actions(team.approver, reviewed) == ["approve", "reject"]
    assert allowed_actions(team.auditor, reviewed) == []
    cz = make_team("130900")
    assert allowed_actions(cz.approver, reviewed) == []


def test_pass_waits_for_a_current_settlement(team):
    from cases.services import settlement

    app = make_case(team, "in_review")
    settlement.inputs_changed(application_ids=[app.pk], reason="test")  # revision moves on, task not run yet
    with pytest.raises(workflow.SettlementNotReady) as err:
        workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="pass")
    assert err.value.http_status == 409
    settlement.settle_application(app.pk)
    assert workflow.transition(acting_user=team.reviewer, application_id=app.pk, action="pass").state == "reviewed"


def test_a_failing_side_effect_rolls_the_transition_back(team, monkeypatch):
    app = make_case(team, "reviewed")

    def boom(*a, **k):
        raise RuntimeError("ledger down")

    monkeypatch.setattr("cases.services.settlement.allocate_on_approval", boom)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            workflow.transition(acting_user=team.approver, application_id=app.pk, action="approve")
    app.refresh_from_db()
    assert app.state == ApplicationState.REVIEWED
    assert not ApplicationEvent.objects.filter(application=app, action="approve").exists()


def test_terminal_states_release_the_claims(team):
    from cases.models import ApplicationClaim

    app = make_case(team, "withdrawn")
    assert not ApplicationClaim.objects.filter(application=app, active=True).exists()
    claim = ApplicationClaim.objects.get(application=app).claim
    again = make_case(team, "draft", person=claim.person, claims=[claim])
    assert ApplicationClaim.objects.get(application=again).active
