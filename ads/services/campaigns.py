"""Advertisers' campaigns: budgets in micros, a schedule, pacing and a status.

Scoped to the acting advertiser: another organization's campaign is 404.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from accounts.services import Actor
from ads import errors
from ads.models import AdUnit, Campaign, Pacing
from ads.services.acting import advertiser_id_for, visible_campaigns
from ads.services.changes import load_limits, units_changed
from ads.services.content import clean_text, invalid
from billing import services as billing
from core.fields import max_length

# The largest budget or bid accepted: a trillion units of the currency, far below a bigint.
MAX_MICROS = 10**18
NAME_MAX_LENGTH = max_length(Campaign, "name")


@dataclass(frozen=True)
class CampaignInfo:
    id: uuid.UUID
    advertiser_id: uuid.UUID
    name: str
    currency: str
    total_budget_micros: int
    daily_budget_micros: int | None
    starts_at: datetime
    ends_at: datetime | None
    pacing: str
    status: str
    spent_micros: int
    unit_count: int
    created_at: datetime
    updated_at: datetime


class CampaignChanges(TypedDict, total=False):
    """What an advertiser may change about a campaign (its status has its own verbs)."""

    name: str
    total_budget_micros: int
    daily_budget_micros: int | None
    starts_at: datetime
    ends_at: datetime | None
    pacing: str


def campaign_info(campaign: Campaign, unit_count: int | None = None) -> CampaignInfo:
    if unit_count is None:
        unit_count = getattr(campaign, "unit_count", None)
    if unit_count is None:
        unit_count = campaign.units.count()
    return CampaignInfo(
        id=campaign.id,
        advertiser_id=campaign.advertiser_id,
        name=campaign.name,
        currency=campaign.currency,
        total_budget_micros=campaign.total_budget_micros,
        daily_budget_micros=campaign.daily_budget_micros,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        pacing=campaign.pacing,
        status=campaign.status,
        spent_micros=campaign.spent_micros,
        unit_count=unit_count,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def load_campaign(
    actor: Actor, campaign_id: uuid.UUID | str, *, for_update: bool = False
) -> Campaign:
    """Return the actor's campaign, or 404 so other advertisers' ids do not leak."""
    queryset: QuerySet[Campaign] = visible_campaigns(actor)
    if for_update:
        queryset = queryset.select_for_update()
    try:
        return queryset.get(id=campaign_id)
    except (Campaign.DoesNotExist, DjangoValidationError, ValueError, TypeError) as exc:
        raise errors.NotFound("Campaign not found.") from exc


def _micros(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(field, f"{field} is a whole number of micros.")
    if value <= 0:
        raise invalid(field, f"{field} must be more than zero.")
    if value > MAX_MICROS:
        raise invalid(field, f"{field} is at most {MAX_MICROS}.")
    return value


def _aware(value: object, field: str) -> datetime:
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise invalid(field, f"{field} is a date and time with a time zone.")
    return value


def _clean_campaign(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return the campaign's fields checked one by one and against each other."""
    clean = {
        "name": clean_text(fields["name"], field="name", limit=NAME_MAX_LENGTH),
        "total_budget_micros": _micros(fields["total_budget_micros"], "total_budget_micros"),
        "daily_budget_micros": None,
        "starts_at": _aware(fields["starts_at"], "starts_at"),
        "ends_at": None,
        "pacing": fields["pacing"],
    }
    if fields["daily_budget_micros"] is not None:
        clean["daily_budget_micros"] = _micros(fields["daily_budget_micros"], "daily_budget_micros")
        if clean["daily_budget_micros"] > clean["total_budget_micros"]:
            raise invalid("daily_budget_micros", "The daily budget is more than the total budget.")
    if fields["ends_at"] is not None:
        clean["ends_at"] = _aware(fields["ends_at"], "ends_at")
        if clean["ends_at"] <= clean["starts_at"]:
            raise invalid("ends_at", "The campaign must end after it starts.")
    if clean["pacing"] not in Pacing.values:
        raise invalid("pacing", f"pacing is one of {', '.join(Pacing.values)}.")
    return clean


def _check_bids_fit(campaign: Campaign) -> None:
    """Refuse budgets below what was spent, or that a unit's bid could not be paid from."""
    if campaign.total_budget_micros < campaign.spent_micros:
        raise invalid(
            "total_budget_micros",
            f"The campaign has spent {campaign.spent_micros} micros already, more than this.",
        )
    highest = campaign.units.aggregate(highest=Max("max_bid_micros"))["highest"]
    if highest is not None and highest > campaign.total_budget_micros:
        raise invalid(
            "total_budget_micros",
            f"A unit of this campaign bids {highest} micros, more than the total budget.",
        )
    cpc = campaign.units.filter(bid_type=AdUnit.BidType.CPC).aggregate(h=Max("max_bid_micros"))
    daily = campaign.daily_budget_micros
    if daily is not None and cpc["h"] is not None and cpc["h"] > daily:
        raise invalid(
            "daily_budget_micros",
            f"A unit of this campaign bids {cpc['h']} micros a click, more than the daily budget.",
        )


