"""Provenant settings, read from the environment.

With no environment at all the project runs embedded: SQLite, Celery tasks run eagerly in the
web process, a local-memory cache, the embedded inference backend and Stripe disabled.
Setting DATABASE_URL, REDIS_URL and CELERY_BROKER_URL switches to the real services.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


APP_ENV = env_str("APP_ENV", "development")
PRODUCTION = APP_ENV == "production"
TESTING = env_bool("PROVENANT_TESTING")

DATA_DIR = Path(env_str("PROVENANT_DATA_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY")
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)

if PRODUCTION:
    missing = [
        name
        for name, value in (
            ("SECRET_KEY", SECRET_KEY),
            ("ALLOWED_HOSTS", env_str("ALLOWED_HOSTS")),
            ("DATABASE_URL", DATABASE_URL),
            ("CELERY_BROKER_URL or REDIS_URL", CELERY_BROKER_URL),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured("APP_ENV=production needs these settings: " + ", ".join(missing))
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters in production")
elif not SECRET_KEY:
    SECRET_KEY = "django-insecure-embedded-development-key-not-for-production"  # noqa: S105

DEBUG = env_bool("DEBUG", default=not PRODUCTION and not TESTING)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",  # Django's admin, with the rate-limited login
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "accounts",
    "catalog",
    "licensing",
    "billing",
    "ads",
    "marketplace",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.api.errors.APIErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "portal.navigation.navigation",
            ],
        },
    },
]

# Database: SQLite in DATA_DIR unless DATABASE_URL points at PostgreSQL.
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE_S", 60),
            conn_health_checks=True,
        )
    }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "provenant.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Cache: Redis when REDIS_URL is set (rate limits, entitlements, budgets), else local memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "provenant"),
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "provenant",
        }
    }

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Whitenoise serves the apps' static files directly; set STATIC_ROOT to use collectstatic.
STATIC_ROOT = env_str("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = STATIC_ROOT is None

# Security: secure cookies and HSTS in production.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True

# Django REST framework: API keys (Bearer) and sessions; one error format for every error.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api.auth.HasRequiredScope",  # the scope each view documents (x-required-scope)
    ],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api.throttling.APIKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Provenant API",
    "DESCRIPTION": (
        "Licensed content for AI agents: answers grounded in licensed sources, with "
        "citations, attribution and metered cost. Authenticate with "
        "`Authorization: Bearer <api key>`."
    ),
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI is served from this deployment (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for a choice set used by several fields.
    "ENUM_NAME_OVERRIDES": {"AdCategoryEnum": "ads.services.content.CATEGORIES"},
    # OpenAPI links from a created resource to the operations that use its id.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_links",
    ],
}

# Request bodies: JSON nests at most this deep (deeper is a 400); a body over
# DATA_UPLOAD_MAX_MEMORY_SIZE (Django's, 2.5 MB by default) is a 413. Errors under /api/ and
# /v1/ are JSON, CSRF failures included.
API_JSON_MAX_DEPTH = env_int("API_JSON_MAX_DEPTH", 32)
CSRF_FAILURE_VIEW = "core.api.errors.csrf_failure"

# API keys and rate limits.
API_KEY_RATE_LIMIT_PER_MINUTE = env_int("API_KEY_RATE_LIMIT_PER_MINUTE", 600)
LOGIN_RATE_LIMIT_PER_MINUTE = env_int("LOGIN_RATE_LIMIT_PER_MINUTE", 10)
API_KEY_LAST_USED_RESOLUTION_S = env_int("API_KEY_LAST_USED_RESOLUTION_S", 60)
API_KEY_CACHE_TTL_S = env_int("API_KEY_CACHE_TTL_S", 60)

# Celery: eager in-process unless a broker is configured.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL or "cache+memory://")
CELERY_TASK_ACKS_LATE = False
# Deployments sharing one Redis keep their tasks apart by queue name (workers: celery -Q NAME).
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_RESULT_EXPIRES = 3600

# Inference (read by the answer use case): embedded extractive unless a server is configured.
INFERENCE_BACKEND = env_str(
    "INFERENCE_BACKEND", "openai" if env_str("INFERENCE_BASE_URL") else "extractive"
)
INFERENCE_BASE_URL = env_str("INFERENCE_BASE_URL")
INFERENCE_MODEL = env_str("INFERENCE_MODEL")
INFERENCE_API_KEY = env_str("INFERENCE_API_KEY")
INFERENCE_TIMEOUT_S = float(env_str("INFERENCE_TIMEOUT_S", "30"))
INFERENCE_MAX_CONCURRENCY = env_int("INFERENCE_MAX_CONCURRENCY", 64)

# Stripe: disabled until a key is set.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE")  # a Stripe-compatible server (tests: local)
# How old a webhook's signed timestamp may be, and how often the SDK retries a failed call
# (with the same idempotency key, so a retry never charges or pays twice).
STRIPE_WEBHOOK_TOLERANCE_S = env_int("STRIPE_WEBHOOK_TOLERANCE_S", 300)
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
STRIPE_TIMEOUT_S = env_int("STRIPE_TIMEOUT_S", 30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Licensing: every offer is priced in the platform's currency.
LICENSING_CURRENCY = env_str("LICENSING_CURRENCY", "USD")
# What an agent consents to without accepting an offer itself (auto-accept offers), until its
# organization sets its own ceilings (PATCH /api/v1/organizations/{id}/price-ceilings).
AGENT_DEFAULT_MAX_PRICE_PER_SOURCE_MICROS = env_int(
    "AGENT_DEFAULT_MAX_PRICE_PER_SOURCE_MICROS", 10_000
)
AGENT_DEFAULT_MAX_PRICE_PER_ANSWER_MICROS = env_int(
    "AGENT_DEFAULT_MAX_PRICE_PER_ANSWER_MICROS", 50_000
)
# The revenue an answer is taken to earn when a revenue-share offer is compared with per-use
# prices (its per-use equivalent is its share of this; see docs/attribution.md).
LICENSING_REVENUE_SHARE_BASIS_MICROS = env_int("LICENSING_REVENUE_SHARE_BASIS_MICROS", 10_000)
# The least notice, in days, a provider gives to end an agreement an agent holds.
LICENSING_MIN_NOTICE_DAYS = env_int("LICENSING_MIN_NOTICE_DAYS", 30)
# Called, with the agreement's id, in the transaction that makes an agreement an agent accepts:
# billing charges a subscription's first period or a purchase then (402 insufficient_funds
# refuses the acceptance). Named here so that licensing, below billing, imports nothing of it.
LICENSING_ON_ACCEPT = "billing.services.charge_at_acceptance"

# Billing (docs/billing.md). The platform's take, in basis points of what each payment type
# moves: BILLING_TAKE_RATE_BPS="use=1000,revenue_share=1000" overrides some or all of them.
BILLING_TAKE_RATE_BPS = {
    "use": 1000,
    "revenue_share": 1000,
    "subscription": 1000,
    "purchase": 1000,
}
for _item in env_list("BILLING_TAKE_RATE_BPS", []):
    _name, _, _bps = _item.partition("=")
    if _name.strip() not in BILLING_TAKE_RATE_BPS or not _bps.strip().isdigit():
        raise ImproperlyConfigured(f"BILLING_TAKE_RATE_BPS: cannot read {_item!r}")
    BILLING_TAKE_RATE_BPS[_name.strip()] = int(_bps)
if any(bps > 10_000 for bps in BILLING_TAKE_RATE_BPS.values()):
    raise ImproperlyConfigured("BILLING_TAKE_RATE_BPS: a take is at most 10000 bps (100%)")
# Usage events rated per database transaction, and how often beat starts a rating pass.
BILLING_RATING_BATCH = env_int("BILLING_RATING_BATCH", 5000)
BILLING_RATING_INTERVAL_S = env_int("BILLING_RATING_INTERVAL_S", 60)
# Without a broker (CELERY_TASK_ALWAYS_EAGER: `make run`) no beat rates usage: "thread" rates it
# in a background thread of the web process shortly after each answer and every interval
# (billing/services/background.py); "off" leaves it to `manage.py rate_usage`.
BILLING_WITHOUT_BROKER = env_str("BILLING_WITHOUT_BROKER", "thread")
if BILLING_WITHOUT_BROKER not in {"thread", "off"}:
    raise ImproperlyConfigured('BILLING_WITHOUT_BROKER is "thread" or "off"')
# Metering voids the events of an answer never delivered (a stream that failed) within this
# long; a charge rated for a voided event is reversed once its event is this old.
BILLING_VOID_WINDOW_S = env_int("BILLING_VOID_WINDOW_S", 600)
# How long a subscription period (or a purchase) may stay unpaid before its agreement lapses.
BILLING_GRACE_PERIOD_S = env_int("BILLING_GRACE_PERIOD_S", 3 * 86400)
# A month's revenue report is taken from the month's end until this many days after it.
BILLING_REVENUE_REPORT_DAYS = env_int("BILLING_REVENUE_REPORT_DAYS", 15)
# How long a dataset export's signed download URL works (POST .../dataset-export makes a new one).
BILLING_EXPORT_URL_TTL_S = env_int("BILLING_EXPORT_URL_TTL_S", 3600)
# Wallets (docs/operations-stripe.md). Prepaid agents must hold an answer's worst-case cost
# before it is written (402 insufficient_funds); off, answers are not held against wallets.
BILLING_WALLET_HOLDS = env_bool("BILLING_WALLET_HOLDS", default=True)
# How long an answer may take: a hold this old is over (completed at its worst case, or its
# process died) and is released once rating has drawn the wallet for it.
BILLING_HOLD_TTL_S = env_int("BILLING_HOLD_TTL_S", 120)
# Top-ups: the least and the most one payment may add (micros), and where Checkout returns.
BILLING_TOP_UP_MIN_MICROS = env_int("BILLING_TOP_UP_MIN_MICROS", 1_000_000)
BILLING_TOP_UP_MAX_MICROS = env_int("BILLING_TOP_UP_MAX_MICROS", 10_000_000_000)
# Where Stripe sends people back to (Checkout, Connect onboarding): the portal's address.
BILLING_PORTAL_URL = env_str("BILLING_PORTAL_URL", "http://127.0.0.1:8000").rstrip("/")
# Payouts: a provider is paid when its payable balance reaches this much (micros).
BILLING_PAYOUT_MINIMUM_MICROS = env_int("BILLING_PAYOUT_MINIMUM_MICROS", 10_000_000)
BILLING_PAYOUT_INTERVAL_S = env_int("BILLING_PAYOUT_INTERVAL_S", 86400)
# Postpaid invoices are due this many days after they are sent.
BILLING_INVOICE_DAYS_UNTIL_DUE = env_int("BILLING_INVOICE_DAYS_UNTIL_DUE", 14)

# Ads: serving, clicks and money (docs/ads.md). What an ad event charges the advertiser is
# shared: the platform's take and the agent's share in basis points, the rest to the sources
# that grounded the answer, by attribution weight.
ADS_PLATFORM_TAKE_BPS = env_int("ADS_PLATFORM_TAKE_BPS", 3000)
ADS_AGENT_SHARE_BPS = env_int("ADS_AGENT_SHARE_BPS", 3000)
if not (
    ADS_PLATFORM_TAKE_BPS >= 0
    and ADS_AGENT_SHARE_BPS >= 0
    and ADS_PLATFORM_TAKE_BPS + ADS_AGENT_SHARE_BPS <= 10_000
):
    raise ImproperlyConfigured(
        "ADS_PLATFORM_TAKE_BPS and ADS_AGENT_SHARE_BPS are >= 0 and add up to at most 10000"
    )
# How long a sponsored item's click URL (/c/<token>) counts a click after it was served.
ADS_CLICK_TTL_S = env_int("ADS_CLICK_TTL_S", 7 * 86400)
# Auction traces: how long they are kept, and how many candidates of one auction (winners
# first, then by score); the others are counted by reason.
ADS_TRACE_RETENTION_DAYS = env_int("ADS_TRACE_RETENTION_DAYS", 90)
ADS_TRACE_MAX_CANDIDATES = env_int("ADS_TRACE_MAX_CANDIDATES", 50)
# An ad event whose answer is still not metered this long after it was served is void (the
# answer was never delivered): it charges nothing.
ADS_UNMETERED_VOID_S = env_int("ADS_UNMETERED_VOID_S", BILLING_VOID_WINDOW_S)
# How often beat charges ad events still pending (each is also charged right after it is
# recorded).
ADS_CHARGE_INTERVAL_S = env_int("ADS_CHARGE_INTERVAL_S", 60)

# Catalog: ingestion limits, SSRF policy and retrieval (see docs/catalog.md).
CATALOG_CHUNK_TOKENS = env_int("CATALOG_CHUNK_TOKENS", 200)
# A document or passage whose 5-word shingles overlap an earlier one's at least this much
# (estimated Jaccard similarity) is held out as its copy (docs/catalog.md, "Duplicates").
CATALOG_DUPLICATE_THRESHOLD = float(env_str("CATALOG_DUPLICATE_THRESHOLD", "0.5"))
# ... or whose content words and pairs of consecutive content words overlap another provider's
# at least this much: a reworded copy (chosen by bench/bench_dedupe.py; docs/catalog.md).
CATALOG_DUPLICATE_CONTENT_THRESHOLD = float(env_str("CATALOG_DUPLICATE_CONTENT_THRESHOLD", "0.4"))
INGESTION_MAX_UPLOAD_BYTES = env_int("INGESTION_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
INGESTION_MAX_FILES_PER_UPLOAD = env_int("INGESTION_MAX_FILES_PER_UPLOAD", 100)
INGESTION_MAX_ITEMS_PER_JOB = env_int("INGESTION_MAX_ITEMS_PER_JOB", 50_000)
INGESTION_FETCH_MAX_BYTES = env_int("INGESTION_FETCH_MAX_BYTES", 10 * 1024 * 1024)
INGESTION_FETCH_TIMEOUT_S = float(env_str("INGESTION_FETCH_TIMEOUT_S", "20"))
INGESTION_FETCH_MAX_REDIRECTS = env_int("INGESTION_FETCH_MAX_REDIRECTS", 5)
# CIDRs that fetching may reach although they are not public (e.g. an intranet CMS). Empty:
# only public internet addresses.
INGESTION_ALLOWED_PRIVATE_NETWORKS = env_list("INGESTION_ALLOWED_PRIVATE_NETWORKS", [])
INGESTION_MAX_RETRIES = env_int("INGESTION_MAX_RETRIES", 3)
# Django refuses multipart requests with more files than this (one spare for safety).
DATA_UPLOAD_MAX_NUMBER_FILES = INGESTION_MAX_FILES_PER_UPLOAD + 1
# An upload request larger than this is refused (413) before its body is read.
INGESTION_MAX_REQUEST_BYTES = env_int("INGESTION_MAX_REQUEST_BYTES", 100 * 1024 * 1024)
# Per document: PDF pages, and characters of extracted text (any format).
INGESTION_MAX_PDF_PAGES = env_int("INGESTION_MAX_PDF_PAGES", 2_000)
INGESTION_MAX_DOCUMENT_CHARS = env_int("INGESTION_MAX_DOCUMENT_CHARS", 5_000_000)
# Levels of sitemap indexes followed below the sitemap a job starts from.
INGESTION_SITEMAP_MAX_DEPTH = env_int("INGESTION_SITEMAP_MAX_DEPTH", 2)
# Without a broker (CELERY_TASK_ALWAYS_EAGER), jobs run in one background thread of the web
# process ("thread"), or inside the request that starts them ("inline": tests and scripts).
INGESTION_WITHOUT_BROKER = env_str("INGESTION_WITHOUT_BROKER", "thread")
# Where uploaded files wait for the worker; web and workers must share it (any Django storage).
INGESTION_STORAGE = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(DATA_DIR / "ingestion")},
}
# auto | embedded (Tantivy on disk; "bm25" is its older name) | postgres
RETRIEVAL_BACKEND = env_str("RETRIEVAL_BACKEND", "auto")
RETRIEVAL_INDEX_DIR = Path(env_str("RETRIEVAL_INDEX_DIR", str(DATA_DIR / "retrieval" / "tantivy")))
RETRIEVAL_RELOAD_INTERVAL_S = float(env_str("RETRIEVAL_RELOAD_INTERVAL_S", "1"))
# Dense re-ranking needs the `semantic` extra (torch); it re-orders this many candidates.
RETRIEVAL_DENSE_RERANK = env_bool("RETRIEVAL_DENSE_RERANK")
RETRIEVAL_DENSE_CANDIDATES = env_int("RETRIEVAL_DENSE_CANDIDATES", 50)

# Receipts are signed with Ed25519. RECEIPT_SIGNING_KEY is the signing key (a base64url 32-byte
# seed; `manage.py receipt_key` makes one); production refuses to start without it, and a
# development install without it generates one once into RECEIPT_SIGNING_KEY_FILE (mode 0600).
# RECEIPT_PREVIOUS_PUBLIC_KEYS lists retired public keys (base64url, comma-separated): they stay
# published and keep verifying the receipts they signed after a rotation.
RECEIPT_SIGNING_KEY = env_str("RECEIPT_SIGNING_KEY")
RECEIPT_PREVIOUS_PUBLIC_KEYS = env_list("RECEIPT_PREVIOUS_PUBLIC_KEYS", [])
RECEIPT_SIGNING_KEY_FILE = DATA_DIR / "receipt-signing-key"
if PRODUCTION and not RECEIPT_SIGNING_KEY:
    raise ImproperlyConfigured(
        "APP_ENV=production needs RECEIPT_SIGNING_KEY: a base64url 32-byte Ed25519 seed of its "
        "own (make one with `python manage.py receipt_key`)"
    )

# The answer path's limits.
ANSWER_MAX_QUESTION_CHARS = env_int("ANSWER_MAX_QUESTION_CHARS", 2000)
ANSWER_DEFAULT_SOURCES = env_int("ANSWER_DEFAULT_SOURCES", 5)
# Idempotency-Key: how long a claim holds before another process may take it over (a duplicate
# of a request still running is answered 409 at once), and how long responses are kept.
IDEMPOTENCY_LOCK_S = env_int("IDEMPOTENCY_LOCK_S", 120)
IDEMPOTENCY_TTL_S = env_int("IDEMPOTENCY_TTL_S", 86400)

# Ads beside answers (docs/ads.md): the auction's rule and where it may serve. The engine is a
# dotted path to a class with run(candidates, params); K slots per answer; tau, the least
# relevance u in [0, 1]; gamma, the "no ad" reserve in score units (expected micros per unit
# served); beta, the exponent of u; the least price per 1,000 served (CPM) and per click (CPC).
ADS_AUCTION_ENGINE = env_str("ADS_AUCTION_ENGINE", "ads.services.auction.engine.SecondPriceEngine")
ADS_SLOTS = env_int("ADS_SLOTS", 1)
ADS_RELEVANCE_FLOOR = float(env_str("ADS_RELEVANCE_FLOOR", "0.1"))
ADS_RESERVE_MICROS = float(env_str("ADS_RESERVE_MICROS", "100"))
ADS_BETA = float(env_str("ADS_BETA", "1.0"))
ADS_FLOOR_CPM_MICROS = env_int("ADS_FLOOR_CPM_MICROS", 100_000)
ADS_FLOOR_CPC_MICROS = env_int("ADS_FLOOR_CPC_MICROS", 10_000)
# The click-through rate a CPC unit's score assumes (expected clicks per unit served).
ADS_CPC_ESTIMATED_CTR = float(env_str("ADS_CPC_ESTIMATED_CTR", "0.02"))
if not (
    ADS_SLOTS >= 1
    and 0.0 <= ADS_RELEVANCE_FLOOR <= 1.0
    and ADS_RESERVE_MICROS >= 0.0
    and ADS_BETA >= 0.0
    and min(ADS_FLOOR_CPM_MICROS, ADS_FLOOR_CPC_MICROS) >= 0
    and 0.0 < ADS_CPC_ESTIMATED_CTR <= 1.0
):
    raise ImproperlyConfigured(
        "ADS_SLOTS >= 1, ADS_RELEVANCE_FLOOR in [0, 1], ADS_RESERVE_MICROS, ADS_BETA and the "
        "ADS_FLOOR_*_MICROS >= 0, ADS_CPC_ESTIMATED_CTR in (0, 1]"
    )
# The most times one agent organization is shown one unit in a UTC day (0: no cap).
ADS_FREQUENCY_CAP = env_int("ADS_FREQUENCY_CAP", 3)
# Questions that mention any of these words or phrases get no sponsored item at all: self-harm,
# medical emergencies, elections (docs/ads.md, "Sensitive questions"). Comma-separated; a
# phrase matches its words in order, each also with a trailing "s".
ADS_SENSITIVE_TERMS = env_list(
    "ADS_SENSITIVE_TERMS",
    [
        "suicide", "suicidal", "self-harm", "self harm", "kill myself", "eating disorder",
        "overdose", "heart attack", "stroke symptoms", "chest pain", "anaphylaxis",
        "seizure", "poisoning", "can't breathe", "medical emergency", "call 911",
        "election", "ballot", "referendum", "polling station", "vote for", "voting",
        "political candidate", "child abuse", "sexual assault", "domestic violence",
    ],
)  # fmt: skip
# A process rebuilds its snapshot of the units that may serve (their relevance index and
# targeting) when an advertiser or operator changes one, and at the latest after this long.
ADS_SNAPSHOT_MAX_AGE_S = env_int("ADS_SNAPSHOT_MAX_AGE_S", 60)
# How stale a process's view of campaigns' spend (for pacing and "budget left") may be; the
# hold taken before serving is exact whatever this is.
ADS_BUDGET_VIEW_MAX_AGE_S = float(env_str("ADS_BUDGET_VIEW_MAX_AGE_S", "1"))
# How often beat sets the budget store's counters to the spend of record.
ADS_RECONCILE_INTERVAL_S = env_int("ADS_RECONCILE_INTERVAL_S", 300)

# Periodic tasks run by `make beat`.
CELERY_BEAT_SCHEDULE = {
    "purge-idempotency-records": {
        "task": "marketplace.purge_idempotency_records",
        "schedule": 3600.0,
    },
    # Ads: the budget store's counters set to the spend of record (docs/ads.md).
    "reconcile-ad-budgets": {
        "task": "ads.reconcile_budgets",
        "schedule": float(ADS_RECONCILE_INTERVAL_S),
    },
    # What answers served, should a queued recording have been lost (docs/ads.md).
    "record-ad-servings": {"task": "ads.record_servings", "schedule": 60.0},
    # Usage events into the ledger, and subscription and purchase charges (docs/billing.md).
    "rate-usage": {"task": "billing.rate_usage", "schedule": float(BILLING_RATING_INTERVAL_S)},
    "charge-agreements": {
        "task": "billing.charge_agreements",
        "schedule": float(BILLING_RATING_INTERVAL_S),
    },
    # Stripe and wallets (docs/operations-stripe.md).
    "check-low-balances": {"task": "billing.check_low_balances", "schedule": 300.0},
    "pay-providers": {
        "task": "billing.pay_providers",
        "schedule": float(BILLING_PAYOUT_INTERVAL_S),
    },
    "invoice-postpaid": {"task": "billing.invoice_postpaid", "schedule": 86400.0},
    "reconcile-stripe": {"task": "billing.reconcile_stripe", "schedule": 86400.0},
    "retry-stripe-events": {"task": "billing.retry_stripe_events", "schedule": 600.0},
    # Ads (docs/ads.md): ad events into the ledger, and auction traces past their retention.
    "charge-ad-events": {
        "task": "ads.charge_ad_events",
        "schedule": float(ADS_CHARGE_INTERVAL_S),
    },
    "purge-auction-traces": {"task": "ads.purge_auction_traces", "schedule": 86400.0},
}

# -- Accounts, abuse limits, client addresses, email and the Content-Security-Policy ----------
# Reverse proxies in front of the app that append to X-Forwarded-For (0: clients connect
# directly, and the header is ignored). Rate limits key on the address these proxies saw.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
SIGNUP_RATE_LIMIT_PER_HOUR = env_int("SIGNUP_RATE_LIMIT_PER_HOUR", 20)
INVITATION_TTL_S = env_int("INVITATION_TTL_S", 7 * 86400)
INVITATION_RATE_LIMIT_PER_HOUR = env_int("INVITATION_RATE_LIMIT_PER_HOUR", 50)
# Where invitation links point (e.g. https://provenant.example); unset: the request's host.
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL")
# Email: printed to the console unless an SMTP host is set (tests use Django's locmem outbox).
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Provenant <no-reply@localhost>")

# Content-Security-Policy on every response (django-csp): scripts, styles and everything else
# only from this origin; no inline script anywhere (the portal, the admin and /api/docs/).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
