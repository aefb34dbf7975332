"""The one tokenizer the embedded index, its queries and the benchmark's exact scan share."""

import re

from bm25s.tokenization import STOPWORDS_EN

# Runs of two or more word characters (the same matches as r"\b\w\w+\b", found faster).
TOKEN = re.compile(r"\w\w+")
STOPWORDS = frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Return the lower-cased words of two or more characters that are not stop words."""
    return [t for t in TOKEN.findall(text.lower()) if t not in STOPWORDS]
