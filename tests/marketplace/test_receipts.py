"""Receipt keys: no key anyone can derive, one generated development key, ids and rotation."""

import base64
import hashlib
import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from rest_framework.test import APIClient

from marketplace.services import receipts

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = {"id": "ans_1", "total_micros": 2000, "sources": [{"weight_ppm": 1_000_000}]}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _seed() -> str:
    return _b64(os.urandom(32))


def _sign_with(private: Ed25519PrivateKey, payload: dict) -> dict:
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "payload": payload,
        "key_id": hashlib.sha256(raw).hexdigest()[:16],
        "algorithm": "Ed25519",
        "signature": _b64(private.sign(receipts.canonical_json(payload))),
    }


@pytest.fixture
def development(settings, tmp_path):
    """Settings as a development install has them: no configured key, a data directory."""
    settings.RECEIPT_SIGNING_KEY = ""
    settings.RECEIPT_PREVIOUS_PUBLIC_KEYS = []
    settings.RECEIPT_SIGNING_KEY_FILE = tmp_path / "data" / "receipt-signing-key"
    return settings


def test_a_receipt_forged_with_a_key_derived_from_secret_key_does_not_verify(development):
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"provenant-receipts", info=b"ed25519"
    ).derive(development.SECRET_KEY.encode())
    forged = _sign_with(Ed25519PrivateKey.from_private_bytes(derived), PAYLOAD)
    under_current_id = {**forged, "key_id": receipts.sign_receipt(PAYLOAD)["key_id"]}

    client = APIClient()
    for receipt in (forged, under_current_id):
        response = client.post("/api/v1/receipts/verify", {"receipt": receipt}, format="json")
        assert response.status_code == 200
        assert response.json()["valid"] is False
    assert receipts.verify_receipt(forged).reason == "signed with another key"
    assert receipts.verify_receipt(under_current_id).reason == (
        "the signature does not match the payload"
    )
    assert receipts.verify_receipt(receipts.sign_receipt(PAYLOAD)).valid is True


def test_a_development_key_is_generated_once_into_the_data_directory_with_mode_0600(
    development,
):
    path = development.RECEIPT_SIGNING_KEY_FILE
    assert not path.exists()

    first = receipts.sign_receipt(PAYLOAD)
    receipts._key_rings.clear()  # as another process of the same install would start
    second = receipts.sign_receipt(PAYLOAD)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["receipt-signing-key"]
    assert first["key_id"] == second["key_id"]
    assert receipts.public_key_of(path.read_text().strip()).key_id == first["key_id"]
    assert receipts.verify_receipt(first).valid is True


def test_development_signing_key_keeps_the_key_it_finds(tmp_path):
    path = tmp_path / "receipt-signing-key"
    existing = _seed()
    path.write_text(existing + "\n")

    assert receipts.development_signing_key(path) == existing
    assert receipts.development_signing_key(tmp_path / "new" / "key") == (
        receipts.development_signing_key(tmp_path / "new" / "key")
    )


def test_two_installs_without_a_configured_key_sign_with_different_keys(settings, tmp_path):
    settings.RECEIPT_SIGNING_KEY = ""
    settings.RECEIPT_SIGNING_KEY_FILE = tmp_path / "one" / "key"
    one = receipts.public_key()
    settings.RECEIPT_SIGNING_KEY_FILE = tmp_path / "two" / "key"
    two = receipts.public_key()

    assert one.key_id != two.key_id


