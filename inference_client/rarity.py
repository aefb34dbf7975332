"""Weigh content terms by how rare they are in the whole index, not in one answer's sources."""

from __future__ import annotations

import math
from collections.abc import Iterable

from inference_client.text import WORD, term
from inference_client.types import CorpusStatistics


class TermWeights:
    """The inverse document frequency of terms over the index (BM25's), or 1.0 for every term.

    Without statistics every term weighs the same: rarity is never estimated from the sources
    of the answer at hand, where a provider could shift it by adding words to its own text.
    A term's passage count is the highest of its word forms' (``flows`` and ``flow`` are one term).
    """

    def __init__(self, statistics: CorpusStatistics | None = None):
        self.statistics = statistics
        self._passages_with: dict[str, int] = {}
        self._asked: set[str] = set()

    @property
    def uniform(self) -> bool:
        """Return whether every term weighs 1.0 (no statistics were given)."""
        return self.statistics is None

    def learn(self, texts: Iterable[str], *, only: frozenset[str] | None = None) -> None:
        """Look up, in one call, the passage counts of the words of these texts.

        With ``only``, just the words whose term is among those.
        """
        if self.statistics is None:
            return
        words: dict[str, str] = {}
        for text in texts:
            for match in WORD.finditer(text):
                word = match.group().lower().replace("’", "'").split("'", 1)[0]
                found = term(word)
                if len(word) < 2 or found is None or (only is not None and found not in only):
                    continue  # the index does not count one-character words
                # The forms of the word the texts do not use count too ("existed", "exists").
                for form in (word, *_forms(found)):
                    if form not in self._asked and form not in words and term(form) == found:
                        words[form] = found
        if not words:
            return
        counts = self.statistics.passages_with(sorted(words))
        self._asked.update(words)
        for word, found in words.items():
            count = int(counts.get(word, 0))
            if count > self._passages_with.get(found, -1):
                self._passages_with[found] = count

    def __call__(self, term_: str) -> float:
        """Return the term's weight: log(1 + (N - n + 0.5) / (n + 0.5)), or 1.0 uniformly.

        A term the index does not count (a single character, "3" of "TLS 1.3") weighs as a
        word held by the square root of N passages would.
        """
        if self.statistics is None:
            return 1.0
        total = max(self.statistics.passages, 0)
        count = self._passages_with.get(term_)
        if count is None:
            count = math.isqrt(total)
        count = min(count, total)
        return math.log(1 + (total - count + 0.5) / (count + 0.5))

    def total(self, terms_: Iterable[str]) -> float:
        """Return the summed weight of terms (exact, whatever their order)."""
        return math.fsum(self(t) for t in terms_)


def _forms(stem: str) -> tuple[str, ...]:
    """Return word forms that may share a stem: the stem itself, -e, plurals, past, -ing."""
    if not stem.isalpha():
        return ()
    forms = [stem, f"{stem}e", f"{stem}s", f"{stem}es", f"{stem}ed", f"{stem}ing"]
    if stem.endswith("y"):
        forms.append(f"{stem[:-1]}ies")
    return tuple(forms)
