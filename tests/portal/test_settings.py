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
