"""Relevance u in [0, 1] of each ad unit to a question and the sources retrieved for it.

Units and questions are matched as retrieval matches them: the words come from catalog's one
tokenizer (`catalog.services.tokenize`, the embedded BM25 index's), weighted by TF-IDF over
the units (sublinear term frequency, so repeating a keyword buys little), each unit's vector of
unit length. A snapshot of all active units (`UnitIndex`) is built once, term-major, as one
scipy CSR matrix; an auction turns the question and its sources into one query vector and
takes the cosine with every unit in one sparse product over the postings of the query's words.

The question and its sources count `question_weight` and 1 - `question_weight` (each of unit
length first), so a unit about what the answer's sources say ranks near one about the words of
the question. Dense vectors (the `semantic` extra, catalog/retrieval/dense.py) are not needed
here; docs/ads.md ("Relevance") says how they would join.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ads.services.auction.candidates import FloatArray, IntArray

DEFAULT_QUESTION_WEIGHT = 0.5


@functools.cache
def _tokenizer() -> Callable[[str], list[str]]:
    # Imported on first use: catalog's services load its models, so importing the auction
    # (engine, budgets) must not need Django's app registry; matching text does.
    from catalog.services import tokenize

    return tokenize


def tokenize(text: str) -> list[str]:
    """Return the words of a text as catalog's retrieval index sees them."""
    return _tokenizer()(text)


@dataclass(frozen=True)
class UnitText:
    """The words of one ad unit that relevance reads."""

    unit_id: int
    title: str
    body: str
    hints: str = ""
    keywords: tuple[str, ...] = ()

    def words(self) -> list[str]:
        """Return the unit's words: title, body and hints, and each keyword's words once."""
        words = tokenize(f"{self.title}\n{self.body}\n{self.hints}")
        keyword_words = dict.fromkeys(w for k in self.keywords for w in tokenize(k))
        return words + list(keyword_words)


@dataclass(frozen=True, eq=False)
class UnitIndex:
    """A snapshot of units as unit-length TF-IDF vectors, term-major (one row per word)."""

    unit_ids: IntArray
    vocabulary: dict[str, int]
    idf: FloatArray
    unknown_idf: float  # the weight of a word no unit has
    postings: sp.csr_array  # shape (words, units)
    word_idf: dict[str, float]  # the IDF of each word, for building query vectors

    def __len__(self) -> int:
        return len(self.unit_ids)


def build_unit_index(units: Sequence[UnitText]) -> UnitIndex:
    """Return the snapshot of these units (done once per change of the active units)."""
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    counts: list[int] = []
    for position, unit in enumerate(units):
        for word, count in Counter(unit.words()).items():
            rows.append(vocabulary.setdefault(word, len(vocabulary)))
            cols.append(position)
            counts.append(count)
    n = len(units)
    row = np.asarray(rows, dtype=np.int64)
    tf = 1.0 + np.log(np.asarray(counts, dtype=np.float64))
    df = np.bincount(row, minlength=len(vocabulary)).astype(np.float64)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    weights = tf * idf[row]
    col = np.asarray(cols, dtype=np.int64)
    norms = np.sqrt(np.bincount(col, weights=weights * weights, minlength=n))
    weights = weights / np.where(norms > 0.0, norms, 1.0)[col]
    postings = sp.csr_array((weights, (row, col)), shape=(len(vocabulary), n))
    postings.sort_indices()
    ids = np.asarray([u.unit_id for u in units], dtype=np.int64)
    ids.setflags(write=False)
    return UnitIndex(
        unit_ids=ids,
        vocabulary=vocabulary,
        idf=idf,
        unknown_idf=math.log(1.0 + n) + 1.0,
        postings=postings,
        word_idf=dict(zip(vocabulary, idf.tolist(), strict=True)),
    )


def _weights(index: UnitIndex, words: Iterable[str]) -> dict[str, float]:
    """Return a text's TF-IDF weight per word (a word no unit has weighs the most)."""
    idf, unknown = index.word_idf, index.unknown_idf
    return {
        word: (1.0 + math.log(count)) * idf.get(word, unknown)
        for word, count in Counter(words).items()
    }


def query_vector(
    index: UnitIndex,
    question: str,
    sources: Sequence[str] = (),
    *,
    question_weight: float = DEFAULT_QUESTION_WEIGHT,
) -> tuple[IntArray, FloatArray]:
    """Return the query's words known to the index (its rows) and their unit-length weights.

    Words no unit has carry no row but count in the length, so a question mostly about
    something else matches less.
    """
    if not 0.0 <= question_weight <= 1.0:
        raise ValueError("question_weight lies in [0, 1]")
    parts = [(question_weight, tokenize(question))]
    if sources:
        parts.append((1.0 - question_weight, tokenize("\n".join(sources))))
    else:
        parts = [(1.0, parts[0][1])]
    combined: dict[str, float] = {}
    for share, words in parts:
        weights = _weights(index, words)
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if norm == 0.0 or share == 0.0:
            continue
        for word, weight in weights.items():
            combined[word] = combined.get(word, 0.0) + share * weight / norm
    total = math.sqrt(sum(w * w for w in combined.values()))
    known = [(index.vocabulary[w], v / total) for w, v in combined.items() if w in index.vocabulary]
    positions = np.fromiter((p for p, _ in known), dtype=np.int64, count=len(known))
    values = np.fromiter((v for _, v in known), dtype=np.float64, count=len(known))
    return positions, values


def relevance(
    index: UnitIndex,
    question: str,
    sources: Sequence[str] = (),
    *,
    question_weight: float = DEFAULT_QUESTION_WEIGHT,
) -> FloatArray:
    """Return u in [0, 1] for every unit of the index (aligned with `index.unit_ids`)."""
    positions, weights = query_vector(index, question, sources, question_weight=question_weight)
    if not len(positions):
        return np.zeros(len(index), dtype=np.float64)
    scores = np.asarray(index.postings[positions].T @ weights, dtype=np.float64)
    return np.clip(scores, 0.0, 1.0)
