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


class CampaignOutOfFunds(Conflict):
    """A campaign stopped because its advertiser's prepaid funds ran out, and they still hold
    nothing: top them up first."""

    code = "out_of_funds"


class InvalidClick(ValidationFailed):
    """A click token that was not signed by this deployment (or names nothing served)."""

    code = "invalid_click"


class ClickExpired(DomainError):
    """A click token signed longer ago than ADS_CLICK_TTL_S."""

    status = 410
    code = "click_expired"


__all__ = [
    "CampaignEnded",
    "CampaignOutOfFunds",
    "ClickExpired",
    "Conflict",
    "DomainError",
    "InvalidClick",
    "NotFound",
    "PermissionDenied",
    "UnitChanged",
    "UnitWasServed",
    "ValidationFailed",
]
