"""Ad units: what is shown, where, and what it bids; each new or edited version waits for an
operator's approval before it serves.

Scoped to the acting advertiser: another organization's unit (or campaign) is 404.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.services import Actor
from ads import errors
from ads.models import AdUnit, Campaign
from ads.services.acting import visible_units
from ads.services.campaigns import MAX_MICROS, load_campaign
from ads.services.changes import units_changed
from ads.services.content import clean_category, clean_unit_text, clean_url, invalid
from ads.services.targeting import KEYS, Targeting, clean_targeting, targeting_of

TEXT_FIELDS = ("title", "body", "call_to_action", "context_hints")
# What a unit serves: changing any of these makes a new version that waits for review.
SERVED_FIELDS = (*TEXT_FIELDS, "url", "category", "bid_type", "max_bid_micros", *KEYS)


@dataclass(frozen=True)
class AdUnitInfo:
    id: uuid.UUID
    campaign_id: uuid.UUID
    advertiser_id: uuid.UUID
    title: str
    body: str
    url: str
    call_to_action: str
    context_hints: str
    targeting: Targeting
    category: str
    bid_type: str
    max_bid_micros: int
    status: str
    review_state: str
    review_reason: str
    version: int
    submitted_at: datetime
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UnitChanges(TypedDict, total=False):
    """What an advertiser may change about a unit (pausing has its own verbs)."""

    title: str
    body: str
    url: str
    call_to_action: str
    context_hints: str
    targeting: Mapping[str, Any]
    category: str
    bid_type: str
    max_bid_micros: int


def unit_info(unit: AdUnit, advertiser_id: uuid.UUID | None = None) -> AdUnitInfo:
    return AdUnitInfo(
        id=unit.id,
        campaign_id=unit.campaign_id,
        advertiser_id=advertiser_id or unit.campaign.advertiser_id,
        title=unit.title,
        body=unit.body,
        url=unit.url,
        call_to_action=unit.call_to_action,
        context_hints=unit.context_hints,
        targeting=targeting_of({key: getattr(unit, key) for key in KEYS}),
        category=unit.category,
        bid_type=unit.bid_type,
        max_bid_micros=unit.max_bid_micros,
        status=unit.status,
        review_state=unit.review_state,
        review_reason=unit.review_reason,
        version=unit.version,
        submitted_at=unit.submitted_at,
        reviewed_at=unit.reviewed_at,
        created_at=unit.created_at,
        updated_at=unit.updated_at,
    )


def load_unit(actor: Actor, unit_id: uuid.UUID | str, *, for_update: bool = False) -> AdUnit:
    """Return the actor's unit with its campaign, or 404 so other advertisers' ids do not leak."""
    queryset: QuerySet[AdUnit] = visible_units(actor).select_related("campaign")
    if for_update:
        queryset = queryset.select_for_update(of=("self", "campaign"))
    try:
        return queryset.get(id=unit_id)
    except (AdUnit.DoesNotExist, DjangoValidationError, ValueError, TypeError) as exc:
        raise errors.NotFound("Ad unit not found.") from exc


def _clean_bid(campaign: Campaign, bid_type: object, max_bid_micros: object) -> tuple[str, int]:
    """Return a bid that the campaign's budgets can pay for at least one event."""
    if bid_type not in AdUnit.BidType.values:
        raise invalid("bid_type", f"bid_type is one of {', '.join(AdUnit.BidType.values)}.")
    if not isinstance(max_bid_micros, int) or isinstance(max_bid_micros, bool):
        raise invalid("max_bid_micros", "max_bid_micros is a whole number of micros.")
    if not 0 < max_bid_micros <= MAX_MICROS:
        raise invalid("max_bid_micros", "max_bid_micros must be more than zero.")
    if max_bid_micros > campaign.total_budget_micros:
        raise invalid("max_bid_micros", "The bid is more than the campaign's total budget.")
    daily = campaign.daily_budget_micros
    if bid_type == AdUnit.BidType.CPC and daily is not None and max_bid_micros > daily:
        raise invalid("max_bid_micros", "A click would cost more than the campaign's daily budget.")
    return str(bid_type), max_bid_micros


def _require_open(campaign: Campaign) -> None:
    if campaign.status == Campaign.Status.ENDED:
        raise errors.CampaignEnded("This unit's campaign has ended.")


def create_unit(
    *,
    actor: Actor,
    campaign_id: uuid.UUID | str,
    title: str,
    body: str,
    url: str,
    call_to_action: str,
    category: str,
    bid_type: str,
    max_bid_micros: int,
    context_hints: str = "",
    targeting: Mapping[str, Any] | None = None,
) -> AdUnitInfo:
    """Create a unit in one of the actor's campaigns; it waits for review before it serves."""
    texts = {
        field: clean_unit_text(field, value)
        for field, value in zip(
            TEXT_FIELDS, (title, body, call_to_action, context_hints), strict=True
        )
    }
    clean_url_ = clean_url(url)
    category = clean_category(category)
    targets = clean_targeting(targeting)
    with transaction.atomic():
        campaign = load_campaign(actor, campaign_id, for_update=True)
        _require_open(campaign)
        bid_type, max_bid_micros = _clean_bid(campaign, bid_type, max_bid_micros)
        unit = AdUnit.objects.create(
            campaign=campaign,
            url=clean_url_,
            category=category,
            bid_type=bid_type,
            max_bid_micros=max_bid_micros,
            submitted_at=timezone.now(),
            **texts,
            **targets,
        )
    return unit_info(unit, campaign.advertiser_id)


