"""Django settings for the appliance's admin, read from the environment.

Secrets also come from ``NAME_FILE`` (a root-provisioned file readable by the admin only), so they
never appear in a unit file, a command line or a process listing.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool = False) -> bool:
    value = os.getenv(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    return int(os.getenv(name, default))


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


def envsecret(name: str, default: str = "") -> str:
    """``NAME`` or the contents of the file named by ``NAME_FILE``."""
    path = os.getenv(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.getenv(name, default)


DEBUG = envbool("DEBUG")
SECRET_KEY = envsecret("SECRET_KEY") or ("django-insecure-development-only" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY_FILE (or SECRET_KEY): the admin needs a secret key.")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "appliance.catalogue.apps.CatalogueConfig",
    "appliance.deploy.apps.DeployConfig",
    "appliance.console.apps.ConsoleConfig",
    "appliance.releases.apps.ReleasesConfig",
    "appliance.alerts.apps.AlertsConfig",
    "appliance.monitor.apps.MonitorConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "appliance.console.middleware.LoginRequiredMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: it answers a locked-out login
]

ROOT_URLCONF = "appliance.urls"
WSGI_APPLICATION = "appliance.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "appliance" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The host's directories (FHS). Tests point APPLIANCE_ROOT at a temporary folder.
APPLIANCE_ROOT = Path(os.getenv("APPLIANCE_ROOT", "/"))
APPLIANCE_DATA_DIR = Path(os.getenv("APPLIANCE_DATA_DIR", APPLIANCE_ROOT / "var/lib/appliance"))
APPLIANCE_CONFIG_DIR = Path(os.getenv("APPLIANCE_CONFIG_DIR", APPLIANCE_ROOT / "etc/appliance"))
# Where the host's layout file is (paths shared with the root helper).
APPLIANCE_LAYOUT = os.getenv("APPLIANCE_LAYOUT", "/etc/appliance/layout.json")
# The Alexa Voice Service token store of the voice check (0600, the admin's: it refreshes).
APPLIANCE_AVS_CONFIG = Path(os.getenv("APPLIANCE_AVS_CONFIG", APPLIANCE_DATA_DIR / "avs.json"))
# Amazon's Skill Management API and Login with Amazon (publishing, the simulator): the real
# services by default; tests and local fakes point them elsewhere, as with AWS_ENDPOINT_URL_*.
ASK_SMAPI_URL = os.getenv("ASK_SMAPI_URL", "https://api.amazonalexa.com")
LWA_URL = os.getenv("LWA_URL", "https://api.amazon.com")
LWA_AUTHORIZE_URL = os.getenv("LWA_AUTHORIZE_URL", "https://www.amazon.com/ap/oa")
# Only for a local stand-in of SMAPI (skills.smapi.testing) that reaches this host's private
# names and trusts its CA: publishing then allows a .localhost endpoint and a private CA, which
# Amazon itself could never call.
SMAPI_REACHES_PRIVATE_HOSTS = envbool("SMAPI_REACHES_PRIVATE_HOSTS")
# What Amazon trusts for a skill's endpoint, for Ask Alexa's "certificate refused" check: a CA
# bundle file, empty for the public CAs (certifi's).
ASK_ENDPOINT_CA_BUNDLE = os.getenv("ASK_ENDPOINT_CA_BUNDLE", "")
# The S3 bucket a skill's Lambda zip over 50 MB goes through (made when missing); empty: one
# named after the AWS account and region (skills/lambda_deploy/code.py default_bucket).
LAMBDA_S3_BUCKET = os.getenv("LAMBDA_S3_BUCKET", "")
# How many revisions the catalogue keeps (besides the live one and the first); older ones are
# deleted after each apply: rollbacks reach back this far.
REVISIONS_KEEP = envint("APPLIANCE_REVISIONS_KEEP", 100)
# How many releases each skill keeps (with their code and venv); older ones are pruned.
RELEASES_KEEP = envint("APPLIANCE_RELEASES_KEEP", 5)
# How a deploy started from the admin's page runs: "process" (a manage.py skill_deploy of its
# own, which outlives the request) or "inline" (in the request; tests).
RELEASES_RUN = os.getenv("APPLIANCE_RELEASES_RUN", "process")
# Whether a git URL may name a repository on this host (file://); tests do, hosts do not.
RELEASES_LOCAL_GIT = envbool("APPLIANCE_RELEASES_LOCAL_GIT")
# How the admin reaches the root helper: its unix socket on a host, "direct" when already root
# (tests).
APPLIANCE_HELPER = envlist("APPLIANCE_HELPER", "socket,/run/appliance-helper.sock")

DATABASES = {
    "default": dj_database_url.parse(
        os.getenv("DATABASE_URL", f"sqlite:///{APPLIANCE_DATA_DIR / 'admin.sqlite3'}"),
        conn_max_age=600,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.getenv("TIME_ZONE", "UTC")
# Every time on a page in one format (appliance.console.timefmt) and in this time zone.
FORMAT_MODULE_PATH = ["appliance.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", APPLIANCE_DATA_DIR / "static"))
LOGIN_URL = "admin:login"

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user name from
# one address, that pair is refused (429) for AXES_COOLOFF_MINUTES, even with the right password;
# `manage.py axes_reset` (or axes_reset_username NAME) lifts it at once.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: it refuses a locked-out attempt
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Behind Caddy: the address Caddy saw, from X-Forwarded-For only when Caddy (a trusted proxy)
# sent the request (appliance.console.clientip).
APPLIANCE_TRUSTED_PROXIES = envlist("APPLIANCE_TRUSTED_PROXIES", "127.0.0.1,::1")
AXES_CLIENT_IP_CALLABLE = "appliance.console.clientip.client_ip"

# Behind Caddy, which terminates TLS and sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^_health$"]  # the local health check speaks plain HTTP
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
}
