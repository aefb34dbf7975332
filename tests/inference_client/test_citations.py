"""Citation markers: the forms models emit, claim spans, unknown numbers."""

from __future__ import annotations

import pytest

from inference_client import InferenceClient, InvalidRequest, Source
from inference_client.breaker import CircuitBreaker
from inference_client.citations import cite
from tests.inference_client.conftest import GEOGRAPHY


def claims(model_text: str) -> list[tuple[int, str, str]]:
    text, citations, _ = cite(model_text, sources=GEOGRAPHY)
    return [(c.number, text[c.answer_start : c.answer_end], c.cited_text) for c in citations]


def test_each_marker_cites_the_clause_before_it():
    assert claims("France's capital is Paris [1], and the Seine flows through it [2].") == [
        (1, "France's capital is Paris", "Paris is the capital of France."),
        (2, "and the Seine flows through it", "The Seine flows through Paris."),
    ]


def test_a_marker_after_the_full_stop_cites_the_sentence_before_it():
    assert claims("Paris is the capital of France. [1]") == [
        (1, "Paris is the capital of France.", "Paris is the capital of France.")
    ]


def test_grouped_and_named_markers_are_normalised():
    model_text = "The Seine flows through Paris [Source 2, 1]."

    text, citations, dropped = cite(model_text, sources=GEOGRAPHY)
    assert text == "The Seine flows through Paris [2][1]."
    assert [(c.number, c.source_id) for c in citations] == [(2, "doc-seine"), (1, "doc-paris")]
    assert dropped == ()


def test_a_single_named_marker_is_normalised():
    text, citations, _ = cite("The Seine flows through Paris [Source 2].", sources=GEOGRAPHY)

    assert text == "The Seine flows through Paris [2]."
    assert [c.source_id for c in citations] == ["doc-seine"]


def test_a_cited_source_without_any_matching_sentence_has_no_span():
    [(number, claim, cited_text)] = claims("Bananas are yellow [2].")

    assert (number, claim, cited_text) == (2, "Bananas are yellow", "")
    _, citations, _ = cite("Bananas are yellow [2].", sources=GEOGRAPHY)
    assert (citations[0].source_start, citations[0].source_end) == (None, None)


def test_duplicate_source_ids_are_rejected():
    source = Source(id="same", text="One.")

    with pytest.raises(InvalidRequest, match="source ids must be unique"):
        InferenceClient().answer("Why?", [source, source])


def test_an_empty_question_is_rejected():
    with pytest.raises(InvalidRequest, match="the question is empty"):
        InferenceClient().answer("  ", list(GEOGRAPHY))


def test_breaker_lets_one_trial_through_after_the_cooldown():
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=10, clock=lambda: now[0])
    breaker.record_failure()
    breaker.record_failure()

    assert (breaker.state, breaker.allow()) == ("open", False)
    now[0] = 10.0
    assert (breaker.state, breaker.allow(), breaker.allow()) == ("half_open", True, False)
    breaker.record_failure()
    assert (breaker.state, breaker.allow()) == ("open", False)
    now[0] = 20.0
    assert breaker.allow() is True
    breaker.record_success()
    assert (breaker.state, breaker.allow()) == ("closed", True)
