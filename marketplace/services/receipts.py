"""Signed attribution receipts: Ed25519 over canonical JSON, verifiable offline.

Canonical JSON is `json.dumps(payload, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` encoded as UTF-8; payloads hold only strings, integers, lists and objects
(weights are parts per million, money is micros), so every language reproduces the same bytes.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

from marketplace import errors

ALGORITHM = "Ed25519"
CANONICALIZATION = (
    "JSON with keys sorted, no whitespace (separators ',' and ':'), UTF-8, non-ASCII unescaped"
)


def canonical_json(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=4)
def _private_key(configured: str, secret_key: str) -> Ed25519PrivateKey:
    if configured:
        seed = _unb64(configured)
        if len(seed) != 32:
            raise errors.ValidationFailed("RECEIPT_SIGNING_KEY must be 32 bytes, base64url.")
    else:
        # Derived from SECRET_KEY, so every web node of a deployment signs with the same key.
        seed = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"provenant-receipts", info=b"ed25519"
        ).derive(secret_key.encode())
    return Ed25519PrivateKey.from_private_bytes(seed)


def _signing_key() -> Ed25519PrivateKey:
    return _private_key(settings.RECEIPT_SIGNING_KEY, settings.SECRET_KEY)


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    algorithm: str
    public_key: str


def public_key() -> PublicKey:
    """Return the public key that verifies receipts (base64url of the raw 32 bytes)."""
    raw = _signing_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PublicKey(
        key_id=hashlib.sha256(raw).hexdigest()[:16], algorithm=ALGORITHM, public_key=_b64(raw)
    )


def sign_receipt(payload: dict) -> dict:
    """Return the receipt: the payload with its key id, algorithm and signature."""
    signature = _signing_key().sign(canonical_json(payload))
    return {
        "payload": payload,
        "key_id": public_key().key_id,
        "algorithm": ALGORITHM,
        "signature": _b64(signature),
    }


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str


def verify_receipt(receipt: dict) -> Verification:
    """Check a receipt's signature against this deployment's public key."""
    key = public_key()
    if not isinstance(receipt, dict) or not isinstance(receipt.get("payload"), dict):
        return Verification(False, "malformed: a receipt has a payload object")
    if receipt.get("algorithm") != ALGORITHM:
        return Verification(False, f"unknown algorithm; receipts are signed with {ALGORITHM}")
    if receipt.get("key_id") != key.key_id:
        return Verification(False, "signed with another key")
    try:
        signature = _unb64(str(receipt.get("signature", "")))
        Ed25519PublicKey.from_public_bytes(_unb64(key.public_key)).verify(
            signature, canonical_json(receipt["payload"])
        )
    except (InvalidSignature, ValueError):
        return Verification(False, "the signature does not match the payload")
    return Verification(True, "valid")
