"""Providers' ad preferences: whether ads may appear beside their content, and which
advertisers and categories never may. A provider that has set nothing allows ads."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from accounts import services as accounts
from accounts.services import Actor
from ads.models import ProviderAdPreferences
from ads.services.acting import provider_id_for
from ads.services.changes import preferences_changed
from ads.services.content import MAX_IDS, clean_categories, invalid


@dataclass(frozen=True)
class AdPreferences:
    provider_id: uuid.UUID
    allow_ads: bool = True
    blocked_advertisers: tuple[uuid.UUID, ...] = ()
    blocked_categories: tuple[str, ...] = ()
    updated_at: datetime | None = None  # None: never set, the defaults apply


def _preferences(row: ProviderAdPreferences) -> AdPreferences:
    return AdPreferences(
        provider_id=row.provider_id,
        allow_ads=row.allow_ads,
        blocked_advertisers=tuple(uuid.UUID(i) for i in row.blocked_advertisers),
        blocked_categories=tuple(row.blocked_categories),
        updated_at=row.updated_at,
    )


def _clean_advertisers(values: object) -> list[str]:
    field = "blocked_advertisers"
    if not isinstance(values, list | tuple):
        raise invalid(field, f"{field} is a list of organization ids.")
    ids: dict[uuid.UUID, None] = {}
    for value in values:
        try:
            ids[value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))] = None
        except ValueError as exc:
            raise invalid(field, f"{field} holds ids: {str(value)[:40]!r} is not one.") from exc
    if len(ids) > MAX_IDS:
        raise invalid(field, f"At most {MAX_IDS} ids in {field}.")
    roles = accounts.organization_roles(organization_ids=ids) if ids else {}
    unknown = [i for i in ids if accounts.ADVERTISER not in roles.get(i, ())]
    if unknown:
        raise invalid(field, f"{unknown[0]} is no advertiser.", code="unknown_target")
    return sorted(str(i) for i in ids)


def get_ad_preferences(
    *, actor: Actor, organization_id: uuid.UUID | str | None = None
) -> AdPreferences:
    """Return the acting provider's ad preferences (the defaults if it never set them)."""
    provider_id = provider_id_for(actor, organization_id)
    row = ProviderAdPreferences.objects.filter(provider_id=provider_id).first()
    return _preferences(row) if row is not None else AdPreferences(provider_id=provider_id)


def set_ad_preferences(
    *,
    actor: Actor,
    organization_id: uuid.UUID | str | None = None,
    allow_ads: bool | None = None,
    blocked_advertisers: Sequence[uuid.UUID | str] | None = None,
    blocked_categories: Sequence[str] | None = None,
) -> AdPreferences:
    """Change the acting provider's ad preferences; what is not named stays as it was."""
    provider_id = provider_id_for(actor, organization_id)
    changes: dict[str, object] = {}
    if allow_ads is not None:
        if not isinstance(allow_ads, bool):
            raise invalid("allow_ads", "allow_ads is true or false.")
        changes["allow_ads"] = allow_ads
    if blocked_advertisers is not None:
        changes["blocked_advertisers"] = _clean_advertisers(blocked_advertisers)
    if blocked_categories is not None:
        changes["blocked_categories"] = clean_categories(
            blocked_categories, field="blocked_categories"
        )
    with transaction.atomic():
        row, _ = ProviderAdPreferences.objects.select_for_update().get_or_create(
            provider_id=provider_id
        )
        for key, value in changes.items():
            setattr(row, key, value)
        row.save()
        preferences_changed()
    return _preferences(row)


def ad_preferences_for(*, provider_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, AdPreferences]:
    """Return each named provider's ad preferences, defaults for those that set none (for the
    auction: the providers of the passages an answer retrieved)."""
    ids = list(dict.fromkeys(provider_ids))
    found = {
        row.provider_id: _preferences(row)
        for row in ProviderAdPreferences.objects.filter(provider_id__in=ids)
    }
    return {i: found.get(i) or AdPreferences(provider_id=i) for i in ids}