def _clean_changes(unit: AdUnit, changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(UnitChanges.__annotations__))
    if unknown:
        raise invalid(unknown[0], f"Unknown field: {unknown[0]}.", code="unknown_field")
    clean: dict[str, Any] = {
        field: clean_unit_text(field, changes[field]) for field in TEXT_FIELDS if field in changes
    }
    if "url" in changes:
        clean["url"] = clean_url(changes["url"])
    if "category" in changes:
        clean["category"] = clean_category(changes["category"])
    if "targeting" in changes:
        # The targeting object replaces the old one whole; a key left out is emptied.
        clean.update(clean_targeting(changes["targeting"]))
    if "bid_type" in changes or "max_bid_micros" in changes:
        clean["bid_type"], clean["max_bid_micros"] = _clean_bid(
            unit.campaign,
            changes.get("bid_type", unit.bid_type),
            changes.get("max_bid_micros", unit.max_bid_micros),
        )
    return clean


def update_unit(
    *, actor: Actor, unit_id: uuid.UUID | str, **changes: Unpack[UnitChanges]
) -> AdUnitInfo:
    """Change what a unit shows, targets or bids: a real change makes a new version, which
    waits for review (the unit stops serving until it is approved)."""
    with transaction.atomic():
        unit = load_unit(actor, unit_id, for_update=True)
        _require_open(unit.campaign)
        fields = _clean_changes(unit, changes)
        changed = {key: value for key, value in fields.items() if getattr(unit, key) != value}
        if changed:
            for key, value in changed.items():
                setattr(unit, key, value)
            unit.version += 1
            unit.review_state = AdUnit.ReviewState.PENDING
            unit.review_reason = ""
            unit.submitted_at = timezone.now()
            unit.save()
            units_changed()
    return unit_info(unit)


def _set_status(actor: Actor, unit_id: uuid.UUID | str, status: str) -> AdUnitInfo:
    with transaction.atomic():
        unit = load_unit(actor, unit_id, for_update=True)
        if status == AdUnit.Status.ACTIVE:
            _require_open(unit.campaign)
        if unit.status != status:
            unit.status = status
            unit.save(update_fields=["status", "updated_at"])
            units_changed()
    return unit_info(unit)


def pause_unit(*, actor: Actor, unit_id: uuid.UUID | str) -> AdUnitInfo:
    """Stop serving a unit (it keeps its review); served units are paused, never deleted."""
    return _set_status(actor, unit_id, AdUnit.Status.PAUSED)


def resume_unit(*, actor: Actor, unit_id: uuid.UUID | str) -> AdUnitInfo:
    """Serve a paused unit again, once it is approved."""
    return _set_status(actor, unit_id, AdUnit.Status.ACTIVE)


def submit_unit_for_review(*, actor: Actor, unit_id: uuid.UUID | str) -> AdUnitInfo:
    """Ask for a rejected unit to be reviewed again (a pending one is already waiting)."""
    with transaction.atomic():
        unit = load_unit(actor, unit_id, for_update=True)
        _require_open(unit.campaign)
        if unit.review_state == AdUnit.ReviewState.APPROVED:
            raise errors.Conflict(
                "This version is approved already; edit the unit to submit a new one.",
                code="already_approved",
            )
        if unit.review_state == AdUnit.ReviewState.REJECTED:
            unit.review_state = AdUnit.ReviewState.PENDING
            unit.review_reason = ""
            unit.submitted_at = timezone.now()
            unit.save(update_fields=["review_state", "review_reason", "submitted_at", "updated_at"])
    return unit_info(unit)


def get_unit(*, actor: Actor, unit_id: uuid.UUID | str) -> AdUnitInfo:
    return unit_info(load_unit(actor, unit_id))


def list_units(
    *, actor: Actor, campaign_id: uuid.UUID | str, review_state: str | None = None
) -> list[AdUnitInfo]:
    """Return a campaign's units, newest first, optionally in one review state."""
    campaign = load_campaign(actor, campaign_id)
    queryset = AdUnit.objects.filter(campaign=campaign)
    if review_state is not None:
        if review_state not in AdUnit.ReviewState.values:
            raise invalid(
                "review_state", f"review_state is one of {', '.join(AdUnit.ReviewState.values)}."
            )
        queryset = queryset.filter(review_state=review_state)
    units = queryset.order_by("-created_at", "id")
    return [unit_info(unit, campaign.advertiser_id) for unit in units]


def delete_unit(*, actor: Actor, unit_id: uuid.UUID | str) -> None:
    """Delete a unit that was never approved; one that may have served is paused instead
    (409 unit_was_served)."""
    with transaction.atomic():
        unit = load_unit(actor, unit_id, for_update=True)
        if unit.first_approved_at is not None:
            raise errors.UnitWasServed(
                "This unit was approved and may have served: pause it instead (POST .../pause)."
            )
        unit.delete()
