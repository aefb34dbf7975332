"""MinHash signatures of passages and documents, two per text, and their LSH band keys.

- *Wording*: a text's words are its lower-cased runs of non-space characters once ASCII
  punctuation is blanked out, so case, punctuation and spacing changes do not make a copy look
  new; each run of five consecutive words (a shingle) is hashed. Copies and light edits share
  most shingles; a rewording keeps about 0.4 of them.
- *Content*: the same words without function and general words, lightly stemmed
  (catalog.ingestion.wording), as a set of terms and of pairs of consecutive terms. A rewording
  (synonyms swapped, clauses moved) keeps most of both; honest writing on the same topic
  shares some terms but few pairs.

rensa's R-MinHash (Rust) turns a set of hashes into 128 32-bit values, of which the low 16 bits
are kept (b-bit MinHash: values of different sets collide once in 65,536, which biases an
estimate by less than 0.0001, and a signature takes 256 bytes): the share of equal values
between two signatures estimates the Jaccard similarity of the two sets (standard error about
0.04 near 0.5). Every passage's two sets, and what crosses passage boundaries, are signed in
one call into rensa; a document's signature is the element-wise minimum of its parts', which
is exactly the signature of the union of their sets.

Locality-sensitive hashing finds the candidates without comparing every pair: the content
signature is cut into bands of `ROWS_PER_BAND` values and each band is hashed to a 64-bit key.
Two texts share a key with probability 1 - (1 - J^3)^bands; the keys live in an indexed table,
so any process finds a new text's candidates with one lookup, on PostgreSQL and SQLite alike.
Candidates are then confirmed on both full signatures. (A pair whose wording is at least half
shared keeps even more of its content, so the content keys find what the wording keys would.)

Plain functions, no Django: the catalog's duplicate service stores and compares what they make.
"""

import itertools
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import rensa  # type: ignore[import-untyped]  # it ships no type information

from catalog.ingestion import wording

SHINGLE_WORDS = 5
NUM_PERM = 128
SEED = 20_251_201
ROWS_PER_BAND = 3
# Bands of 3 values of the content signature: a pair at similarity J shares a key with
# probability 1 - (1 - J^3)^bands. Documents use 12 bands (80% at J = 0.5, 95% at 0.6);
# passages 5 (49% at 0.5, 70% at 0.6, 88% at 0.7). Keys only propose: every document a lookup
# finds is compared with the new one whole, and passage by passage when they are close, so a
# copy found by any of its parts is judged in full (bench/bench_dedupe.py: 12 and 5 bands catch
# what 16 and 6 did). A document of 17 passages has 12 + 17 * 5 = 97 keys; unrelated texts
# (J near 0.02) share a key about once in 25,000 pairs.
DOCUMENT_BANDS = 12
PASSAGE_BANDS = 5
# A text needs this many shingles (nine words) and content words for signatures: shorter ones
# (a heading, a signature line) say too little to call two texts copies of each other.
MIN_SHINGLES = 5
MIN_TERMS = 4
# Signatures from another algorithm, seed, word list or layout are never compared with these:
# the tag is stored with each signature and mixed into every band key. rensa documents that
# digests of different algorithm versions must not be compared.
ALGORITHM = (
    f"rensa-r{rensa.RMinHash.ALGORITHM_VERSION}-p{NUM_PERM}-s{SEED}"
    f"-w{SHINGLE_WORDS}-c{wording.TERMS_VERSION}-b{ROWS_PER_BAND}"
)

# A part's signatures, side by side: the wording's NUM_PERM values, then the content's.
WORDING = slice(0, NUM_PERM)
CONTENT = slice(NUM_PERM, 2 * NUM_PERM)
Digests = npt.NDArray[np.uint16]  # one part (a document or a passage) a row
UNSIGNED = np.iinfo(np.uint16).max  # every value of a part too short to sign

DOCUMENT_LEVEL = 1
PASSAGE_LEVEL = 2

_BLANK_PUNCTUATION = bytes.maketrans(string.punctuation.encode(), b" " * len(string.punctuation))
# Odd 64-bit constants (from splitmix64 and xxhash) that mix words and band values into keys.
_WORD_MULTIPLIERS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0x27D4EB2F165667C5,
        0x94D049BB133111EB,
    ],
    dtype=np.uint64,
)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_UNIGRAM_SALT = np.uint64(0x2545F4914F6CDD1D)
_ALGORITHM_SALT = int.from_bytes(ALGORITHM.encode()[-8:].ljust(8, b"\0"), "little")


@dataclass(frozen=True)
class TextSignatures:
    """The signatures of a document (row 0) and of each of its passages (row i + 1): columns
    WORDING (5-word shingles) and CONTENT (content terms and their pairs in order).

    `signed[i]` says whether part i is long enough to judge; an unsigned row is all UNSIGNED.
    """

    digests: Digests
    signed: npt.NDArray[np.bool_]


