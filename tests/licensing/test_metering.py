import threading

import pytest
from django.db import connection

from catalog.models import Chunk
from licensing import errors, services
from licensing.models import AnswerRecord, LicenseAgreement, UsageEvent
from tests.acting import acting_for

pytestmark = pytest.mark.django_db


def _use(ent, request_id, agent, chunks, *, cited=True, tokens=100):
    sources = []
    for chunk in chunks:
        terms = ent.for_collection(chunk.collection_id)
        sources.append(
            services.SourceUse(
                collection_id=chunk.collection_id,
                provider_id=terms.provider_id,
                offer_version_id=terms.offer_version_id,
                agreement_id=terms.agreement_id,
                document_id=chunk.document_id,
                chunk_id=chunk.id,
                tokens=tokens,
                cited=cited,
                attribution_weight_ppm=1_000_000 // len(chunks),
            )
        )
    return services.UseRecord(
        request_id=request_id, agent_id=agent.id, usage_type="ai-input", sources=tuple(sources)
    )


def test_recording_the_same_answer_twice_creates_nothing_new(
    provider, agent, make_collection, make_offer
):
    collection = make_collection(provider, documents=2)
    offer = make_offer(provider, [collection], price_micros=2000)
    services.accept_offer(**acting_for(agent), offer_id=offer.id)
    ent = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    chunks = list(Chunk.objects.filter(collection=collection))

    first = services.record_use(_use(ent, "req-1", agent, chunks))
    again = services.record_use(_use(ent, "req-1", agent, chunks))

    assert (first.created, again.created) == (True, False)
    assert first.total_micros == again.total_micros == 4000
    assert [e.amount_micros for e in again.events] == [2000, 2000]
    assert again.events == first.events  # read back from the rows: the same as when written
    assert AnswerRecord.objects.count() == 1
    assert UsageEvent.objects.count() == 2
    assert LicenseAgreement.objects.get().spent_micros == 4000


def test_auto_accept_creates_the_agreement_on_first_use(
    provider, agent, make_collection, make_offer
):
    collection = make_collection(provider)
    make_offer(provider, [collection], auto_accept=True, price_micros=1500)
    ent = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    assert ent.terms[0].agreement_id is None

    metered = services.record_use(_use(ent, "req-a", agent, list(Chunk.objects.all())))

    agreement = LicenseAgreement.objects.get()
    assert metered.events[0].agreement_id == agreement.id
    assert metered.total_micros == 1500
    later = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    assert later.terms[0].agreement_id == agreement.id


def test_usage_is_priced_by_unit_and_snapshotted(provider, agent, make_collection, make_offer):
    cited_only = make_collection(provider)
    per_tokens = make_collection(provider)
    make_offer(
        provider,
        [cited_only],
        auto_accept=True,
        price_micros=9000,
        price_unit="cited_source",
        name="cited",
    )
    make_offer(
        provider,
        [per_tokens],
        auto_accept=True,
        price_micros=1000,
        price_unit="1k_tokens",
        name="tokens",
    )
    ent = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    chunks = [Chunk.objects.get(collection=cited_only), Chunk.objects.get(collection=per_tokens)]

    metered = services.record_use(_use(ent, "req-p", agent, chunks, cited=False, tokens=1250))

    by_collection = {e.collection_id: e for e in metered.events}
    assert (by_collection[cited_only.id].units, by_collection[cited_only.id].amount_micros) == (
        0,
        0,
    )
    assert (by_collection[per_tokens.id].units, by_collection[per_tokens.id].amount_micros) == (
        1250,
        1250,
    )
    event = UsageEvent.objects.get(collection=per_tokens)
    assert (event.unit_price_micros, event.attribution_weight_ppm) == (1000, 500_000)


def test_spend_cap_refuses_the_use_that_would_pass_it_and_records_nothing(
    provider, agent, make_collection, make_offer
):
    collection = make_collection(provider)
    offer = make_offer(provider, [collection], price_micros=4000)
    services.accept_offer(**acting_for(agent), offer_id=offer.id, spend_cap_micros=10_000)
    ent = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    chunk = list(Chunk.objects.all())

    services.record_use(_use(ent, "r1", agent, chunk))
    services.record_use(_use(ent, "r2", agent, chunk))
    with pytest.raises(errors.SpendCapReached):
        services.record_use(_use(ent, "r3", agent, chunk))

    assert LicenseAgreement.objects.get().spent_micros == 8000
    assert set(AnswerRecord.objects.values_list("request_id", flat=True)) == {"r1", "r2"}
    assert UsageEvent.objects.count() == 2


def test_a_batch_delivered_twice_is_metered_once(provider, agent, make_collection, make_offer):
    collection = make_collection(provider, documents=3)
    make_offer(provider, [collection], auto_accept=True, price_micros=100)
    ent = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    chunks = list(Chunk.objects.all())
    batch = [_use(ent, f"b-{n}", agent, chunks) for n in range(50)]

    first = services.record_uses(batch)
    second = services.record_uses(batch)

    assert len(first.recorded) == 50
    assert (len(second.recorded), len(second.duplicates)) == (0, 50)
    assert UsageEvent.objects.count() == 150
    assert LicenseAgreement.objects.get().spent_micros == 15_000


@pytest.mark.django_db(transaction=True)
def test_concurrent_recordings_of_one_answer_create_one(
    provider, agent, make_collection, make_offer
):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serializes them)")
    collection = make_collection(provider, documents=2)
    offer = make_offer(provider, [collection], price_micros=1000)
    services.accept_offer(**acting_for(agent), offer_id=offer.id, spend_cap_micros=50_000)
    ent = services.get_entitlements(agent_id=agent.id, usage_type="ai-input")
    chunks = list(Chunk.objects.all())
    barrier = threading.Barrier(8)
    outcomes = []

    def deliver(request_id):
        try:
            barrier.wait()
            outcomes.append(services.record_use(_use(ent, request_id, agent, chunks)).created)
        except errors.SpendCapReached:
            outcomes.append("capped")
        finally:
            connection.close()

    # Eight deliveries of the same answer, then 40 distinct answers racing for a 50,000 cap.
    threads = [threading.Thread(target=deliver, args=("same",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes, key=str) == [False] * 7 + [True]
    assert UsageEvent.objects.count() == 2

    outcomes.clear()
    for _round in range(5):
        threads = [threading.Thread(target=deliver, args=(f"race-{_round}-{n}",)) for n in range(8)]
        barrier = threading.Barrier(8)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    agreement = LicenseAgreement.objects.get()
    assert agreement.spent_micros == 50_000
    assert outcomes.count(True) == 24
    assert outcomes.count("capped") == 16
