"""The attack benchmark's building blocks (bench/_attacks.py), without a server: the
deterministic rewording, the attacker's documents per scenario, and the measures."""

import importlib.util
import sys
from pathlib import Path

import pytest

from inference_client import InferenceClient, Source
from inference_client.prose import FUNCTION_WORDS, is_prose

PATH = Path(__file__).resolve().parents[2] / "bench" / "_attacks.py"
_spec = importlib.util.spec_from_file_location("bench_attacks", PATH)
attacks = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = attacks  # dataclasses look their module up while the class is made
_spec.loader.exec_module(attacks)

HEAT = attacks.Target(
    slug="heat",
    path=Path("heat.md"),
    title="How a heat pump keeps a home warm",
    url="https://example.org/heat",
    text=(
        "A heat pump moves heat from outdoors into the house. During frost, the outdoor coil "
        "ices up.\n\nThe compressor uses electricity when the house needs heat. Common "
        "refrigerants boil at minus 40 °C; they keep absorbing heat below freezing."
    ),
    questions=("How does a heat pump work?",),
)
CACHE = attacks.Target(
    slug="cache",
    path=Path("cache.md"),
    title="HTTP caching headers",
    url="https://example.org/cache",
    text="`no-store` forbids storing a response. A cache revalidates a stale response.",
    questions=("What does no-store mean?",),
)
TARGETS = [HEAT, CACHE]


def test_synonyms_keep_case_and_leave_inline_code_alone():
    assert attacks._swap_synonyms("Common refrigerants usually boil.") == (
        "Widespread refrigerants normally boil."
    )
    assert attacks._swap_synonyms("`no-store` forbids storing; `keeps` keeps.") == (
        "`no-store` prohibits storing; `keeps` keeps."
    )
    assert attacks._swap_synonyms("Adenosine builds up in the brain.") == (
        "Adenosine accumulates in the brain."
    )


@pytest.mark.parametrize(
    ("sentence", "reordered"),
    [
        ("During sleep, adenosine levels fall again.", "Adenosine levels fall again during sleep."),
        (
            "The compressor stops working when the house is warm.",
            "When the house is warm, the compressor stops working.",
        ),
        (
            "The others wait; a program can start many threads.",
            "A program can start many threads; the others wait.",
        ),
        (
            "Python threads wait because the GIL is held.",
            "Because the GIL is held, Python threads wait.",
        ),
        ("Heat flows from warm to cold.", "Heat flows from warm to cold."),
    ],
)
def test_clauses_are_reordered_by_fixed_rules(sentence, reordered):
    assert attacks.reorder_clauses(sentence) == reordered


def test_rewording_is_deterministic_and_keeps_paragraphs():
    reworded = attacks.reword(HEAT.text)

    assert reworded == attacks.reword(HEAT.text)
    assert reworded == (
        "A heat pump transfers heat from outdoors into the house. The outdoor coil ices up "
        "during frost.\n\nWhen the house requires heat, the compressor employs electricity. "
        "They keep soaking up heat below freezing; widespread refrigerants boil at minus 40 °C."
    )


def test_verbatim_copies_are_the_targets_text_and_title():
    plan = attacks.verbatim_copies(TARGETS)

    assert [(d.title, d.text) for d in plan.documents["heat"]] == [(HEAT.title, HEAT.text)]
    assert [d.text for d in plan.documents["cache"]] == [CACHE.text]
    assert plan.gibberish == ()


def test_reworded_copies_and_the_repeated_ones():
    reworded = attacks.reworded_copies(TARGETS).documents["heat"]
    repeated = attacks.reworded_repeated(TARGETS).documents["heat"]
    inline = attacks.reworded_repeated_inline(TARGETS).documents["heat"]

    assert [d.text for d in reworded] == [attacks.reword(HEAT.text)]
    assert reworded[0].title == "How a heat pump keeps a home heated"
    assert [d.text for d in repeated] == [attacks.reword(HEAT.text)] * 10
    assert [d.external_id for d in repeated] == [f"repeated/heat/{k}" for k in range(10)]
    assert len({d.url for d in repeated}) == 10
    assert [d.text for d in inline] == ["\n\n".join([attacks.reword(HEAT.text)] * 10)]
    assert inline[0].external_id == "inline/heat"


def test_stuffing_vocabulary_is_the_title_then_the_article_then_other_targets_words():
    vocabulary = attacks.stuffing_vocabulary(TARGETS, HEAT)

    assert vocabulary[:5] == ["heat", "pump", "keeps", "home", "warm"]
    assert len(vocabulary) == len(set(vocabulary))
    assert set(attacks.top_words(CACHE.text, attacks.OTHER_KEYWORDS)) <= set(vocabulary)
    assert not set(vocabulary) & attacks.STOPWORDS


def test_keyword_lines_hold_exactly_one_function_word():
    lines = attacks.keyword_lines(["a1", "b2", "c3", "d4", "e5", "f6", "g7", "h8", "i9"])

    assert lines == ["a1 b2 c3 the d4 e5 f6 g7", "h8 i9 the"]