def create_campaign(
    *,
    actor: Actor,
    name: str,
    total_budget_micros: int,
    organization_id: uuid.UUID | str | None = None,
    daily_budget_micros: int | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    pacing: str = Pacing.EVEN,
    currency: str | None = None,
) -> CampaignInfo:
    """Create a campaign for the actor's advertiser organization, active from `starts_at`
    (now by default); it serves only units an operator has approved."""
    advertiser_id = advertiser_id_for(actor, organization_id)
    platform_currency = settings.LICENSING_CURRENCY
    if currency is not None and currency.upper() != platform_currency:
        raise invalid("currency", f"Campaigns are funded in {platform_currency}.")
    fields = _clean_campaign(
        {
            "name": name,
            "total_budget_micros": total_budget_micros,
            "daily_budget_micros": daily_budget_micros,
            "starts_at": starts_at or timezone.now(),
            "ends_at": ends_at,
            "pacing": pacing,
        }
    )
    if fields["ends_at"] is not None and fields["ends_at"] <= timezone.now():
        raise invalid("ends_at", "The campaign would have ended already.")
    with transaction.atomic():
        campaign = Campaign.objects.create(
            advertiser_id=advertiser_id, currency=platform_currency, **fields
        )
    return campaign_info(campaign, 0)


def update_campaign(
    *, actor: Actor, campaign_id: uuid.UUID | str, **changes: Unpack[CampaignChanges]
) -> CampaignInfo:
    """Change a campaign's name, budgets, schedule or pacing (not an ended one's)."""
    unknown = sorted(set(changes) - set(CampaignChanges.__annotations__))
    if unknown:
        raise invalid(unknown[0], f"Unknown field: {unknown[0]}.", code="unknown_field")
    with transaction.atomic():
        campaign = load_campaign(actor, campaign_id, for_update=True)
        if campaign.status == Campaign.Status.ENDED:
            raise errors.CampaignEnded("This campaign has ended; start a new one.")
        current = {key: getattr(campaign, key) for key in CampaignChanges.__annotations__}
        fields = _clean_campaign({**current, **changes})
        for key, value in fields.items():
            setattr(campaign, key, value)
        _check_bids_fit(campaign)
        campaign.save()
        units_changed()
        load_limits(
            campaign_id=campaign.id,
            total_budget_micros=campaign.total_budget_micros,
            daily_budget_micros=campaign.daily_budget_micros,
        )
    return campaign_info(campaign)


def _set_status(actor: Actor, campaign_id: uuid.UUID | str, status: str) -> CampaignInfo:
    with transaction.atomic():
        campaign = load_campaign(actor, campaign_id, for_update=True)
        if campaign.status == Campaign.Status.ENDED and status != Campaign.Status.ENDED:
            raise errors.CampaignEnded("This campaign has ended; start a new one.")
        if campaign.status == Campaign.Status.OUT_OF_FUNDS and status == Campaign.Status.ACTIVE:
            _check_funded(campaign)
        if campaign.status != status:
            campaign.status = status
            campaign.save(update_fields=["status", "updated_at"])
            units_changed()
    return campaign_info(campaign)


def _check_funded(campaign: Campaign) -> None:
    """Refuse to resume a campaign stopped for want of funds while they still hold nothing."""
    balance = billing.balance_of(organization_id=campaign.advertiser_id)
    prepaid = sum(
        line.advertiser_prepaid_micros
        for line in balance.currencies
        if line.currency == campaign.currency
    )
    if prepaid <= 0:
        raise errors.CampaignOutOfFunds(
            "Your prepaid ad funds are empty: top them up (POST /api/v1/billing/top-ups), then "
            "resume the campaign."
        )


def pause_campaign(*, actor: Actor, campaign_id: uuid.UUID | str) -> CampaignInfo:
    """Stop serving the campaign's units until it is resumed."""
    return _set_status(actor, campaign_id, Campaign.Status.PAUSED)


def resume_campaign(*, actor: Actor, campaign_id: uuid.UUID | str) -> CampaignInfo:
    """Serve the campaign's approved units again (within its schedule); one stopped for want
    of funds once its advertiser's prepaid funds hold something again."""
    return _set_status(actor, campaign_id, Campaign.Status.ACTIVE)


def end_campaign(*, actor: Actor, campaign_id: uuid.UUID | str) -> CampaignInfo:
    """End the campaign for good: it serves nothing more and cannot be resumed."""
    return _set_status(actor, campaign_id, Campaign.Status.ENDED)


def get_campaign(*, actor: Actor, campaign_id: uuid.UUID | str) -> CampaignInfo:
    return campaign_info(load_campaign(actor, campaign_id))


def list_campaigns(
    *, actor: Actor, organization_id: uuid.UUID | str | None = None, status: str | None = None
) -> list[CampaignInfo]:
    """Return the advertiser's campaigns, newest first, optionally with one status."""
    advertiser_id = advertiser_id_for(actor, organization_id)
    queryset = Campaign.objects.filter(advertiser_id=advertiser_id)
    if status is not None:
        if status not in Campaign.Status.values:
            raise invalid("status", f"status is one of {', '.join(Campaign.Status.values)}.")
        queryset = queryset.filter(status=status)
    queryset = queryset.annotate(unit_count=Count("units")).order_by("-created_at", "id")
    return [campaign_info(campaign) for campaign in queryset]


def delete_campaign(*, actor: Actor, campaign_id: uuid.UUID | str) -> None:
    """Delete a campaign none of whose units was ever approved (with those units); one that
    may have served is ended instead (409 unit_was_served)."""
    with transaction.atomic():
        campaign = load_campaign(actor, campaign_id, for_update=True)
        if campaign.units.filter(first_approved_at__isnull=False).exists():
            raise errors.UnitWasServed(
                "A unit of this campaign was approved and may have served: end the campaign "
                "instead (POST .../end)."
            )
        campaign.units.all().delete()
        campaign.delete()