def test_after_a_rotation_old_receipts_still_verify_with_the_retired_public_key(settings):
    old, new = _seed(), _seed()
    settings.RECEIPT_SIGNING_KEY = old
    settings.RECEIPT_PREVIOUS_PUBLIC_KEYS = []
    old_receipt = receipts.sign_receipt(PAYLOAD)

    settings.RECEIPT_SIGNING_KEY = new
    assert receipts.verify_receipt(old_receipt).valid is False  # old key not published
    settings.RECEIPT_PREVIOUS_PUBLIC_KEYS = [receipts.public_key_of(old).public_key]
    new_receipt = receipts.sign_receipt(PAYLOAD)

    assert receipts.verify_receipt(old_receipt).valid is True
    assert receipts.verify_receipt(new_receipt).valid is True
    assert old_receipt["key_id"] == receipts.public_key_of(old).key_id
    assert new_receipt["key_id"] == receipts.public_key_of(new).key_id
    swapped = {**new_receipt, "key_id": old_receipt["key_id"]}
    assert receipts.verify_receipt(swapped).valid is False


def test_the_public_key_endpoint_publishes_the_current_and_retired_keys(settings):
    old, new = _seed(), _seed()
    settings.RECEIPT_SIGNING_KEY = new
    settings.RECEIPT_PREVIOUS_PUBLIC_KEYS = [
        receipts.public_key_of(old).public_key,
        receipts.public_key_of(new).public_key,  # the current key listed again: shown once
    ]
    current, retired = receipts.public_key_of(new), receipts.public_key_of(old)

    body = APIClient().get("/api/v1/receipts/public-key").json()

    assert (body["key_id"], body["public_key"], body["algorithm"]) == (
        current.key_id,
        current.public_key,
        "Ed25519",
    )
    assert body["canonicalization"] == receipts.CANONICALIZATION
    assert body["keys"] == [
        {
            "key_id": current.key_id,
            "algorithm": "Ed25519",
            "public_key": current.public_key,
            "status": "current",
        },
        {
            "key_id": retired.key_id,
            "algorithm": "Ed25519",
            "public_key": retired.public_key,
            "status": "retired",
        },
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECEIPT_SIGNING_KEY", "too-short"),
        ("RECEIPT_SIGNING_KEY", "not base64 at all!"),
        ("RECEIPT_PREVIOUS_PUBLIC_KEYS", ["c2hvcnQ"]),
    ],
)
def test_a_malformed_receipt_key_is_a_configuration_error(settings, name, value):
    settings.RECEIPT_SIGNING_KEY = _seed()
    settings.RECEIPT_PREVIOUS_PUBLIC_KEYS = []
    setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured, match=name):
        receipts.sign_receipt(PAYLOAD)


def test_receipt_key_command_prints_a_new_key_and_the_public_key_of_one():
    out = StringIO()
    call_command("receipt_key", stdout=out)
    first, public, key_id = out.getvalue().splitlines()
    signing_key = first.removeprefix("RECEIPT_SIGNING_KEY=")
    key = receipts.public_key_of(signing_key)
    assert (public, key_id) == (f"public key: {key.public_key}", f"key id: {key.key_id}")

    out = StringIO()
    call_command("receipt_key", "--public", signing_key, stdout=out)
    assert out.getvalue().splitlines() == [
        f"RECEIPT_PREVIOUS_PUBLIC_KEYS entry: {key.public_key}",
        f"key id: {key.key_id}",
    ]


PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 50,
    "ALLOWED_HOSTS": "provenant.example",
    "DATABASE_URL": "postgres://app@db.internal:5432/provenant",
    "CELERY_BROKER_URL": "redis://cache.internal:6379/1",
}
PROBE = "import django; django.setup(); from django.conf import settings; print('started')"


def _start(env: dict, tmp_path) -> subprocess.CompletedProcess:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RECEIPT_", "PROVENANT_", "APP_ENV", "DJANGO_"))
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PROVENANT_DATA_DIR": str(tmp_path / "data"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_to_start_without_its_own_receipt_key(tmp_path):
    refused = _start(PRODUCTION, tmp_path)
    started = _start({**PRODUCTION, "RECEIPT_SIGNING_KEY": _seed()}, tmp_path)

    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "APP_ENV=production needs RECEIPT_SIGNING_KEY" in refused.stderr
    assert (started.returncode, started.stdout) == (0, "started\n"), started.stderr
    assert not (tmp_path / "data" / "receipt-signing-key").exists()
