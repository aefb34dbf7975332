"""Settings for the test suite: the same as production-shaped settings, quiet and isolated."""

import base64
import os

os.environ["PROVENANT_TESTING"] = "1"
# One random receipt key per test run, inherited by the child processes some tests start, so
# the suite never writes a development key file into the repository's data directory.
os.environ.setdefault("RECEIPT_SIGNING_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())

from config.settings import *  # noqa: F403
from config.settings import CACHES, REST_FRAMEWORK

DEBUG = False
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = ["rest_framework.renderers.JSONRenderer"]
CACHES["default"]["KEY_PREFIX"] = "provenant-test"
CELERY_TASK_ALWAYS_EAGER = True
INGESTION_WITHOUT_BROKER = "inline"  # jobs finish inside the request that starts them
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"], "level": "WARNING"},
}
# Argon2 is deliberately slow; the suite hashes thousands of passwords. One test proves that
# production settings hash with Argon2 (tests/config/test_settings.py).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Most tests ask questions for agents that never funded a wallet; the billing tests turn wallet
# holds on (tests/billing/), as a deployment has them by default.
BILLING_WALLET_HOLDS = False
# Tests rate when they mean to (tests/billing/test_background_rating.py turns the thread on).
BILLING_WITHOUT_BROKER = "off"
# Stripe is reached only by the tests that start the local Stripe server and set these.
STRIPE_SECRET_KEY = ""
STRIPE_WEBHOOK_SECRET = ""
STRIPE_API_BASE = ""
STRIPE_MAX_NETWORK_RETRIES = 0
