"""The answer-quality evaluation set (bench/eval/questions.jsonl) is well formed.

Every gold answer is a whole sentence of the article it names, copied verbatim, so that the
benchmark can check that an answer quotes it.
"""

import json
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "bench" / "eval" / "questions.jsonl"
CONTENT = ROOT / "marketplace" / "demo_content"
KEYS = {"id", "question", "doc", "gold", "kind"}
UNANSWERABLE_KINDS = {"off-topic", "near-topic"}
# A sentence ends in . ! or ?, perhaps followed by a closing quote or bracket.
SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


def _rows() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _body(doc: str) -> str:
    """Return an article's text without its front matter, whitespace normalised."""
    raw = (CONTENT / doc).read_text(encoding="utf-8")
    _head, sep, body = raw.removeprefix("---\n").partition("\n---\n")
    assert raw.startswith("---\n") and sep, f"{doc} has no front matter"
    return _normalise(body)


ROWS = _rows()
ANSWERABLE = [row for row in ROWS if row["gold"]]
UNANSWERABLE = [row for row in ROWS if not row["gold"]]


def test_the_set_is_large_enough_and_its_ids_and_questions_are_unique():
    assert len(ANSWERABLE) >= 150
    assert len(UNANSWERABLE) >= 50
    assert len({row["id"] for row in ROWS}) == len(ROWS)
    assert len({row["question"].casefold() for row in ROWS}) == len(ROWS)


def test_every_row_has_the_documented_fields():
    for row in ROWS:
        assert KEYS <= set(row) <= KEYS | {"parts"}, row["id"]
        assert isinstance(row["question"], str) and row["question"].strip(), row["id"]
        assert isinstance(row["gold"], list), row["id"]
        assert all(isinstance(s, str) and s.strip() for s in row["gold"]), row["id"]


def test_unanswerable_questions_name_no_document():
    for row in UNANSWERABLE:
        assert row["doc"] is None, row["id"]
        assert row["kind"] in UNANSWERABLE_KINDS, row["id"]
        assert "parts" not in row, row["id"]


def test_every_article_of_the_demo_has_questions():
    articles = {p.relative_to(CONTENT).as_posix() for p in CONTENT.rglob("*.md")}
    asked = Counter(row["doc"] for row in ANSWERABLE)
    assert set(asked) == articles
    assert min(asked.values()) >= 3


def _gold_problems(row: dict) -> list[str]:
    if row["kind"] in UNANSWERABLE_KINDS:
        return [f"{row['id']}: an answerable question of kind {row['kind']}"]
    text = _body(row["doc"])
    problems = []
    for sentence in map(_normalise, row["gold"]):
        at = text.find(sentence)
        if at < 0:
            problems.append(f"{row['id']}: not in {row['doc']}: {sentence!r}")
        elif not SENTENCE_END.search(sentence):
            problems.append(f"{row['id']}: does not end a sentence: {sentence!r}")
        elif text[:at].rstrip() and not SENTENCE_END.search(text[:at].rstrip()):
            problems.append(f"{row['id']}: starts mid-sentence: {sentence!r}")
    return problems


def test_gold_sentences_are_whole_sentences_of_the_named_article():
    assert [problem for row in ANSWERABLE for problem in _gold_problems(row)] == []


def test_a_two_part_question_splits_its_gold_sentences_by_part():
    two_part = [row for row in ANSWERABLE if "parts" in row]
    assert len(two_part) >= 20
    for row in two_part:
        assert row["kind"] == "two-part", row["id"]
        assert len(row["parts"]) == 2 and all(row["parts"]), row["id"]
        assert [s for part in row["parts"] for s in part] == row["gold"], row["id"]
    assert not [row["id"] for row in ANSWERABLE if row["kind"] == "two-part" and "parts" not in row]
