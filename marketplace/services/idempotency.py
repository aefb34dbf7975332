"""`Idempotency-Key`: a retried request gets the first request's response, and runs once.

The first request with a key claims it (a unique row per organization, endpoint and key).
A duplicate that arrives while the first is still running waits for its response; one that
arrives after gets the stored response. A claim whose owner died (its lock expired) is taken
over. Only successful responses are kept: a failed request releases the key, so a retry runs
again, which is safe because a failed answer meters nothing.
"""

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace import errors
from marketplace.models import IdempotencyRecord

MAX_KEY_CHARS = 255


class IdempotencyKeyReused(errors.DomainError):
    status = 422
    code = "idempotency_key_reused"


class RequestInProgress(errors.Conflict):
    code = "request_in_progress"


@dataclass(frozen=True)
class Replay:
    """The stored response of the first request with this key."""

    status: int
    body: dict


def fingerprint(payload) -> str:
    """Return a digest of the request body, so a key reused for another request is caught."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def clean_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise errors.ValidationFailed(
            f"Idempotency-Key is 1 to {MAX_KEY_CHARS} printable characters.",
            code="invalid_idempotency_key",
        )
    return key


def _try_claim(organization_id, endpoint: str, key: str, digest: str) -> bool:
    now = timezone.now()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                organization_id=organization_id,
                endpoint=endpoint,
                key=key,
                fingerprint=digest,
                created_at=now,
                locked_until=now + timedelta(seconds=settings.IDEMPOTENCY_LOCK_S),
            )
    except IntegrityError:
        return False
    return True


def claim(*, organization_id, endpoint: str, key: str, digest: str) -> Replay | None:
    """Claim the key for this request, or return the first request's response.

    Raise IdempotencyKeyReused if the key was used for a different request body, and
    RequestInProgress if the first request is still running after the wait.
    """
    key = clean_key(key)
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_S
    records = IdempotencyRecord.objects.filter(
        organization_id=organization_id, endpoint=endpoint, key=key
    )
    while True:
        if _try_claim(organization_id, endpoint, key, digest):
            return None
        record = records.first()
        if record is None:
            continue  # the first request failed and released the key a moment ago
        if record.fingerprint != digest:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request."
            )
        if record.status == IdempotencyRecord.Status.COMPLETED:
            return Replay(status=record.response_status, body=record.response_body)
        now = timezone.now()
        if record.locked_until <= now:
            taken = records.filter(
                status=IdempotencyRecord.Status.IN_PROGRESS, locked_until=record.locked_until
            ).update(locked_until=now + timedelta(seconds=settings.IDEMPOTENCY_LOCK_S))
            if taken:
                return None  # the first request's process died; this one finishes the work
        if time.monotonic() >= deadline:
            raise RequestInProgress(
                "A request with this Idempotency-Key is still in progress; retry shortly."
            )
        time.sleep(0.02)


def complete(*, organization_id, endpoint: str, key: str, status: int, body: dict) -> None:
    """Store the response that later requests with this key receive."""
    IdempotencyRecord.objects.filter(
        organization_id=organization_id, endpoint=endpoint, key=key
    ).update(status=IdempotencyRecord.Status.COMPLETED, response_status=status, response_body=body)


def release(*, organization_id, endpoint: str, key: str) -> None:
    """Forget an unfinished claim, so that a retry runs the request again."""
    IdempotencyRecord.objects.filter(
        organization_id=organization_id,
        endpoint=endpoint,
        key=key,
        status=IdempotencyRecord.Status.IN_PROGRESS,
    ).delete()


def purge_expired() -> int:
    """Delete records older than IDEMPOTENCY_TTL_S; return how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_TTL_S)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