def words(text: str) -> list[bytes]:
    """Return the text's words as the shingles see them: lower case, without ASCII punctuation."""
    return text.lower().encode("utf-8", "replace").translate(_BLANK_PUNCTUATION).split()


def _finalize(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Return splitmix64's finalizer of each value: every input bit moves every output bit."""
    values = values ^ (values >> np.uint64(30))
    values = values * _MIX_1
    values = values ^ (values >> np.uint64(27))
    values = values * _MIX_2
    return values ^ (values >> np.uint64(31))


def shingle_hashes(word_hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Return one 64-bit hash per run of SHINGLE_WORDS consecutive words, order-sensitive."""
    count = len(word_hashes) - SHINGLE_WORDS + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        combined = word_hashes[:count] * _WORD_MULTIPLIERS[0]
        for position in range(1, SHINGLE_WORDS):
            combined ^= word_hashes[position : position + count] * _WORD_MULTIPLIERS[position]
        return _finalize(combined)


class _Vocabulary:
    """Each word met so far in this process, with its word hash and content-term hash (0: a
    function or general word), so a word is hashed and normalised once, not once a use."""

    LIMIT = 1 << 18  # words kept (about 27 MiB at most); then it starts again

    def __init__(self) -> None:
        self._index: dict[bytes, int] = {}
        self._words = np.zeros(1024, dtype=np.uint64)
        self._terms = np.zeros(1024, dtype=np.uint64)

    def hashes(
        self, flat_words: list[bytes]
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        """Return the word hash and the content-term hash of each word."""
        if len(self._index) + len(flat_words) > self.LIMIT:
            self.__init__()  # type: ignore[misc]
        index = np.fromiter(
            map(self._index.get, flat_words, itertools.repeat(-1)),
            dtype=np.intp,
            count=len(flat_words),
        )
        missing = np.flatnonzero(index < 0).tolist()
        if missing:
            self._learn(list(dict.fromkeys(flat_words[position] for position in missing)))
            index[missing] = [self._index[flat_words[position]] for position in missing]
        return self._words[index], self._terms[index]

    def _learn(self, new_words: list[bytes]) -> None:
        """Hash new words and their content terms, all in one call into rensa."""
        start = len(self._index)
        end = start + len(new_words)
        while end > len(self._words):
            self._words = np.concatenate([self._words, np.zeros_like(self._words)])
            self._terms = np.concatenate([self._terms, np.zeros_like(self._terms)])
        terms = [wording.term(word) for word in new_words]
        known = [term for term in terms if term is not None]
        words_hashed, terms_hashed = rensa.RMinHash.hash_token_sets(
            [new_words, [term.encode() for term in known]]
        )
        self._words[start:end] = words_hashed
        is_term = np.asarray([term is not None for term in terms], dtype=np.bool_)
        term_hashes = np.zeros(len(new_words), dtype=np.uint64)
        term_hashes[is_term] = terms_hashed
        term_hashes[is_term & (term_hashes == 0)] = 1  # 0 means "no term"
        self._terms[start:end] = term_hashes
        self._index.update(zip(new_words, range(start, end), strict=True))


_VOCABULARY = _Vocabulary()


def _rows(
    values: npt.NDArray[np.uint64], row_of: npt.NDArray[np.intp], rows: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """Return the values grouped by row (stable) and the row counts."""
    order = np.argsort(row_of, kind="stable")
    return values[order], np.bincount(row_of, minlength=rows)


def sign_passages(passages: Sequence[str]) -> TextSignatures:
    """Return the signatures of a document given as its passages in order.

    The document's sets hold what runs across passage boundaries, as its text does; each
    passage's hold its own. All signatures come from one call into rensa.
    """
    count = len(passages)
    flat_words: list[bytes] = []
    lengths = []
    for text in passages:
        passage_words = words(text)
        flat_words += passage_words
        lengths.append(len(passage_words))
    if len(flat_words) < SHINGLE_WORDS:
        return _unsigned(count)
    hashed, terms = _VOCABULARY.hashes(flat_words)
    owner = np.repeat(np.arange(count), lengths)  # the passage of each word
    # Wording: a shingle belongs to the passage it starts and ends in, else to the boundary row.
    shingles = shingle_hashes(hashed)
    starts, ends = owner[: len(shingles)], owner[SHINGLE_WORDS - 1 :]
    shingle_owner = np.where(starts == ends, starts, count)
    shingle_rows, shingle_counts = _rows(shingles, shingle_owner, count + 1)
    # Content: terms and pairs of consecutive terms, the same way.
    content = terms != 0
    terms, term_owner = terms[content], owner[content]
    with np.errstate(over="ignore"):
        unigrams = _finalize(terms ^ _UNIGRAM_SALT)
        bigrams = _finalize(terms[:-1] * _WORD_MULTIPLIERS[0] ^ terms[1:] * _WORD_MULTIPLIERS[1])
    pair_rows = np.where(term_owner[:-1] == term_owner[1:], term_owner[:-1], count)
    term_rows, term_counts = _rows(
        np.concatenate([unigrams, bigrams]), np.concatenate([term_owner, pair_rows]), count + 1
    )
    offsets = np.concatenate([[0], np.cumsum(np.concatenate([shingle_counts, term_counts]))])
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
        np.concatenate([shingle_rows, term_rows]), offsets.tolist(), NUM_PERM, SEED
    )
    rows = len(offsets) - 1
    digests = np.fromiter(
        itertools.chain.from_iterable(matrix.to_rows()), dtype=np.uint32, count=rows * NUM_PERM
    ).reshape(rows, NUM_PERM)
    per_passage_terms = np.bincount(term_owner, minlength=count)
    signed = np.concatenate(
        [
            [len(shingles) >= MIN_SHINGLES and len(terms) >= MIN_TERMS],
            (shingle_counts[:count] >= MIN_SHINGLES) & (per_passage_terms >= MIN_TERMS),
        ]
    )
    # The document's signature of a set is the minimum of its parts' (passages and boundary).
    packed = np.empty((count + 1, 2 * NUM_PERM), dtype=np.uint16)
    packed[0, WORDING] = digests[: count + 1].min(axis=0)
    packed[0, CONTENT] = digests[count + 1 :].min(axis=0)
    packed[1:, WORDING] = digests[:count]
    packed[1:, CONTENT] = digests[count + 1 : 2 * count + 1]
    packed[~signed] = UNSIGNED
    return TextSignatures(packed, signed)


def _unsigned(count: int) -> TextSignatures:
    packed = np.full((count + 1, 2 * NUM_PERM), UNSIGNED, dtype=np.uint16)
    return TextSignatures(packed, np.zeros(count + 1, dtype=np.bool_))


def signed_rows(digests: Digests) -> npt.NDArray[np.bool_]:
    """Return which stored rows hold signatures (not all UNSIGNED)."""
    return np.asarray((digests != UNSIGNED).any(axis=1))


def band_keys(digests: Digests, signed: npt.NDArray[np.bool_]) -> tuple[list[int], list[int]]:
    """Return the band keys of a document's signed parts (row 0: the document), made from
    their content signatures, as two lists: the part of each key and the key (signed 64-bit,
    as databases store)."""
    parts: list[int] = []
    keys: list[int] = []
    if signed[0]:
        parts += [0] * DOCUMENT_BANDS
        keys += band_key_matrix(digests[:1, CONTENT], DOCUMENT_LEVEL)[0].tolist()
    passages = np.flatnonzero(signed[1:]) + 1
    if len(passages):
        parts += np.repeat(passages, PASSAGE_BANDS).tolist()
        keys += band_key_matrix(digests[passages, CONTENT], PASSAGE_LEVEL).ravel().tolist()
    return parts, keys


def band_key_matrix(digests: Digests, level: int) -> npt.NDArray[np.int64]:
    """Return the band keys of each row of a signature matrix, one row of keys per signature."""
    bands = DOCUMENT_BANDS if level == DOCUMENT_LEVEL else PASSAGE_BANDS
    values = digests[:, : bands * ROWS_PER_BAND].astype(np.uint64)
    values = values.reshape(len(digests), bands, ROWS_PER_BAND)
    salt = np.uint64(_ALGORITHM_SALT ^ (level << 56))
    with np.errstate(over="ignore"):
        keys = (np.arange(bands, dtype=np.uint64) + np.uint64(1)) * _MIX_2 ^ salt
        for row in range(ROWS_PER_BAND):  # (bands,) ^ (signatures, bands) broadcasts
            keys = _finalize(keys ^ values[:, :, row])
    return keys.view(np.int64)


def to_bytes(digests: Digests) -> bytes:
    """Return signatures as stored: a row of 2 x 128 little-endian 16-bit values a part."""
    return digests.astype("<u2").tobytes()


def from_bytes(data: bytes | memoryview) -> Digests:
    """Return stored signatures, a row a part (PostgreSQL gives a memoryview, SQLite bytes)."""
    return np.frombuffer(data, dtype="<u2").reshape(-1, 2 * NUM_PERM)


def similarities(
    digests: Digests, others: Digests
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return the estimated wording and content similarities of each row of `digests` to the
    same row of `others` (rows broadcast)."""
    equal = digests == others
    wording = np.count_nonzero(equal[..., WORDING], axis=-1) / NUM_PERM
    content = np.count_nonzero(equal[..., CONTENT], axis=-1) / NUM_PERM
    return wording.astype(np.float64), content.astype(np.float64)
