"""API keys: shown once, stored as prefix + SHA-256 hash, scoped, expiring, revocable."""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from accounts import errors
from accounts.models import APIKey, Organization
from accounts.services.access import (
    ADMIN,
    SCOPES,
    SCOPES_BY_ROLE,
    Actor,
    OrganizationInfo,
    actor_for_api_key,
    organization_info,
    roles_of,
)
from accounts.services.organizations import require_organization_manager
from core.fields import max_length

KEY_PREFIX = "pvn_"
NAME_MAX_LENGTH = max_length(APIKey, "name")


@dataclass(frozen=True)
class APIKeyInfo:
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    prefix: str
    scopes: tuple[str, ...]
    rate_limit_per_minute: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    allow_sponsored: bool = False

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


@dataclass(frozen=True)
class CreatedAPIKey:
    """A new key and its secret, which is shown this once and never stored."""

    key: APIKeyInfo
    secret: str


@dataclass(frozen=True)
class AuthenticatedKey:
    id: uuid.UUID
    organization_id: uuid.UUID
    scopes: frozenset[str]
    rate_limit_per_minute: int
    organization: OrganizationInfo  # loaded with the key, so requests need not load it again
    # The key's default for sponsored items (a default, so entries cached before the field
    # existed read False).
    allow_sponsored: bool = False


def actor_for_key(key: AuthenticatedKey) -> Actor:
    """Return the actor an authenticated key is, its organization already loaded."""
    return actor_for_api_key(
        api_key_id=key.id,
        organization_id=key.organization_id,
        scopes=key.scopes,
        organization=key.organization,
    )


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(key: APIKey) -> APIKeyInfo:
    return APIKeyInfo(
        id=key.id,
        organization_id=key.organization_id,
        name=key.name,
        prefix=key.prefix,
        scopes=tuple(key.scopes),
        rate_limit_per_minute=key.rate_limit_per_minute or settings.API_KEY_RATE_LIMIT_PER_MINUTE,
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
        allow_sponsored=key.allow_sponsored,
    )


def allowed_scopes(org: Organization) -> tuple[str, ...]:
    """Return the scopes a key of this organization may hold, given its roles."""
    scopes = {ADMIN}
    for role in roles_of(org):
        scopes.update(SCOPES_BY_ROLE[role])
    return tuple(scope for scope in SCOPES if scope in scopes)


def _clean_scopes(org: Organization, requested: Iterable[str] | None) -> tuple[str, ...]:
    allowed = allowed_scopes(org)
    if requested is None:
        return tuple(scope for scope in allowed if scope != ADMIN)
    scopes = tuple(dict.fromkeys(requested))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise errors.ValidationFailed(
            f"Unknown scope: {', '.join(map(str, unknown))}.",
            details={"scopes": [f"Choose from {', '.join(SCOPES)}."]},
        )
    not_allowed = [scope for scope in scopes if scope not in allowed]
    if not_allowed:
        raise errors.ValidationFailed(
            f"This organization's roles do not allow: {', '.join(not_allowed)}.",
            details={"scopes": [f"Allowed here: {', '.join(allowed)}."]},
        )
    if not scopes:
        raise errors.ValidationFailed(
            "A key needs at least one scope.", details={"scopes": ["At least one scope."]}
        )
    return scopes


