"""Agents' price ceilings: what an agent consents to pay without accepting an offer itself.

An auto-accept offer entitles every agent at once; it binds one only within its organization's
ceilings, per source and per answer. No row holds the defaults from settings.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction

from accounts import services as accounts
from licensing import errors
from licensing.models import PriceCeiling
from licensing.services.acting import agent_id_for
from licensing.services.cache import invalidate
from licensing.services.offers import MAX_PRICE_MICROS

MANAGER_ROLES = ("owner", "admin")


@dataclass(frozen=True)
class PriceCeilings:
    """The most an auto-accept offer may cost an agent: per source, and per answer in all."""

    agent_id: uuid.UUID
    per_source_micros: int
    per_answer_micros: int
    currency: str
    is_default: bool  # no ceilings set: the settings' defaults apply
    updated_at: datetime | None = None


def ceilings_for(agent_id: uuid.UUID) -> PriceCeilings:
    """Return the agent's ceilings, the defaults if it set none (for authorized use cases)."""
    row = PriceCeiling.objects.filter(agent_id=agent_id).first()
    if row is None:
        return PriceCeilings(
            agent_id=agent_id,
            per_source_micros=settings.AGENT_DEFAULT_MAX_PRICE_PER_SOURCE_MICROS,
            per_answer_micros=settings.AGENT_DEFAULT_MAX_PRICE_PER_ANSWER_MICROS,
            currency=settings.LICENSING_CURRENCY,
            is_default=True,
        )
    return PriceCeilings(
        agent_id=agent_id,
        per_source_micros=row.per_source_micros,
        per_answer_micros=row.per_answer_micros,
        currency=settings.LICENSING_CURRENCY,
        is_default=False,
        updated_at=row.updated_at,
    )


def get_price_ceilings(
    *, actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> PriceCeilings:
    """Return the acting agent organization's price ceilings."""
    return ceilings_for(agent_id_for(actor, organization_id, reading=True))


def _checked(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PRICE_MICROS:
        message = f"An integer from 0 to {MAX_PRICE_MICROS} micros."
        raise errors.ValidationFailed(f"{name}: {message}", details={name: [message]})
    return value


def set_price_ceilings(
    *,
    actor: accounts.Actor,
    organization_id: uuid.UUID | str | None = None,
    per_source_micros: int | None = None,
    per_answer_micros: int | None = None,
) -> PriceCeilings:
    """Change the acting agent organization's ceilings (either or both); owners and admins
    only, or an API key with the `licensing` scope. Entitlements follow at once."""
    organization = accounts.acting_organization(
        actor=actor, role=accounts.AGENT, scope=accounts.LICENSING, organization_id=organization_id
    )
    if actor.api_key_id is None and organization.my_role not in MANAGER_ROLES:
        raise errors.PermissionDenied(
            "Only the organization's owners and admins can change its price ceilings.",
            code="not_an_admin",
        )
    per_source = _checked("per_source_micros", per_source_micros)
    per_answer = _checked("per_answer_micros", per_answer_micros)
    with transaction.atomic():
        PriceCeiling.objects.get_or_create(
            agent_id=organization.id,
            defaults={
                "per_source_micros": settings.AGENT_DEFAULT_MAX_PRICE_PER_SOURCE_MICROS,
                "per_answer_micros": settings.AGENT_DEFAULT_MAX_PRICE_PER_ANSWER_MICROS,
            },
        )
        row = PriceCeiling.objects.select_for_update().get(agent_id=organization.id)
        if per_source is not None:
            row.per_source_micros = per_source
        if per_answer is not None:
            row.per_answer_micros = per_answer
        row.save()
        invalidate()
    return ceilings_for(organization.id)
