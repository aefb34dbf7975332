"""Attribution weights: fractions summing to one, deterministic, hard to game."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from inference_client import Attribution, InferenceClient, Source
from inference_client.attribution import attribute
from inference_client.citations import cite
from tests.inference_client.conftest import GEOGRAPHY

PARIS, SEINE, BANANAS = GEOGRAPHY
IRRELEVANT = (
    "Preheat the oven to a moderate temperature. Whisk the eggs with sugar until pale. "
    "Fold in the flour gently and bake until golden. Let the cake cool on a rack."
)
QUESTION = "What is the capital of France and what river flows through Paris?"
ROOT = Path(__file__).resolve().parents[2]


def attribution_of(model_text: str, sources: tuple[Source, ...] = GEOGRAPHY) -> Attribution:
    text, citations, _ = cite(model_text, sources=sources)
    return attribute(text=text, sources=sources, citations=citations)


def ppm(attribution: Attribution) -> tuple[list[int], int]:
    return [w.weight_ppm for w in attribution.sources], attribution.unattributed_ppm


def test_weights_are_fractions_that_sum_to_exactly_one():
    texts = [
        "Paris is the capital of France [1]. The Seine flows through Paris [2].",
        "Paris is the capital of France [1]. The Seine is 777 kilometres long. Nice weather.",
        "The Seine flows through Paris, the capital of France [1][2]. Bananas grow [3].",
        "Nothing here matches anything.",
        "",
    ]
    for model_text in texts:
        attribution = attribution_of(model_text)
        parts = [w.weight for w in attribution.sources] + [attribution.unattributed]

        assert all(0.0 <= part <= 1.0 for part in parts)
        assert sum(w.weight_ppm for w in attribution.sources) + attribution.unattributed_ppm == (
            1_000_000
        )
        assert math.isclose(sum(parts), 1.0)


def test_cited_sources_that_support_their_sentences_share_the_answer():
    attribution = attribution_of(
        "Paris is the capital of France [1]. The Seine flows through Paris [2]."
    )

    assert ppm(attribution) == ([500_000, 500_000, 0], 0)
    assert (attribution.method, attribution.version) == ("lexical-alignment", "1")
    assert [(w.owner_id, w.license_id, w.cited) for w in attribution.sources] == [
        ("org-1", "lic-1", True),
        ("org-2", "lic-2", True),
        ("org-3", "lic-3", False),
    ]


def test_a_source_that_contributed_nothing_gets_zero():
    attribution = attribution_of("Paris is the capital of France [1].")

    assert attribution.weight_of("doc-bananas") == 0.0
    assert attribution.weight_of("doc-seine") == 0.0
    assert attribution.weight_of("doc-paris") == 1.0


def test_uncited_support_is_credited_and_unsupported_text_is_unattributed():
    attribution = attribution_of(
        "Paris is the capital of France [1]. The Seine is 777 kilometres long. "
        "Paris is lovely in spring."
    )

    # Masses 3, 4 and 3 terms; the second sentence is 3/4 supported by the Seine source.
    assert ppm(attribution) == ([300_000, 300_000, 0], 400_000)


def test_a_citation_contradicted_by_the_sources_earns_nothing():
    attribution = attribution_of("Paris is the capital of France [3].")

    assert ppm(attribution) == ([1_000_000, 0, 0], 0)


def test_a_cited_paraphrase_no_source_supports_in_words_is_half_grounded():
    attribution = attribution_of("The French seat of government is a large metropolis [1].")

    assert ppm(attribution) == ([500_000, 0, 0], 500_000)


def test_a_sentence_two_sources_support_together_is_split_between_them():
    attribution = attribution_of("The Seine flows through Paris, the capital of France [1][2].")

    assert ppm(attribution) == ([500_000, 500_000, 0], 0)


def test_an_uncited_copy_of_the_cited_source_earns_nothing():
    # Withholding the copy would not change the answer: the cited source says it all.
    copy = replace(PARIS, id="doc-paris-copy", owner_id="org-4")

    cited_original = attribution_of("Paris is the capital of France [1].", (PARIS, copy, SEINE))
    cited_copy = attribution_of("Paris is the capital of France [2].", (PARIS, copy, SEINE))
    uncited = attribution_of("Paris is the capital of France.", (PARIS, copy, SEINE))

    assert ppm(cited_original) == ([1_000_000, 0, 0], 0)
    assert ppm(cited_copy) == ([0, 1_000_000, 0], 0)
    # With no citation to go by, every source that states it shares the sentence.
    assert ppm(uncited) == ([500_000, 500_000, 0], 0)


def test_an_uncited_source_shares_only_what_the_cited_one_does_not_ground():
    # The cited Seine source grounds {sein, flow, paris} (0.6, scored 0.6 + 0.25); the uncited
    # Paris source adds {capital, franc} (scored 0.4): 0.4 / 1.25 and 0.85 / 1.25.
    attribution = attribution_of("The Seine flows through Paris, the capital of France [2].")

    assert ppm(attribution) == ([320_000, 680_000, 0], 0)


def test_duplicating_a_source_text_does_not_increase_its_share():
    doubled = replace(SEINE, text=f"{SEINE.text} {SEINE.text}\n\n{SEINE.text}")
    model_text = "Paris is the capital of France [1]. The Seine flows through Paris [2]."

    baseline = attribution_of(model_text)
    duplicated = attribution_of(model_text, (PARIS, doubled, BANANAS))

    assert ppm(duplicated) == ppm(baseline)


def test_duplicating_a_source_text_does_not_change_the_extractive_answer():
    client = InferenceClient()
    doubled = replace(SEINE, text=f"{SEINE.text} {SEINE.text} {SEINE.text}")

    baseline = client.answer(QUESTION, list(GEOGRAPHY))
    duplicated = client.answer(QUESTION, [PARIS, doubled, BANANAS])

    assert baseline.text == (
        "Paris is the capital of France [1]. The Seine flows through Paris [2]."
    )
    assert duplicated.text == baseline.text
    assert ppm(duplicated.attribution) == ppm(baseline.attribution) == ([500_000, 500_000, 0], 0)


def test_padding_a_source_with_irrelevant_text_does_not_raise_its_weight():
    padded = replace(SEINE, text=f"{IRRELEVANT}\n\n{SEINE.text}\n\n{IRRELEVANT * 5}")
    model_text = "Paris is the capital of France [1]. The Seine flows through Paris [2]."

    assert ppm(attribution_of(model_text, (PARIS, padded, BANANAS))) == ppm(
        attribution_of(model_text)
    )
    client = InferenceClient()
    baseline = client.answer(QUESTION, list(GEOGRAPHY))
    padded_answer = client.answer(QUESTION, [PARIS, padded, BANANAS])
    assert padded_answer.attribution.weight_of("doc-seine") <= baseline.attribution.weight_of(
        "doc-seine"
    )
    assert ppm(padded_answer.attribution) == ppm(baseline.attribution)


def test_padding_an_unrelated_source_with_question_words_earns_it_nothing():
    # A keyword list naming every question word says nothing: it is neither quoted nor credited.
    stuffed = replace(BANANAS, text=f"{BANANAS.text} Capital France river Paris flows.")

    answer = InferenceClient().answer(QUESTION, [PARIS, SEINE, stuffed])

    assert "Capital France" not in answer.text
    assert answer.attribution.weight_of("doc-bananas") == 0.0


def test_attribution_is_identical_run_to_run():
    first = InferenceClient().answer(QUESTION, list(GEOGRAPHY))
    second = InferenceClient().answer(QUESTION, list(GEOGRAPHY))

    assert first.text == second.text
    assert first.citations == second.citations
    assert first.attribution == second.attribution


def test_attribution_does_not_depend_on_the_hash_seed(tmp_path):
    paths = []
    for source in GEOGRAPHY:
        path = tmp_path / f"{source.id}.txt"
        path.write_text(source.text, encoding="utf-8")
        paths.append(path)
    command = [sys.executable, "-m", "inference_client", "--backend", "extractive", "ask"]
    command += [QUESTION, "--json"]
    for path in paths:
        command += ["--source", str(path)]
    outputs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=30
        )
        data = json.loads(result.stdout)
        outputs.append((data["text"], data["citations"], data["attribution"]))

    assert outputs[0] == outputs[1] == outputs[2]
