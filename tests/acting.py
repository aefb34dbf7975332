"""Who acts in tests that call services directly: an organization's owner, signed in."""

from accounts import services as accounts


def owner_of(org) -> accounts.Actor:
    """Return the organization's first owner as the acting user."""
    membership = org.memberships.filter(role="owner").order_by("created_at").first()
    return accounts.actor_for_user(user_id=membership.user_id)


def acting_for(org) -> dict:
    """Return the `actor` and `organization_id` a service needs to act for `org`."""
    return {"actor": owner_of(org), "organization_id": org.id}
