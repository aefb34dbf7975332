"""Benchmark duplicate detection: signing throughput, what is caught, and false positives.

Run: .venv/bin/python bench/bench_dedupe.py [--quick]

1. Throughput: documents of about 20 KiB (the reStructuredText sources of Debian's
   python3.11-doc between 15 and 30 KiB), chunked as ingestion chunks them, signed with
   catalog.ingestion.minhash (5-word shingles, 128 permutations, one signature for the document
   and one per passage, plus their band keys).
2. Catches: each of the 33 demo articles against copies of it (verbatim, edited every 50th /
   25th / 12th word, reworded with the synonym table of bench/_rewording.py, reworded and
   padded with unrelated text), judged the way ingestion judges (LSH band keys, then the
   estimated Jaccard similarity against CATALOG_DUPLICATE_THRESHOLD), at document level and
   at passage level; the exact Jaccard of the shingle sets is printed beside.
3. False positives: every pair of the ~500 python3.11-doc sources (documents about one subject,
   written by one team) and of the demo articles, as if each came from its own provider:
   how many LSH proposes, how many reach the threshold, and their exact Jaccard.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import _catalog_corpus as corpus
import _rewording as rewording

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog.ingestion import minhash  # noqa: E402
from catalog.ingestion.chunking import split_into_chunks  # noqa: E402

THRESHOLD = 0.5  # CATALOG_DUPLICATE_THRESHOLD's default
CHUNK_TOKENS = 200


def passages(text: str) -> list[str]:
    spans = split_into_chunks(text, target_tokens=CHUNK_TOKENS)
    return [text[s.char_start : s.char_end] for s in spans]


def shingles(text: str) -> set[tuple[bytes, ...]]:
    words = minhash.words(text)
    return {tuple(words[i : i + minhash.SHINGLE_WORDS]) for i in range(len(words) - 4)}


def exact_jaccard(first: str, second: str) -> float:
    a, b = shingles(first), shingles(second)
    return len(a & b) / len(a | b) if a | b else 0.0


def demo_articles() -> list[tuple[str, str]]:
    paths = sorted((ROOT / "marketplace" / "demo_content").glob("*/*/*.md"))
    return [(p.stem, p.read_text().split("---", 2)[2].strip()) for p in paths]


def throughput(quick: bool) -> None:
    texts = [p.read_text(errors="replace") for p in corpus.text_sources()]
    texts = [t for t in texts if 15_000 <= len(t.encode()) <= 30_000][: 40 if quick else None]
    split = [passages(t) for t in texts]
    rounds = 3 if quick else 10
    started = time.perf_counter()
    for _ in range(rounds):
        for parts in split:
            signed = minhash.sign_passages(parts)
            if signed.document is not None:
                minhash.band_keys(signed.document, minhash.DOCUMENT_LEVEL)
            for digest in signed.passages:
                if digest is not None:
                    minhash.band_keys(digest, minhash.PASSAGE_LEVEL)
    elapsed = time.perf_counter() - started
    count = rounds * len(texts)
    kib = statistics.fmean(len(t.encode()) for t in texts) / 1024
    chunks = statistics.fmean(len(p) for p in split)
    print(
        f"throughput: {count / elapsed:.0f} documents/s ({kib:.1f} KiB, {chunks:.1f} passages "
        f"each; {elapsed / count * 1000:.2f} ms a document, document + passage signatures and "
        "band keys, one core)"
    )


class Index:
    """The band-key table of the database, in memory: key -> signatures."""

    def __init__(self) -> None:
        self.keys: dict[int, list[int]] = defaultdict(list)
        self.digests: list[minhash.Digest] = []

    def add(self, digest: minhash.Digest, level: int) -> int:
        self.digests.append(digest)
        for key in minhash.band_keys(digest, level):
            self.keys[key].append(len(self.digests) - 1)
        return len(self.digests) - 1

    def best(self, digest: minhash.Digest, level: int) -> float:
        """Return the best estimated similarity among the candidates LSH proposes (0: none)."""
        found = {i for key in minhash.band_keys(digest, level) for i in self.keys.get(key, ())}
        return max((minhash.similarity(digest, self.digests[i]) for i in found), default=0.0)


def catches() -> None:
    articles = demo_articles()
    # Unrelated padding: random words (random text shares no 5-word run with anything).
    vocabulary = sorted({w for _, t in articles for w in t.split()})
    padding = " ".join(random.Random(7).choices(vocabulary, k=20_000))
    attacks = {
        "verbatim copy": lambda t: t,
        "every 50th word edited": lambda t: rewording.edit_every(t, 50),
        "every 25th word edited": lambda t: rewording.edit_every(t, 25),
        "every 12th word edited": lambda t: rewording.edit_every(t, 12),
        "reworded (synonym table)": rewording.reword,
        "reworded + padded to 2x": lambda t: rewording.reword(t) + "\n\n" + padding[: len(t)],
    }
    documents, passage_index = Index(), Index()
    originals = {}
    for name, text in articles:
        signed = minhash.sign_passages(passages(text))
        if signed.document is not None:
            documents.add(signed.document, minhash.DOCUMENT_LEVEL)
        for digest in signed.passages:
            if digest is not None:
                passage_index.add(digest, minhash.PASSAGE_LEVEL)
        originals[name] = text
    print(f"\ncatches at threshold {THRESHOLD} ({len(articles)} demo articles as originals):")
    print("| copy | exact J (median) | documents held out | passages held out |")
    print("|---|---|---|---|")
    for label, attack in attacks.items():
        held_documents = held_passages = total_passages = 0
        exact = []
        for _name, text in articles:
            copy = attack(text)
            exact.append(exact_jaccard(text, copy))
            signed = minhash.sign_passages(passages(copy))
            if signed.document is not None:
                score = documents.best(signed.document, minhash.DOCUMENT_LEVEL)
                held_documents += score >= THRESHOLD
            for digest in signed.passages:
                total_passages += 1
                if digest is not None:
                    held = passage_index.best(digest, minhash.PASSAGE_LEVEL) >= THRESHOLD
                    held_passages += held
        print(
            f"| {label} | {statistics.median(exact):.2f} | {held_documents}/{len(articles)} | "
            f"{held_passages}/{total_passages} |"
        )


def false_positives(quick: bool) -> None:
    sources = [p.read_text(errors="replace") for p in corpus.text_sources()]
    sources = sources[: 150 if quick else None]
    for label, texts in (
        ("python3.11-doc sources", sources),
        ("demo articles", [t for _, t in demo_articles()]),
    ):
        index = Index()
        indexed: list[int] = []  # the text of each signature in the index
        signed = [minhash.sign_passages([t]).document for t in texts]
        pairs = len(texts) * (len(texts) - 1) // 2
        proposed = held = 0
        exact_of_held = []
        for i, digest in enumerate(signed):
            if digest is None:
                continue
            keys = minhash.band_keys(digest, minhash.DOCUMENT_LEVEL)
            found = {j for key in keys for j in index.keys.get(key, ())}
            proposed += len(found)
            for j in found:
                if minhash.similarity(digest, index.digests[j]) >= THRESHOLD:
                    held += 1
                    exact_of_held.append(exact_jaccard(texts[i], texts[indexed[j]]))
            index.add(digest, minhash.DOCUMENT_LEVEL)
            indexed.append(i)
        exact = ", ".join(f"{j:.2f}" for j in sorted(exact_of_held)) or "-"
        print(
            f"false positives, {label}: {len(texts)} documents, {pairs:,} pairs: LSH proposed "
            f"{proposed}, {held} reached {THRESHOLD} (exact J of those: {exact})"
        )


def lsh_recall() -> None:
    """Print the chance that LSH proposes a pair, by its Jaccard similarity (from the layout)."""
    print(f"\nLSH: chance that a pair is proposed, 1 - (1 - J^{minhash.ROWS_PER_BAND})^bands")
    bands = (minhash.DOCUMENT_BANDS, minhash.PASSAGE_BANDS)
    print("| J | documents ({} bands) | passages ({} bands) |".format(*bands))
    print("|---|---|---|")
    for j in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        document = 1 - (1 - j**minhash.ROWS_PER_BAND) ** minhash.DOCUMENT_BANDS
        passage = 1 - (1 - j**minhash.ROWS_PER_BAND) ** minhash.PASSAGE_BANDS
        print(f"| {j:.1f} | {document:.3f} | {passage:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    corpus.require_corpus()
    print(f"machine: {corpus.machine()}; signatures: {minhash.ALGORITHM}")
    throughput(args.quick)
    catches()
    false_positives(args.quick)
    lsh_recall()


if __name__ == "__main__":
    main()