def create_api_key(
    *,
    actor: Actor,
    organization_id: uuid.UUID | str,
    name: str,
    scopes: Iterable[str] | None = None,
    expires_at: datetime | None = None,
    rate_limit_per_minute: int | None = None,
    allow_sponsored: bool = False,
) -> CreatedAPIKey:
    """Create a key for the organization and return it with its secret, shown only now."""
    org = require_organization_manager(actor=actor, organization_id=organization_id)
    name = (name or "").strip()
    if not name:
        raise errors.ValidationFailed(
            "A key needs a name.", details={"name": ["This field is required."]}
        )
    if len(name) > NAME_MAX_LENGTH:
        raise errors.ValidationFailed(
            f"Key name is longer than {NAME_MAX_LENGTH} characters.",
            details={"name": [f"At most {NAME_MAX_LENGTH} characters."]},
        )
    granted = _clean_scopes(org, scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise errors.ValidationFailed(
            "The expiry must be in the future.", details={"expires_at": ["Must be in the future."]}
        )
    if rate_limit_per_minute is not None and not 1 <= rate_limit_per_minute <= 1_000_000:
        raise errors.ValidationFailed(
            "rate_limit_per_minute must be between 1 and 1,000,000.",
            details={"rate_limit_per_minute": ["Between 1 and 1,000,000."]},
        )
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        key = APIKey.objects.create(
            organization=org,
            name=name,
            prefix=prefix,
            secret_hash=_hash(secret),
            scopes=list(granted),
            expires_at=expires_at,
            rate_limit_per_minute=rate_limit_per_minute,
            allow_sponsored=allow_sponsored,
            created_by_id=actor.user_id,
        )
    return CreatedAPIKey(key=_info(key), secret=f"{KEY_PREFIX}{prefix}_{secret}")


def list_api_keys(*, actor: Actor, organization_id: uuid.UUID | str) -> list[APIKeyInfo]:
    org = require_organization_manager(actor=actor, organization_id=organization_id)
    return [_info(key) for key in APIKey.objects.filter(organization=org)]


def revoke_api_key(
    *, actor: Actor, organization_id: uuid.UUID | str, api_key_id: uuid.UUID | str
) -> APIKeyInfo:
    """Revoke a key at once; revoking a revoked key changes nothing."""
    org = require_organization_manager(actor=actor, organization_id=organization_id)
    with transaction.atomic():
        try:
            key = APIKey.objects.select_for_update().get(organization=org, id=api_key_id)
        except (APIKey.DoesNotExist, ValueError, DjangoValidationError) as exc:
            raise errors.NotFound("API key not found.") from exc
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
        _forget_key(key.prefix)
    return _info(key)


def update_api_key(
    *,
    actor: Actor,
    organization_id: uuid.UUID | str,
    api_key_id: uuid.UUID | str,
    allow_sponsored: bool,
) -> APIKeyInfo:
    """Change a key's default for sponsored items; requests see it within
    API_KEY_CACHE_TTL_S at worst (at once in this process)."""
    org = require_organization_manager(actor=actor, organization_id=organization_id)
    with transaction.atomic():
        try:
            key = APIKey.objects.select_for_update().get(organization=org, id=api_key_id)
        except (APIKey.DoesNotExist, ValueError, DjangoValidationError) as exc:
            raise errors.NotFound("API key not found.") from exc
        if key.allow_sponsored != allow_sponsored:
            key.allow_sponsored = allow_sponsored
            key.save(update_fields=["allow_sponsored"])
            if key.revoked_at is None:  # a revoked key keeps its "revoked" marker
                _refresh_key(key.prefix)
    return _info(key)


def sponsored_allowed(*, key: AuthenticatedKey | None, requested: bool | None) -> bool:
    """Say whether a request may get sponsored items: its own `allow_sponsored` if it says,
    else its key's default (a signed-in user without a key: no)."""
    if requested is not None:
        return requested
    return key.allow_sponsored if key is not None else False


def _parse(raw_key: str) -> tuple[str, str] | None:
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
        return None
    prefix, sep, secret = raw_key[len(KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or not secret:
        return None
    return prefix, secret


# -- the key cache ----------------------------------------------------------------------------
# Every API request checks its key, so a valid key's row is kept in the shared cache (Redis in
# production) for API_KEY_CACHE_TTL_S: one cache GET instead of a database query. Revocation
# writes a "revoked" marker over the entry (now and again on commit); readers only ever *add*
# entries, so a reader that loaded the row just before a revocation cannot overwrite the marker.

_REVOKED = "revoked"


@dataclass(frozen=True)
class _CachedKey:
    secret_hash: str
    expires_at: datetime | None
    identity: AuthenticatedKey


def _cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


def _forget_key(prefix: str) -> None:
    def mark() -> None:
        cache.set(_cache_key(prefix), _REVOKED, timeout=max(settings.API_KEY_CACHE_TTL_S, 1) * 2)

    mark()
    transaction.on_commit(mark)


def _refresh_key(prefix: str) -> None:
    """Drop a changed key's cached row (now and on commit) so the next request reloads it."""

    def drop() -> None:
        cache.delete(_cache_key(prefix))

    drop()
    transaction.on_commit(drop)


def _load_key(prefix: str) -> _CachedKey | None:
    """Return the key with this prefix as the cache keeps it, if it exists and is unrevoked."""
    key = APIKey.objects.select_related("organization").filter(prefix=prefix).first()
    if key is None or key.revoked_at is not None:
        return None
    return _CachedKey(
        secret_hash=key.secret_hash,
        expires_at=key.expires_at,
        identity=AuthenticatedKey(
            id=key.id,
            organization_id=key.organization_id,
            scopes=frozenset(key.scopes),
            rate_limit_per_minute=key.rate_limit_per_minute
            or settings.API_KEY_RATE_LIMIT_PER_MINUTE,
            organization=organization_info(key.organization),
            allow_sponsored=key.allow_sponsored,
        ),
    )


def authenticate_api_key(*, raw_key: str) -> AuthenticatedKey | None:
    """Return the key's identity if it is valid, unrevoked and unexpired; None otherwise."""
    parsed = _parse(raw_key)
    if parsed is None:
        return None
    prefix, secret = parsed
    ttl = settings.API_KEY_CACHE_TTL_S
    entry = cache.get(_cache_key(prefix)) if ttl > 0 else None
    if entry == _REVOKED:
        return None
    if entry is None:
        entry = _load_key(prefix)
        if entry is None:
            return None
        if ttl > 0:
            cache.add(_cache_key(prefix), entry, timeout=ttl)
    if not hmac.compare_digest(entry.secret_hash, _hash(secret)):
        return None
    now = timezone.now()
    if entry.expires_at is not None and entry.expires_at <= now:
        return None
    # At most one write per key per resolution period, across processes, so the hot path
    # stays read-only.
    resolution = settings.API_KEY_LAST_USED_RESOLUTION_S
    if cache.add(f"apikey-used:{prefix}", 1, timeout=max(resolution, 1)):
        APIKey.objects.filter(id=entry.identity.id).update(last_used_at=now)
    return entry.identity
