"""The operators' review of ad units: a unit serves only once its current version is approved.

An operator decides on the version they read; if the advertiser has edited the unit since,
the decision is refused (409 unit_changed) and the new version waits in the queue.
"""

import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts
from ads import errors
from ads.models import AdUnit
from ads.services.changes import load_limits, units_changed
from ads.services.content import invalid
from ads.services.units import AdUnitInfo, unit_info
from core.fields import max_length

REASON_MAX_LENGTH = max_length(AdUnit, "review_reason")


def _load_for_review(unit_id: uuid.UUID | str, version: int) -> AdUnit:
    try:
        unit = (
            AdUnit.objects.select_related("campaign")
            .select_for_update(of=("self",))
            .get(id=unit_id)
        )
    except (AdUnit.DoesNotExist, DjangoValidationError, ValueError, TypeError) as exc:
        raise errors.NotFound("Ad unit not found.") from exc
    if unit.version != version:
        raise errors.UnitChanged(
            f"The advertiser changed this unit (now version {unit.version}, you reviewed "
            f"version {version}); review the new version."
        )
    return unit


def approve_unit(*, reviewer_id: int, unit_id: uuid.UUID | str, version: int) -> AdUnitInfo:
    """Approve the version of a unit the operator reviewed; it may serve from now on."""
    accounts.require_operator(user_id=reviewer_id)
    with transaction.atomic():
        unit = _load_for_review(unit_id, version)
        if unit.review_state != AdUnit.ReviewState.APPROVED:
            now = timezone.now()
            unit.review_state = AdUnit.ReviewState.APPROVED
            unit.review_reason = ""
            unit.reviewed_at = now
            unit.reviewer_id = reviewer_id
            unit.first_approved_at = unit.first_approved_at or now
            unit.save(
                update_fields=[
                    "review_state",
                    "review_reason",
                    "reviewed_at",
                    "reviewer",
                    "first_approved_at",
                    "updated_at",
                ]
            )
            units_changed()
            load_limits(
                campaign_id=unit.campaign_id,
                total_budget_micros=unit.campaign.total_budget_micros,
                daily_budget_micros=unit.campaign.daily_budget_micros,
            )
    return unit_info(unit)


def reject_unit(
    *, reviewer_id: int, unit_id: uuid.UUID | str, version: int, reason: str
) -> AdUnitInfo:
    """Reject the version of a unit the operator reviewed, saying why (the advertiser sees it);
    it stops serving until a new or resubmitted version is approved."""
    accounts.require_operator(user_id=reviewer_id)
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX_LENGTH:
        raise invalid("reason", f"Say why, in 1 to {REASON_MAX_LENGTH} characters.")
    with transaction.atomic():
        unit = _load_for_review(unit_id, version)
        unit.review_state = AdUnit.ReviewState.REJECTED
        unit.review_reason = reason
        unit.reviewed_at = timezone.now()
        unit.reviewer_id = reviewer_id
        unit.save(
            update_fields=["review_state", "review_reason", "reviewed_at", "reviewer", "updated_at"]
        )
        units_changed()
    return unit_info(unit)
