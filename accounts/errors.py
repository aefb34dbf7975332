"""The accounts app's domain errors: the kernel's, which the API maps to HTTP statuses."""

from core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)

__all__ = [
    "Conflict",
    "DomainError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ValidationFailed",
]
