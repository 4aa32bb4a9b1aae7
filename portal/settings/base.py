"""Settings shared by every environment.

Everything that differs between machines comes from the environment (read with django-environ):

* ``DATABASE_URL`` — ``sqlite:///path`` or ``postgres://user@host:port/name``; unset means a SQLite
  file ``var/portal.sqlite3`` in the project (the embedded default).
* ``CELERY_BROKER_URL`` — ``redis://host:port/n``; unset means Celery eager mode (tasks run in
  the web process, on commit), so a fresh clone needs no broker.
* ``DJANGO_SECRET_KEY``, ``DJANGO_DEBUG``, ``DJANGO_ALLOWED_HOSTS``.
* ``PORTAL_DEV=1`` — the embedded development mode (``scripts/start``, the tests): DEBUG on and a
  secret key of this machine (kept in ``var/``) unless ``DJANGO_SECRET_KEY`` is given.
* ``PORTAL_TRUSTED_PROXIES`` — addresses or networks of the load balancers in front of the portal;
  only requests arriving from them may name the client in ``X-Forwarded-For`` (login lock-outs).

With nothing set the settings fail closed: DEBUG is off and there is no secret key, so nothing that
signs (sessions, CSRF, password reset) works until ``DJANGO_SECRET_KEY`` is set.
"""
import secrets
from pathlib import Path

import dj_database_url
import environ

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
# ../shared next to the repository: policy documents and the settlement contract's examples.
SHARED_DIR = Path(env.str("PORTAL_SHARED_DIR", default=str(BASE_DIR.parent / "shared")))


def env_bool(name: str, default: bool = False) -> bool:
    return env.bool(name, default=default)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env.str(name, default=default).split(",") if item.strip()]


def _development_key() -> str:
    """A random key of this checkout, made once and kept in var/ (never a key known to anyone else)."""
    path = VAR_DIR / "dev-secret-key"
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if len(key) < 50:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
    return key


DEVELOPMENT = env_bool("PORTAL_DEV", False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (_development_key() if DEVELOPMENT else "")
DEBUG = env_bool("DJANGO_DEBUG", DEVELOPMENT)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# The debug page (development only) and error reports never show connection strings or secrets.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.middleware.SecretsHiddenReporterFilter"

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
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
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
    "cases.monitoring",
    "cases.enrolment",
    "cases.reporting",
    "portal.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.HostileRequestMiddleware",  # %00, ids beyond any integer: 400/404, not 500
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.ChineseByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.audit.context.AuditContextMiddleware",
    "portal.middleware.IdleSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # last: turns a lock-out flagged by the login views (web, admin, API token) into its answer
    "axes.middleware.AxesMiddleware",
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
        env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'portal.sqlite3'}",
        conn_max_age=env.int("DATABASE_CONN_MAX_AGE", default=60),
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
    # first: refuses a locked-out username or address before any password is checked
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
    # the portal's named permissions (portal.permissions, django-rules): user.has_perm("cases.review_case")
    "rules.permissions.ObjectPermissionBackend",
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

# --- Sign-in lock-outs (django-axes; portal/accounts/lockout.py) ------------------------------
# Counted on the normalised username (trimmed, NFKC, case-folded) and on the client address, taken
# from X-Forwarded-For only when the request comes from one of PORTAL_TRUSTED_PROXIES.
PORTAL_TRUSTED_PROXIES = env_list("PORTAL_TRUSTED_PROXIES")
AXES_HANDLER = "portal.accounts.lockout.PortalAxesHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env.int("PORTAL_LOGIN_FAILURES_PER_USERNAME", default=5)
PORTAL_LOGIN_FAILURES_PER_ADDRESS = env.int("PORTAL_LOGIN_FAILURES_PER_ADDRESS", default=30)
# The first lock-out lasts this long; each further one of the same username or address within a
# day doubles it, up to the maximum. An administrator unlocks in the admin (访问尝试) or with
# ``manage.py axes_reset_username NAME``.
PORTAL_LOGIN_COOLOFF_MINUTES = env.int("PORTAL_LOGIN_COOLOFF_MINUTES", default=5)
PORTAL_LOGIN_COOLOFF_MAX_MINUTES = env.int("PORTAL_LOGIN_COOLOFF_MAX_MINUTES", default=8 * 60)
AXES_COOLOFF_TIME = "portal.accounts.lockout.cool_off"
AXES_USERNAME_CALLABLE = "portal.accounts.lockout.lockout_username"
AXES_CLIENT_IP_CALLABLE = "portal.accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "portal.accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = False  # the handler forgets the username's failures itself, not the address's
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_SENSITIVE_PARAMETERS = ["password"]
# API tokens (Authorization: Token …) stop working after this many hours; logging out and changing
# the password revoke them at once.
PORTAL_API_TOKEN_HOURS = env.int("PORTAL_API_TOKEN_HOURS", default=8)

# --- Sessions ---------------------------------------------------------------------------------
# Signed out after this many minutes without a request (portal.middleware.IdleSessionMiddleware),
# and at the latest after a working day.
PORTAL_SESSION_IDLE_MINUTES = env.int("PORTAL_SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Content-Security-Policy (django-csp): no inline scripts, nothing from other sites -----------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # stylesheets from 'self' only: no style attributes or <style> elements in pages (issue 13)
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

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
# Uploads are hashed as they arrive (portal.uploads): storing one needs no second pass over it.
FILE_UPLOAD_HANDLERS = [
    "portal.uploads.HashingMemoryFileUploadHandler",
    "portal.uploads.HashingTemporaryFileUploadHandler",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",  # one error body (portal.errors)
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "portal.accounts.tokens.ExpiringTokenAuthentication",
    ],
    # signed in, and the view's declared permission (portal.permissions), when it declares one
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "portal.permissions.DeclaredPermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON nested too deeply → 400; JSON numbers keep their spelling (1e10 never becomes money)
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "重特大疾病医疗保险和救助 经办门户 API",
    "DESCRIPTION": "Case management for medical assistance (医疗救助): persons, identities, claims, "
    "applications, settlement, payments, department exchange and monitoring.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # the schema and Swagger UI are for signed-in users; Swagger UI is served from static files
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
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
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or (CELERY_BROKER_URL or None)
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
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
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
# Monthly subsidy lists (cases/enrolment/beat.py) and monitoring (cases/monitoring/beat.py).
from cases.enrolment.beat import SCHEDULE as _ENROLMENT_BEAT  # noqa: E402
from cases.monitoring.beat import SCHEDULE as _MONITORING_BEAT  # noqa: E402

CELERY_BEAT_SCHEDULE.update(_ENROLMENT_BEAT)
CELERY_BEAT_SCHEDULE.update(_MONITORING_BEAT)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}

# Recalculation tasks started together after an identity, policy or statistic change; they share the
# marks, so a large recalculation keeps this many worker processes busy (cases/services/recalc.py).
EXCHANGE_RECALC_PARALLEL = env.int("EXCHANGE_RECALC_PARALLEL", default=2)
