"""The one tokenizer the embedded index, its queries and the benchmark's exact scan share."""

import re

from bm25s.tokenization import STOPWORDS_EN

TOKEN = re.compile(r"(?u)\b\w\w+\b")
STOPWORDS = frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Return the lower-cased words of two or more characters that are not stop words."""
    return [t for t in TOKEN.findall(text.lower()) if t not in STOPWORDS]
