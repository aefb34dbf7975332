"""Choose the source sentences that answer a question, best first, or none.

A sentence is scored on the question's terms it states, weighed by their rarity in the whole
index (never in the answer's own sources), plus, at a fraction, the terms its passage says
around it (the sentence before, the heading above, the title): "It is broken down in the
liver" answers a question about caffeine when the sentence before it is about caffeine. A
sentence that gives the kind of answer asked for (a duration, a number, a date, a reason)
scores higher. Only prose is ever a candidate: headings, keyword lists and word salad are not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from inference_client.prose import FUNCTION_WORDS
from inference_client.question import GENERAL_WORDS, Part, Question, read_question
from inference_client.rarity import TermWeights
from inference_client.text import Sentence, sentences, term, terms
from inference_client.types import Source

MAX_SENTENCES = 3
# What a term said around a sentence counts for, as a share of the term said in it.
CONTEXT_BEFORE = 0.5  # the sentence before
CONTEXT_REFERRED = 0.7  # the sentence before, when this one refers back to it ("It ...")
CONTEXT_HEADING = 0.7  # the heading above the sentence, or the document's title
CONTEXT_PASSAGE = 0.4  # any other sentence of the passage
# A question term that another form of the same word stands for ("degrade", "degradation").
RELATED_FORM = 0.7
RELATED_PREFIX = 5
ANSWER_KIND_BONUS = {
    "duration": 0.2,
    "quantity": 0.2,
    "time": 0.2,
    "reason": 0.1,
    "person": 0.1,
    "place": 0.1,
    "definition": 0.1,
}
# Between sentences that state as much of the question, the one that says less else is the
# more to the point: this much of the score goes by the share of its terms the question asks.
FOCUS = 0.1
# A pronoun this early in a sentence ("It opened on ...", "At 57 km it is ...") refers back.
REFERRING_WITHIN = 4
# The best sentence answers only if it and its context cover this share of the question's
# weight, at least this share in the sentence itself, and (for a question of two terms or
# more) two of its terms: one shared word is coincidence. Nor does it answer when a term
# carrying more than MAX_UNSAID of the question's weight (by the index's statistics) appears
# nowhere in its passage: "What is the half-life of nicotine?" is not answered by a passage
# on caffeine's half-life.
MIN_COVERAGE = 0.45
MIN_OWN_COVERAGE = 0.2
MAX_UNSAID = 0.3
# Another sentence joins the answer when it comes from the first one's passage and scores
# nearly as well.
SAME_PASSAGE_FLOOR = 0.7
REDUNDANT_JACCARD = 0.7

# General words frame a question ("really", "make", "happen") rather than say what it is
# about: whatever their rarity in the index, they weigh this share of it.
GENERAL_WEIGHT = 0.5
_GENERAL_TERMS = frozenset(filter(None, map(term, GENERAL_WORDS)))
_REFERRING = frozenset(
    """
    it its they their them this these that those he she his her such both each
    """.split()  # noqa: SIM905
)
_NUMBER = (
    r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|"
    r"billions?|half|dozens?|few|several)"
)
_UNIT = (
    r"(?:(?:milli|micro|nano)?seconds?|minutes?|hours?|days?|nights?|weeks?|months?|years?|"
    r"decades?|centur(?:y|ies)|millennia|generations?|(?:kilo|centi|milli)?met(?:re|er)s?|"
    r"km|miles?|feet|foot|inches?|yards?)"
)
_EVIDENCE = {
    "duration": re.compile(rf"\b{_NUMBER}\b(?:\W+\w+){{0,3}}?\W+{_UNIT}\b", re.IGNORECASE),
    "quantity": re.compile(
        rf"\d|\b{_NUMBER}\b|\bpercent\b|\bper\s?cent\b|\bdouble\b|\btwice\b", re.IGNORECASE
    ),
    "time": re.compile(
        r"\b(?:1\d{3}|20\d{2})s?\b|\b(?:january|february|march|april|may|june|july|august|"
        r"september|october|november|december)\b|\bcentur(?:y|ies)\b|\bago\b|\bBCE?\b",
        re.IGNORECASE,
    ),
    "reason": re.compile(
        r"\bbecause\b|\bdue to\b|\bcaus(?:e|es|ed|ing)\b|\breasons?\b|\bwhy\b|\bso that\b|"
        r"\btherefore\b|\bthus\b|\bhence\b|\b(?:leads?|led) to\b|\bresults? in\b|"
        r"\b(?:happens|occurs|arises)\s+(?:when|if|because)\b",
        re.IGNORECASE,
    ),
    "definition": re.compile(
        r"\b(?:is|are|was|were)\s+(?:a|an|the)\b|\bcalled\b|\bknown as\b|\bmeans\b|"
        r"\brefers? to\b|,\s+or\s+[\w-]+[:,]|:\s+(?:a|an|the)\b",
        re.IGNORECASE,
    ),
    "place": re.compile(
        r"\b(?:in|at|from|near|across|into|through|beneath|off)\s+(?:the\s+)?[A-Z][a-z]+"
    ),
}
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+\b")


class _QuestionWeights:
    """The index's term weights, with general words (see GENERAL_WEIGHT) discounted."""

    def __init__(self, weights: TermWeights):
        self.weights = weights
        self.uniform = weights.uniform

    def __call__(self, term_: str) -> float:
        weight = self.weights(term_)
        return weight * GENERAL_WEIGHT if term_ in _GENERAL_TERMS else weight

    def total(self, terms_: Sequence[str]) -> float:
        return math.fsum(self(t) for t in terms_)


