import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.DEBUG)"
)


def _run(env: dict) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in _PROVENANT_VARS}
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


_PROVENANT_VARS = {
    "APP_ENV",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "PROVENANT_TESTING",
    "DEBUG",
    "RECEIPT_SIGNING_KEY",
}

PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 50,
    "ALLOWED_HOSTS": "provenant.example",
    "DATABASE_URL": "postgres://app@db.internal:5432/provenant",
    "CELERY_BROKER_URL": "redis://cache.internal:6379/1",
    "RECEIPT_SIGNING_KEY": "cmVjZWlwdC1rZXktZm9yLXRoZS1zZXR0aW5ncy10ZXM",
}


def test_production_refuses_to_start_without_each_required_setting():
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"):
        env = {k: v for k, v in PRODUCTION.items() if k != name}
        result = _run(env)
        assert result.returncode != 0, name
        assert "APP_ENV=production needs these settings" in result.stderr
        assert name.split(" ")[0] in result.stderr


def test_production_turns_on_secure_cookies_and_hsts():
    result = _run(PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "31536000", "False"]


def test_embedded_default_needs_no_environment():
    result = _run({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "0", "True"]
