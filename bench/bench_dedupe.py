"""Benchmark duplicate detection: signing throughput, what is caught, and false positives.

Run: .venv/bin/python bench/bench_dedupe.py [--quick]

Texts are judged by ingestion's own code (catalog.services.duplicates.judge, on an in-memory
pool of signatures instead of the database): LSH band keys of the content signature propose
candidates, and a candidate of another provider counts if its wording similarity (5-word
shingles) reaches CATALOG_DUPLICATE_THRESHOLD or its content similarity (content words and
pairs of consecutive content words) reaches CATALOG_DUPLICATE_CONTENT_THRESHOLD.

1. Throughput: documents of about 20 KiB (the reStructuredText sources of Debian's
   python3.11-doc between 15 and 30 KiB), chunked as ingestion chunks them, both signatures of
   the document and of every passage, and their band keys.
2. Catches: each of the 33 demo articles against copies of it (verbatim; every 50th / 25th /
   12th word edited; reworded with the synonym table of bench/_rewording.py; reworded as the
   attack benchmark rewords, bench/_attacks.py: synonyms and clause order; each rewording also
   padded to twice its length with unrelated words), by measure. The exact Jaccard similarities
   of the two sets are printed beside.
3. The content threshold, swept: what each value catches and holds out wrongly.
4. False positives, every document and passage as if from its own provider: the demo articles
   against each other; each demo article against the ~500 python3.11-doc sources; the sources
   against each other (documents about one subject written by one team); and five articles
   written independently on the attack targets' topics (bench/honest_same_topic/) against the
   demo articles.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _attacks as attacks
import _catalog_corpus as corpus
import _rewording as rewording
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog.ingestion import minhash, wording  # noqa: E402
from catalog.ingestion.chunking import split_into_chunks  # noqa: E402

# catalog.services.duplicates' modules, imported once Django is set up (see main)
judging: Any = None
texts: Any = None

WORDING_THRESHOLD = float(os.environ.get("CATALOG_DUPLICATE_THRESHOLD", "0.5"))
CONTENT_THRESHOLD = float(os.environ.get("CATALOG_DUPLICATE_CONTENT_THRESHOLD", "0.4"))
CHUNK_TOKENS = 200
HONEST = Path(__file__).resolve().parent / "honest_same_topic"


def passages(text: str) -> list[str]:
    spans = split_into_chunks(text, target_tokens=CHUNK_TOKENS)
    return [text[s.char_start : s.char_end] for s in spans]


def shingles(text: str) -> set[tuple[bytes, ...]]:
    words = minhash.words(text)
    return {tuple(words[i : i + minhash.SHINGLE_WORDS]) for i in range(len(words) - 4)}


def content(text: str) -> set[tuple[str, ...]]:
    """Return the exact set the content signature estimates: terms and consecutive pairs."""
    terms = [t for t in map(wording.term, minhash.words(text)) if t is not None]
    return {(t,) for t in terms} | set(itertools.pairwise(terms))


def jaccard(first: set, second: set) -> float:
    return len(first & second) / len(first | second) if first | second else 0.0


def demo_articles() -> list[tuple[str, str]]:
    paths = sorted((ROOT / "marketplace" / "demo_content").glob("*/*/*.md"))
    return [(p.stem, attacks.read_article(p)[1]) for p in paths]


def honest_articles() -> list[tuple[str, str, str]]:
    """Return (topic article's slug, name, text) of the independently written articles."""
    found = []
    for path in sorted(HONEST.glob("*.md")):
        meta, text = attacks.read_article(path)
        found.append((meta["topic"], path.stem, text))
    return found


def throughput(quick: bool) -> None:
    texts = [p.read_text(errors="replace") for p in corpus.text_sources()]
    texts = [t for t in texts if 15_000 <= len(t.encode()) <= 30_000][: 40 if quick else None]
    split = [passages(t) for t in texts]
    for parts in split[:5]:
        minhash.sign_passages(parts)  # a warm word cache, as a worker has
    rounds = 3 if quick else 10
    started = time.perf_counter()
    for _ in range(rounds):
        for parts in split:
            signed = minhash.sign_passages(parts)
            minhash.band_keys(signed.digests, signed.signed)
    elapsed = time.perf_counter() - started
    count = rounds * len(texts)
    kib = statistics.fmean(len(t.encode()) for t in texts) / 1024
    chunks = statistics.fmean(len(p) for p in split)
    print(
        f"throughput: {count / elapsed:.0f} documents/s ({kib:.1f} KiB, {chunks:.1f} passages "
        f"each; {elapsed / count * 1000:.2f} ms a document: wording and content signatures of "
        "the document and every passage, and their band keys, one core)"
    )


@dataclass(frozen=True)
class Near:
    """How a text was judged: held out or not, and its wording and content similarity to the
    original it was held out against (0 when not held out)."""

    held: bool = False
    wording: float = 0.0
    content: float = 0.0
    against: str = ""  # the original's name

    def by_wording(self) -> bool:
        return self.held and self.wording >= WORDING_THRESHOLD

    def by_content_only(self) -> bool:
        return self.held and not self.by_wording()


class Catalog:
    """Signatures of many providers' texts, judged and kept the way ingestion keeps them."""

    def __init__(self) -> None:
        self.pool = texts.Pool()
        self.digests: dict[int, np.ndarray] = {}  # a passage's signatures by chunk id
        self.names: dict[int, str] = {}  # a text's name by document id

    def judge(self, parts: Sequence[str], name: str, *, keep: bool = True) -> list[Near]:
        """Judge a text of its own provider; return its document's and passages' outcomes."""
        number = len(self.names) + 1
        signed = minhash.sign_passages(parts)
        key_parts, keys = minhash.band_keys(signed.digests, signed.signed)
        chunk_ids = tuple(number * 100_000 + ordinal for ordinal in range(1, len(parts) + 1))
        subject = texts.Subject(
            document_id=number,
            collection_id=uuid.uuid4(),
            provider_id=uuid.uuid4(),
            released_from=None,
            signature_id=texts.LATEST,
            digests=signed.digests,
            signed=signed.signed,
            since_us=np.full(len(signed.signed), number, dtype=np.int64),
            chunk_ids=chunk_ids,
            key_parts=tuple(key_parts),
            keys=tuple(keys),
        )
        verdict = judging.judge(subject, also=self.pool, stored=False)
        own = dict(zip(chunk_ids, subject.digests[1:], strict=True))  # repeats within the text
        outcome = [self._near(subject.digests[0], verdict.duplicate_of, own)]
        for part, chunk_id in enumerate(chunk_ids, start=1):
            original = verdict.passage_originals.get(chunk_id)
            outcome.append(self._near(subject.digests[part], original, own, passage=True))
        if keep:
            held = texts.held_parts(subject, verdict)
            self.pool.add(texts.row_of(subject, number, held), *texts.original_keys(subject, held))
            self.digests.update(zip(chunk_ids, subject.digests[1:], strict=True))
            self.digests[-number] = subject.digests[0]
            self.names[number] = name
        return outcome

    def _near(
        self,
        digests: np.ndarray,
        original: int | None,
        own: dict[int, np.ndarray],
        *,
        passage: bool = False,
    ) -> Near:
        if original is None:
            return Near()
        other = own.get(original) if passage else None
        against = "itself"
        if other is None:
            other = self.digests[original if passage else -original]
            against = self.names[original // 100_000 if passage else original]
        wording_similarity, content_similarity = minhash.similarities(digests, other)
        return Near(True, float(wording_similarity), float(content_similarity), against)


Attack = Callable[[str], str]


def attack_kinds(articles: Sequence[tuple[str, str]]) -> dict[str, Attack]:
    # Unrelated padding: random words of the articles (shares no 5-word run with anything,
    # and few pairs of content words).
    vocabulary = sorted({w for _, t in articles for w in t.split()})
    padding = " ".join(random.Random(7).choices(vocabulary, k=20_000))
    return {
        "verbatim copy": lambda t: t,
        "every 50th word edited": lambda t: rewording.edit_every(t, 50),
        "every 25th word edited": lambda t: rewording.edit_every(t, 25),
        "every 12th word edited": lambda t: rewording.edit_every(t, 12),
        "reworded (synonym table)": rewording.reword,
        "reworded + padded to 2x": lambda t: rewording.reword(t) + "\n\n" + padding[: len(t)],
        "reworded (attack bench: synonyms, clause order)": attacks.reword,
        "attack rewording + padded to 2x": lambda t: attacks.reword(t) + "\n\n" + padding[: len(t)],
    }


@dataclass
class Caught:
    """What one kind of copy gives: each copy's document and passages."""

    documents: list[Near]
    passages: list[tuple[Near, Near]]  # (its document, the passage)
    exact_wording: list[float]
    exact_content: list[float]


def judge_copies(articles: Sequence[tuple[str, str]], kinds: Sequence[str]) -> dict[str, Caught]:
    """Judge a copy of each article, kind by kind, against a catalog of the articles."""
    results = {}
    attack = attack_kinds(articles)
    for label in kinds:
        catalog = Catalog()
        for name, text in articles:
            catalog.judge(passages(text), name)
        caught = Caught([], [], [], [])
        for name, text in articles:
            copy = attack[label](text)
            caught.exact_wording.append(jaccard(shingles(text), shingles(copy)))
            caught.exact_content.append(jaccard(content(text), content(copy)))
            outcome = catalog.judge(passages(copy), f"copy of {name}", keep=False)
            caught.documents.append(outcome[0])
            caught.passages += [(outcome[0], near) for near in outcome[1:]]
        results[label] = caught
    return results


def _count(flags: Sequence[bool]) -> str:
    return f"{sum(flags)}/{len(flags)}"


def catches(articles: Sequence[tuple[str, str]], results: dict[str, Caught]) -> None:
    print(
        f"\ncatches ({len(articles)} demo articles as originals; wording >= {WORDING_THRESHOLD} "
        f"or content >= {CONTENT_THRESHOLD}):"
    )
    print(
        "| copy | exact J wording / content (median) | documents held out (by wording + by "
        "content only) | passages held out (by wording + by content only) | passages held out "
        "with their document |"
    )
    print("|---|---|---|---|---|")
    for label, caught in results.items():
        documents = caught.documents
        parts = [near for _, near in caught.passages]
        print(
            f"| {label} | {statistics.median(caught.exact_wording):.2f} / "
            f"{statistics.median(caught.exact_content):.2f} | "
            f"**{_count([n.held for n in documents])}** "
            f"({sum(n.by_wording() for n in documents)} + "
            f"{sum(n.by_content_only() for n in documents)}) | "
            f"**{_count([n.held for n in parts])}** "
            f"({sum(n.by_wording() for n in parts)} + "
            f"{sum(n.by_content_only() for n in parts)}) | "
            f"{_count([d.held or p.held for d, p in caught.passages])} |"
        )


@dataclass
class Honest:
    """How honest texts were judged: documents and passages, with what they were held against."""

    label: str
    documents: list[tuple[Near, str]]
    passages: list[tuple[Near, str]]


def honest_corpora(quick: bool) -> list[Honest]:
    """Judge honest texts the way ingestion would, each text its own provider."""
    articles = demo_articles()
    sources = [(p.name, p.read_text(errors="replace")) for p in corpus.text_sources()]
    sources = sources[: 150 if quick else None]
    found = []
    for label, catalog_texts, new_texts in (
        ("demo articles, against each other", [], articles),
        ("python3.11-doc sources, against each other", [], sources),
        ("demo articles, against the python3.11-doc sources", sources, articles),
        (
            "independent articles on the attack targets' topics, against the demo articles",
            articles,
            [(f"{name} ({topic})", text) for topic, name, text in honest_articles()],
        ),
    ):
        catalog, honest = Catalog(), Honest(label, [], [])
        for name, text in catalog_texts:
            catalog.judge(passages(text), name)
        keep = not catalog_texts  # against each other: each joins the catalog once judged
        for name, text in new_texts:
            outcome = catalog.judge(passages(text), name, keep=keep)
            honest.documents.append((outcome[0], name))
            honest.passages += [(near, name) for near in outcome[1:]]
        found.append(honest)
    return found


def false_positives(honest: Sequence[Honest]) -> None:
    print(f"\nfalse positives (each text its own provider; content >= {CONTENT_THRESHOLD}):")
    print(
        "| honest texts | documents | passages | documents held out (by wording + by content "
        "only) | passages held out (by wording + by content only) |"
    )
    print("|---|---|---|---|---|")
    for corpus_found in honest:
        documents = [n for n, _ in corpus_found.documents]
        parts = [n for n, _ in corpus_found.passages]
        print(
            f"| {corpus_found.label} | {len(documents)} | {len(parts)} | "
            f"{sum(n.held for n in documents)} ({sum(n.by_wording() for n in documents)} + "
            f"{sum(n.by_content_only() for n in documents)}) | "
            f"{sum(n.held for n in parts)} ({sum(n.by_wording() for n in parts)} + "
            f"{sum(n.by_content_only() for n in parts)}) |"
        )
    for corpus_found in honest:
        only = [
            (n.content, n.wording, name, n.against)
            for n, name in corpus_found.documents + corpus_found.passages
            if n.by_content_only()
        ]
        if only:
            print(f"  held out by content only, {corpus_found.label} (content, wording, texts):")
            for score, by_wording, name, against in sorted(only, reverse=True)[:15]:
                print(f"    {score:.2f} {by_wording:.2f} {name} ~ {against}")


SWEPT_KINDS = (
    "reworded (synonym table)",
    "reworded (attack bench: synonyms, clause order)",
    "reworded + padded to 2x",
    "every 12th word edited",
)


def sweep(articles: Sequence[tuple[str, str]], quick: bool) -> None:
    """Print catches and honest texts held out for several content thresholds."""
    from django.conf import settings

    print(f"\ncontent threshold, swept (wording stays at {WORDING_THRESHOLD}):")
    rows = []
    labels: list[str] = []
    for threshold in (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6):
        settings.CATALOG_DUPLICATE_CONTENT_THRESHOLD = threshold
        results = judge_copies(articles, SWEPT_KINDS)
        honest = honest_corpora(quick)
        labels = [f"{k}: documents, passages" for k in SWEPT_KINDS] + [
            f"{h.label}: documents, passages held out" for h in honest
        ]
        cells = [f"{threshold:.2f}"]
        for kind in SWEPT_KINDS:
            caught = results[kind]
            cells.append(
                f"{sum(n.held for n in caught.documents)}, "
                f"{sum(near.held for _, near in caught.passages)}"
            )
        for corpus_found in honest:
            cells.append(
                f"{sum(n.held for n, _ in corpus_found.documents)}, "
                f"{sum(n.held for n, _ in corpus_found.passages)}"
            )
        rows.append(cells)
    settings.CATALOG_DUPLICATE_CONTENT_THRESHOLD = CONTENT_THRESHOLD
    print("| threshold | " + " | ".join(labels) + " |")
    print("|" + "---|" * (1 + len(labels)))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")


def lsh_recall() -> None:
    """Print the chance that LSH proposes a pair, by its Jaccard similarity (from the layout)."""
    print(
        f"\nLSH over the content signature: chance that a pair is proposed, "
        f"1 - (1 - J^{minhash.ROWS_PER_BAND})^bands"
    )
    bands = (minhash.DOCUMENT_BANDS, minhash.PASSAGE_BANDS)
    print("| J | documents ({} bands) | passages ({} bands) |".format(*bands))
    print("|---|---|---|")
    for j in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        document = 1 - (1 - j**minhash.ROWS_PER_BAND) ** minhash.DOCUMENT_BANDS
        passage = 1 - (1 - j**minhash.ROWS_PER_BAND) ** minhash.PASSAGE_BANDS
        print(f"| {j:.1f} | {document:.3f} | {passage:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    corpus.require_corpus()
    corpus.setup_django()  # the judging code reads its thresholds from the settings
    global judging, texts
    from catalog.services.duplicates import judging, texts

    print(f"machine: {corpus.machine()}; signatures: {minhash.ALGORITHM}")
    throughput(args.quick)
    articles = demo_articles()
    catches(articles, judge_copies(articles, list(attack_kinds(articles))))
    false_positives(honest_corpora(args.quick))
    sweep(articles, args.quick)
    lsh_recall()


if __name__ == "__main__":
    main()
