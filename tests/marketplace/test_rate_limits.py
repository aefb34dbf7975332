from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client

from marketplace import services
from marketplace.models import User

pytestmark = pytest.mark.django_db


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
        return services.hit_rate_limit(bucket="concurrency", limit=150, window_s=60).allowed

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
