"""Relevance u of ad units to a question and its retrieved sources."""

import numpy as np
import pytest

from ads.services.auction import UnitText, build_unit_index, relevance

HEAT = UnitText(
    unit_id=11,
    title="Heat pumps for cold climates",
    body="Our air-source heat pump keeps heating at minus 25 degrees.",
    hints="home heating, winter energy bills",
    keywords=("heat pump", "HVAC"),
)
PYTHON = UnitText(
    unit_id=12,
    title="Learn Python in a weekend",
    body="An online course on decorators, generators and typing.",
    keywords=("python", "programming course"),
)
COFFEE = UnitText(unit_id=13, title="Fresh coffee beans", body="Roasted this week, shipped free.")
INDEX = build_unit_index([HEAT, PYTHON, COFFEE])


def test_the_unit_about_the_question_ranks_first_and_unrelated_units_score_zero():
    u = relevance(INDEX, "How does a heat pump work in winter?")
    assert INDEX.unit_ids.tolist() == [11, 12, 13]
    assert u[0] > 0.3
    assert u[1:].tolist() == [0.0, 0.0]


def test_u_is_one_for_a_question_that_is_the_unit_itself_and_within_0_1_always():
    text = f"{PYTHON.title}\n{PYTHON.body}\n{PYTHON.hints}\npython\nprogramming course"
    u = relevance(INDEX, text)
    assert u[1] == pytest.approx(1.0)
    for question in ("python python python", "coffee heat python", "", "the and of"):
        values = relevance(INDEX, question, ["coffee beans heat pump"])
        assert ((values >= 0.0) & (values <= 1.0)).all()


def test_stop_words_and_one_letter_words_do_not_match_as_the_retrieval_tokenizer_says():
    assert relevance(INDEX, "the and of a to in").tolist() == [0.0, 0.0, 0.0]


def test_the_retrieved_sources_count_beside_the_question():
    question = "What should I buy before winter?"
    alone = relevance(INDEX, question)
    with_sources = relevance(INDEX, question, ["A heat pump lowers winter heating bills."])
    assert with_sources[0] > alone[0]
    only_sources = relevance(
        INDEX, question, ["A heat pump lowers heating bills."], question_weight=0.0
    )
    assert only_sources[0] > 0.0
    with pytest.raises(ValueError):
        relevance(INDEX, question, ["x"], question_weight=1.5)


def test_words_no_unit_has_lower_relevance():
    focused = relevance(INDEX, "python decorators")
    diluted = relevance(INDEX, "python decorators with zygomorphic quasicrystals")
    assert 0.0 < diluted[1] < focused[1]


def test_repeating_a_keyword_buys_nothing():
    stuffed = UnitText(unit_id=21, title="Coffee", body="Beans.", keywords=("espresso",) * 50)
    plain = UnitText(unit_id=21, title="Coffee", body="Beans.", keywords=("espresso",))
    other = UnitText(unit_id=22, title="Tea", body="Leaves.")
    a = relevance(build_unit_index([stuffed, other]), "espresso beans")
    b = relevance(build_unit_index([plain, other]), "espresso beans")
    assert a.tolist() == b.tolist()


def test_an_empty_snapshot_gives_an_empty_array():
    empty = build_unit_index([])
    assert relevance(empty, "anything").shape == (0,)
    assert relevance(INDEX, "").tolist() == [0.0, 0.0, 0.0]
    assert isinstance(relevance(INDEX, "coffee"), np.ndarray)
