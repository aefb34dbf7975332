"""The ad repository: every ad served, as transparency rules for online ads require (the EU
Digital Services Act's ad repositories, art. 39): what it showed, on whose behalf, who paid,
when it was served, the parameters it was targeted with, and how many it reached.

One entry per version of a unit that served (`AdVersion`, a copy written when it first
served), so an edited unit shows what each version said. Open to every signed-in
organization, whatever its role.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Max

from accounts import services as accounts
from ads import errors
from ads.models import AdEvent, AdVersion
from ads.services.content import invalid

PAGE_MAX = 200


@dataclass(frozen=True)
class RepositoryEntry:
    unit_id: uuid.UUID
    version: int
    title: str
    body: str
    url: str
    call_to_action: str
    category: str
    bid_type: str
    advertiser_id: uuid.UUID  # on whose behalf
    advertiser_name: str
    paid_by_id: uuid.UUID  # whose prepaid funds paid: the advertiser's
    paid_by_name: str
    first_served_at: datetime
    last_served_at: datetime
    targeting: dict[str, Any]
    impressions: int  # reach: the answers it was served with (void ones not counted)


@dataclass(frozen=True)
class RepositoryPage:
    results: tuple[RepositoryEntry, ...]
    next_offset: int | None


def ad_repository(
    *,
    actor: accounts.Actor,
    advertiser_id: uuid.UUID | str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> RepositoryPage:
    """Return the ads served, those that first served most recently first."""
    if not accounts.acting_organization_ids(actor=actor):
        raise errors.PermissionDenied(
            "The ad repository is open to members of an organization.", code="no_organization"
        )
    limit = max(1, min(limit, PAGE_MAX))
    offset = max(0, offset)
    versions = AdVersion.objects.select_related("advertiser").order_by("-first_served_at", "-id")
    if advertiser_id is not None:
        try:
            versions = versions.filter(advertiser_id=uuid.UUID(str(advertiser_id)))
        except (ValueError, DjangoValidationError) as exc:
            raise invalid("advertiser", "advertiser is an organization id.") from exc
    page = list(versions[offset : offset + limit + 1])
    more = len(page) > limit
    page = page[:limit]
    reach: dict[int, tuple[int, datetime]] = {
        row["serving__ad_version_id"]: (row["impressions"], row["last"])
        for row in AdEvent.objects.filter(
            kind=AdEvent.Kind.IMPRESSION, serving__ad_version_id__in=[v.id for v in page]
        )
        .exclude(status=AdEvent.Status.VOID)
        .values("serving__ad_version_id")
        .annotate(impressions=Count("id"), last=Max("created_at"))
    }
    results = []
    for v in page:
        impressions, last_served_at = reach.get(v.id, (0, v.first_served_at))
        results.append(
            RepositoryEntry(
                unit_id=v.unit_id,
                version=v.version,
                title=v.title,
                body=v.body,
                url=v.url,
                call_to_action=v.call_to_action,
                category=v.category,
                bid_type=v.bid_type,
                advertiser_id=v.advertiser_id,
                advertiser_name=v.advertiser.name,
                paid_by_id=v.advertiser_id,
                paid_by_name=v.advertiser.name,
                first_served_at=v.first_served_at,
                last_served_at=last_served_at,
                targeting=dict(v.targeting),
                impressions=impressions,
            )
        )
    return RepositoryPage(results=tuple(results), next_offset=offset + limit if more else None)
