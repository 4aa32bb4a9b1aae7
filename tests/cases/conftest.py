import pytest

from tests.cases.factories import add_statistics, make_team


def _forget_policy_books():
    try:
        from policies import bookcache
    except ImportError:  # pragma: no cover
        return
    bookcache.forget()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Test users need a password but not a slow hash (ten users per team)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def stats(db):
    """The statistics the engine needs for 2023 claims in 赣州市 and 沧州市."""
    _forget_policy_books()
    add_statistics()
    yield
    _forget_policy_books()


@pytest.fixture
def team(stats):
    return make_team("360700")


@pytest.fixture
def cz_team(stats):
    return make_team("130900")
