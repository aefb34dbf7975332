"""Split a document's clean text into passages with exact character offsets.

A chunk is `text[char_start:char_end]` of the document. Paragraphs are packed together up to
`target_tokens` words; a paragraph longer than that is cut at sentence ends, and a sentence
longer than that at word boundaries. Tokens here are words (`\\w+` runs), the unit the BM25
index and the token count share.
"""

import codecs
import re
from dataclasses import dataclass

WORD = re.compile(r"\w+")
BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
SENTENCE = re.compile(r"\S.*?(?:[.!?](?=\s)|$)", re.DOTALL)


@dataclass(frozen=True)
class ChunkSpan:
    ordinal: int
    char_start: int
    char_end: int
    token_count: int


def count_tokens(text: str) -> int:
    return len(WORD.findall(text))


# Each ASCII byte as a word byte (b"a": letters, digits, underscore, what `\w` matches) or not.
_WORD_BYTES = bytes(0x61 if chr(b).isalnum() or b == 0x5F else 0x20 for b in range(128))
_WORD_BYTES += b" " * 128


def _mark_other_characters(error: UnicodeError) -> tuple[str, int]:
    r"""Encode each character past ASCII as "a" if `\w` matches it (str.isalnum() or "_", as
    the re module's documentation defines it), else " ": one byte for one character."""
    assert isinstance(error, UnicodeEncodeError)
    run = error.object[error.start : error.end]
    return "".join("a" if c.isalnum() or c == "_" else " " for c in run), error.end


codecs.register_error("provenant.word_marks", _mark_other_characters)


class _WordIndex:
    """Counts the words of any span of the text, as `len(WORD.findall(text, start, end))`.

    The text is marked once, a byte a character (word or not), and a word starts where a
    non-word byte precedes a word byte: a span's words are counted by `bytes.count` in C,
    about fifty times faster than listing them. Word positions are only listed for the rare
    span that must be cut between words.
    """

    def __init__(self, text: str):
        self.text = text
        # marks[i + 1] is text[i]'s kind; marks[0] a non-word byte before the text.
        self.marks = b" " + text.encode("ascii", "provenant.word_marks").translate(_WORD_BYTES)

    def count(self, start: int, end: int) -> int:
        if start >= end:
            return 0
        # A span starting inside a word counts that word's rest, as `findall` does.
        inside = self.marks[start] == self.marks[start + 1] == 0x61
        return self.marks.count(b" a", start, end + 1) + inside

    def words(self, start: int, end: int) -> list[tuple[int, int]]:
        return [m.span() for m in WORD.finditer(self.text, start, end)]


def _pieces(text: str, words: _WordIndex, start: int, end: int, target_tokens: int):
    """Yield (start, end, tokens) spans no longer than target_tokens where possible."""
    tokens = words.count(start, end)
    if tokens <= target_tokens:
        yield start, end, tokens
        return
    segment = text[start:end]
    sentences = [(start + m.start(), start + m.end()) for m in SENTENCE.finditer(segment)]
    if len(sentences) > 1:
        for s_start, s_end in sentences:
            yield from _pieces(text, words, s_start, s_end, target_tokens)
        return
    spans = words.words(start, end)
    for i in range(0, len(spans), target_tokens):
        window = spans[i : i + target_tokens]
        w_end = end if i + target_tokens >= len(spans) else window[-1][1]
        w_start = start if i == 0 else window[0][0]
        yield w_start, w_end, len(window)


def _paragraphs(text: str):
    """Yield (start, end) of each paragraph: text between blank lines, without edge spaces."""
    position = 0
    for separator in [*BLANK_LINES.finditer(text), None]:
        end = len(text) if separator is None else separator.start()
        chunk = text[position:end]
        stripped = chunk.strip()
        if stripped:
            start = position + (len(chunk) - len(chunk.lstrip()))
            yield start, start + len(stripped)
        if separator is not None:
            position = separator.end()


def split_into_chunks(text: str, *, target_tokens: int = 200) -> list[ChunkSpan]:
    """Return the chunk spans of `text`, in order."""
    words = _WordIndex(text)
    spans: list[ChunkSpan] = []
    current: list[int] | None = None  # [start, end, tokens]
    for p_start, p_end in _paragraphs(text):
        for start, end, tokens in _pieces(text, words, p_start, p_end, target_tokens):
            if current is not None and current[2] + tokens <= target_tokens:
                current[1], current[2] = end, current[2] + tokens
                continue
            if current is not None:
                spans.append(ChunkSpan(len(spans), current[0], current[1], current[2]))
            current = [start, end, tokens]
    if current is not None:
        spans.append(ChunkSpan(len(spans), current[0], current[1], current[2]))
    return spans
