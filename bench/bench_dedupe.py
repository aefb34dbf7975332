"""Benchmark duplicate detection: signing throughput, what is caught, and false positives.

Run: .venv/bin/python bench/bench_dedupe.py [--quick]

Both measures are judged the way ingestion judges them (catalog.services.duplicates): LSH band
keys of the content signature propose candidates, and a candidate of another provider counts
if its wording similarity (5-word shingles) reaches CATALOG_DUPLICATE_THRESHOLD or its content
similarity (content words and pairs of consecutive content words) reaches
CATALOG_DUPLICATE_CONTENT_THRESHOLD; a document and each passage are judged on their own.

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
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import _attacks as attacks
import _catalog_corpus as corpus
import _rewording as rewording

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog.ingestion import minhash, wording  # noqa: E402
from catalog.ingestion.chunking import split_into_chunks  # noqa: E402

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
    """The best another provider's candidate scored: its wording and content similarity."""

    wording: float = 0.0
    content: float = 0.0

    def by_wording(self) -> bool:
        return self.wording >= WORDING_THRESHOLD

    def by_content(self, threshold: float = CONTENT_THRESHOLD) -> bool:
        return self.content >= threshold

    def held(self, threshold: float = CONTENT_THRESHOLD) -> bool:
        return self.by_wording() or self.by_content(threshold)


class Catalog:
    """The band table and the stored signatures, in memory: texts of many providers."""

    def __init__(self) -> None:
        self.keys: dict[int, list[tuple[int, int]]] = defaultdict(list)  # key -> (text, part)
        self.texts: list[minhash.TextSignatures] = []
        self.providers: list[str] = []

    def add(self, signed: minhash.TextSignatures, provider: str) -> int:
        number = len(self.texts)
        self.texts.append(signed)
        self.providers.append(provider)
        for part, key in zip(*minhash.band_keys(signed.digests, signed.signed), strict=True):
            self.keys[key].append((number, part))
        return number

    def near(self, signed: minhash.TextSignatures, provider: str) -> list[tuple[Near, int]]:
        """Return, for each part of a new text, the nearest candidate of another provider that
        LSH proposes (by wording, then content) and its text (-1: none)."""
        found: list[dict[tuple[int, int], None]] = [{} for _ in signed.signed]
        for part, key in zip(*minhash.band_keys(signed.digests, signed.signed), strict=True):
            for text, other in self.keys.get(key, ()):
                if self.providers[text] != provider and (part == 0) == (other == 0):
                    found[part][(text, other)] = None
        result = []
        for part, candidates in enumerate(found):
            best, best_text = Near(), -1
            for text, other in candidates:
                scores = minhash.similarities(signed.digests[part], self.texts[text].digests[other])
                near = Near(float(scores[0]), float(scores[1]))
                if (near.wording, near.content) > (best.wording, best.content):
                    best, best_text = near, text
            result.append((best, best_text))
        return result


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
    """What one kind of copy gives: per copy document and passage, its best candidate."""

    documents: list[Near]
    passages: list[Near]
    passages_with_document: list[tuple[Near, Near]]
    exact_wording: list[float]
    exact_content: list[float]


def judge_copies(articles: Sequence[tuple[str, str]]) -> dict[str, Caught]:
    catalog = Catalog()
    for name, text in articles:
        catalog.add(minhash.sign_passages(passages(text)), name)
    results = {}
    for label, attack in attack_kinds(articles).items():
        caught = Caught([], [], [], [], [])
        for _name, text in articles:
            copy = attack(text)
            caught.exact_wording.append(jaccard(shingles(text), shingles(copy)))
            caught.exact_content.append(jaccard(content(text), content(copy)))
            signed = minhash.sign_passages(passages(copy))
            near = catalog.near(signed, "copier")
            caught.documents.append(near[0][0])
            for part in range(1, len(near)):
                caught.passages.append(near[part][0])
                caught.passages_with_document.append((near[0][0], near[part][0]))
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
        "| copy | exact J wording / content (median) | documents held out: by wording, by "
        "content, either | passages held out: by wording, by content, either | passages held "
        "out with their document |"
    )
    print("|---|---|---|---|---|")
    for label, caught in results.items():
        documents = caught.documents
        parts = caught.passages
        print(
            f"| {label} | {statistics.median(caught.exact_wording):.2f} / "
            f"{statistics.median(caught.exact_content):.2f} | "
            f"{_count([n.by_wording() for n in documents])}, "
            f"{_count([n.by_content() for n in documents])}, "
            f"**{_count([n.held() for n in documents])}** | "
            f"{_count([n.by_wording() for n in parts])}, "
            f"{_count([n.by_content() for n in parts])}, "
            f"**{_count([n.held() for n in parts])}** | "
            f"{_count([d.held() or p.held() for d, p in caught.passages_with_document])} |"
        )


@dataclass
class Honest:
    """Best candidates of honest texts: documents and passages, per corpus."""

    label: str
    documents: list[tuple[Near, str]]
    passages: list[tuple[Near, str]]

    def held(self, threshold: float) -> tuple[int, int]:
        return (
            sum(n.held(threshold) for n, _ in self.documents),
            sum(n.held(threshold) for n, _ in self.passages),
        )


