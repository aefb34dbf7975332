"""The embedded search index (Tantivy): processes sharing one directory, exact filters,
hostile queries, word statistics and the tokenizer it shares with the rest of retrieval."""

import multiprocessing
import random
import string
import threading

import pytest

from catalog.retrieval import embedded
from catalog.retrieval.embedded import EmbeddedIndex, IndexRow
from catalog.retrieval.tokens import tokenize

SAMPLES = [
    "Python decorators wrap a function; generators yield values lazily.",
    "snake_case and __dunder__ names, CamelCase, x86_64, and _private_ ones",
    "Version 3.11.7 shipped 2023-12-04 with 1,234 fixes (about 99.5%).",
    "Café, naïve résumé, Straße, São Paulo, Ærø, Łódź, smörgåsbord.",
    "Москва — столица России. Київ, Беларусь.",
    "東京タワー 北京大学 서울특별시 ひらがな カタカナ",
    "Arabic: مرحبا بالعالم; Hebrew: שלום עולם; Hindi: नमस्ते",
    "Greek μικρά γράμματα και ΚΕΦΑΛΑΙΑ στη μέση",
    "Digits ١٢٣ ٤٥٦ and ०१२ and full-width １２３ ＡＢＣ",
    "punctuation!!! ... ??? --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}}",
    "emoji 😀 smile🙂ok ✓ check ☃ snow",
    "tabs\tand\nnewlines\r\nand\u00a0no-break\u2003spaces",
    "the and of a an in on at to is it",  # stop words only
    "a b c d e f g 1 2 3 _ x",  # single characters only
    "",
]
# Texts where Rust and Python split or lower-case differently: the index keeps Python's tokens.
DISAGREEING = [
    "ΟΔΟΣ ΣΟΦΙΑΣ",  # a final sigma: Python lower-cases it to ς, Tantivy per token to σ
    "İstanbul",  # İ lower-cases to i and a combining dot, which Python's \w does not take
    "x² and ½ cup",  # superscripts and fractions are numbers to Python, not to the regex
    "cafe\u0301 and re\u0301sume\u0301",  # combining accents
]


def _index(tmp_path, **kwargs) -> EmbeddedIndex:
    return EmbeddedIndex(tmp_path / "index", reload_interval_s=0, **kwargs)


def test_the_analyzer_splits_text_as_the_python_tokenizer_does():
    rng = random.Random(3)
    ascii_texts = [
        "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 80)))
        for _ in range(2000)
    ]
    for text in SAMPLES + ascii_texts:
        assert embedded.ANALYZER.analyze(text) == tokenize(text), text


def test_the_index_holds_the_python_tokens_of_every_text(tmp_path):
    index = _index(tmp_path)
    texts = SAMPLES + DISAGREEING
    index.add([IndexRow(i, f"c{i}", text) for i, text in enumerate(texts)])
    searcher = index._searcher()
    for i, text in enumerate(texts):
        only = embedded.Query.term_query(embedded.SCHEMA, "collection", f"c{i}")
        terms = searcher.terms_with_prefix("text", "", filter_query=only)
        assert {term for term, _ in terms} == set(tokenize(text)), text
    assert [c for _, c in index.search("οδος σοφιας", ["c15"], 5)] == [15]
    assert [c for _, c in index.search("İstanbul", ["c16"], 5)] == [16]


def test_another_process_sees_new_commits_and_deletes_without_restart(tmp_path):
    writer = _index(tmp_path)
    reader = _index(tmp_path)  # as another web process would
    assert reader.search("otters", ["c"], 5) == []
    assert writer.add([IndexRow(1, "c", "sea otters hold hands")]) == 1
    assert [chunk for _, chunk in reader.search("otters", ["c"], 5)] == [1]
    writer.add([IndexRow(2, "c", "river otters")])
    assert sorted(chunk for _, chunk in reader.search("otters", ["c"], 5)) == [1, 2]
    writer.remove([1])
    assert [chunk for _, chunk in reader.search("otters", ["c"], 5)] == [2]
    assert reader.indexed_chunk_ids() == {2}


