"""Answers use, per passage, the agent's terms that cost it least for that passage, and
auto-accept offers only within its price ceilings."""

import uuid

import pytest

from billing import services as billing
from catalog import services as catalog_services
from catalog.models import Collection
from catalog.services import ChunkHit
from licensing import services as licensing
from licensing.models import AnswerRecord, LicenseAgreement, UsageEvent
from marketplace.services import answers
from tests.acting import acting_for
from tests.marketplace.conftest import _offer, add_document

pytestmark = pytest.mark.django_db

TIDES_QUESTION = "Why are spring tides so strong?"
TIDES = "Spring tides are strong because the sun and the moon pull together."  # 12 tokens
HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"


def _ask(client, **body):
    return client.post("/api/v1/answers", body, format="json")


def _tides(market) -> Collection:
    collection = Collection.objects.create(organization=market.harbor, name="Tides")
    add_document(collection, "Spring tides", TIDES)
    catalog_services.index_pending_documents()
    return collection


def _accept(market, offer) -> None:
    licensing.accept_offer(**acting_for(market.agent), offer_id=offer.id)


def test_per_1k_tokens_wins_over_a_lower_per_source_price_on_a_small_passage(market, agent_client):
    tides = _tides(market)
    per_source = _offer(
        market.harbor,
        [tides],
        "Per source",
        usage_types=("ai-input",),
        payment_type="use",
        price_micros=1_000,
        price_unit="retrieved_source",
    )
    per_tokens = _offer(
        market.harbor,
        [tides],
        "Per 1k tokens",
        usage_types=("ai-input",),
        payment_type="use",
        price_micros=1_500,
        price_unit="1k_tokens",
    )
    _accept(market, per_source)
    _accept(market, per_tokens)

    response = _ask(agent_client, question=TIDES_QUESTION)

    assert response.status_code == 200, response.json()
    [source] = response.json()["sources"]
    assert source["license"]["offer_id"] == str(per_tokens.id)
    event = UsageEvent.objects.get()
    assert event.units == 12  # the passage at hand
    assert (event.price_unit, event.amount_micros) == ("1k_tokens", 18)
    assert response.json()["cost"]["total_micros"] == 18


def test_a_paid_subscription_wins_over_a_per_use_agreement(market, agent_client):
    tides = _tides(market)
    per_use = _offer(
        market.harbor,
        [tides],
        "Per source",
        usage_types=("ai-input",),
        payment_type="use",
        price_micros=1,
        price_unit="retrieved_source",
    )
    subscription = _offer(
        market.harbor,
        [tides],
        "Monthly",
        usage_types=("ai-input",),
        payment_type="subscription",
        price_micros=49_000_000,
        price_unit="period",
        period="month",
    )
    _accept(market, per_use)
    billing.set_postpaid(organization_id=market.agent.id, postpaid=True)  # pays at acceptance
    _accept(market, subscription)

    response = _ask(agent_client, question=TIDES_QUESTION)

    assert response.status_code == 200, response.json()
    [source] = response.json()["sources"]
    assert source["license"]["offer_id"] == str(subscription.id)
    assert response.json()["cost"]["total_micros"] == 0
    event = UsageEvent.objects.get()
    assert (event.payment_type, event.amount_micros) == ("subscription", 0)


def test_an_auto_accept_offer_above_the_ceiling_is_402_naming_it_and_charges_nothing(
    market, agent_client
):
    tides = _tides(market)
    copy = _offer(
        market.harbor,
        [tides],
        "Expensive copy",
        auto_accept=True,
        usage_types=("ai-input",),
        payment_type="use",
        price_micros=5_000_000,
        price_unit="retrieved_source",
    )

    response = _ask(agent_client, question=TIDES_QUESTION)

    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "license_required"
    assert [o["offer_id"] for o in body["details"]["offers"]] == [str(copy.id)]
    assert body["details"]["price_ceilings"] == {
        "per_source_micros": 10_000,
        "per_answer_micros": 50_000,
        "currency": "USD",
    }
    assert (AnswerRecord.objects.count(), UsageEvent.objects.count()) == (0, 0)
    assert not LicenseAgreement.objects.filter(offer_id=copy.id).exists()


