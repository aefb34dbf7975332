"""Words are weighed by the statistics of the whole index, never by the sources of one answer."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace

import pytest

from inference_client import CorpusStatistics, InferenceClient, Source
from inference_client.attribution import attribute
from inference_client.citations import cite
from inference_client.rarity import TermWeights

QUESTION = "How long does caffeine last in the body?"
HTTP = Source(
    id="http",
    title="HTTP caching headers",
    owner_id="org-web",
    text=(
        "Caches decide how long a response stays fresh from its Cache-Control header. "
        "If a stored response carried Last-Modified, the cache sends If-Modified-Since to "
        "revalidate it. A response that must not be stored at all says no-store."
    ),
)
CAFFEINE = Source(
    id="caffeine",
    title="Why caffeine keeps you awake",
    owner_id="org-health",
    text=(
        "Caffeine blocks adenosine receptors in the brain. In healthy adults caffeine lasts "
        "about five hours in the body before half of it is cleared. It is broken down in the "
        "liver."
    ),
)
# Passages of a small index holding each word; every other word is held by none.
INDEX = {
    "caffeine": 3,
    "last": 40,
    "lasts": 12,
    "body": 25,
    "long": 60,
    "response": 30,
    "cache": 20,
    "stored": 15,
    "hours": 35,
}


class Index:
    """The statistics of a fixed index, recording which words were asked for."""

    def __init__(self, counts: dict[str, int], passages: int = 200):
        self.counts = counts
        self.passages = passages
        self.asked: list[str] = []

    def passages_with(self, words: Collection[str]) -> dict[str, int]:
        self.asked.extend(words)
        return {word: self.counts.get(word, 0) for word in words}

    def statistics(self) -> CorpusStatistics:
        return CorpusStatistics(passages=self.passages, passages_with=self.passages_with)


STUFFINGS = [
    " long caffeine last body",  # appended to the passage's last sentence
    "\n\nlong caffeine last body",  # a line of its own
    "\n\nlong caffeine last body." * 10,  # repeated
    " The caffeine and the body and the last and the long.",  # word salad
]


@pytest.mark.parametrize("statistics", [Index(INDEX).statistics(), None])
@pytest.mark.parametrize("stuffing", STUFFINGS)
def test_appending_keywords_to_one_source_changes_no_other_sources_sentence_or_share(
    statistics, stuffing
):
    client = InferenceClient()
    stuffed = replace(HTTP, text=HTTP.text + stuffing)

    baseline = client.answer(QUESTION, [HTTP, CAFFEINE], statistics=statistics)
    attacked = client.answer(QUESTION, [stuffed, CAFFEINE], statistics=statistics)

    assert baseline.text == (
        "In healthy adults caffeine lasts about five hours in the body before half of it is "
        "cleared [2]."
    )
    assert attacked.text == baseline.text
    assert [c.cited_text for c in attacked.citations] == [c.cited_text for c in baseline.citations]
    assert attacked.attribution.weight_of("caffeine") == baseline.attribution.weight_of("caffeine")
    assert attacked.attribution.weight_of("http") == baseline.attribution.weight_of("http") == 0


def test_word_weights_come_from_the_index_and_not_from_the_sources():
    index = Index(INDEX)
    weights = TermWeights(index.statistics())
    weights.learn([QUESTION])
    before = {t: weights(t) for t in ("caffein", "last", "body")}

    padded = TermWeights(index.statistics())
    padded.learn([QUESTION, "caffeine " * 50, "body body body last"])

    assert {t: padded(t) for t in before} == before
    assert before["caffein"] > before["body"] > before["last"]  # 3, 25 and 40 passages


def test_a_term_weighs_as_its_most_common_form_in_the_index():
    weights = TermWeights(Index({"lasts": 12, "last": 40, "lasting": 2}).statistics())
    weights.learn(["Does it last?"])

    assert weights("last") == math.log(1 + (200 - 40 + 0.5) / (40 + 0.5))


def test_without_statistics_every_term_weighs_the_same():
    weights = TermWeights()
    weights.learn([QUESTION, CAFFEINE.text])

    assert weights.uniform
    assert {weights(t) for t in ("caffein", "last", "body", "anything")} == {1.0}


def test_the_rarer_word_in_the_index_chooses_the_sentence():
    source = Source(
        id="s",
        text=(
            "Pumped hydro stores energy for many hours in its upper reservoir. "
            "Battery plants can be installed in months and store energy too."
        ),
    )
    question = "How is energy stored by pumped hydro and battery plants?"

    def first_sentence(counts: dict[str, int]) -> str:
        answer = InferenceClient().answer(
            question, [source], statistics=Index(counts).statistics(), max_tokens=40
        )
        return answer.citations[0].cited_text

    hydro_rare = {"pumped": 2, "hydro": 2, "battery": 90, "plants": 90, "energy": 100}
    battery_rare = {"pumped": 90, "hydro": 90, "battery": 2, "plants": 2, "energy": 100}

    assert first_sentence(hydro_rare).startswith("Pumped hydro")
    assert first_sentence(battery_rare).startswith("Battery plants")


def test_a_question_about_what_the_index_never_mentions_is_not_answered():
    answer = InferenceClient().answer(
        "What is the half-life of nicotine?",
        [CAFFEINE, replace(HTTP, id="other")],
        statistics=Index({**INDEX, "half": 8, "life": 6}).statistics(),
    )

    assert answer.citations == ()
    assert answer.metadata.finish_reason == "no_support"


def test_attribution_weighs_rare_terms_more_with_statistics():
    sources = (
        Source(id="rare", text="Caffeine is cleared by the liver enzyme CYP1A2."),
        Source(id="common", text="The body clears many things over hours."),
    )
    model_text = "The body clears caffeine over hours with the enzyme CYP1A2 [1][2]."
    text, citations, _ = cite(model_text, sources=sources)
    counts = {"caffeine": 2, "enzyme": 5, "cyp1a2": 1, "body": 80, "clears": 60, "hours": 90}

    uniform = attribute(text=text, sources=sources, citations=citations)
    weighted = attribute(
        text=text,
        sources=sources,
        citations=citations,
        weights=TermWeights(Index(counts).statistics()),
    )

    assert (uniform.version, weighted.version) == ("1", "2")
    assert weighted.weight_of("rare") > uniform.weight_of("rare")
    assert weighted.weight_of("common") < uniform.weight_of("common")
    for attribution in (uniform, weighted):
        total = sum(w.weight_ppm for w in attribution.sources) + attribution.unattributed_ppm
        assert total == 1_000_000