def test_a_reader_looks_for_new_commits_at_most_every_interval(tmp_path):
    writer = _index(tmp_path)
    writer.add([IndexRow(1, "c", "sea otters")])
    reader = EmbeddedIndex(tmp_path / "index", reload_interval_s=3600)
    assert [chunk for _, chunk in reader.search("otters", ["c"], 5)] == [1]
    writer.add([IndexRow(2, "c", "river otters")])
    assert [chunk for _, chunk in reader.search("otters", ["c"], 5)] == [1]  # not checked yet
    reader.refresh()
    assert sorted(chunk for _, chunk in reader.search("otters", ["c"], 5)) == [1, 2]


def test_adding_a_chunk_again_replaces_it(tmp_path):
    index = _index(tmp_path)
    index.add([IndexRow(1, "c", "sea otters"), IndexRow(2, "c", "river otters")])
    index.add([IndexRow(1, "c", "sea lions")])
    assert index.indexed_chunk_ids() == {1, 2}
    assert [chunk for _, chunk in index.search("otters", ["c"], 5)] == [2]
    assert [chunk for _, chunk in index.search("lions", ["c"], 5)] == [1]


def test_rebuild_replaces_the_whole_index(tmp_path):
    index = _index(tmp_path)
    index.add([IndexRow(i, "c", f"otter number {i}") for i in range(1, 6)])
    assert index.rebuild(iter([IndexRow(7, "c", "otter seven"), IndexRow(8, "d", "eight")])) == 2
    assert index.indexed_chunk_ids() == {7, 8}
    assert [chunk for _, chunk in index.search("otter", ["c", "d"], 10)] == [7]
    assert index.rebuild([]) == 0
    assert index.indexed_chunk_ids() == set()


def _write_rows(directory, first: int, batches: int) -> None:
    index = EmbeddedIndex(directory, reload_interval_s=0)
    for batch in range(batches):
        start = first + batch * 5
        index.add([IndexRow(i, "c", f"otter {i} swims") for i in range(start, start + 5)])


def test_writers_in_two_processes_lose_no_writes(tmp_path):
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_write_rows, args=(tmp_path / "index", first, 8))
        for first in (0, 1000)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    expected = {first + i for first in (0, 1000) for i in range(40)}
    assert _index(tmp_path).indexed_chunk_ids() == expected


def test_a_writer_waits_while_another_holds_tantivys_lock(tmp_path, caplog):
    index = _index(tmp_path)
    index.add([IndexRow(1, "c", "sea otters")])
    outsider = embedded.tantivy.Index.open(str(tmp_path / "index"))
    held = outsider.writer(heap_size=embedded.WRITER_HEAP_BYTES, num_threads=1)
    release = threading.Timer(0.3, held.wait_merging_threads)  # lets the writer and lock go
    release.start()
    index.add([IndexRow(2, "c", "river otters")])
    release.join()
    assert "search index writer busy, retrying" in caplog.text
    assert index.indexed_chunk_ids() == {1, 2}


def test_collection_filter_is_exact_even_when_few_rows_match(tmp_path):
    index = _index(tmp_path)
    rows = [IndexRow(i, "big", "common words here") for i in range(1, 50)]
    rows += [IndexRow(50, "small", "common rare"), IndexRow(51, "other", "common rare")]
    index.add(rows)
    assert [chunk for _, chunk in index.search("common rare", ["small"], 10)] == [50]
    assert [chunk for _, chunk in index.search("common", ["small", "other"], 10)] == [50, 51]
    hits = index.search("common", ["big", "absent"], 100)
    assert sorted(chunk for _, chunk in hits) == list(range(1, 50))
    assert index.search("common", ["absent"], 10) == []
    assert index.search("common", [], 10) == []


@pytest.fixture(params=["in the query", "after ranking", "after ranking, then in the query"])
def collection_filter(request, monkeypatch):
    """Filter collections each way the index can (small sets in the query, large ones after)."""
    if request.param != "in the query":
        monkeypatch.setattr(embedded, "FILTER_IN_QUERY_MAX", 0)
    if request.param.endswith("then in the query"):
        monkeypatch.setattr(embedded, "POST_FILTER_FIRST", 2)
        monkeypatch.setattr(embedded, "POST_FILTER_MAX", 8)
    return request.param


