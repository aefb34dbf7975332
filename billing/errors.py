"""Billing's domain errors."""

from core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed


class Unbalanced(ValidationFailed):
    """A ledger transaction whose entries do not sum to zero in each currency."""

    code = "unbalanced"


class PeriodClosed(DomainError):
    """A revenue report for a period that no longer takes reports (or has not ended yet)."""

    status = 422
    code = "period_closed"


class AlreadyReversed(Conflict):
    code = "already_reversed"


class InsufficientFunds(DomainError):
    """A debit would take prepaid funds (a wallet, an advertiser's prepaid) below zero."""

    status = 402
    code = "insufficient_funds"


# -- Stripe (billing/services/gateway.py) and the flows through it ---------------------------


class StripeNotConfigured(Conflict):
    """No STRIPE_SECRET_KEY: collection and payouts are unavailable, the rest works (409:
    the deployment's state refuses it, as a retry would; not a server failure)."""

    code = "stripe_not_configured"


class StripeUnavailable(DomainError):
    """Stripe could not be reached or failed; the same call may be retried."""

    status = 503
    code = "stripe_unavailable"


class StripeRefused(DomainError):
    """Stripe refused a request (not a transient failure)."""

    status = 502
    code = "stripe_refused"


class PaymentRefused(DomainError):
    """The card or payment method was declined."""

    status = 402
    code = "payment_refused"


class BadSignature(ValidationFailed):
    """A webhook whose signature does not verify, or whose timestamp is too old."""

    code = "bad_signature"


class PurchaseNotPaid(DomainError):
    """A dataset export of a purchase licence whose purchase is not paid (or was reversed)."""

    status = 402
    code = "purchase_not_paid"


class ExportExpired(DomainError):
    """A dataset export's signed download link that is past its time."""

    status = 410
    code = "export_expired"


__all__ = [
    "AlreadyReversed",
    "BadSignature",
    "Conflict",
    "DomainError",
    "ExportExpired",
    "InsufficientFunds",
    "NotFound",
    "PaymentRefused",
    "PeriodClosed",
    "PermissionDenied",
    "PurchaseNotPaid",
    "StripeNotConfigured",
    "StripeRefused",
    "StripeUnavailable",
    "Unbalanced",
    "ValidationFailed",
]