@dataclass(frozen=True)
class Choice:
    """A source sentence that may answer the question, and what of the question it reaches."""

    source_index: int
    position: int
    start: int
    end: int
    text: str
    terms: frozenset[str]
    own: tuple[tuple[str, float], ...]  # the question terms it states (1.0, or a related form)
    reach: tuple[tuple[str, float], ...]  # those, and the ones its context states (less)

    def coverage(self, wanted: frozenset[str], weights: _QuestionWeights, *, own: bool) -> float:
        """Return the weighted share of `wanted` the sentence states (`own`), or reaches."""
        total = weights.total(sorted(wanted))
        found = self.own if own else self.reach
        reached = math.fsum(weights(t) * factor for t, factor in found if t in wanted)
        return reached / total if total else 0.0


@dataclass(frozen=True)
class _Scored:
    """A candidate sentence scored for one part of the question."""

    choice: Choice
    coverage: float
    own_coverage: float
    score: float


def choose_sentences(
    question: str,
    sources: Sequence[Source],
    *,
    weights: TermWeights,
    max_sentences: int = MAX_SENTENCES,
) -> list[Choice]:
    """Return the source sentences that answer the question, best first; none if none do.

    Each part of the question ("What is X, and how does Y work?") is answered by its best
    sentence if that sentence answers it (see MIN_COVERAGE); then sentences of the first
    answer's passage that score nearly as well join, up to `max_sentences`.
    """
    asked = read_question(question)
    if not asked.terms or not sources:
        return []
    weights.learn([question, *(s.text for s in sources)], only=asked.terms)
    weigh = _QuestionWeights(weights)
    candidates = _candidates(asked, sources)
    chosen: list[_Scored] = []
    first_part: Part | None = None
    for part in asked.parts:
        ranked = _ranked(part, candidates, weigh)
        best = next((c for c in ranked if not _redundant(c.choice, chosen)), None)
        if best is not None and _answers(best, part, weigh) and len(chosen) < max_sentences:
            chosen.append(best)
            first_part = first_part or part
    if first_part is None or (len(asked.parts) > 1 and not _answers_all(asked, chosen, weigh)):
        return []
    first = chosen[0]
    for candidate in _ranked(first_part, candidates, weigh):
        if len(chosen) >= max_sentences:
            break
        if _redundant(candidate.choice, chosen):
            continue
        if (
            candidate.choice.source_index == first.choice.source_index
            and candidate.score >= SAME_PASSAGE_FLOOR * first.score
            and candidate.own_coverage >= MIN_OWN_COVERAGE
        ):
            chosen.append(candidate)
    return [c.choice for c in chosen]


def _answers(best: _Scored, part: Part, weights: _QuestionWeights) -> bool:
    """Return whether the best sentence for a part of the question answers it."""
    reached = {
        t for t, factor in best.choice.reach if t in part.terms and factor >= CONTEXT_PASSAGE
    }
    unsaid = max((weights(t) for t in part.terms - reached), default=0.0)
    return (
        best.coverage >= MIN_COVERAGE
        and best.own_coverage >= MIN_OWN_COVERAGE
        and (len(part.terms) < 2 or len(reached) >= 2)
        # Which term matters most takes the index's statistics to tell.
        and (weights.uniform or unsaid <= MAX_UNSAID * weights.total(sorted(part.terms)))
    )


def _answers_all(asked: Question, chosen: Sequence[_Scored], weights: _QuestionWeights) -> bool:
    """Return whether the sentences chosen for the parts answer the question as a whole."""
    reach: dict[str, float] = {}
    for scored in chosen:
        for term_, factor in scored.choice.reach:
            reach[term_] = max(factor, reach.get(term_, 0.0))
    total = weights.total(sorted(asked.terms))
    covered = math.fsum(weights(t) * f for t, f in sorted(reach.items())) / total
    unsaid = max(
        (weights(t) for t in asked.terms if reach.get(t, 0.0) < CONTEXT_PASSAGE), default=0.0
    )
    return covered >= MIN_COVERAGE and (weights.uniform or unsaid <= MAX_UNSAID * total)


def _ranked(part: Part, candidates: Sequence[Choice], weights: _QuestionWeights) -> list[_Scored]:
    """Return the candidates that state a term of the part, best for it first."""
    scored = []
    for choice in candidates:
        own = choice.coverage(part.terms, weights, own=True)
        if not own:
            continue
        coverage = choice.coverage(part.terms, weights, own=False)
        bonus = (
            ANSWER_KIND_BONUS.get(part.wants, 0.0) if _gives_kind(part.wants, choice.text) else 0.0
        )
        stated = sum(1 for t, _ in choice.own if t in part.terms)
        focus = FOCUS * stated / len(choice.terms)
        score = (coverage + bonus + focus) * _conciseness(len(choice.terms))
        scored.append(_Scored(choice, coverage, own, score))
    scored.sort(key=lambda c: (-c.score, c.choice.source_index, c.choice.position))
    return scored


