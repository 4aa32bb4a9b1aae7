"""The environment decides the database and the broker; production settings pass check --deploy."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'],"
    " 'name': str(settings.DATABASES['default']['NAME']),"
    " 'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'broker': settings.CELERY_BROKER_URL}))"
)


def probe(env: dict, module: str = "portal.settings") -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    clean.update(env, DJANGO_SETTINGS_MODULE=module)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=clean, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_nothing_set_means_sqlite_file_and_eager_celery(tmp_path):
    got = probe({"PORTAL_VAR_DIR": str(tmp_path)})
    assert got["engine"] == "django.db.backends.sqlite3"
    assert got["name"] == str(tmp_path / "portal.sqlite3")
    assert got["eager"] is True and got["broker"] == ""


def test_database_url_switches_to_postgres_and_broker_to_a_worker():
    got = probe({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/portal", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"})
    assert got["engine"] == "django.db.backends.postgresql"
    assert got["name"] == "portal"
    assert got["eager"] is False and got["broker"] == "redis://127.0.0.1:6379/0"


def test_sqlite_url_is_honoured(tmp_path):
    got = probe({"DATABASE_URL": f"sqlite:///{tmp_path}/other.db"})
    assert got["engine"] == "django.db.backends.sqlite3" and got["name"].endswith("other.db")


def test_production_settings_pass_check_deploy_without_warnings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.production",
        DJANGO_SECRET_KEY="x" * 20 + "-a-long-random-production-secret-key-0123456789",
        DJANGO_ALLOWED_HOSTS="portal.example.gov.cn",
        PORTAL_VAR_DIR=str(tmp_path),
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_production_settings_refuse_a_missing_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings.production", DJANGO_ALLOWED_HOSTS="x", PORTAL_VAR_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "DJANGO_SECRET_KEY" in out.stderr


@pytest.mark.postgres
def test_suite_runs_on_postgres_when_asked(db):
    from django.db import connection

    assert connection.vendor == "postgresql"


CLOSED_PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "from django.core.exceptions import ImproperlyConfigured\n"
    "try:\n    key = bool(settings.SECRET_KEY)\nexcept ImproperlyConfigured:\n    key = False\n"
    "print(json.dumps({'debug': settings.DEBUG, 'key': key}))"
)


def closed_probe(env: dict) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "PORTAL_DEV", "DJANGO_SECRET_KEY", "DJANGO_DEBUG"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="portal.settings")
    out = subprocess.run([sys.executable, "-c", CLOSED_PROBE], cwd=REPO, env=clean, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_nothing_set_fails_closed_no_debug_and_no_secret_key(tmp_path):
    assert closed_probe({"PORTAL_VAR_DIR": str(tmp_path)}) == {"debug": False, "key": False}


def test_the_development_mode_is_explicit_and_its_key_is_this_machines_own(tmp_path):
    got = closed_probe({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_DEV": "1"})
    assert got == {"debug": True, "key": True}
    key = (tmp_path / "dev-secret-key").read_text()
    assert len(key) >= 50 and key not in (REPO / "portal").joinpath("settings", "base.py").read_text()


def test_scripts_start_sets_the_development_mode_explicitly():
    assert "export PORTAL_DEV=${PORTAL_DEV:-1}" in (REPO / "scripts" / "start").read_text()


def test_the_example_env_file_carries_no_usable_key(tmp_path):
    example = (REPO / "deploy" / "systemd" / "portal.env.example").read_text()
    values = dict(line.split("=", 1) for line in example.splitlines() if "=" in line and not line.startswith("#"))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "PORTAL_DEV"}}
    env.update(values, PORTAL_VAR_DIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    out = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "DJANGO_SECRET_KEY" in out.stderr


def test_the_debug_page_hides_connection_strings(rf, settings):
    from django.views.debug import ExceptionReporter

    settings.DEBUG = True
    request = rf.get("/", HTTP_X_X="1")
    secret = "-".join(["never", "shown"])  # (not spelled out: the page shows this source line)
    request.META["DATABASE_URL"] = f"postgres://portal:{secret}@db/portal"
    request.META["CELERY_BROKER_URL"] = f"redis://:{secret}@redis/0"
    settings.CELERY_BROKER_URL = f"redis://:{secret}@redis/0"
    try:
        raise ValueError("boom")
    except ValueError as exc:
        html = ExceptionReporter(request, type(exc), exc, None).get_traceback_html()
    assert html.count(secret) == 0
