"""A small licensed market for the answer tests: three providers, offers, one agent."""

from dataclasses import dataclass
from unittest import mock

import pytest
from django.db import connection

from accounts.models import Organization
from catalog import services as catalog_services
from catalog.ingestion.chunking import split_into_chunks
from catalog.models import Chunk, Collection, Document
from licensing import services as licensing
from tests.acting import acting_for

HEAT_PUMPS = [
    (
        "How heat pumps work",
        "A heat pump moves heat instead of generating it. A refrigerant absorbs heat from "
        "outdoor air in the evaporator, a compressor raises its pressure and temperature, and "
        "the condenser releases that heat indoors. Because it moves heat, a heat pump delivers "
        "three to four units of heat for each unit of electricity it uses.",
    ),
    (
        "Heat pumps in freezing weather",
        "Cold-climate heat pumps keep working in freezing weather because outdoor air below "
        "zero still holds heat. Variable-speed inverter compressors and vapour injection let "
        "them extract heat down to minus twenty-five degrees Celsius. Below that, efficiency "
        "falls and a backup resistance heater may help. Defrost cycles melt ice from the "
        "outdoor coil every hour or so in humid cold weather.",
    ),
]
SLEEP = [
    (
        "Sleep and memory",
        "During deep slow-wave sleep the hippocampus replays the day's experiences, and the "
        "cortex stores them as long-term memories. Sleep spindles in stage two sleep are linked "
        "with learning new motor skills. A night without sleep impairs the ability to form new "
        "memories the next day by about forty percent in laboratory studies. Researchers have "
        "repeated these findings in many laboratories, and the effect holds for word lists, "
        "faces and spatial layouts alike, which suggests a general mechanism of consolidation.",
    ),
]
CANALS = [
    (
        "The Panama Canal",
        "The Panama Canal opened in 1914 and links the Atlantic and Pacific oceans. Ships are "
        "raised twenty-six metres by locks to Gatun Lake and lowered again on the other side. "
        "The expanded locks opened in 2016 for larger Neopanamax ships.",
    ),
]


@dataclass
class Market:
    agent: Organization
    northwind: Organization
    helio: Organization
    harbor: Organization
    energy: Collection
    sleep: Collection
    canals: Collection
    energy_offer: licensing.OfferInfo
    sleep_offer: licensing.OfferInfo
    canals_offer: licensing.OfferInfo


def add_document(collection: Collection, title: str, text: str) -> Document:
    slug = title.lower().replace(" ", "-")
    document = Document.objects.create(
        collection=collection,
        external_id=title,
        title=title,
        author="Staff",
        content_hash=str(abs(hash(text))),
        text=text,
        status=Document.Status.PENDING,
        source_url=f"https://{collection.organization.slug}.example/{slug}",
    )
    Chunk.objects.bulk_create(
        Chunk(
            document=document,
            collection=collection,
            ordinal=span.ordinal,
            text=text[span.char_start : span.char_end],
            char_start=span.char_start,
            char_end=span.char_end,
            token_count=span.token_count,
        )
        for span in split_into_chunks(text, target_tokens=200)
    )
    return document


def _offer(provider, collections, name, *, auto_accept=False, **terms):
    offer = licensing.create_offer(
        **acting_for(provider),
        name=name,
        auto_accept=auto_accept,
        terms=licensing.OfferTerms(collection_ids=tuple(c.id for c in collections), **terms),
    )
    return licensing.publish_offer(**acting_for(provider), offer_id=offer.id)


@pytest.fixture
def search_index(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0


@pytest.fixture
def market(make_org, search_index) -> Market:
    agent, _ = make_org(roles=("agent",), name="Acme Agents")
    northwind, _ = make_org(roles=("provider",), name="Northwind Press")
    helio, _ = make_org(roles=("provider",), name="Helio Science")
    harbor, _ = make_org(roles=("provider",), name="Harbor Guides")
    energy = Collection.objects.create(organization=northwind, name="Energy")
    sleep = Collection.objects.create(organization=helio, name="Sleep")
    canals = Collection.objects.create(organization=harbor, name="Canals")
    for collection, documents in ((energy, HEAT_PUMPS), (sleep, SLEEP), (canals, CANALS)):
        for title, text in documents:
            add_document(collection, title, text)
    catalog_services.index_pending_documents()
    grounding = ("ai-input", "search")
    energy_offer = _offer(
        northwind,
        [energy],
        "Per source",
        usage_types=grounding,
        payment_type="use",
        price_micros=2000,
        price_unit="retrieved_source",
    )
    sleep_offer = _offer(
        helio,
        [sleep],
        "Attribution",
        usage_types=grounding,
        payment_type="attribution",
        citation_required=True,
        max_snippet_chars=200,
    )
    canals_offer = _offer(
        harbor,
        [canals],
        "Per cited source",
        usage_types=grounding,
        payment_type="use",
        price_micros=5000,
        price_unit="cited_source",
    )
    licensing.accept_offer(**acting_for(agent), offer_id=energy_offer.id)
    licensing.accept_offer(**acting_for(agent), offer_id=sleep_offer.id)
    return Market(
        agent=agent,
        northwind=northwind,
        helio=helio,
        harbor=harbor,
        energy=energy,
        sleep=sleep,
        canals=canals,
        energy_offer=energy_offer,
        sleep_offer=sleep_offer,
        canals_offer=canals_offer,
    )


@pytest.fixture
def agent_client(market, key_client):
    return key_client(market.agent)


def reset_by_client(response) -> None:
    """Close a streaming response as a WSGI server does when its client resets the connection.

    As Django's test client does at the end of a stream, the test's database connection is
    kept open (a real server's request_finished would close it; here it holds the test's
    transaction).
    """
    with mock.patch.object(connection, "close_if_unusable_or_obsolete"):
        response.close()