def test_keyword_scenario_appends_the_lines_it_reports_as_gibberish():
    plan = attacks.reworded_with_keywords(TARGETS)
    lines = attacks.keyword_lines(attacks.stuffing_vocabulary(TARGETS, HEAT))
    (document,) = plan.documents["heat"]

    assert document.text == attacks.reword(HEAT.text) + "\n\n" + "\n\n".join(lines)
    assert set(lines) <= set(plan.gibberish)


def test_salad_scenario_uploads_ten_documents_of_copy_keywords_and_salad():
    plan = attacks.reworded_repeated_keywords_salad(TARGETS)
    vocabulary = attacks.stuffing_vocabulary(TARGETS, HEAT)
    lines, salad = attacks.keyword_lines(vocabulary), attacks.word_salad(vocabulary)
    documents = plan.documents["heat"]

    assert salad[0] == "The heat and the pump of the keeps in the home."
    assert len(salad) == attacks.SALAD_SENTENCES
    assert len(documents) == 10
    assert {d.text for d in documents} == {
        "\n\n".join([attacks.reword(HEAT.text), *lines, " ".join(salad)])
    }
    assert set(lines) | set(salad) <= set(plan.gibberish)


def test_scenarios_follow_the_issue_table_with_repetition_both_ways():
    assert attacks.SCENARIO_NAMES == (
        "none", "verbatim", "reworded", "repeated", "inline", "keywords", "salad"
    )  # fmt: skip
    assert [s.padded for s in attacks.SCENARIOS] == [False, False, False, True, True, True, True]


def test_the_question_file_names_five_articles_and_56_questions():
    targets = attacks.load_targets()

    assert len(targets) == 5
    assert sum(len(t.questions) for t in targets) == 56
    assert all(t.title and t.url.startswith("https://") and t.text for t in targets)


def test_same_passage_finds_copies_and_windows_of_repeated_text():
    text = " ".join(f"word{i}" for i in range(40))
    window = " ".join(f"word{i}" for i in range(15, 40))

    assert attacks.same_passage(text, text)
    assert attacks.same_passage(text, window)
    assert not attacks.same_passage(text, " ".join(f"other{i}" for i in range(40)))


def test_answer_change_ignores_markers_and_function_words():
    assert attacks.answer_change("Heat flows [1].", "The heat flows.") == 0.0
    assert attacks.answer_change("Heat flows.", "Yeast rises.") == 1.0
    assert attacks.answer_change("heat pump flows", "heat pump stops") == 0.5


def test_gibberish_quoted_whole_or_in_part():
    lines = ["heat pump coil the refrigerant"]

    assert attacks.quotes_gibberish(["Heat pump coil the refrigerant [1]."], lines)
    assert attacks.quotes_gibberish(["Pump coil the"], lines)
    assert not attacks.quotes_gibberish(["A heat pump moves heat [1]."], lines)


def test_spearman_with_ties_and_constant_sides():
    assert attacks.spearman([1, 2, 3], [10, 20, 30]) == 1.0
    assert attacks.spearman([1, 2, 3], [3, 2, 1]) == -1.0
    assert attacks.spearman([0, 0, 1, 2], [0.1, 0.1, 0.5, 0.9]) == pytest.approx(1.0)
    assert attacks.spearman([0, 0, 5], [0.2, 0.0, 1.0]) == pytest.approx(0.8660254)
    assert attacks.spearman([0, 0, 0], [0, 0, 0]) == 1.0
    assert attacks.spearman([0, 0, 0], [0, 0.5, 0]) == 0.0


# -- the gibberish the attacks upload is never prose, nor quoted ----------------------------------


def test_no_keyword_line_or_salad_sentence_of_the_attacks_is_prose():
    # The lines the salad scenario uploads against the five real targets. Some keyword lines
    # hold a second function word by chance ("valve heating reaches the outside adenosine sleep
    # caffeine"), and each salad sentence rotates its joins ("The heat and the pump of the
    # keeps in the home."): both read as prose before the shape and article tests.
    plan = attacks.reworded_repeated_keywords_salad(attacks.load_targets())
    assert len(plan.gibberish) == 95

    for line in plan.gibberish:
        stop = "." if line.endswith(".") else ""
        words = line.removesuffix(".").split()
        assert not is_prose(line), line
        for word in sorted(FUNCTION_WORDS):
            for position in range(len(words) + 1):
                stuffed = " ".join([*words[:position], word, *words[position:]]) + stop
                assert not is_prose(stuffed), stuffed


@pytest.mark.parametrize("scenario", ["keywords", "salad"])
def test_the_writer_quotes_no_gibberish_from_an_attackers_document(scenario):
    targets = attacks.load_targets()
    build = next(s.build for s in attacks.SCENARIOS if s.name == scenario)
    plan = build(targets)
    quoted = []
    for target in targets:
        document = plan.documents[target.slug][0]
        source = Source(id="copy", title=document.title, text=document.text)
        for question in target.questions:
            answer = InferenceClient().answer(question, [source])
            if attacks.quotes_gibberish([c.cited_text for c in answer.citations], plan.gibberish):
                quoted.append(answer.text)

    assert quoted == []
