"""The marketplace app's tables: idempotency records of the answer endpoints."""

from marketplace.models.answers import IdempotencyRecord

__all__ = ["IdempotencyRecord"]
