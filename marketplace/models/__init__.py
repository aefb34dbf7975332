"""The marketplace app's tables: accounts (users, organizations, keys) and the catalog."""

from marketplace.models.accounts import (
    APIKey,
    Invitation,
    Membership,
    Organization,
    User,
    UserManager,
)
from marketplace.models.answers import IdempotencyRecord
from marketplace.models.catalog import (
    Chunk,
    Collection,
    Document,
    IngestionItem,
    IngestionJob,
)

__all__ = [
    "APIKey",
    "Chunk",
    "Collection",
    "Document",
    "IdempotencyRecord",
    "IngestionItem",
    "IngestionJob",
    "Invitation",
    "Membership",
    "Organization",
    "User",
    "UserManager",
]