def test_a_1k_tokens_auto_offer_is_402_when_the_passage_costs_more_than_the_ceiling(
    market, agent_client
):
    tides = _tides(market)
    _offer(
        market.harbor,
        [tides],
        "Per 1k tokens",
        auto_accept=True,
        usage_types=("ai-input",),
        payment_type="use",
        price_micros=1_000_000,  # 12,000 micros for the 12-token passage
        price_unit="1k_tokens",
    )

    refused = _ask(agent_client, question=TIDES_QUESTION)
    licensing.set_price_ceilings(**acting_for(market.agent), per_source_micros=12_000)
    served = _ask(agent_client, question=TIDES_QUESTION)

    assert (refused.status_code, refused.json()["code"]) == (402, "license_required")
    assert served.status_code == 200
    assert served.json()["cost"]["total_micros"] == 12_000
    made = LicenseAgreement.objects.get(offer__name="Per 1k tokens")
    assert made.origin == "auto_accept"


def test_auto_accept_sources_stay_within_the_per_answer_ceiling(market, agent_client):
    tides = Collection.objects.create(organization=market.harbor, name="Tides")
    for n, place in enumerate(("Brittany", "Fundy", "Severn")):
        add_document(tides, f"Tides {n}", f"{TIDES} In {place} spring tides are strongest.")
    catalog_services.index_pending_documents()
    _offer(
        market.harbor,
        [tides],
        "Auto tides",
        auto_accept=True,
        usage_types=("ai-input",),
        payment_type="use",
        price_micros=4_000,
        price_unit="retrieved_source",
    )
    licensing.set_price_ceilings(
        **acting_for(market.agent), per_source_micros=10_000, per_answer_micros=9_000
    )

    response = _ask(agent_client, question=TIDES_QUESTION, max_sources=5)

    assert response.status_code == 200, response.json()
    body = response.json()
    # Two of the three fit the ceiling and were given to the writer; the third was left out.
    left_out = body["cost"]["left_out_for_price"]
    assert [(item["reason"], item["price_micros"]) for item in left_out] == [
        ("price_ceiling", 4_000)
    ]
    # The answer quotes one of the two; the other states the same sentence, uncited, adds
    # nothing to it, and is neither used nor charged.
    assert [s["price"]["amount_micros"] for s in body["sources"]] == [4_000]
    assert body["cost"]["total_micros"] == 4_000
    assert LicenseAgreement.objects.get(offer__name="Auto tides").spent_micros == 4_000


def _candidate(chunk_id: int, score: float, price: int, *, auto: bool) -> answers.Candidate:
    hit = ChunkHit(
        chunk_id=chunk_id,
        document_id=chunk_id,
        collection_id=uuid.uuid4(),
        provider_org_id=uuid.uuid4(),
        score=score,
        text="A passage.",
        char_start=0,
        char_end=10,
        document_title=f"Doc {chunk_id}",
        document_url="",
        document_author="",
        document_published_at=None,
        token_count=3,
        provider_name="",
    )
    terms = licensing.Terms(
        collection_id=hit.collection_id,
        provider_id=hit.provider_org_id,
        offer_id=uuid.uuid4(),
        offer_name="",
        offer_version_id=1,
        version=1,
        agreement_id=None if auto else uuid.uuid4(),
        usage_types=("ai-input",),
        payment_type="use",
        price_micros=price,
        price_unit="retrieved_source",
        currency="USD",
        revenue_share_bps=0,
        max_snippet_chars=None,
        citation_required=False,
        expires_at=None,
        auto_accepted=auto,
    )
    return answers.Candidate(
        hit=hit, terms=terms, snippet=hit.text, tokens=3, price_micros=price, cost_micros=price
    )


@pytest.mark.parametrize("max_price_micros", [None, 100_000])
def test_the_per_answer_ceiling_counts_only_auto_accept_sources(max_price_micros):
    candidates = [
        _candidate(1, 9.0, 3_000, auto=True),
        _candidate(2, 8.0, 5_000, auto=False),  # accepted by the agent: not counted
        _candidate(3, 7.0, 3_000, auto=True),
        _candidate(4, 6.0, 3_000, auto=True),  # would pass the ceiling of 6,000
        _candidate(5, 5.0, 0, auto=True),  # free: always within it
    ]

    chosen, left_out = answers.choose_sources(
        candidates, max_sources=5, max_price_micros=max_price_micros, ceiling_micros=6_000
    )

    assert [c.hit.chunk_id for c in chosen] == [1, 2, 3, 5]
    assert [(item.source_id, item.reason) for item in left_out] == [("chunk_4", "price_ceiling")]
