"""`Idempotency-Key`: a retried request gets the first request's response, and runs once.

A key is bound to the request it first carried: the first request with a key claims it (a
unique row per organization, endpoint and key, holding a fingerprint of the request), and
the same key with another request is refused (422). A duplicate that arrives while the first
is still running is refused at once with 409 `request_in_progress` (retry shortly); one that
arrives after gets the stored response. A claim whose owner died (its lock expired) is taken
over.

What a request is metered under is derived from the organization, endpoint, key and request
fingerprint, so two different requests can never share a metering record. A failed request
releases its key, so a retry runs again, unless something was metered under it: a claim is
never released once its answer is metered, and a key whose answer was metered but whose
response was never stored (the client went away mid-stream, the process died) or is gone
(purged after IDEMPOTENCY_TTL_S) is refused with 422 `idempotency_key_used`, never re-run.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import tenacity
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.fields import max_length
from licensing import services as licensing
from marketplace import errors
from marketplace.models import IdempotencyRecord

# One limit for every endpoint that takes an Idempotency-Key; it is the key column's length.
MAX_KEY_CHARS = max_length(IdempotencyRecord, "key")
# A duplicate racing with a request that fails and releases the key claims it again.
CLAIM_ATTEMPTS = 3
# A request that failed because the database went away (a restart, a fail-over) cannot
# release its key on the connection that broke: it tries again on new connections for this
# long. A claim left behind would refuse every retry (409) until its lock expires.
RELEASE_RETRY_S = 5.0


class IdempotencyKeyReused(errors.DomainError):
    status = 422
    code = "idempotency_key_reused"


class IdempotencyKeyUsed(errors.DomainError):
    status = 422
    code = "idempotency_key_used"


class RequestInProgress(errors.Conflict):
    code = "request_in_progress"


@dataclass(frozen=True)
class Replay:
    """The stored response of the first request with this key."""

    status: int
    body: dict[str, Any]


def fingerprint(payload: object) -> str:
    """Return a digest of the request, so a key reused for another request is caught."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_fingerprint(*, method: str, path: str, query: dict[str, list[str]]) -> str:
    """Return the digest of a request without a body: its method, path and query string."""
    return fingerprint(
        {"method": method.upper(), "path": path, "query": sorted(query.items())},
    )


def clean_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise errors.ValidationFailed(
            f"Idempotency-Key is 1 to {MAX_KEY_CHARS} printable characters.",
            code="invalid_idempotency_key",
            details={"Idempotency-Key": [f"1 to {MAX_KEY_CHARS} printable characters."]},
        )
    return key


def request_id_for(
    *, organization_id: uuid.UUID, endpoint: str, key: str, digest: str, prefix: str
) -> str:
    """Return the id a request with this key and fingerprint is metered under."""
    name = f"{organization_id}/{endpoint}/{key}/{digest}"
    return f"{prefix}_{uuid.uuid5(uuid.NAMESPACE_URL, name).hex}"


def _records(organization_id: uuid.UUID, endpoint: str, key: str) -> QuerySet[IdempotencyRecord]:
    return IdempotencyRecord.objects.filter(
        organization_id=organization_id, endpoint=endpoint, key=key
    )


def _try_claim(organization_id: uuid.UUID, endpoint: str, key: str, digest: str) -> bool:
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


def _claim_or_replay(
    organization_id: uuid.UUID, endpoint: str, key: str, digest: str
) -> Replay | None:
    records = _records(organization_id, endpoint, key)
    for _ in range(CLAIM_ATTEMPTS):
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
            status, body = record.response_status, record.response_body
            assert status is not None and body is not None  # complete() writes both at once
            return Replay(status=status, body=body)
        now = timezone.now()
        if record.locked_until <= now:
            taken = records.filter(
                status=IdempotencyRecord.Status.IN_PROGRESS, locked_until=record.locked_until
            ).update(locked_until=now + timedelta(seconds=settings.IDEMPOTENCY_LOCK_S))
            if taken:
                return None  # the first request's process died; this one finishes the work
        break
    raise RequestInProgress(
        "A request with this Idempotency-Key is still in progress; retry shortly.",
        details={"retry_after_s": 1},
    )


def claim(
    *,
    organization_id: uuid.UUID,
    endpoint: str,
    key: str,
    digest: str,
    request_id: str | None = None,
) -> Replay | None:
    """Claim the key for this request, or return the first request's response.

    Raise IdempotencyKeyReused if the key was used for a different request, RequestInProgress
    if the first request is still running, and, when `request_id` is given, IdempotencyKeyUsed
    if an answer was already metered under it but its response was never stored or is gone.
    """
    key = clean_key(key)
    replay = _claim_or_replay(organization_id, endpoint, key, digest)
    if replay is None and request_id is not None and licensing.is_metered(request_id=request_id):
        _unlock(organization_id, endpoint, key)
        raise already_metered(request_id)
    return replay


def already_metered(request_id: str) -> IdempotencyKeyUsed:
    """Return the error for a request whose answer was metered by an earlier run."""
    return IdempotencyKeyUsed(
        "This Idempotency-Key's answer was already metered and its response is not "
        "available; send the request again with a new key.",
        details={"request_id": request_id},
    )


def _unlock(organization_id: uuid.UUID, endpoint: str, key: str) -> None:
    """Let the next request with this key decide at once instead of waiting for the lock."""
    _records(organization_id, endpoint, key).filter(
        status=IdempotencyRecord.Status.IN_PROGRESS
    ).update(locked_until=timezone.now())


def complete(
    *, organization_id: uuid.UUID, endpoint: str, key: str, status: int, body: dict[str, Any]
) -> None:
    """Store the response that later requests with this key receive."""
    _records(organization_id, endpoint, key).update(
        status=IdempotencyRecord.Status.COMPLETED, response_status=status, response_body=body
    )


def _lost_connection(exc: BaseException) -> bool:
    """Return whether `exc` is the database connection failing, outside any transaction."""
    return isinstance(exc, OperationalError | InterfaceError) and not connection.in_atomic_block


def _drop_broken_connection(_state: tenacity.RetryCallState) -> None:
    connection.close_if_unusable_or_obsolete()  # the next query opens a new one


@tenacity.retry(
    retry=tenacity.retry_if_exception(_lost_connection),
    stop=tenacity.stop_after_delay(RELEASE_RETRY_S),
    wait=tenacity.wait_exponential_jitter(multiplier=0.1, max=1.0),
    before_sleep=_drop_broken_connection,
    reraise=True,
)
def release(
    *, organization_id: uuid.UUID, endpoint: str, key: str, request_id: str | None = None
) -> None:
    """Forget an unfinished claim, so that a retry runs the request again.

    A claim whose answer was metered under `request_id` is kept: the same key must never
    run again and be answered free under the first request's metering. If the database
    connection broke (outside a transaction), it is tried again on a new connection for up to
    RELEASE_RETRY_S.
    """
    if request_id is not None and licensing.is_metered(request_id=request_id):
        _unlock(organization_id, endpoint, key)
        return
    _records(organization_id, endpoint, key).filter(
        status=IdempotencyRecord.Status.IN_PROGRESS
    ).delete()


def purge_expired() -> int:
    """Delete records older than IDEMPOTENCY_TTL_S; return how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_TTL_S)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
