"""The ads app's domain errors."""

from core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed


class UnitChanged(Conflict):
    """An operator reviewed a version of a unit that its advertiser has edited since."""

    code = "unit_changed"


class UnitWasServed(Conflict):
    """A unit (or a campaign with a unit) that was approved, so it may have served: it is
    paused, never deleted, so what was shown stays on record."""

    code = "unit_was_served"


class CampaignEnded(Conflict):
    """An ended campaign: it does not come back, and its units cannot change."""

    code = "campaign_ended"


__all__ = [
    "CampaignEnded",
    "Conflict",
    "DomainError",
    "NotFound",
    "PermissionDenied",
    "UnitChanged",
    "UnitWasServed",
    "ValidationFailed",
]