def _candidates(asked: Question, sources: Sequence[Source]) -> list[Choice]:
    """Return the prose sentences of the sources that state a question term, with context."""
    candidates: list[Choice] = []
    seen: set[frozenset[str]] = set()
    for source_index, source in enumerate(sources):
        found = sentences(source.text)
        prose = [s for s in found if s.is_prose]
        passage_terms = frozenset().union(*(s.terms for s in prose)) if prose else frozenset()
        heading = terms(source.title)
        previous: Sentence | None = None
        for position, sentence in enumerate(found):
            if sentence.is_heading:
                heading = sentence.terms | terms(source.title)
                continue
            if not sentence.is_prose:
                continue
            before, previous = previous, sentence
            if sentence.terms in seen:
                continue
            own = _own_matches(asked.terms, sentence.terms)
            if not own:
                continue
            seen.add(sentence.terms)
            text = source.text[sentence.start : sentence.end]
            reach = dict(own)
            refers = _refers_back(text)
            for term_ in asked.terms - reach.keys():
                factor = 0.0
                if before is not None and term_ in before.terms:
                    factor = CONTEXT_REFERRED if refers else CONTEXT_BEFORE
                if term_ in heading:
                    factor = max(factor, CONTEXT_HEADING)
                if term_ in passage_terms:
                    factor = max(factor, CONTEXT_PASSAGE)
                if factor:
                    reach[term_] = factor
            candidates.append(
                Choice(
                    source_index=source_index,
                    position=position,
                    start=sentence.start,
                    end=sentence.end,
                    text=text,
                    terms=sentence.terms,
                    own=tuple(sorted(own.items())),
                    reach=tuple(sorted(reach.items())),
                )
            )
    return candidates


def _own_matches(wanted: frozenset[str], stated: frozenset[str]) -> dict[str, float]:
    """Return the question terms a sentence states: 1.0 as such, less as a related form."""
    found = {t: 1.0 for t in wanted & stated}
    for term_ in wanted - stated:
        if len(term_) < RELATED_PREFIX:
            continue
        for other in stated:
            if len(other) >= RELATED_PREFIX and (
                other.startswith(term_) or term_.startswith(other)
            ):
                found[term_] = RELATED_FORM
                break
    return found


def _refers_back(text: str) -> bool:
    """Return whether a sentence opens by referring to what came before ("It opened ...")."""
    opening = re.findall(r"[^\W_]+", text)[:REFERRING_WITHIN]
    return any(word.lower() in _REFERRING for word in opening)


def _gives_kind(wants: str, text: str) -> bool:
    """Return whether a sentence holds the kind of answer asked for (a number, a date ...)."""
    if not wants:
        return False
    if wants == "person":
        return any(
            m.group().split()[0].lower() not in FUNCTION_WORDS for m in _CAPITALISED.finditer(text)
        )
    return bool(_EVIDENCE[wants].search(text))


def _conciseness(term_count: int) -> float:
    """Return a gentle penalty for very long sentences, which match by sheer size."""
    return 1.0 / (1.0 + max(0, term_count - 30) / 60)


def _redundant(candidate: Choice, chosen: Sequence[_Scored]) -> bool:
    return any(
        candidate is c.choice or _jaccard(candidate.terms, c.choice.terms) >= REDUNDANT_JACCARD
        for c in chosen
    )


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def relevant_window(text: str, question: str, max_chars: int) -> tuple[int, int]:
    """Return the (start, end) of the whole sentences of `text`, at most `max_chars` long, that
    state the most question terms: the excerpt of a passage a length limit allows.

    Ties go to the window with more matching sentences, then to the earliest. When no sentence
    fits, the first matching sentence (or the text) is cut at a word.
    """
    if len(text) <= max_chars:
        return 0, len(text)
    wanted = read_question(question).terms
    found = [s for s in sentences(text) if not s.is_heading] or list(sentences(text))
    matched = [frozenset(_own_matches(wanted, s.terms)) for s in found]
    best: tuple[int, int, int] | None = None
    window = (0, 0)
    for i, first in enumerate(found):
        j = i
        while j + 1 < len(found) and found[j + 1].end - first.start <= max_chars:
            j += 1
        if found[j].end - first.start > max_chars:
            continue
        covered = frozenset().union(*matched[i : j + 1])
        rank = (len(covered), sum(1 for m in matched[i : j + 1] if m), -i)
        if best is None or rank > best:
            best, window = rank, (first.start, found[j].end)
    if best is not None:
        return window
    start = next((s.start for s, m in zip(found, matched, strict=True) if m), 0)
    cut = text.rfind(" ", start, start + max_chars + 1)
    return start, cut if cut > start + max_chars // 2 else start + max_chars
