"""Licensing's domain errors."""

from core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed


class OfferNotAcceptable(Conflict):
    """The offer cannot be accepted by this agent: retired, draft, expired or denied."""

    code = "offer_not_acceptable"


class PaymentRequired(DomainError):
    """No license covers this use, or it costs more than allowed. Carries the offers that would."""

    status = 402
    code = "payment_required"


class SpendCapReached(PaymentRequired):
    code = "spend_cap_reached"


__all__ = [
    "Conflict",
    "DomainError",
    "NotFound",
    "OfferNotAcceptable",
    "PaymentRequired",
    "PermissionDenied",
    "SpendCapReached",
    "ValidationFailed",
]