def test_every_filter_returns_the_best_hits_of_the_wanted_collections(tmp_path, collection_filter):
    rng = random.Random(5)
    rows = [
        IndexRow(i, rng.choice(["a", "b", "c", "d"]), " ".join(rng.choices(["otter", "sea"], k=3)))
        for i in range(1, 200)
    ]
    rows.append(IndexRow(500, "rare", "otter sea"))
    index = _index(tmp_path)
    index.add(rows)
    everything = index.search("otter", ["a", "b", "c", "d", "rare"], 100)
    for wanted in (["rare"], ["a", "rare"], ["b", "c", "d"], ["absent"]):
        collection_of = {row.chunk_id: row.collection_id for row in rows}
        expected = [hit for hit in everything if collection_of[hit[1]] in wanted][:5]
        assert index.search("otter", wanted, 5) == expected


def test_ties_are_ordered_by_chunk_id(tmp_path):
    index = _index(tmp_path)
    index.add([IndexRow(i, "c", "the same otter text") for i in (9, 3, 7, 1, 5)])
    assert [chunk for _, chunk in index.search("otter", ["c"], 3)] == [1, 3, 5]


def test_the_collection_adds_nothing_to_the_score(tmp_path):
    index = _index(tmp_path)
    index.add([IndexRow(1, "rare", "otters play"), IndexRow(2, "c", "otters play")])
    index.add([IndexRow(i, "c", f"filler {i}") for i in range(3, 30)])
    (score_rare, _), (score_common, _) = index.search("otters", ["rare", "c"], 2)
    assert score_rare == pytest.approx(score_common)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "!!! ??? ... --- ()[]{}:\"'",
        "otter\x00 sea\x00\x00",
        "\x00",
        " ".join(f"word{i}" for i in range(10_000)) + " otter",
        "otter " * 10_000,
        'title:otter AND (sea OR "river" NOT x~2) [a TO b] ^3 *',
        "x" * 100_000,
    ],
)
def test_hostile_queries_return_results_or_nothing(tmp_path, query):
    index = _index(tmp_path)
    rows = [IndexRow(1, "c", "sea otter"), IndexRow(2, "c", "river")]
    index.add(rows)
    hits = index.search(query, ["c"], 10)
    words = set(tokenize(query))
    expected = [row.chunk_id for row in rows if words & set(tokenize(row.text))]
    assert sorted(chunk for _, chunk in hits) == expected


def test_word_statistics_match_a_brute_force_count(tmp_path, collection_filter):
    rng = random.Random(11)
    vocabulary = ["otter", "river", "salmon", "trout", "lake", "Stream", "pool", "the"]
    rows = [
        IndexRow(i, rng.choice(["a", "b", "c"]), " ".join(rng.choices(vocabulary, k=4)))
        for i in range(1, 301)
    ]
    index = _index(tmp_path)
    index.add(rows[:150])
    index.add(rows[150:])
    index.remove(range(1, 301, 7))
    live = [row for row in rows if (row.chunk_id - 1) % 7]
    words = ["otter", "stream", "the", "absent", ""]
    for wanted in (["a"], ["a", "b"], ["a", "b", "c"], ["absent"], []):
        kept = [row for row in live if row.collection_id in wanted]
        expected = {w: sum(w in tokenize(row.text) for row in kept) for w in words}
        assert index.word_statistics(words, wanted) == (len(kept), expected)


def test_word_statistics_see_each_new_commit(tmp_path, collection_filter):
    index = _index(tmp_path)
    index.add([IndexRow(1, "a", "salmon river"), IndexRow(2, "b", "trout")])
    assert index.word_statistics(["salmon", "trout"], ["a", "b"]) == (2, {"salmon": 1, "trout": 1})
    index.add([IndexRow(3, "a", "salmon lake")])
    assert index.word_statistics(["salmon", "trout"], ["a", "b"]) == (3, {"salmon": 2, "trout": 1})
    index.remove([1, 2])
    assert index.word_statistics(["salmon", "trout"], ["a", "b"]) == (1, {"salmon": 1, "trout": 0})


def test_index_at_returns_one_index_per_directory(tmp_path):
    first = embedded.index_at(tmp_path / "one", reload_interval_s=5)
    assert embedded.index_at(tmp_path / "one") is first
    assert first.reload_interval_s == 5
    assert embedded.index_at(tmp_path / "two") is not first
