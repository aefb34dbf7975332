"""Leave-one-out seam: an answer written without metering, and again with a passage withheld."""

import pytest

from licensing.models import AnswerRecord, UsageEvent
from marketplace.services import answers

pytestmark = pytest.mark.django_db

QUESTION = "How does a heat pump move heat in cold weather?"


def _weights(answer) -> dict[str, int]:
    return {w.source_id: w.weight_ppm for w in answer.attribution.sources}


def test_write_answer_gives_the_delivered_answer_and_meters_nothing(market):
    answer_plan = answers.plan(agent_id=market.agent.id, question=QUESTION, max_sources=2)

    written = answers.write_answer(answer_plan)

    assert (AnswerRecord.objects.count(), UsageEvent.objects.count()) == (0, 0)
    result = answers.answer_question(answer_plan)
    assert result.text == written.text
    assert {s.source_id: s.weight_ppm for s in result.sources} == {
        i: w for i, w in _weights(written).items() if w
    }


def test_withholding_a_passage_writes_the_answer_without_it(market):
    answer_plan = answers.plan(agent_id=market.agent.id, question=QUESTION, max_sources=2)
    statistics = answers.statistics_for(answer_plan)
    full = answers.write_answer(answer_plan, statistics=statistics)
    weights = _weights(full)
    used = [i for i, w in weights.items() if w]
    unused = [i for i, w in weights.items() if not w]
    assert (len(used), len(unused)) == (1, 1)

    without_used = answers.withhold(answer_plan, {used[0]})
    without_unused = answers.withhold(answer_plan, {unused[0]})

    assert [c.source_id for c in without_used.chosen] == unused
    assert answers.write_answer(without_used, statistics=statistics).text != full.text
    assert answers.write_answer(without_unused, statistics=statistics).text == full.text
    again = answers.write_answer(answer_plan, statistics=statistics)
    assert (again.text, again.attribution) == (full.text, full.attribution)
