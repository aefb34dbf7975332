"""Signed attribution receipts: Ed25519 over canonical JSON, verifiable offline.

Canonical JSON is `json.dumps(payload, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` encoded as UTF-8; payloads hold only strings, integers, booleans, null,
lists and objects (weights are parts per million, money is micros, never a float), so every
language reproduces the same bytes.

A payload says its `version`: 2 binds the question and answer (SHA-256), the agent and, per
source, the agreement, payment type, units and unit price, and the cited and grounded flags.
A version 1 payload (no `version`) still verifies: the signature covers whatever it holds.
"""

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypedDict

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.cache import LocalCache
from licensing import services as licensing

ALGORITHM = "Ed25519"
CANONICALIZATION = (
    "JSON with keys sorted, no whitespace (separators ',' and ':'), UTF-8, non-ASCII unescaped"
)
CURRENT, RETIRED = "current", "retired"
RECEIPT_VERSION = 2


class Receipt(TypedDict):
    """A signed receipt as it is sent to agents and checked by verify_receipt."""

    payload: dict[str, Any]
    key_id: str
    algorithm: str
    signature: str


def canonical_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_bytes(name: str, text: str) -> bytes:
    try:
        raw = _unb64(text.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not base64url.") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{name} must be 32 bytes, base64url.")
    return raw


def new_signing_key() -> str:
    """Return a fresh random signing key (a base64url 32-byte Ed25519 seed)."""
    return _b64(os.urandom(32))


def development_signing_key(path: Path) -> str:
    """Return the signing key kept at `path`, creating it (mode 0600) the first time.

    Every process of a development install (web, worker, MCP) reads the same file; when two
    start at once, the first link wins and the other reads what it wrote.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".receipt-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(new_signing_key() + "\n")
        with contextlib.suppress(FileExistsError):  # another process made the key first
            os.link(temporary, path)  # atomic, and never replaces an existing key
    finally:
        os.unlink(temporary)
    return path.read_text().strip()


def key_id_of(raw_public_key: bytes) -> str:
    """Return a key's id: the first 16 hex digits of the SHA-256 of its raw public key."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    algorithm: str
    public_key: str
    status: str = CURRENT


@dataclass(frozen=True)
class KeyRing:
    signing_key: Ed25519PrivateKey
    current: PublicKey
    retired: tuple[PublicKey, ...]

    def find(self, key_id: object) -> PublicKey | None:
        return next((k for k in (self.current, *self.retired) if k.key_id == key_id), None)


def _public(raw: bytes, status: str) -> PublicKey:
    return PublicKey(
        key_id=key_id_of(raw), algorithm=ALGORITHM, public_key=_b64(raw), status=status
    )


def public_key_of(signing_key: str) -> PublicKey:
    """Return the public key of a signing key (what RECEIPT_PREVIOUS_PUBLIC_KEYS lists)."""
    seed = _key_bytes("the signing key", signing_key)
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return _public(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw), CURRENT)


# Key rings by (signing key, previous public keys, development key file): settings fixed for
# the process's life, so a ring is re-derived (a fraction of a millisecond) only on expiry.
_key_rings: LocalCache[tuple[str, tuple[str, ...], str], KeyRing] = LocalCache(
    "marketplace.receipt_key_rings", maxsize=8, ttl_s=3600.0
)


def _key_ring(configured: str, previous: tuple[str, ...], key_file: str) -> KeyRing:
    seed = configured or development_signing_key(Path(key_file))
    name = "RECEIPT_SIGNING_KEY" if configured else str(key_file)
    signing_key = Ed25519PrivateKey.from_private_bytes(_key_bytes(name, seed))
    current = public_key_of(seed)
    retired: dict[str, PublicKey] = {}
    for text in previous:
        key = _public(_key_bytes("RECEIPT_PREVIOUS_PUBLIC_KEYS", text), RETIRED)
        if key.key_id != current.key_id:
            retired.setdefault(key.key_id, key)
    return KeyRing(signing_key=signing_key, current=current, retired=tuple(retired.values()))


def key_ring() -> KeyRing:
    """Return the key that signs receipts and the retired keys that still verify old ones.

    The signing key is RECEIPT_SIGNING_KEY (production refuses to start without it); a
    development install without one generates a random key once into its data directory.
    """
    key = (
        settings.RECEIPT_SIGNING_KEY,
        tuple(settings.RECEIPT_PREVIOUS_PUBLIC_KEYS),
        str(settings.RECEIPT_SIGNING_KEY_FILE),
    )
    return _key_rings.get_or_compute(key, lambda: _key_ring(*key))


def public_key() -> PublicKey:
    """Return the public key that verifies new receipts (base64url of the raw 32 bytes)."""
    return key_ring().current


def public_keys() -> tuple[PublicKey, ...]:
    """Return every published key: the current one first, then the retired ones."""
    ring = key_ring()
    return (ring.current, *ring.retired)


def sign_receipt(payload: dict[str, Any]) -> Receipt:
    """Return the receipt: the payload with its key id, algorithm and signature."""
    ring = key_ring()
    return {
        "payload": payload,
        "key_id": ring.current.key_id,
        "algorithm": ALGORITHM,
        "signature": _b64(ring.signing_key.sign(canonical_json(payload))),
    }


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str
    # For a valid receipt, whether its answer is metered (charged as the receipt says) now: a
    # streamed answer whose text broke off is not. None for an invalid receipt.
    metered: bool | None = None


def verify_receipt(receipt: object) -> Verification:
    """Check a receipt's signature against the published key its key id names."""
    if not isinstance(receipt, dict) or not isinstance(receipt.get("payload"), dict):
        return Verification(False, "malformed: a receipt has a payload object")
    if receipt.get("algorithm") != ALGORITHM:
        return Verification(False, f"unknown algorithm; receipts are signed with {ALGORITHM}")
    key = key_ring().find(receipt.get("key_id"))
    if key is None:
        return Verification(False, "signed with another key")
    try:
        signature = _unb64(str(receipt.get("signature", "")))
        Ed25519PublicKey.from_public_bytes(_unb64(key.public_key)).verify(
            signature, canonical_json(receipt["payload"])
        )
    except (InvalidSignature, ValueError):
        return Verification(False, "the signature does not match the payload")
    return Verification(True, "valid")


def check_receipt(receipt: Any) -> Verification:
    """Verify a receipt and, if it is valid, say whether the answer it signs is metered.

    Only a receipt this deployment signed is looked up, so a verifier learns `metered` of the
    answers it holds receipts for and of nothing else.
    """
    verification = verify_receipt(receipt)
    if not verification.valid:
        return verification
    payload = receipt["payload"]  # a valid receipt has a payload object
    # An answer's receipt names it by `id`; a sponsored item, the answer it was served with.
    request_id = (
        payload.get("request_id") if payload.get("type") == "sponsored" else payload.get("id")
    )
    metered = isinstance(request_id, str) and licensing.is_metered(request_id=request_id)
    return replace(verification, metered=metered)
