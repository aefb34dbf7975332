"""Fixtures for ads: two advertisers, a provider with a collection, an agent, an operator."""

import itertools
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from ads import services as ads
from billing import services as billing
from catalog.models import Collection
from licensing import services as licensing
from tests.acting import acting_for, owner_of
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
            advertiser, **{"starts_at": timezone.now() - timedelta(hours=1), **campaign_fields}
        )
        unit = make_unit(advertiser, campaign.id, **fields)
        return ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=unit.version)

    return make


@pytest.fixture
def rival_unit(rival, make_campaign, make_unit, operator):
    """Return an approved unit of a running campaign of `rival`."""

    def make(**fields):
        campaign_fields = fields.pop("campaign", {})
        campaign = make_campaign(
            rival, **{"starts_at": timezone.now() - timedelta(hours=1), **campaign_fields}
        )
        unit = make_unit(rival, campaign.id, **fields)
        return ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=unit.version)

    return make


# -- serving and money --------------------------------------------------------------------------

_requests = itertools.count(1)


def fund(org, micros, *, currency="USD"):
    """Credit an advertiser's prepaid funds as a paid top-up would (clearing -> prepaid)."""
    billing.post_transaction(
        billing.NewTransaction(
            idempotency_key=f"test-top-up:{uuid.uuid4()}",
            kind="top_up",
            legs=(
                billing.debit(billing.platform_account("stripe_clearing", currency), micros),
                billing.credit(billing.org_account(org.id, "advertiser_prepaid", currency), micros),
            ),
            effective_at=timezone.now(),
        )
    )


def prepaid(org, currency="USD"):
    return _balance(org, currency).advertiser_prepaid_micros


def _balance(org, currency):
    lines = billing.balance_of(organization_id=org.id).currencies
    return next(line for line in lines if line.currency == currency)


def wallet(org, currency="USD"):
    return _balance(org, currency).wallet_micros


def payable(org, currency="USD"):
    return _balance(org, currency).payable_micros


@pytest.fixture
def license_of(db):
    """Return a function giving an agreement of `agent` over a new collection of `provider`."""

    def make(provider, agent, *, price_micros=0):
        collection = Collection.objects.create(
            organization=provider, name=f"Licensed {uuid.uuid4().hex[:6]}"
        )
        offer = licensing.create_offer(
            **acting_for(provider),
            name="Standard",
            auto_accept=False,
            terms=licensing.OfferTerms(
                collection_ids=(collection.id,),
                usage_types=("ai-input",),
                payment_type="use" if price_micros else "free",
                price_micros=price_micros,
                price_unit="retrieved_source" if price_micros else "none",
            ),
        )
        offer = licensing.publish_offer(**acting_for(provider), offer_id=offer.id)
        return licensing.accept_offer(**acting_for(agent), offer_id=offer.id)

    return make


def meter(agent, sources, *, request_id=None):
    """Meter one answer of `agent` grounded by `sources`: (agreement, weight ppm) pairs."""
    request_id = request_id or f"ad-req-{next(_requests)}"
    uses = tuple(
        licensing.SourceUse(
            collection_id=agreement.offer.terms.collection_ids[0],
            provider_id=agreement.offer.provider_id,
            offer_version_id=agreement.offer.version_id,
            agreement_id=agreement.id,
            chunk_id=n + 1,
            tokens=50,
            cited=weight > 0,
            attribution_weight_ppm=weight,
        )
        for n, (agreement, weight) in enumerate(sources)
    )
    licensing.record_use(
        licensing.UseRecord(
            request_id=request_id, agent_id=agent.id, usage_type="ai-input", sources=uses
        )
    )
    return request_id


def serve(agent, request_id, units, *, prices=None, candidates=(), reasons=("keyword: heat",)):
    """Record an auction that served `units` (AdUnitInfo) with an answer; return the result."""
    prices = prices or [1_000_000] * len(units)
    return ads.record_serving(
        request_id=request_id,
        auction_id=f"auction-{request_id}",
        agent_id=agent.id,
        winners=[
            ads.ServedUnit(
                unit_id=unit.id, unit_version=unit.version, price_micros=price, reasons=reasons
            )
            for unit, price in zip(units, prices, strict=True)
        ],
        candidates=candidates,
    )
