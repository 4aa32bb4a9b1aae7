"""Login, the role-gated home page, language, the API's authentication and its schema."""
import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portal.roles.menu import MenuItem, register, unregister
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

TEST_ITEMS = (
    MenuItem(permission="cases.review_case", label="TEST-REVIEW-ITEM", url_name="api-me", order=999),
    MenuItem(permission="policies.edit_version", label="TEST-POLICY-ITEM", url_name="api-me", order=999),
    MenuItem(permission="cases.review_case", label="TEST-UNROUTED", url_name="no-such-url", order=999),
)


@pytest.fixture
def test_menu_items():
    """Entries of this module's tests only (the menu is process-wide: left in, other tests' pages show them)."""
    register(*TEST_ITEMS)
    yield
    unregister(*TEST_ITEMS)


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_login_page_is_chinese_by_default(client):
    response = client.get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'lang="zh-hans"' in body
    assert "登录" in body


def test_login_and_logout(client):
    user = make_user("caseworker", username="gz_cw")
    response = client.post(reverse("login"), {"username": "gz_cw", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 200 and user.display_name in home.content.decode()
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_is_refused_with_a_message(client):
    make_user("caseworker", username="gz_cw2")
    response = client.post(reverse("login"), {"username": "gz_cw2", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_home_shows_what_each_role_may_do(client, test_menu_items):
    reviewer = make_user("reviewer")
    client.force_login(reviewer)
    body = client.get(reverse("home")).content.decode()
    assert "TEST-REVIEW-ITEM" in body
    assert "TEST-POLICY-ITEM" not in body
    assert "TEST-UNROUTED" not in body
    assert "审核人" in body  # the role badge, in Chinese

    admin = make_user("policy_admin")
    client.force_login(admin)
    body = client.get(reverse("home")).content.decode()
    assert "TEST-POLICY-ITEM" in body and "TEST-REVIEW-ITEM" not in body


def test_user_without_role_is_told_so(client):
    client.force_login(make_user())
    assert "尚未分配" in client.get(reverse("home")).content.decode()


def test_an_english_browser_still_gets_chinese_until_the_user_switches(client):
    client.force_login(make_user("reviewer"))
    body = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-hans"' in body and "退出登录" in body


def test_english_is_switchable(client):
    client.force_login(make_user("reviewer"))
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = client.get(reverse("home")).content.decode()
    assert 'lang="en"' in body and "Log out" in body


def test_admin_is_for_superusers(client):
    client.force_login(make_user("reviewer"))
    assert client.get("/admin/").status_code == 302
    client.force_login(make_user(superuser=True))
    assert client.get("/admin/").status_code == 200


def test_api_needs_authentication():
    api = APIClient()
    assert api.get("/api/v1/me/").status_code in (401, 403)


def test_api_with_session_and_token():
    user = make_user("reviewer", region="130900")
    api = APIClient()
    api.force_login(user)
    data = api.get("/api/v1/me/").json()
    assert data["roles"] == [
        {"role": "reviewer", "role_label": data["roles"][0]["role_label"], "region": "130900", "department": "medical_security"}
    ]
    token_response = APIClient().post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert token_response.status_code == 200
    token = token_response.json()["token"]
    assert Token.objects.get(user=user).key == token
    api2 = APIClient()
    api2.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api2.get("/api/v1/me/").json()["username"] == user.username
    regions = {r["code"] for r in api2.get("/api/v1/regions/").json()}
    assert "130900" in regions and "360700" not in regions


def test_schema_and_swagger(client):
    assert client.get("/api/schema/").status_code in (401, 403)
    client.force_login(make_user())
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content and b"/api/v1/me/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_health(client):
    assert client.get("/health/").json() == {"status": "ok"}


def test_seed_demo_is_idempotent():
    from django.core.management import call_command

    from cases.models import Person
    from portal.accounts.models import User

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    users, persons = User.objects.count(), Person.objects.count()
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert (User.objects.count(), Person.objects.count()) == (users, persons)
    assert User.objects.filter(username="gz_approver").exists() and User.objects.filter(username="cz_civil").exists()
    assert persons >= 5


def test_home_shows_how_much_waits_in_an_inbox(client):
    inbox = MenuItem(permission="cases.approve_case", label="TEST-INBOX", url_name="api-me", order=998,
                     count=lambda user: 3)
    register(inbox)
    try:
        client.force_login(make_user("approver"))
        body = client.get(reverse("home")).content.decode()
    finally:
        unregister(inbox)  # the menu is process-wide
    assert "TEST-INBOX" in body and ">3</span>" in body
