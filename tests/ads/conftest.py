"""Fixtures for ads: two advertisers, a provider with a collection, an agent, an operator."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ads import services as ads
from catalog.models import Collection
from tests.acting import owner_of
from tests.marketplace.factories import UserFactory

UNIT = {
    "title": "Heat pumps, installed in a week",
    "body": "Certified installers in your area. Fixed prices, no surprises.",
    "url": "https://heat.example.com/quote?src=provenant",
    "call_to_action": "Get a quote",
    "context_hints": "Someone asking how heat pumps work or what they cost.",
    "category": "retail",
    "bid_type": "cpm",
    "max_bid_micros": 5_000_000,
}


@pytest.fixture
def advertiser(make_org):
    org, _ = make_org(roles=("advertiser",), name="Warmth Ltd")
    return org


@pytest.fixture
def rival(make_org):
    org, _ = make_org(roles=("advertiser",), name="Coldfront Inc")
    return org


@pytest.fixture
def provider(make_org):
    org, _ = make_org(roles=("provider",), name="Northwind Press")
    return org


@pytest.fixture
def agent(make_org):
    org, _ = make_org(roles=("agent",), name="Acme Agents")
    return org


@pytest.fixture
def collection(provider):
    return Collection.objects.create(organization=provider, name="Energy")


@pytest.fixture
def operator(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def make_campaign():
    """Return a function creating a campaign for an advertiser through the service."""

    def make(org, **fields):
        defaults = {"name": "Winter heat", "total_budget_micros": 100_000_000}
        return ads.create_campaign(actor=owner_of(org), **{**defaults, **fields})

    return make


@pytest.fixture
def make_unit():
    """Return a function creating a unit in a campaign of `org` through the service."""

    def make(org, campaign_id, **fields):
        return ads.create_unit(actor=owner_of(org), campaign_id=campaign_id, **{**UNIT, **fields})

    return make


@pytest.fixture
def approved_unit(advertiser, make_campaign, make_unit, operator):
    """Return an approved unit of a running campaign of `advertiser`."""

    def make(**fields):
        campaign_fields = fields.pop("campaign", {})
        campaign = make_campaign(
            advertiser, starts_at=timezone.now() - timedelta(hours=1), **campaign_fields
        )
        unit = make_unit(advertiser, campaign.id, **fields)
        return ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=unit.version)

    return make
