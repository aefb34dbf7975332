"""Whom a licensing use case acts for: the actor's provider or agent organization, checked.

Every public licensing function that acts for someone takes an `accounts.Actor` and starts
here, so its scope, membership and role are checked the same way whoever calls it.
"""

import uuid

from accounts import services as accounts

# Reading the market, one's agreements, entitlements and usage is part of asking: a key with
# only the `query` scope sees what it holds and what it could license (as a 402 shows it).
AGENT_READ_SCOPES = (accounts.LICENSING, accounts.QUERY)


def provider_id_for(
    actor: accounts.Actor, organization_id: uuid.UUID | str | None = None
) -> uuid.UUID:
    """Return the provider organization the actor manages offers for (`licensing` scope)."""
    return accounts.acting_organization(
        actor=actor,
        role=accounts.PROVIDER,
        scope=accounts.LICENSING,
        organization_id=organization_id,
    ).id


def agent_id_for(
    actor: accounts.Actor, organization_id: uuid.UUID | str | None = None, *, reading: bool = False
) -> uuid.UUID:
    """Return the agent organization the actor acts for: `licensing` to change its licences,
    `licensing` or `query` to read them."""
    return accounts.acting_organization(
        actor=actor,
        role=accounts.AGENT,
        scope=AGENT_READ_SCOPES if reading else accounts.LICENSING,
        organization_id=organization_id,
    ).id
