"""Split a document's clean text into passages with exact character offsets.

A chunk is `text[char_start:char_end]` of the document. Paragraphs are packed together up to
`target_tokens` words; a paragraph longer than that is cut at sentence ends, and a sentence
longer than that at word boundaries. Tokens here are words (`\\w+` runs), the unit the BM25
index and the token count share.
"""

import re
from dataclasses import dataclass

WORD = re.compile(r"\w+")
PARAGRAPH = re.compile(r"\S(?:.|\n(?!\s*\n))*", re.DOTALL)
SENTENCE = re.compile(r"\S.*?(?:[.!?](?=\s)|$)", re.DOTALL)


@dataclass(frozen=True)
class ChunkSpan:
    ordinal: int
    char_start: int
    char_end: int
    token_count: int


def count_tokens(text: str) -> int:
    return len(WORD.findall(text))


def _pieces(text: str, start: int, end: int, target_tokens: int):
    """Yield (start, end, tokens) spans no longer than target_tokens where possible."""
    segment = text[start:end]
    tokens = count_tokens(segment)
    if tokens <= target_tokens:
        yield start, end, tokens
        return
    sentences = [(start + m.start(), start + m.end()) for m in SENTENCE.finditer(segment)]
    if len(sentences) > 1:
        for s_start, s_end in sentences:
            yield from _pieces(text, s_start, s_end, target_tokens)
        return
    words = [(start + m.start(), start + m.end()) for m in WORD.finditer(segment)]
    for i in range(0, len(words), target_tokens):
        window = words[i : i + target_tokens]
        w_end = end if i + target_tokens >= len(words) else window[-1][1]
        w_start = start if i == 0 else window[0][0]
        yield w_start, w_end, len(window)


def split_into_chunks(text: str, *, target_tokens: int = 200) -> list[ChunkSpan]:
    """Return the chunk spans of `text`, in order."""
    spans: list[ChunkSpan] = []
    current: list[int] | None = None  # [start, end, tokens]
    for paragraph in PARAGRAPH.finditer(text):
        p_end = paragraph.start() + len(paragraph.group().rstrip())
        for start, end, tokens in _pieces(text, paragraph.start(), p_end, target_tokens):
            if current is not None and current[2] + tokens <= target_tokens:
                current[1], current[2] = end, current[2] + tokens
                continue
            if current is not None:
                spans.append(ChunkSpan(len(spans), current[0], current[1], current[2]))
            current = [start, end, tokens]
    if current is not None:
        spans.append(ChunkSpan(len(spans), current[0], current[1], current[2]))
    return spans
