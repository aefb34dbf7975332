import uuid

import pytest

from catalog.models import Chunk, Collection, Document
from licensing import services
from tests.acting import acting_for


@pytest.fixture
def provider(make_org):
    org, _owner = make_org(roles=("provider",), name="Northwind Press")
    return org


@pytest.fixture
def agent(make_org):
    org, _owner = make_org(roles=("agent",), name="Acme Agents")
    return org


@pytest.fixture
def make_collection(db):
    def make(provider, name=None, documents=1):
        collection = Collection.objects.create(
            organization=provider, name=name or f"Collection {uuid.uuid4().hex[:6]}"
        )
        for n in range(documents):
            text = f"Document {n} of {collection.name}. It explains tides and the moon."
            document = Document.objects.create(
                collection=collection,
                external_id=f"doc-{n}",
                title=f"Doc {n}",
                source_url=f"https://example.com/{collection.id}/{n}",
                content_hash=uuid.uuid4().hex,
                status=Document.Status.READY,
                text=text,
            )
            Chunk.objects.create(
                document=document,
                collection=collection,
                ordinal=0,
                text=text,
                char_start=0,
                char_end=len(text),
                token_count=12,
            )
        return collection

    return make


@pytest.fixture
def make_offer(db):
    def make(provider, collections, *, publish=True, auto_accept=False, name="Standard", **terms):
        defaults = {
            "usage_types": ("ai-input",),
            "payment_type": "use",
            "price_micros": 2000,
            "price_unit": "retrieved_source",
        }
        defaults.update(terms)
        offer = services.create_offer(
            **acting_for(provider),
            name=name,
            auto_accept=auto_accept,
            terms=services.OfferTerms(collection_ids=tuple(c.id for c in collections), **defaults),
        )
        if publish:
            offer = services.publish_offer(**acting_for(provider), offer_id=offer.id)
        return offer

    return make
