"""Fixtures for billing: a provider's priced collection, an agent's agreement, metered uses."""

import itertools
import uuid

import pytest

from catalog.models import Collection
from licensing import services as licensing
from tests.acting import acting_for

_requests = itertools.count(1)


@pytest.fixture
def provider(make_org):
    org, _ = make_org(roles=("provider",), name="Northwind Press")
    return org


@pytest.fixture
def agent(make_org):
    org, _ = make_org(roles=("agent",), name="Acme Agents")
    return org


@pytest.fixture
def make_offer(db):
    """Return a function publishing an offer over a new collection of `provider`."""

    def make(provider, *, name="Standard", auto_accept=False, **terms):
        collection = Collection.objects.create(
            organization=provider, name=f"{name} {uuid.uuid4().hex[:6]}"
        )
        defaults = {
            "usage_types": ("ai-input",),
            "payment_type": "use",
            "price_micros": 2000,
            "price_unit": "retrieved_source",
        }
        defaults.update(terms)
        offer = licensing.create_offer(
            **acting_for(provider),
            name=name,
            auto_accept=auto_accept,
            terms=licensing.OfferTerms(collection_ids=(collection.id,), **defaults),
        )
        return licensing.publish_offer(**acting_for(provider), offer_id=offer.id)

    return make


@pytest.fixture
def accept(db):
    def accept(agent, offer):
        return licensing.accept_offer(**acting_for(agent), offer_id=offer.id)

    return accept


def meter(agent, agreement, *, sources=1, weights=None, revenue_micros=None, created_at=None):
    """Meter one answer using `sources` passages under one agreement; return its request id."""
    offer = agreement.offer
    request_id = f"req-{next(_requests)}"
    weights = weights or [1_000_000 // sources] * sources
    uses = tuple(
        licensing.SourceUse(
            collection_id=offer.terms.collection_ids[0],
            provider_id=offer.provider_id,
            offer_version_id=offer.version_id,
            agreement_id=agreement.id,
            document_id=None,
            chunk_id=n + 1,
            tokens=100,
            cited=True,
            attribution_weight_ppm=weights[n],
        )
        for n in range(sources)
    )
    licensing.record_use(
        licensing.UseRecord(
            request_id=request_id,
            agent_id=agent.id,
            usage_type="ai-input",
            sources=uses,
            created_at=created_at,
            revenue_micros=revenue_micros,
        )
    )
    return request_id
