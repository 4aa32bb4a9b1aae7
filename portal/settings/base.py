"""Settings shared by every environment.

Everything that differs between machines comes from the environment:

* ``DATABASE_URL`` — ``sqlite:///path`` or ``postgres://user@host:port/name``; unset means a SQLite
  file ``var/portal.sqlite3`` in the project (the embedded default).
* ``CELERY_BROKER_URL`` — ``redis://host:port/n``; unset means Celery eager mode (tasks run in
  the web process, on commit), so a fresh clone needs no broker.
* ``DJANGO_SECRET_KEY``, ``DJANGO_DEBUG``, ``DJANGO_ALLOWED_HOSTS``.
"""
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))
# ../shared next to the repository: policy documents and the settlement contract's examples.
SHARED_DIR = Path(os.environ.get("PORTAL_SHARED_DIR", BASE_DIR.parent / "shared"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "guardian",
    "django_htmx",
    "django_celery_beat",
    "pgtrigger",
    "pghistory",
    "portal.accounts",
    "portal.regions",
    "portal.roles",
    "portal",
    "policies",
    "cases",
    "cases.exchange",
    "portal.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.ChineseByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.roles.context_processors.roles",
                "portal.context_processors.background_status",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'portal.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the eager Celery tasks and the web process share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
GUARDIAN_RAISE_403 = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Language and time ------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# One catalogue per part of the portal, so that each part keeps its own translations.
# locale/<part>/zh_Hans/LC_MESSAGES/django.po; locale/portal first (makemessages writes there).
LOCALE_PATHS = sorted((p for p in (BASE_DIR / "locale").iterdir() if p.is_dir()), key=lambda p: (p.name != "portal", p.name))
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",  # one error body (portal.errors)
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "重特大疾病医疗保险和救助 经办门户 API",
    "DESCRIPTION": "Case management for medical assistance (医疗救助): persons, identities, claims, "
    "applications, settlement, payments, department exchange and monitoring.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Stable names for the code lists, one per list, whatever field carries it.
    "ENUM_NAME_OVERRIDES": {
        "CasesClaimKindEnum": "cases.models.ClaimKind", "CasesLocationEnum": "cases.models.Location",
        "CasesHospitalLevelEnum": "cases.models.HospitalLevel", "CasesResidenceEnum": "cases.models.Residence",
        "CasesSchemeEnum": "cases.models.Scheme", "CasesSexEnum": "cases.models.Sex",
        "CasesApplicationStateEnum": "cases.models.ApplicationState", "CasesPayeeTypeEnum": "cases.models.PayeeType",
        "CasesSettlementStatusEnum": "cases.models.SettlementStatus",
        "CasesSettlementKindEnum": "cases.models.SettlementKind", "CasesAdjustmentKindEnum": "cases.models.AdjustmentKind",
        "CasesAdjustmentStatusEnum": "cases.models.AdjustmentStatus", "CasesBatchStatusEnum": "cases.models.BatchStatus",
        "CasesPaymentLineKindEnum": "cases.models.PaymentLineKind",
        "CasesPaymentLineStatusEnum": "cases.models.PaymentLineStatus",
        "CasesRecognitionMethodEnum": "cases.models.RecognitionMethod", "CasesCategoryEnum": "portal.roles.domain.Category",
        "CasesClaimSourceEnum": "cases.models.ClaimSource", "CasesIdNumberViewChannelEnum": "cases.models.IdNumberView.Channel",
        "CasesTransitionActionEnum": "cases.api.serializers.TRANSITION_ACTIONS",
        "CasesPaymentOutcomeEnum": "cases.api.serializers.PAYMENT_OUTCOMES",
        "CasesBankReturnStatusEnum": "cases.models.BankReturnStatus",
        "ExchangePushStatusEnum": "cases.exchange.models.PushStatus",
        "ExchangeConfirmationStatusEnum": "cases.exchange.models.ConfirmationStatus",
        "PoliciesVersionStatusEnum": "policies.models.VersionStatus",
    },
    # the framework's own answers (415, unreadable body, unknown id or page): portal/api/schema.py
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.document_framework_errors",
    ],
}

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or (CELERY_BROKER_URL or None)
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is redelivered; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task whose worker died (SIGKILL, lost machine) is handed out again once this many seconds have
# passed since it was delivered (acks late). It must exceed the longest task; tests of worker
# deaths shorten it with CELERY_VISIBILITY_TIMEOUT.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT") or 3600)}
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] < 600:
    # Sweep for abandoned deliveries often enough for such a short timeout to matter; a worker killed
    # while it held the sweep's lock must not keep the others from sweeping for the default 5 minutes.
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        unacked_restore_interval=1, unacked_restore_throttle=1,
        unacked_mutex_expire=max(2, CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]),
    )
# Fail fast when Redis is down: jobs wait in the outbox (portal.jobs) instead of blocking requests.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] = 2
CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"] = 5
# Periodic jobs; each app appends its own entries.
CELERY_BEAT_SCHEDULE: dict = {
    "flush-outbox": {"task": "portal.flush_outbox", "schedule": 60.0},
}
# Department exchange: monthly subsidy lists and monitoring (cases/exchange/beat.py).
from cases.exchange.beat import SCHEDULE as _EXCHANGE_BEAT  # noqa: E402

CELERY_BEAT_SCHEDULE.update(_EXCHANGE_BEAT)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}

# Recalculation tasks started together after an identity, policy or statistic change; they share the
# marks, so a large recalculation keeps this many worker processes busy (cases/exchange/services/recalc.py).
EXCHANGE_RECALC_PARALLEL = int(os.environ.get("EXCHANGE_RECALC_PARALLEL") or 2)
