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


__all__ = [
    "AlreadyReversed",
    "Conflict",
    "DomainError",
    "InsufficientFunds",
    "NotFound",
    "PeriodClosed",
    "PermissionDenied",
    "Unbalanced",
    "ValidationFailed",
]
