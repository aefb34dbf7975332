"""The embedded extractive backend: useful answers with exact spans, no model, no network."""

from __future__ import annotations

from inference_client import InferenceClient, Source, TextDelta

PAYOUTS = Source(
    id="pay",
    title="Payouts",
    text=(
        "Providers are paid monthly. Each answer's revenue is split between the sources that "
        "grounded it, in proportion to their attribution weight. Payouts go through Stripe "
        "Connect once the balance exceeds ten dollars."
    ),
)
ADS = Source(
    id="ads",
    title="Ads",
    text=(
        "Sponsored units are always labelled. The auction ranks units by bid times relevance. "
        "Budgets are reserved atomically before a unit is served."
    ),
)
CATS = Source(id="cats", title="Cats", text="Cats sleep for most of the day. They are crepuscular.")


def test_extractive_is_the_default_backend():
    client = InferenceClient()

    assert client.backend_name == "extractive"
    assert client.health().ok is True


def test_extractive_answer_quotes_the_best_sentence_with_exact_spans():
    answer = InferenceClient().answer("How is revenue split between sources?", [PAYOUTS, ADS, CATS])

    assert answer.text == (
        "Each answer's revenue is split between the sources that grounded it, "
        "in proportion to their attribution weight [1]."
    )
    [citation] = answer.citations
    assert (citation.number, citation.source_id, citation.title) == (1, "pay", "Payouts")
    assert (citation.answer_start, citation.answer_end) == (0, 110)
    assert (citation.source_start, citation.source_end) == (28, 139)
    assert PAYOUTS.text[citation.source_start : citation.source_end] == citation.cited_text
    assert answer.text[: citation.answer_end] == citation.cited_text[:-1]
    assert answer.usage.backend == "extractive"
    assert answer.usage.model == "extractive-v2"
    assert answer.usage.tokens_estimated is True


def test_extractive_covers_each_part_of_a_two_part_question():
    answer = InferenceClient().answer(
        "How does the auction rank sponsored units and when are budgets reserved?",
        [PAYOUTS, ADS, CATS],
    )

    assert answer.text == (
        "The auction ranks units by bid times relevance [2]. "
        "Budgets are reserved atomically before a unit is served [2]. "
        "Sponsored units are always labelled [2]."
    )
    assert [c.cited_text for c in answer.citations] == [
        "The auction ranks units by bid times relevance.",
        "Budgets are reserved atomically before a unit is served.",
        "Sponsored units are always labelled.",
    ]
    for citation in answer.citations:
        claim = answer.text[citation.answer_start : citation.answer_end]
        assert citation.cited_text.startswith(claim)


def test_extractive_quotes_sentences_from_several_sources():
    answer = InferenceClient().answer(
        "When are providers paid and how are sponsored units shown?", [PAYOUTS, ADS, CATS]
    )

    assert answer.text == (
        "Providers are paid monthly [1]. Sponsored units are always labelled [2]."
    )
    assert [c.source_id for c in answer.citations] == ["pay", "ads"]


def test_extractive_says_so_when_no_source_answers():
    answer = InferenceClient().answer("What is the boiling point of mercury?", [PAYOUTS, CATS])

    assert answer.text == "The provided sources do not answer this question."
    assert answer.citations == ()
    assert answer.metadata.finish_reason == "no_support"
    assert answer.attribution.unattributed_ppm == 1_000_000


def test_extractive_strips_list_bullets_but_keeps_source_offsets():
    source = Source(id="faq", text="Refunds:\n\n- Refunds are issued within 14 days.\n- Be kind.")

    answer = InferenceClient().answer("When are refunds issued?", [source])

    assert answer.text == "Refunds are issued within 14 days [1]."
    assert answer.citations[0].cited_text == "Refunds are issued within 14 days."
    assert source.text[answer.citations[0].source_start :].startswith("Refunds are issued")


def test_extractive_respects_a_small_token_budget():
    answer = InferenceClient().answer(
        "How does the auction rank sponsored units and when are budgets reserved?",
        [ADS],
        max_tokens=40,
    )

    assert len(answer.citations) == 1


def test_extractive_streams_one_sentence_at_a_time():
    events = list(
        InferenceClient().stream_answer(
            "How does the auction rank sponsored units and when are budgets reserved?", [ADS]
        )
    )

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == [
        "The auction ranks units by bid times relevance [1].",
        " Budgets are reserved atomically before a unit is served [1].",
        " Sponsored units are always labelled [1].",
    ]
    assert "".join(deltas) == events[-1].answer.text
