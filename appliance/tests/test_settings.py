"""Production settings: everything from the environment, and Django's deploy checks clean."""

import os
import secrets
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "appliance.settings",
    "ALLOWED_HOSTS": "admin.example.duckdns.org",
    "CSRF_TRUSTED_ORIGINS": "https://admin.example.duckdns.org",
}


def manage(*args, env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET"))}
    return subprocess.run([sys.executable, "manage.py", *args], capture_output=True, text=True,
                          env={**environ, **env}, timeout=120)


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    key = tmp_path / "secret_key"
    key.write_text(secrets.token_urlsafe(50) + "\n")
    env = {**PRODUCTION, "SECRET_KEY_FILE": str(key), "APPLIANCE_DATA_DIR": str(tmp_path)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_secret_key_file_wins_and_is_never_printed(tmp_path):
    key = tmp_path / "secret_key"
    key.write_text("file-secret-" + secrets.token_urlsafe(50))
    env = {**PRODUCTION, "SECRET_KEY_FILE": str(key), "APPLIANCE_DATA_DIR": str(tmp_path)}
    result = manage("shell", "-c", "from django.conf import settings; "
                    "print(settings.SECRET_KEY.startswith('file-secret-'))", env=env)
    assert result.stdout.splitlines()[-1] == "True"


def test_without_a_secret_key_production_refuses_to_start(tmp_path):
    result = manage("check", env={**PRODUCTION, "APPLIANCE_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_is_off_unless_set(tmp_path):
    key = tmp_path / "secret_key"
    key.write_text(secrets.token_urlsafe(50))
    env = {**PRODUCTION, "SECRET_KEY_FILE": str(key), "APPLIANCE_DATA_DIR": str(tmp_path)}
    code = "from django.conf import settings; print(settings.DEBUG, settings.SECURE_SSL_REDIRECT)"
    assert manage("shell", "-c", code, env=env).stdout.splitlines()[-1] == "False True"
