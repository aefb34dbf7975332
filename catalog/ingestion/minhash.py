"""MinHash signatures of passages and documents over 5-word shingles, and their LSH band keys.

A text's words are its lower-cased runs of non-space characters once ASCII punctuation is
blanked out, so case, punctuation and spacing changes do not make a copy look new. Each run of
five consecutive words (a shingle) is hashed; rensa's R-MinHash (Rust) turns the set of shingle
hashes into 128 32-bit values, the signature. The share of equal values between two signatures
estimates the Jaccard similarity of the two shingle sets (standard error about 0.04 near 0.5).

Locality-sensitive hashing finds the candidates without comparing every pair: a signature is cut
into bands of `ROWS_PER_BAND` values and each band is hashed to a 64-bit key. Two texts share a
key with probability 1 - (1 - J^3)^bands; the keys live in an indexed table, so any process
finds a new text's candidates with one lookup, on PostgreSQL and SQLite alike. Candidates are
then confirmed on the full signature.

Plain functions, no Django: the catalog's duplicate service stores and compares what they make.
"""

import itertools
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import rensa  # type: ignore[import-untyped]  # it ships no type information

SHINGLE_WORDS = 5
NUM_PERM = 128
SEED = 20_251_201
ROWS_PER_BAND = 3
# Bands of 3 values: a pair at similarity J shares a key with probability 1 - (1 - J^3)^bands.
# Documents use 16 bands (88% at J = 0.5, 98% at 0.6); passages 6 (55% at 0.5, 92% at 0.7,
# 98.6% at 0.8: repeated and copied passages are near-verbatim, looser copies are caught at
# document level). A document of 17 passages writes 16 + 17 * 6 = 118 keys; unrelated texts
# (J near 0.01) share a key about once in 60,000 pairs, and a proposed pair is confirmed on
# the full signature.
DOCUMENT_BANDS = 16
PASSAGE_BANDS = 6
# A text needs this many shingles (nine words) for a signature: shorter ones (a heading, a
# signature line) say too little to call two texts copies of each other.
MIN_SHINGLES = 5
# Signatures from another algorithm, seed or layout are never compared with these: the tag is
# stored with each signature and mixed into every band key. rensa documents that digests of
# different algorithm versions must not be compared.
ALGORITHM = (
    f"rensa-r{rensa.RMinHash.ALGORITHM_VERSION}-p{NUM_PERM}-s{SEED}"
    f"-w{SHINGLE_WORDS}-b{ROWS_PER_BAND}"
)

Digest = npt.NDArray[np.uint32]

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
_ALGORITHM_SALT = int.from_bytes(ALGORITHM.encode()[-8:].ljust(8, b"\0"), "little")


@dataclass(frozen=True)
class TextSignatures:
    """The signature of a whole document and of each of its passages (None: too short)."""

    document: Digest | None
    passages: tuple[Digest | None, ...]


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


def sign_passages(passages: Sequence[str]) -> TextSignatures:
    """Return the signatures of a document given as its passages in order.

    The document's shingles run across passage boundaries, as its text does; each passage's
    are its own. All signatures come from one call into rensa.
    """
    passage_words = [words(text) for text in passages]
    lengths = [len(w) for w in passage_words]
    if not sum(lengths):
        return TextSignatures(None, tuple(None for _ in passages))
    hashed = np.fromiter(
        itertools.chain.from_iterable(rensa.RMinHash.hash_token_sets(passage_words)),
        dtype=np.uint64,
        count=sum(lengths),
    )
    document_shingles = shingle_hashes(hashed)
    rows = [document_shingles]
    start = 0
    for length in lengths:
        # A passage's own shingles are those of the document that start and end inside it.
        rows.append(document_shingles[start : max(start, start + length - SHINGLE_WORDS + 1)])
        start += length
    signed = [len(row) >= MIN_SHINGLES for row in rows]
    kept = [row for row, ok in zip(rows, signed, strict=True) if ok]
    if not kept:
        return TextSignatures(None, tuple(None for _ in passages))
    offsets = list(itertools.accumulate((len(row) for row in kept), initial=0))
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
        np.concatenate(kept), offsets, NUM_PERM, SEED
    )
    digests = iter(np.asarray(matrix.to_rows(), dtype=np.uint32))
    results = [next(digests) if ok else None for ok in signed]
    return TextSignatures(results[0], tuple(results[1:]))


def band_keys(digest: Digest, level: int) -> list[int]:
    """Return the LSH band keys of a signature at a level (signed 64-bit, as databases store)."""
    return [int(key) for key in band_key_matrix(digest.reshape(1, -1), level)[0]]


def band_key_matrix(digests: npt.NDArray[np.uint32], level: int) -> npt.NDArray[np.int64]:
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


def to_bytes(digest: Digest) -> bytes:
    """Return a signature as stored: 128 little-endian 32-bit values (512 bytes)."""
    return digest.astype("<u4").tobytes()


def from_bytes(data: bytes | memoryview) -> Digest:
    """Return a stored signature (PostgreSQL gives a memoryview, SQLite bytes)."""
    return np.frombuffer(bytes(data), dtype="<u4").astype(np.uint32)


def similarity(first: Digest, second: Digest) -> float:
    """Return the estimated Jaccard similarity of two texts' shingle sets."""
    return float(np.count_nonzero(first == second)) / NUM_PERM


def similarities(digest: Digest, others: npt.NDArray[np.uint32]) -> npt.NDArray[np.float64]:
    """Return the estimated similarity of a signature to each row of a signature matrix."""
    if not len(others):
        return np.zeros(0, dtype=np.float64)
    equal: npt.NDArray[np.int64] = np.count_nonzero(others == digest, axis=1)
    return equal.astype(np.float64) / NUM_PERM
