"""Shared pieces of the catalog benchmarks: the corpus and a throwaway Django setup.

The corpus is Debian's python3.11-doc package: ~530 HTML pages and their ~500 reStructuredText
sources (plain text). Install it with `apt-get install -y python3.11-doc`.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("CATALOG_BENCH_CORPUS", "/usr/share/doc/python3.11/html"))


def require_corpus() -> None:
    if not CORPUS.is_dir() or not any(CORPUS.rglob("*.html")):
        sys.exit(
            f"The benchmark corpus is missing: {CORPUS} has no HTML pages.\n"
            "Install it with:  apt-get update && apt-get install -y python3.11-doc\n"
            "(or point CATALOG_BENCH_CORPUS at another folder of HTML pages)."
        )


def html_pages() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*.html") if "_static" not in p.parts)


def text_sources() -> list[Path]:
    return sorted((CORPUS / "_sources").rglob("*.txt"))


ARTICLE_BYTES = 20 * 1024


def text_articles(size: int = ARTICLE_BYTES) -> list[tuple[str, bytes]]:
    """Return the plain-text sources cut or joined into distinct articles of about `size` bytes.

    The sources are read in order and their paragraphs packed into articles, each cut at a
    paragraph end once it holds `size` bytes; a paragraph longer than that is an article of its
    own. About 530 articles of 20 KiB from python3.11-doc, every one a text of its own.
    """
    articles: list[tuple[str, bytes]] = []
    current: list[bytes] = []
    length = 0
    for path in text_sources():
        for paragraph in re.split(rb"\n[ \t]*\n", path.read_bytes()):
            if not paragraph.strip():
                continue
            current.append(paragraph.strip(b"\n"))
            length += len(paragraph) + 2
            if length >= size:
                articles.append((f"article{len(articles):04d}.txt", b"\n\n".join(current)))
                current, length = [], 0
    if current:
        articles.append((f"article{len(articles):04d}.txt", b"\n\n".join(current)))
    return articles


def setup_django(*, database_url: str | None = None) -> Path:
    """Configure Django on a fresh temporary data dir (SQLite unless database_url), migrated."""
    data_dir = Path(tempfile.mkdtemp(prefix="provenant-bench-"))
    os.environ["PROVENANT_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["LOG_LEVEL"] = "WARNING"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return data_dir


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which `fraction` of the values fall (nearest rank)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ms(samples_s: list[float]) -> str:
    ms = [s * 1000 for s in samples_s]
    return (
        f"p50 {percentile(ms, 0.50):.2f} ms  p90 {percentile(ms, 0.90):.2f} ms  "
        f"p99 {percentile(ms, 0.99):.2f} ms  mean {statistics.fmean(ms):.2f} ms  (n={len(ms)})"
    )


def machine() -> str:
    cores = os.cpu_count()
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        memory = "? GiB"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cores} cores, {memory}, Python {platform.python_version()}, {platform.machine()}; "
        f"load average {load}"
    )
