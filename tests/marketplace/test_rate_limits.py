from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client

from accounts import services as accounts_services
from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mid_window_clock(monkeypatch):
    """Counting happens in fixed one-minute windows: pin the clock mid-window so a test that
    runs across a minute's end does not see its count start again."""
    from types import SimpleNamespace

    from accounts.services import rate_limits

    monkeypatch.setattr(rate_limits, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))


def test_key_over_its_limit_gets_429_with_retry_after(make_org, key_client):
    org, _ = make_org()
    client = key_client(org, rate_limit_per_minute=3)

    statuses = [client.get("/api/v1/organizations").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/organizations")
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_limits_are_per_key(make_org, key_client):
    org, _ = make_org()
    first = key_client(org, rate_limit_per_minute=1)
    second = key_client(org, rate_limit_per_minute=1)
    assert first.get("/api/v1/organizations").status_code == 200
    assert first.get("/api/v1/organizations").status_code == 429
    assert second.get("/api/v1/organizations").status_code == 200


def test_counter_is_exact_under_concurrent_hits():
    def hit(_):
        return accounts_services.hit_rate_limit(
            bucket="concurrency", limit=150, window_s=60
        ).allowed

    with ThreadPoolExecutor(max_workers=16) as pool:
        allowed = list(pool.map(hit, range(200)))

    assert allowed.count(True) == 150
    assert allowed.count(False) == 50


def test_login_attempts_are_limited_before_the_password_hash_is_checked(settings, monkeypatch):
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 3
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    User.objects.create_user(email="target@example.com", password="correct horse battery")
    verified = []
    original = Argon2PasswordHasher.verify

    def counting_verify(self, password, encoded):
        verified.append(password)
        return original(self, password, encoded)

    monkeypatch.setattr(Argon2PasswordHasher, "verify", counting_verify)
    client = Client()
    statuses = [
        client.post(
            "/login/", {"username": "target@example.com", "password": f"guess {i}"}
        ).status_code
        for i in range(5)
    ]

    assert statuses == [200, 200, 200, 429, 429]
    assert len(verified) == 3
    blocked = client.post(
        "/login/", {"username": "target@example.com", "password": "correct horse battery"}
    )
    assert blocked.status_code == 429
    assert "Too many login attempts" in blocked.content.decode()
    assert len(verified) == 3


# -- client addresses behind (or without) trusted proxies ---------------------------------------


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        # No proxy: X-Forwarded-For is the client's own text and is ignored.
        (0, {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "198.51.100.7"),
        # One proxy: the entry it appended (the right-most) is the client; the rest is forgeable.
        (
            1,
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.9"},
            "203.0.113.9",
        ),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, "203.0.113.9"),
        (
            2,
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9, 10.0.0.1"},
            "203.0.113.9",
        ),
        # No header, or garbage where an address should be: the socket address.
        (1, {"REMOTE_ADDR": "10.0.0.2"}, "10.0.0.2"),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, evil"}, "10.0.0.2"),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": " , "}, "10.0.0.2"),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "2001:DB8::1"}, "2001:db8::1"),
    ],
)
def test_client_address_trusts_only_the_configured_proxies(settings, proxies, meta, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert accounts_services.client_address(meta) == expected


def _public_key(client, **headers):
    return client.get("/api/v1/receipts/public-key", **headers).status_code


def test_anonymous_throttle_ignores_spoofed_forwarded_for_without_a_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 2
    client = Client(REMOTE_ADDR="198.51.100.7")

    statuses = [_public_key(client, HTTP_X_FORWARDED_FOR=f"1.2.3.{i}") for i in range(3)]

    assert statuses == [200, 200, 429]
    assert _public_key(Client(REMOTE_ADDR="198.51.100.8")) == 200


def test_anonymous_throttle_keys_on_the_address_the_trusted_proxy_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 2
    proxy = Client(REMOTE_ADDR="10.0.0.2")

    spoofing = [
        _public_key(proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, 203.0.113.9") for i in range(3)
    ]
    neighbour = _public_key(proxy, HTTP_X_FORWARDED_FOR="203.0.113.10")

    assert spoofing == [200, 200, 429]
    assert neighbour == 200  # another client behind the same proxy has its own bucket


def test_login_limit_behind_a_proxy_is_per_client_not_per_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 2
    proxy = Client(REMOTE_ADDR="10.0.0.2")

    def attempt(forwarded_for, email):
        return proxy.post(
            "/login/",
            {"username": email, "password": "wrong"},
            HTTP_X_FORWARDED_FOR=forwarded_for,
        ).status_code

    attacker = [attempt(f"9.9.9.{i}, 203.0.113.9", f"u{i}@example.com") for i in range(3)]
    other_client = attempt("203.0.113.10", "someone@example.com")

    assert attacker == [200, 200, 429]
    assert other_client == 200


def test_login_limit_without_a_proxy_ignores_forwarded_for(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 2
    client = Client(REMOTE_ADDR="198.51.100.7")
    statuses = [
        client.post(
            "/login/",
            {"username": f"u{i}@example.com", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"1.2.3.{i}",
        ).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]


# -- the admin's login and sign-up ---------------------------------------------------------------


def test_admin_login_is_limited_with_429_before_the_password_hash_is_checked(settings, monkeypatch):
    settings.LOGIN_RATE_LIMIT_PER_MINUTE = 3
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    User.objects.create_superuser(email="ops@example.com", password="correct horse battery")
    verified = []
    original = Argon2PasswordHasher.verify

    def counting_verify(self, password, encoded):
        verified.append(password)
        return original(self, password, encoded)

    monkeypatch.setattr(Argon2PasswordHasher, "verify", counting_verify)
    client = Client()

    def attempt(password):
        return client.post("/admin/login/", {"username": "ops@example.com", "password": password})

    statuses = [attempt(f"guess {i}").status_code for i in range(4)]
    blocked = attempt("correct horse battery")

    assert statuses == [200, 200, 200, 429]
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert "Too many login attempts" in blocked.content.decode()
    assert len(verified) == 3
    assert "_auth_user_id" not in client.session


def test_admin_login_still_refuses_non_staff_accounts():
    User.objects.create_user(email="customer@example.com", password="correct horse battery")
    client = Client()
    response = client.post(
        "/admin/login/", {"username": "customer@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def _sign_up(client, i):
    return client.post(
        "/signup/",
        {
            "email": f"new{i}@example.com",
            "password": "a long enough passphrase",
            "organization_name": f"Org {i}",
            "roles": ["agent"],
        },
    )


def test_sign_ups_are_limited_per_client_address(settings):
    settings.SIGNUP_RATE_LIMIT_PER_HOUR = 2
    statuses = [_sign_up(Client(REMOTE_ADDR="198.51.100.7"), i).status_code for i in range(3)]
    blocked = _sign_up(Client(REMOTE_ADDR="198.51.100.7"), 9)
    elsewhere = _sign_up(Client(REMOTE_ADDR="198.51.100.8"), 10)

    assert statuses == [302, 302, 429]
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 3600
    assert "Too many sign-ups" in blocked.content.decode()
    assert elsewhere.status_code == 302
    assert sorted(User.objects.values_list("email", flat=True)) == [
        "new0@example.com",
        "new10@example.com",
        "new1@example.com",
    ]
