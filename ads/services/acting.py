"""Whom an ads use case acts for, checked, and what the actor may see.

Every public ads function that acts for someone takes an `accounts.Actor` and starts here, so
its scope, membership and role are checked the same way whoever calls it.
"""

import uuid

from django.db.models import QuerySet

from accounts import services as accounts
from ads.models import AdUnit, Campaign


def advertiser_id_for(
    actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> uuid.UUID:
    """Return the advertiser organization the actor acts for (`ads` scope)."""
    return accounts.acting_organization(
        actor=actor, role=accounts.ADVERTISER, scope=accounts.ADS, organization_id=organization_id
    ).id


def provider_id_for(
    actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> uuid.UUID:
    """Return the provider organization whose ad preferences the actor manages: they are part
    of its terms, so the `licensing` scope."""
    return accounts.acting_organization(
        actor=actor,
        role=accounts.PROVIDER,
        scope=accounts.LICENSING,
        organization_id=organization_id,
    ).id


def visible_campaigns(actor: accounts.Actor) -> QuerySet[Campaign]:
    """Return the campaigns of every organization the actor acts for (`ads` scope)."""
    accounts.require_scope(actor, accounts.ADS)
    return Campaign.objects.filter(advertiser_id__in=accounts.acting_organization_ids(actor=actor))


def visible_units(actor: accounts.Actor) -> QuerySet[AdUnit]:
    """Return the ad units of every organization the actor acts for (`ads` scope)."""
    accounts.require_scope(actor, accounts.ADS)
    return AdUnit.objects.filter(
        campaign__advertiser_id__in=accounts.acting_organization_ids(actor=actor)
    )
