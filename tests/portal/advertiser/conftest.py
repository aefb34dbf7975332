"""The advertiser pages are tried on the ads tests' fixtures (tests/ads/conftest.py): two
advertisers (Warmth Ltd, and its rival Coldfront Inc), a provider with a collection, an agent
and an operator; the advertiser's owner is signed in to the portal."""

import pytest
from django.test import Client

from tests.ads.conftest import (
    advertiser,
    agent,
    approved_unit,
    collection,
    make_campaign,
    make_unit,
    operator,
    provider,
    rival,
)

__all__ = [
    "advertiser",
    "agent",
    "approved_unit",
    "collection",
    "make_campaign",
    "make_unit",
    "operator",
    "provider",
    "rival",
    "signed_in",
]


def signed_in(org) -> Client:
    """Return a client signed in as the organization's owner."""
    client = Client()
    client.force_login(org.memberships.get(role="owner").user)
    return client


@pytest.fixture
def browser_of(advertiser):
    """The advertiser's owner, signed in to the portal."""
    return signed_in(advertiser)
