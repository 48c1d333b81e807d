"""Settings for the test suite: production settings with a throwaway key and fast hashing."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("APPLIANCE_ROOT", tempfile.mkdtemp(prefix="appliance-test-root-"))
os.environ.setdefault("SECRET_KEY", "test-only-" + "x" * 50)

from .settings import *  # noqa: F403

SECRET_KEY = "test-only-" + "x" * 50
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
APPLIANCE_HELPER = ["direct"]
STATIC_ROOT = Path(os.environ["APPLIANCE_ROOT"]) / "static"
TIME_ZONE = "UTC"  # the times tests expect do not depend on the machine's environment
