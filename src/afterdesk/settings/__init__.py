"""Afterdesk settings, read from the environment (see README "Configuration")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from afterdesk.settings.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = Path(env_str("AFTERDESK_HOME", str(BASE_DIR.parent.parent)))
VAR_DIR = Path(env_str("AFTERDESK_VAR_DIR", str(PROJECT_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

_secret = env_str("SECRET_KEY", "")
if not _secret:
    # A per-installation key kept under var/, never in the repository.
    _key_file = VAR_DIR / "secret_key"
    if _key_file.exists():
        _secret = _key_file.read_text().strip()
    else:
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _secret = secrets.token_urlsafe(50)
        _key_file.write_text(_secret)
        _key_file.chmod(0o600)
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "afterdesk.core",
    "afterdesk.accounts",
    "afterdesk.customers",
    "afterdesk.cases",
    "afterdesk.sla",
    "afterdesk.knowledge",
    "afterdesk.portal",
    "afterdesk.intake",
    "afterdesk.triage",
    "afterdesk.rma",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "afterdesk.core.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "afterdesk.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "afterdesk.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "afterdesk.urls"
WSGI_APPLICATION = "afterdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]


def _database_from_url(url: str) -> dict[str, Any]:
    try:
        config: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        name = config.get("NAME") or str(VAR_DIR / "afterdesk.sqlite3")
        if name != ":memory:":
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        config["NAME"] = name
        # SQLite with a wake-on-release write lock between processes (see its docstring).
        config["ENGINE"] = "afterdesk.core.sqlite"
        # No memory-mapped I/O (mmap_size=0): every page of the file a process touched
        # through the map counted in its resident memory, and at 100,000 cases a web process
        # held 237 MB (the budget is 200 MB) for lists 2-3 ms faster. Pages are read with
        # pread from the operating system's cache and kept in SQLite's own (cache_size, 32 MB
        # at most per connection).
        config["OPTIONS"] = {
            # IMMEDIATE avoids "database is locked" when a reader upgrades to a writer.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA temp_store=MEMORY;"
                "PRAGMA mmap_size=0;"
                "PRAGMA cache_size=-32000;"
            ),
        }
    elif engine == "django.db.backends.postgresql":
        config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ImproperlyConfigured(
            f"DATABASE_URL must be sqlite:/// or postgres://, got engine {engine}"
        )
    return config


DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'afterdesk.sqlite3'}")
DATABASES = {"default": _database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # Shared by every process of the installation, so rate limits hold across workers.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "afterdesk_cache",
        }
    }

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Limits on what comes from outside.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
ATTACHMENT_ALLOWED_TYPES = env_list(
    "ATTACHMENT_ALLOWED_TYPES",
    [
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "text/csv",
        "video/mp4",
        "application/zip",
    ],
)
# Requests per minute per client address for unauthenticated look-ups (tracking).
TRACK_RATE_LIMIT_PER_MINUTE = env_int("TRACK_RATE_LIMIT_PER_MINUTE", 10, minimum=1)
# Customer portal: one-time sign-in links and the limits on asking for them and on submitting.
PORTAL_LINK_TTL_MINUTES = env_int("PORTAL_LINK_TTL_MINUTES", 15, minimum=1)
PORTAL_LOGIN_RATE_LIMIT_PER_MINUTE = env_int("PORTAL_LOGIN_RATE_LIMIT_PER_MINUTE", 10, minimum=1)
PORTAL_LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE = env_int(
    "PORTAL_LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE", 3, minimum=1
)
# Sign-in requests are answered no sooner than this, for known and unknown addresses alike.
PORTAL_LOGIN_MIN_RESPONSE_MS = env_int("PORTAL_LOGIN_MIN_RESPONSE_MS", 300, minimum=0)
PORTAL_SUBMIT_RATE_LIMIT_PER_MINUTE = env_int("PORTAL_SUBMIT_RATE_LIMIT_PER_MINUTE", 10, minimum=1)
# Behind a reverse proxy, the number of proxies whose X-Forwarded-For entries to trust.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Security: secure cookies when served over HTTPS (set HTTPS=1 behind TLS).
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script anywhere; inline style only because the API docs (Swagger UI) use it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
# A mail provider or relay that wants a login: STARTTLS (EMAIL_USE_TLS, port 587) or
# implicit TLS (EMAIL_USE_SSL, port 465); the password only ever comes from the environment.
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "support@example.com")
# A send that hangs must not stall the worker.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)

# Intake (see README "E-mail in and out"). The SMTP listener of `afterdesk smtpd`:
SMTPD_HOST = env_str("SMTPD_HOST", "127.0.0.1")
SMTPD_PORT = env_int("SMTPD_PORT", 2525, minimum=1)
# Larger messages are refused at SMTP time (552) and never stored.
INTAKE_MAX_MESSAGE_BYTES = env_int("INTAKE_MAX_MESSAGE_BYTES", 25 * 1024 * 1024, minimum=1024)
# The domain of our own Message-IDs (<AS-…@domain>), by default that of DEFAULT_FROM_EMAIL.
INTAKE_MESSAGE_ID_DOMAIN = env_str(
    "INTAKE_MESSAGE_ID_DOMAIN", DEFAULT_FROM_EMAIL.rpartition("@")[2] or "afterdesk.invalid"
)
# Loop and flood protection: messages one sender may turn into cases or replies per hour (the
# rest wait in quarantine), and acknowledgements one address receives per hour.
INTAKE_SENDER_MAX_PER_HOUR = env_int("INTAKE_SENDER_MAX_PER_HOUR", 60, minimum=1)
INTAKE_ACK_MAX_PER_HOUR = env_int("INTAKE_ACK_MAX_PER_HOUR", 5, minimum=0)
# A stored message still unprocessed after this long is handed to the worker again.
INTAKE_STUCK_AFTER_SECONDS = env_int("INTAKE_STUCK_AFTER_SECONDS", 300, minimum=1)
INTAKE_SWEEP_INTERVAL_SECONDS = env_int("INTAKE_SWEEP_INTERVAL_SECONDS", 60, minimum=1)

# Case numbers: a prefix and the date in TIME_ZONE, e.g. AS-20261123-00042. Upper-case letters
# and digits: a number typed or scanned in lower case is found by upper-casing it.
CASE_NUMBER_PREFIX = env_str("CASE_NUMBER_PREFIX", "AS")
if not re.fullmatch(r"[A-Z0-9]{1,10}", CASE_NUMBER_PREFIX):
    raise ImproperlyConfigured(
        f"CASE_NUMBER_PREFIX must be 1-10 upper-case letters or digits, got {CASE_NUMBER_PREFIX!r}"
    )
# How long a process may use its copy of the triage rules, routes, agents and model before
# checking the configuration version (one single-row read).
TRIAGE_CACHE_SECONDS = env_int("TRIAGE_CACHE_SECONDS", 5, minimum=0)

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "cases:queue"
LOGOUT_REDIRECT_URL = "accounts:login"
# Staff sign-in attempts per minute: per username, and per client address (a whole office
# may sit behind one address).
LOGIN_RATE_LIMIT_PER_MINUTE = env_int("LOGIN_RATE_LIMIT_PER_MINUTE", 10, minimum=1)
LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE = env_int("LOGIN_ADDRESS_RATE_LIMIT_PER_MINUTE", 30, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
