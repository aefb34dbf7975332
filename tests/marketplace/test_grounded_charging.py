"""An answer delivers and charges only the sources that grounded it; per-cited pricing follows
grounding, not the marker; a citation-required source the text does not cite is not used."""

import json

import pytest

from catalog import services as catalog_services
from catalog.models import Collection
from licensing import services as licensing
from licensing.models import AnswerRecord, LicenseAgreement, UsageEvent
from marketplace.services import answers
from tests.acting import acting_for
from tests.inference_client.conftest import FakeOpenAIServer, Reply
from tests.marketplace.conftest import _offer, add_document

pytestmark = pytest.mark.django_db

HEAT_QUESTION = "How does a heat pump move heat in cold weather?"
FREEZING = "Cold-climate heat pumps keep working in freezing weather"
TEA_QUESTION = "How long is tea steeped?"
GREEN = (
    "Green tea is steeped at seventy to eighty degrees Celsius for two minutes. Boiling water "
    "scorches the delicate leaves and makes green tea bitter."
)
BLACK = (
    "Black tea is steeped with freshly boiled water for four to five minutes. Longer steeping "
    "releases more tannins and gives black tea a stronger, harsher flavour."
)
OOLONG = (
    "Oolong tea is steeped at ninety degrees Celsius for three minutes. The same oolong leaves "
    "can be steeped five or six times, each infusion a little longer than the last."
)
BLACK_CLAIM = "Black tea is steeped with freshly boiled water for four to five minutes"
TANNINS = "Longer steeping releases more tannins and gives black tea a stronger, harsher flavour"
OOLONG_CLAIM = "Oolong tea is steeped at ninety degrees Celsius for three minutes"


@pytest.fixture
def model(settings):
    server = FakeOpenAIServer()
    server.start()
    settings.INFERENCE_BACKEND = "openai"
    settings.INFERENCE_BASE_URL = server.base_url
    settings.INFERENCE_MODEL = "test-model"
    settings.INFERENCE_FALLBACK_TO_EXTRACTIVE = False
    yield server
    server.stop()


@pytest.fixture
def tea(market, make_org):
    """Green and black tea under a per-cited-source offer; oolong under a citation-required
    attribution offer from another provider. The agent accepted both."""
    leaf, _ = make_org(roles=("provider",), name="Leaf Weekly")
    brew, _ = make_org(roles=("provider",), name="Brew Notes")
    teas = Collection.objects.create(organization=leaf, name="Tea")
    oolong = Collection.objects.create(organization=brew, name="Oolong")
    add_document(teas, "Green tea", GREEN)
    add_document(teas, "Black tea", BLACK)
    add_document(oolong, "Oolong tea", OOLONG)
    catalog_services.index_pending_documents()
    cited_offer = _offer(
        leaf,
        [teas],
        "Per cited source",
        usage_types=("ai-input",),
        payment_type="use",
        price_micros=5000,
        price_unit="cited_source",
    )
    required_offer = _offer(
        brew,
        [oolong],
        "Attribution",
        usage_types=("ai-input",),
        payment_type="attribution",
        citation_required=True,
    )
    licensing.accept_offer(**acting_for(market.agent), offer_id=cited_offer.id)
    licensing.accept_offer(**acting_for(market.agent), offer_id=required_offer.id)
    return {"collections": [teas.id, oolong.id], "offer": cited_offer}


def _plan(market, question, **kwargs):
    return answers.plan(agent_id=market.agent.id, question=question, **kwargs)


def _numbers(answer_plan) -> dict[str, int]:
    """Return each planned source's number by the start of its document's title."""
    return {c.hit.document_title.split()[0]: n for n, c in enumerate(answer_plan.chosen, start=1)}


def _events_by_document() -> list[tuple[str, bool, int]]:
    return sorted(UsageEvent.objects.values_list("document__title", "cited", "amount_micros"))


def test_a_retrieved_source_the_answer_does_not_use_is_neither_shown_nor_charged(market, model):
    answer_plan = _plan(market, HEAT_QUESTION, max_sources=2)
    numbers = {c.hit.document_title: n for n, c in enumerate(answer_plan.chosen, start=1)}
    assert set(numbers) == {"How heat pumps work", "Heat pumps in freezing weather"}
    used = numbers["Heat pumps in freezing weather"]
    model.default = Reply(content=f"{FREEZING} because outdoor air below zero holds heat [{used}].")

    result = answers.answer_question(answer_plan)

    assert [(s.number, s.title) for s in result.sources] == [
        (used, "Heat pumps in freezing weather")
    ]
    assert result.text.endswith(f"[{used}].")  # the marker still names its source
    assert (result.total_micros, result.providers[0].amount_micros) == (2000, 2000)
    assert [s["document_id"] for s in result.receipt["payload"]["sources"]] == [
        result.sources[0].document_id
    ]
    assert _events_by_document() == [("Heat pumps in freezing weather", True, 2000)]
    assert AnswerRecord.objects.get().total_micros == 2000
    agreement = LicenseAgreement.objects.get(offer_id=market.energy_offer.id)
    assert agreement.spent_micros == 2000


