"""The marketplace app's public API: organizations, members, API keys and rate limits.

Other apps import only this module (and `marketplace.errors`).
"""

from marketplace.services.accounts import (
    Actor,
    MemberInfo,
    OrganizationInfo,
    actor_for_api_key,
    actor_for_user,
    add_member,
    change_member_role,
    create_organization,
    get_organization,
    list_members,
    list_organizations,
    remove_member,
    sign_up,
)
from marketplace.services.api_keys import (
    SCOPES,
    APIKeyInfo,
    AuthenticatedKey,
    CreatedAPIKey,
    authenticate_api_key,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from marketplace.services.ownership import (
    DocumentContent,
    collection_owners,
    get_document_content,
    organization_id_for_slug,
    organization_slugs,
)
from marketplace.services.rate_limits import RateDecision, check_login_allowed, hit_rate_limit

__all__ = [
    "SCOPES",
    "APIKeyInfo",
    "Actor",
    "AuthenticatedKey",
    "CreatedAPIKey",
    "DocumentContent",
    "MemberInfo",
    "OrganizationInfo",
    "RateDecision",
    "actor_for_api_key",
    "actor_for_user",
    "add_member",
    "authenticate_api_key",
    "change_member_role",
    "check_login_allowed",
    "collection_owners",
    "create_api_key",
    "create_organization",
    "get_document_content",
    "get_organization",
    "hit_rate_limit",
    "list_api_keys",
    "list_members",
    "list_organizations",
    "organization_id_for_slug",
    "organization_slugs",
    "remove_member",
    "revoke_api_key",
    "sign_up",
]
