"""A licence's snippet limit keeps the part of a passage that answers, not just its head."""

import pytest

from catalog.models import Document
from marketplace.services.answers import relevant_hits

pytestmark = pytest.mark.django_db

LATE_QUESTION = "Does the effect of sleep on memory hold for faces and spatial layouts?"


def test_a_snippet_limit_keeps_the_sentences_that_answer(market, agent_client):
    response = agent_client.post("/api/v1/answers", {"question": LATE_QUESTION}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    [source] = [s for s in body["sources"] if s["title"] == "Sleep and memory"]
    assert len(source["snippet"]) <= 200  # the Sleep offer's max_snippet_chars
    assert "faces and spatial layouts" in source["snippet"]
    assert "faces and spatial layouts" in body["answer"]
    document = Document.objects.get(title="Sleep and memory")
    span = source["span"]
    assert document.text[span["start"] : span["end"]] == source["snippet"]
    assert span["start"] > 0  # not the head of the passage


def test_a_snippet_is_made_of_whole_sentences(market, agent_client):
    body = agent_client.post("/api/v1/answers", {"question": LATE_QUESTION}, format="json").json()

    [source] = [s for s in body["sources"] if s["title"] == "Sleep and memory"]
    assert source["snippet"][0].isupper()
    assert source["snippet"].endswith(".")


def _hit(chunk_id, text):
    import uuid

    from catalog.services import ChunkHit

    return ChunkHit(
        chunk_id=chunk_id,
        document_id=chunk_id,
        collection_id=uuid.uuid4(),
        provider_org_id=uuid.uuid4(),
        score=1.0,
        text=text,
        char_start=0,
        char_end=len(text),
        document_title="",
        document_url="",
        document_author="",
        document_published_at=None,
    )


def test_a_two_word_question_does_not_pass_the_gate_on_one_word():
    hits = [
        _hit(1, "Bacterial populations double every twenty minutes in warm broth."),
        _hit(2, "Tokyo has a population of about fourteen million people."),
    ]

    kept = relevant_hits("What is the population of Tokyo?", hits)

    assert [h.chunk_id for h in kept] == [2]


def test_general_words_do_not_count_as_what_a_question_is_about():
    hits = [_hit(1, "Probiotics are live microbes; trials of them are mixed.")]

    assert relevant_hits("Do probiotics really work?", hits) == hits
    assert relevant_hits("Do probiotics cure colds?", hits) == []
