"""Sensitive questions get no sponsored item: those about self-harm, medical emergencies or
elections (ADS_SENSITIVE_TERMS), whoever would pay for the slot.

A term is a word or a phrase; it matches the question's words in order, case aside, each word
also with a trailing "s" or "es", across spaces, hyphens or underscores between the words
("self harm" matches "Self-harm"; "election" matches "elections"). One regular expression per
list of terms, compiled once.
"""

import functools
import re
from collections.abc import Sequence

from django.conf import settings

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'"})


@functools.lru_cache(maxsize=8)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    phrases = []
    for term in terms:
        words = _WORD.findall(term.translate(_APOSTROPHES).lower())
        if words:
            phrases.append(r"[\s\-_]+".join(re.escape(word) + "(?:e?s)?" for word in words))
    if not phrases:
        return None
    return re.compile(r"(?<![^\W_])(?:" + "|".join(phrases) + r")(?![^\W_])", re.IGNORECASE)


def sensitive_term(question: str, terms: Sequence[str] | None = None) -> str | None:
    """Return the sensitive term a question mentions (as it is written there), or None."""
    pattern = _pattern(tuple(settings.ADS_SENSITIVE_TERMS if terms is None else terms))
    if pattern is None:
        return None
    found = pattern.search(question.translate(_APOSTROPHES))
    return found.group(0) if found else None
