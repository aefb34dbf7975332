"""Text that is not prose (keyword lists, word salad, headings) is never quoted nor credited."""

from __future__ import annotations

import pytest

from inference_client import InferenceClient, Source
from inference_client.prose import FUNCTION_WORDS, is_prose
from inference_client.text import sentence_spans, sentences

KEYWORDS = "caffeine half-life liver enzyme adenosine sleep body hours"
SALAD = "The caffeine and the body and the liver and the enzyme and the half-life."
# The attack benchmark's salad: each join a different one, each noun with its own article.
ROTATING_SALAD = "The caffeine and the keeps of the awake in the long."
CAFFEINE = Source(
    id="caffeine",
    title="Caffeine",
    text=(
        "Caffeine is broken down in the liver. In healthy adults its effect lasts about five "
        "hours in the body."
    ),
)


@pytest.mark.parametrize(
    "text",
    [
        "Paris is the capital of France.",
        "The auction ranks units by bid times relevance.",
        "Providers are paid monthly.",
        "It opened on 15 August 1914, when the cargo ship SS Ancon made the first transit.",
        "Symptoms include difficulty falling asleep or waking too early, daytime sleepiness, poor "
        "concentration, irritability and stomach upsets.",
        "Caffeine also tends to reduce deep slow-wave sleep.",
        "Bacteria can also share resistance genes directly, even across species.",
        "Slow-wave sleep dominates the first half of the night; REM periods grow longer towards "
        "morning.",
    ],
)
def test_statements_read_as_prose(text):
    assert is_prose(text)


@pytest.mark.parametrize(
    "text",
    [
        "long caffeine last body",  # the keywords appended to a passage in the attack
        "Capital France river Paris flows.",
        KEYWORDS,
        f"{KEYWORDS}.",
        SALAD,
        "The caffeine and the body of the liver with the enzyme.",  # no verb
        ROTATING_SALAD,
        "The heat and the pump of the keeps in the home.",
        "Why caffeine keeps you awake",  # too short to be a sentence without its stop
        # A keyword line holding two function words, one of them by chance: not a sentence's
        # shape (no capital, no stop).
        "valve heating reaches the outside adenosine sleep caffeine",
        "python gil global the interpreter lock work around",
    ],
)
def test_keyword_lists_word_salad_and_fragments_are_not_prose(text):
    assert not is_prose(text)


@pytest.mark.parametrize("word", sorted(FUNCTION_WORDS))
def test_no_single_function_word_makes_a_keyword_list_prose(word):
    words = KEYWORDS.split()
    for position in range(len(words) + 1):
        stuffed = " ".join([*words[:position], word, *words[position:]])

        assert not is_prose(stuffed), stuffed
        assert not is_prose(stuffed.capitalize() + "."), stuffed


@pytest.mark.parametrize("word", sorted(FUNCTION_WORDS))
@pytest.mark.parametrize("salad", [SALAD, ROTATING_SALAD])
def test_no_single_function_word_makes_word_salad_prose(word, salad):
    words = salad.rstrip(".").split()
    for position in range(len(words) + 1):
        stuffed = " ".join([*words[:position], word, *words[position:]]) + "."

        assert not is_prose(stuffed), stuffed


@pytest.mark.parametrize(
    "text",
    [
        "The cause is the thinner air.",  # the most articles per content word in the demo
        "The component that does the switching is the event loop.",
        "The rotor turns a main shaft inside the nacelle, the housing at the top of the tower.",
        "Ships run the locks.",
    ],
)
def test_sentences_rich_in_articles_still_read_as_prose(text):
    assert is_prose(text)


def test_a_statement_without_the_shape_of_a_sentence_is_not_prose():
    assert is_prose("Caffeine is broken down in the liver by an enzyme.")
    assert not is_prose("caffeine is broken down in the liver by an enzyme.")
    assert not is_prose("Caffeine is broken down in the liver by an enzyme")


def test_a_heading_is_structure_not_a_sentence():
    text = (
        "# How long caffeine lasts\nIts half-life is about five hours.\n\nWhy it matters\n\nSleep."
    )
    found = sentences(text)

    assert [text[s.start : s.end] for s in found] == [
        "# How long caffeine lasts",
        "Its half-life is about five hours.",
        "Why it matters",
        "Sleep.",
    ]
    assert [(s.is_heading, s.is_prose) for s in found] == [
        (True, False),
        (False, True),
        (True, False),
        (False, False),
    ]


def test_a_wrapped_line_stays_one_sentence():
    text = "The water flows back down\nthrough turbines to generate electricity."

    assert sentence_spans(text) == [(0, len(text))]


def test_a_sentence_ending_in_a_unit_ends_there():
    text = (
        "Air at minus 15 °C still holds heat, compared with minus 273 °C. "
        "All it needs is a cold refrigerant."
    )

    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Air at minus 15 °C still holds heat, compared with minus 273 °C.",
        "All it needs is a cold refrigerant.",
    ]


def test_initials_do_not_end_a_sentence():
    text = "The loop was designed by J. Smith for I/O. It waits on sockets."

    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "The loop was designed by J. Smith for I/O.",
        "It waits on sockets.",
    ]


def test_a_heading_that_matches_the_question_is_never_the_answer():
    titled = Source(
        id="titled",
        title="Caffeine",
        text=f"How long caffeine lasts in the body\n\n{CAFFEINE.text}",
    )

    answer = InferenceClient().answer("How long does caffeine last in the body?", [titled])

    assert answer.text.startswith(
        "In healthy adults its effect lasts about five hours in the body [1]."
    )
    assert "How long" not in answer.text


def test_keyword_stuffing_and_salad_are_neither_quoted_nor_credited():
    stuffed = Source(
        id="stuffed",
        title="HTTP caching",
        text=(
            "Caches keep a response until its max-age runs out.\n\n"
            f"{KEYWORDS}\n\n{SALAD} long caffeine last body"
        ),
    )

    answer = InferenceClient().answer(
        "How long does caffeine last in the body?", [stuffed, CAFFEINE]
    )

    assert "[1]" not in answer.text
    assert answer.attribution.weight_of("stuffed") == 0.0
    assert answer.attribution.weight_of("caffeine") == 1.0