def honest_corpora(quick: bool) -> list[Honest]:
    """Judge honest texts the way ingestion would, each text its own provider."""
    articles = demo_articles()
    sources = [(p.name, p.read_text(errors="replace")) for p in corpus.text_sources()]
    sources = sources[: 150 if quick else None]
    found = []

    def judge_in_order(label: str, texts: Sequence[tuple[str, str]]) -> Honest:
        catalog, honest = Catalog(), Honest(label, [], [])
        names: list[str] = []
        for name, text in texts:
            signed = minhash.sign_passages(passages(text))
            near = catalog.near(signed, name)
            honest.documents.append((near[0][0], f"{name} ~ {_name(names, near[0][1])}"))
            honest.passages += [(n, f"{name} ~ {_name(names, t)}") for n, t in near[1:]]
            catalog.add(signed, name)
            names.append(name)
        return honest

    found.append(judge_in_order("demo articles, against each other", articles))
    found.append(judge_in_order("python3.11-doc sources, against each other", sources))
    # Each demo article as a new upload to a catalog of the python3.11-doc sources, and each
    # independently written article as a new upload to a catalog of the demo articles.
    for label, catalog_texts, new_texts in (
        ("demo articles, against the python3.11-doc sources", sources, articles),
        (
            "independent articles on the attack targets' topics, against the demo articles",
            articles,
            [(f"{name} ({topic})", text) for topic, name, text in honest_articles()],
        ),
    ):
        catalog, honest = Catalog(), Honest(label, [], [])
        names = []
        for name, text in catalog_texts:
            catalog.add(minhash.sign_passages(passages(text)), name)
            names.append(name)
        for name, text in new_texts:
            near = catalog.near(minhash.sign_passages(passages(text)), name)
            honest.documents.append((near[0][0], f"{name} ~ {_name(names, near[0][1])}"))
            honest.passages += [(n, f"{name} ~ {_name(names, t)}") for n, t in near[1:]]
        found.append(honest)
    return found


def _name(names: Sequence[str], text: int) -> str:
    return names[text] if text >= 0 else "-"


def false_positives(honest: Sequence[Honest]) -> None:
    print(f"\nfalse positives (each text its own provider; content >= {CONTENT_THRESHOLD}):")
    print(
        "| honest texts | documents | passages | documents held out: by wording, by content only "
        "| passages held out: by wording, by content only | highest content similarity "
        "(documents / passages, of the pairs LSH proposed) |"
    )
    print("|---|---|---|---|---|---|")
    for corpus_found in honest:
        documents = [n for n, _ in corpus_found.documents]
        parts = [n for n, _ in corpus_found.passages]
        print(
            f"| {corpus_found.label} | {len(documents)} | {len(parts)} | "
            f"{sum(n.by_wording() for n in documents)}, "
            f"{sum(n.by_content() and not n.by_wording() for n in documents)} | "
            f"{sum(n.by_wording() for n in parts)}, "
            f"{sum(n.by_content() and not n.by_wording() for n in parts)} | "
            f"{max((n.content for n in documents), default=0):.2f} / "
            f"{max((n.content for n in parts), default=0):.2f} |"
        )
    for corpus_found in honest:
        only = [
            (n.content, n.wording, pair)
            for n, pair in corpus_found.documents + corpus_found.passages
            if n.by_content() and not n.by_wording()
        ]
        if only:
            print(f"  held out by content only, {corpus_found.label} (content, wording, texts):")
            for score, by_wording, pair in sorted(only, reverse=True)[:12]:
                print(f"    {score:.2f} {by_wording:.2f} {pair}")


def sweep(results: dict[str, Caught], honest: Sequence[Honest]) -> None:
    """Print catches and honest texts held out for several content thresholds."""
    kinds = [
        "reworded (synonym table)",
        "reworded (attack bench: synonyms, clause order)",
        "reworded + padded to 2x",
        "every 12th word edited",
    ]
    print("\ncontent threshold, swept (wording stays at", WORDING_THRESHOLD, "):")
    header = " | ".join(
        ["threshold"]
        + [f"{k}: documents, passages" for k in kinds]
        + [f"{h.label}: documents, passages held out" for h in honest]
    )
    print(f"| {header} |")
    print("|" + "---|" * (1 + len(kinds) + len(honest)))
    for threshold in (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6):
        cells = [f"{threshold:.2f}"]
        for kind in kinds:
            caught = results[kind]
            cells.append(
                f"{sum(n.held(threshold) for n in caught.documents)}, "
                f"{sum(n.held(threshold) for n in caught.passages)}"
            )
        for corpus_found in honest:
            documents, parts = corpus_found.held(threshold)
            cells.append(f"{documents}, {parts}")
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
    print(f"machine: {corpus.machine()}; signatures: {minhash.ALGORITHM}")
    throughput(args.quick)
    articles = demo_articles()
    results = judge_copies(articles)
    catches(articles, results)
    honest = honest_corpora(args.quick)
    false_positives(honest)
    sweep(results, honest)
    lsh_recall()


if __name__ == "__main__":
    main()
