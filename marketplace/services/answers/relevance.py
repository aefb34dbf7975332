"""The relevance gate: which retrieved passages are worth paying for, given the question."""

import functools
import re

from bm25s.stopwords import STOPWORDS_EN_PLUS

import inference_client
from catalog.services import ChunkHit

# A passage is relevant only if it contains at least this share of the question's content
# words (and two of them, when the question has two or more) and scores at least this share
# of the best passage: the agent pays per source, so a passage that matches one word of the
# question must not be bought.
MIN_TERM_COVERAGE = 0.6
MIN_MATCHED_WORDS = 2
MIN_RELATIVE_SCORE = 0.3
# Words that frame a question rather than say what it is about ("what does X mean", "the
# difference between X and Y"): the relevance gate counts only the words that remain, beside
# a fuller English stop-word list than the index's own.
_QUESTION_WORDS = (
    "how does do did what why when where which who whom whose is are was were can could "
    "should would will shall may might must tell explain describe me about there their "
    "mean means meaning difference differences different differ between versus vs compare "
    "compared"
)
QUESTION_WORDS = frozenset(_QUESTION_WORDS.split())
STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
WORD = re.compile(r"(?u)\b\w\w+\b")
SUFFIXES = ("ingly", "edly", "ing", "ies", "ied", "ed", "es", "ly", "s")


@functools.lru_cache(maxsize=65_536)  # a corpus repeats its words: stem each once per process
def _stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]  # "rise", "rises" and "rising" meet at "ris"
    return word[:5]


def content_stems(text: str) -> set[str]:
    """Return the crude stems of a text's content words (question words and stop words out)."""
    return {
        _stem(w)
        for w in WORD.findall(text.lower())
        if w not in QUESTION_WORDS and w not in STOPWORDS
    }


def topic_stems(question: str) -> set[str]:
    """Return the stems of what a question is about: its content words without the general
    ones that frame it ("Do probiotics really work?" is about probiotics), unless that leaves
    none."""
    found = content_stems(question)
    framing = {_stem(w) for w in inference_client.GENERAL_WORDS}
    return (found - framing) or found


def relevant_hits(question: str, hits: list[ChunkHit]) -> list[ChunkHit]:
    """Keep the hits that cover enough of the question's words and score near the best."""
    wanted = topic_stems(question)
    if not hits or not wanted:
        return hits
    best = hits[0].score
    kept = []
    for hit in hits:
        if hit.score < best * MIN_RELATIVE_SCORE:
            continue
        matched = len(wanted & content_stems(hit.text))
        if matched / len(wanted) >= MIN_TERM_COVERAGE and matched >= min(
            MIN_MATCHED_WORDS, len(wanted)
        ):
            kept.append(hit)
    return kept