def test_a_wrong_marker_does_not_move_the_money(market, tea, model):
    answer_plan = _plan(market, TEA_QUESTION, max_sources=3, collection_ids=tea["collections"])
    numbers = _numbers(answer_plan)
    assert set(numbers) == {"Green", "Black", "Oolong"}
    # The model marks the green tea source; the sentence is the black tea source's.
    model.default = Reply(content=f"{TANNINS} [{numbers['Green']}].")

    result = answers.answer_question(answer_plan)

    assert [(s.number, s.title, s.cited, s.amount_micros) for s in result.sources] == [
        (numbers["Black"], "Black tea", True, 5000)
    ]
    assert result.total_micros == 5000
    assert _events_by_document() == [("Black tea", True, 5000)]
    # The marker is corrected to the source that grounds the sentence; the wrong one is reported.
    assert result.text == f"{TANNINS} [{numbers['Black']}]."
    assert [c.source_id for c in result.citations] == [result.sources[0].source_id]
    assert [(d.number, d.reason) for d in result.dropped_citations] == [
        (numbers["Green"], "not_grounded")
    ]
    receipt = result.receipt["payload"]["sources"]
    assert [(s["cited"], s["grounded"], s["amount_micros"]) for s in receipt] == [
        (True, True, 5000)
    ]


def test_a_citation_required_source_the_model_does_not_cite_is_not_used(market, tea, model):
    answer_plan = _plan(market, TEA_QUESTION, max_sources=3, collection_ids=tea["collections"])
    numbers = _numbers(answer_plan)
    model.default = Reply(content=f"{BLACK_CLAIM} [{numbers['Black']}]. {OOLONG_CLAIM}.")

    result = answers.answer_question(answer_plan)

    assert [s.title for s in result.sources] == ["Black tea"]
    assert _events_by_document() == [("Black tea", True, 5000)]
    oolong = next(c.source_id for c in answer_plan.chosen if c.hit.document_title == "Oolong tea")
    assert all(s["source_id"] != oolong for s in result.receipt["payload"]["sources"])
    # Its part of the answer is credited to no one.
    assert result.unattributed_ppm > 0
    assert sum(p.weight_ppm for p in result.providers) + result.unattributed_ppm == 1_000_000


def test_a_citation_required_source_the_model_cites_is_used(market, tea, model):
    answer_plan = _plan(market, TEA_QUESTION, max_sources=3, collection_ids=tea["collections"])
    numbers = _numbers(answer_plan)
    model.default = Reply(
        content=f"{BLACK_CLAIM} [{numbers['Black']}]. {OOLONG_CLAIM} [{numbers['Oolong']}]."
    )

    result = answers.answer_question(answer_plan)

    assert sorted((s.title, s.cited) for s in result.sources) == [
        ("Black tea", True),
        ("Oolong tea", True),
    ]
    assert _events_by_document() == [("Black tea", True, 5000), ("Oolong tea", True, 0)]


@pytest.mark.parametrize("payment_type", ["attribution", "free"])
def test_an_uncited_copy_of_the_quoted_source_is_neither_used_nor_charged(
    market, make_org, payment_type
):
    # Two providers say the same; the writer quotes and cites one of them. The other states the
    # same sentence, uncited: it adds nothing to what the cited source grounds (the answer would
    # be the same without it), so it is not used, whether its terms require a citation or not.
    echo, _ = make_org(roles=("provider",), name="Echo Tea")
    first, _ = make_org(roles=("provider",), name="First Tea")
    copies = Collection.objects.create(organization=echo, name="Echo")
    originals = Collection.objects.create(organization=first, name="First")
    add_document(originals, "Black tea", BLACK)
    add_document(copies, "Black tea, again", BLACK)
    catalog_services.index_pending_documents()
    for provider, collection in ((first, originals), (echo, copies)):
        offer = _offer(
            provider,
            [collection],
            payment_type,
            usage_types=("ai-input",),
            payment_type=payment_type,
            citation_required=payment_type == "attribution",
        )
        licensing.accept_offer(**acting_for(market.agent), offer_id=offer.id)
    answer_plan = _plan(
        market,
        "How long is black tea steeped?",
        max_sources=2,
        collection_ids=[originals.id, copies.id],
    )
    assert len(answer_plan.chosen) == 2
    assert answers.inference_config().backend == "extractive"

    result = answers.answer_question(answer_plan)

    quoted = {c.number for c in result.citations}
    assert len(quoted) == 1
    number = quoted.pop()
    title = answer_plan.chosen[number - 1].hit.document_title
    assert result.text.startswith("Black tea is steeped") and result.text.endswith(f"[{number}].")
    shown = [(s.number, s.title, s.cited) for s in result.sources]
    charged = sorted(UsageEvent.objects.values_list("document__title", flat=True))
    assert shown == [(number, title, True)]
    assert result.sources[0].weight_ppm == 1_000_000
    assert charged == [title]


def test_a_streamed_answer_settles_without_the_sources_it_did_not_use(market, agent_client, model):
    answer_plan = _plan(market, HEAT_QUESTION, max_sources=2)
    used = next(
        n
        for n, c in enumerate(answer_plan.chosen, start=1)
        if c.hit.document_title == "Heat pumps in freezing weather"
    )
    model.default = Reply(
        kind="sse", content=f"{FREEZING} because outdoor air below zero holds heat [{used}]."
    )

    response = agent_client.post(
        "/api/v1/answers",
        {"question": HEAT_QUESTION, "max_sources": 2, "stream": True},
        format="json",
    )
    raw = b"".join(response.streaming_content).decode()
    name, data = [b for b in raw.split("\n\n") if b][-1].split("\n")

    assert name == "event: answer.completed"
    final = json.loads(data.removeprefix("data: "))
    assert [s["title"] for s in final["sources"]] == ["Heat pumps in freezing weather"]
    assert final["cost"]["total_micros"] == 2000
    assert _events_by_document() == [("Heat pumps in freezing weather", True, 2000)]
    agreement = LicenseAgreement.objects.get(offer_id=market.energy_offer.id)
    assert agreement.spent_micros == 2000  # metered for both as quoted, settled on the one
