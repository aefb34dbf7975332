"""The agent pages are tried on the answer tests' small market (tests/marketplace/conftest.py):
three providers with indexed documents and published offers, and an agent licensing two; the
browser journey uses the provider journeys' Chromium (tests/portal/test_journeys.py)."""

import pytest
from django.test import Client

from tests.marketplace.conftest import market, search_index
from tests.portal.test_journeys import browser

__all__ = ["agent_browser", "browser", "market", "search_index"]


@pytest.fixture
def agent_browser(market):
    """The agent organization's owner, signed in to the portal."""
    client = Client()
    client.force_login(market.agent.memberships.get(role="owner").user)
    return client
