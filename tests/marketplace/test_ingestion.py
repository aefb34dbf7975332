"""The ingestion pipeline: URL, sitemap and feed jobs against a real local server, management
commands, chunking and extraction."""

import io
import json
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts import services as accounts_services
from catalog import services as catalog_services
from catalog.ingestion import chunking
from catalog.ingestion.chunking import WORD, count_tokens, split_into_chunks
from catalog.ingestion.extract import (
    ExtractionFailed,
    Limits,
    extract,
    normalize_text,
    parse_records,
)
from catalog.models import Chunk, Document, IngestionItem, IngestionJob
from tests.marketplace.factories import CollectionFactory

FIXTURES = Path(__file__).parent / "fixtures"

PAGES = {
    "/pages/glaciers.html": (
        "text/html",
        b"<html><head><title>Glaciers</title></head><body><article><h1>Glaciers</h1>"
        b"<p>The Aletsch glacier is the largest glacier in the Alps, twenty kilometres long.</p>"
        b"<p>It has retreated by more than three kilometres since 1870.</p>"
        b"</article></body></html>",
    ),
    "/pages/deserts.txt": (
        "text/plain",
        b"Deserts\n\nThe Atacama is the driest non-polar desert on Earth.",
    ),
}


def _sitemap_index(*locs: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{entries}</sitemapindex>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    requested: list[str] = []

    def log_message(self, *args):
        pass

    def _send(self, content_type: str, body: bytes, status: int = 200):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        type(self).requested.append(self.path)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path in PAGES:
            self._send(*PAGES[self.path])
        elif self.path in ("/sitemap.xml", "/sitemap-copy.xml"):
            body = (FIXTURES / "sitemap.xml").read_text().replace("{base}", base)
            self._send("application/xml", body.encode())
        elif self.path == "/self-index.xml":
            # An index that lists itself (and a sitemap), twice over.
            locs = [f"{base}/self-index.xml", f"{base}/sitemap.xml"] * 2
            self._send("application/xml", _sitemap_index(*locs))
        elif self.path == "/two-copies-index.xml":
            locs = (f"{base}/sitemap.xml", f"{base}/sitemap-copy.xml")
            self._send("application/xml", _sitemap_index(*locs))
        elif self.path.startswith("/deep/"):
            # Each level lists the next one, without end.
            level = int(self.path.removeprefix("/deep/").removesuffix(".xml"))
            self._send("application/xml", _sitemap_index(f"{base}/deep/{level + 1}.xml"))
        elif self.path == "/broken-sitemap.xml":
            self._send("application/xml", (FIXTURES / "broken-sitemap.xml").read_bytes())
        elif self.path == "/feed.xml":
            self._send("application/rss+xml", (FIXTURES / "feed.xml").read_bytes())
        elif self.path == "/atom.xml":
            self._send("application/atom+xml", (FIXTURES / "atom.xml").read_bytes())
        else:
            self._send("text/html", b"not found", status=404)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _local_fetching(settings, tmp_path):
    settings.INGESTION_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1/32"]
    settings.INGESTION_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "uploads")},
    }
    _Handler.requested = []
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0


@pytest.fixture
def collection(db):
    return CollectionFactory()


def _run_url_job(collection, url, kind, capture):
    with capture(execute=True):
        job = catalog_services.create_url_job(collection_id=collection.id, url=url, kind=kind)
    return catalog_services.get_ingestion_job(
        actor=accounts_services.actor_for_api_key(
            api_key_id=job.id, organization_id=collection.organization_id, scopes=["catalog"]
        ),
        job_id=job.id,
    )


def test_a_web_page_is_fetched_extracted_and_chunked(
    server, collection, django_capture_on_commit_callbacks
):
    url = server + "/pages/glaciers.html"
    job = _run_url_job(collection, url, "url", django_capture_on_commit_callbacks)
    assert (job.status, job.progress.created, job.progress.failed) == ("succeeded", 1, 0)
    document = Document.objects.get()
    assert (document.external_id, document.source_url, document.title) == (url, url, "Glaciers")
    assert document.content_type == "text/html"
    assert "Aletsch glacier" in document.text
    assert document.status == "ready"
    hits = catalog_services.search_chunks(query="Aletsch", collection_ids=[collection.id])
    assert [h.document_url for h in hits] == [url]


def test_a_sitemap_ingests_each_page_and_records_the_missing_one(
    server, collection, django_capture_on_commit_callbacks
):
    job = _run_url_job(
        collection, server + "/sitemap.xml", "sitemap", django_capture_on_commit_callbacks
    )
    assert job.status == "partial"
    # The sitemap itself (expanded) and its three pages.
    assert (job.progress.total, job.progress.expanded) == (4, 1)
    assert (job.progress.created, job.progress.failed) == (2, 1)
    assert [(e.name, e.code) for e in job.errors] == [
        (server + "/pages/missing.html", "http_error")
    ]
    assert sorted(Document.objects.values_list("title", flat=True)) == ["Deserts", "Glaciers"]


def test_a_broken_sitemap_fails_the_job_with_a_clear_error(
    server, collection, django_capture_on_commit_callbacks
):
    job = _run_url_job(
        collection, server + "/broken-sitemap.xml", "sitemap", django_capture_on_commit_callbacks
    )
    assert job.status == "failed"
    assert [e.code for e in job.errors] == ["corrupt_sitemap"]
    assert Document.objects.count() == 0


def test_a_sitemap_index_that_lists_itself_is_fetched_once(
    server, collection, django_capture_on_commit_callbacks
):
    job = _run_url_job(
        collection, server + "/self-index.xml", "sitemap", django_capture_on_commit_callbacks
    )
    assert _Handler.requested.count("/self-index.xml") == 1
    assert _Handler.requested.count("/sitemap.xml") == 1
    # The index and the sitemap (both expanded) and the sitemap's three pages.
    assert (job.status, job.progress.total, job.progress.expanded) == ("partial", 5, 2)
    assert (job.progress.created, job.progress.failed) == (2, 1)


def test_a_page_listed_by_two_sitemaps_is_ingested_once(
    server, collection, django_capture_on_commit_callbacks
):
    job = _run_url_job(
        collection, server + "/two-copies-index.xml", "sitemap", django_capture_on_commit_callbacks
    )
    assert _Handler.requested.count("/pages/glaciers.html") == 1
    assert (job.progress.total, job.progress.expanded) == (6, 3)
    assert (job.progress.created, job.progress.failed) == (2, 1)
    assert IngestionItem.objects.filter(kind="page").count() == 3


def test_sitemaps_nested_past_the_depth_limit_are_failed_not_fetched(
    server, collection, settings, django_capture_on_commit_callbacks
):
    settings.INGESTION_SITEMAP_MAX_DEPTH = 2
    settings.INGESTION_MAX_ITEMS_PER_JOB = 20
    job = _run_url_job(
        collection, server + "/deep/0.xml", "sitemap", django_capture_on_commit_callbacks
    )
    assert _Handler.requested == ["/deep/0.xml", "/deep/1.xml", "/deep/2.xml"]
    assert (job.status, job.progress.total, job.progress.expanded) == ("failed", 4, 3)
    assert [(e.name, e.code, e.message) for e in job.errors] == [
        (
            server + "/deep/3.xml",
            "sitemap_too_deep",
            f"{server}/deep/3.xml is nested 3 sitemaps deep; the limit is 2.",
        )
    ]
    actor = accounts_services.actor_for_api_key(
        api_key_id=job.id, organization_id=collection.organization_id, scopes=["catalog"]
    )
    with django_capture_on_commit_callbacks(execute=True) as ran:
        catalog_services.retry_ingestion_job(actor=actor, job_id=job.id)
    retried = catalog_services.get_ingestion_job(actor=actor, job_id=job.id)
    assert (len(ran), retried.status, retried.finished_at > job.finished_at) == (1, "failed", True)
    assert [e.code for e in retried.errors] == ["sitemap_too_deep"]
    assert _Handler.requested == ["/deep/0.xml", "/deep/1.xml", "/deep/2.xml"]


def test_a_sitemap_job_counts_the_pages_it_discovers_while_running(
    server, collection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = catalog_services.create_url_job(
            collection_id=collection.id, url=server + "/sitemap.xml", kind="sitemap"
        )
    assert (job.status, job.progress.total, job.progress.pending) == ("queued", 1, 1)
    seen = []
    catalog_services.run_ingestion_job(job_id=job.id, on_progress=seen.append, batch_size=1)
    assert [(p.total, p.done) for p in seen] == [(4, 1), (4, 2), (4, 3), (4, 4)]


def test_an_rss_feed_ingests_each_entry(server, collection, django_capture_on_commit_callbacks):
    job = _run_url_job(collection, server + "/feed.xml", "feed", django_capture_on_commit_callbacks)
    assert (job.status, job.progress.created) == ("succeeded", 2)
    owls = Document.objects.get(external_id="owls-1")
    assert (owls.title, owls.source_url, owls.text) == (
        "Owls at night",
        "https://example.org/owls",
        "Barn owls hunt by sound alone in total darkness.",
    )
    assert owls.published_at.isoformat() == "2024-05-06T10:00:00+00:00"


def test_an_atom_feed_keeps_the_author(server, collection, django_capture_on_commit_callbacks):
    job = _run_url_job(collection, server + "/atom.xml", "feed", django_capture_on_commit_callbacks)
    assert job.status == "succeeded"
    document = Document.objects.get()
    assert (document.title, document.author, document.external_id) == (
        "Betelgeuse",
        "Carl",
        "urn:betelgeuse",
    )


def test_rerunning_a_finished_job_changes_nothing(
    server, collection, django_capture_on_commit_callbacks
):
    job = _run_url_job(collection, server + "/feed.xml", "feed", django_capture_on_commit_callbacks)
    before = list(Chunk.objects.order_by("id").values_list("id", "text"))
    again = catalog_services.run_ingestion_job(job_id=job.id)
    assert again.progress == job.progress
    assert list(Chunk.objects.order_by("id").values_list("id", "text")) == before


def test_a_transient_failure_stays_pending_until_the_final_attempt(collection, settings):
    # A port nobody listens on: connection refused, which is worth retrying.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    job = catalog_services.create_url_job(
        collection_id=collection.id, url=f"http://127.0.0.1:{port}/", kind="url", enqueue=False
    )
    first = catalog_services.run_ingestion_job(job_id=job.id, final_attempt=False)
    assert (first.status, first.progress.pending) == ("running", 1)
    last = catalog_services.run_ingestion_job(job_id=job.id, final_attempt=True)
    assert (last.status, last.progress.pending) == ("failed", 0)
    assert [e.code for e in last.errors] == ["connection_failed"]


def test_ingest_url_refuses_private_addresses_without_the_allow_list(collection, settings):
    settings.INGESTION_ALLOWED_PRIVATE_NETWORKS = []
    with pytest.raises(CommandError, match="blocked_address"):
        call_command("ingest_url", str(collection.id), "http://127.0.0.1:9/")
    assert IngestionJob.objects.count() == 0


def test_ingest_files_command_ingests_a_directory_and_reports_errors(collection):
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest_files", str(collection.id), str(FIXTURES), stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Job ")
    assert "partial; 8 created, 0 updated, 0 unchanged, 4 failed, 2 expanded of 14." in lines[0]
    assert "  corrupt.pdf: corrupt_pdf: corrupt.pdf is not a readable PDF." in lines
    assert "doc" in err.getvalue()  # the progress bar
    assert Document.objects.filter(collection=collection).count() == 8


def test_ingest_sitemap_and_feed_commands(server, collection):
    out = io.StringIO()
    call_command(
        "ingest_sitemap",
        str(collection.id),
        server + "/sitemap.xml",
        stdout=out,
        stderr=io.StringIO(),
    )
    call_command(
        "ingest_feed", str(collection.id), server + "/feed.xml", stdout=out, stderr=io.StringIO()
    )
    assert Document.objects.filter(collection=collection).count() == 4


def test_reindex_command_rebuilds_the_embedded_index(collection, settings):
    settings.RETRIEVAL_BACKEND = "bm25"  # the embedded index's older name, still accepted
    call_command(
        "ingest_files",
        str(collection.id),
        str(FIXTURES / "tides.txt"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    out = io.StringIO()
    call_command("reindex_search", stdout=out)
    assert out.getvalue().startswith("Indexed 1 chunks for the embedded backend")
    assert (
        len(catalog_services.search_chunks(query="tide tables", collection_ids=[collection.id]))
        == 1
    )


def test_migrate_builds_a_missing_embedded_index_and_leaves_an_existing_one(
    collection, settings, tmp_path
):
    settings.RETRIEVAL_BACKEND = "embedded"
    call_command(
        "ingest_files",
        str(collection.id),
        str(FIXTURES / "tides.txt"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "upgraded"  # a data directory without the index

    def found():
        return catalog_services.search_chunks(query="tide tables", collection_ids=[collection.id])

    assert found() == []
    call_command("migrate", verbosity=0)
    assert len(found()) == 1

    chunk = Chunk.objects.filter(collection=collection).first()
    Chunk.objects.filter(id=chunk.id).update(text="marmalade lighthouse")  # not re-indexed
    call_command("migrate", verbosity=0)  # the index exists: nothing rebuilt
    assert catalog_services.search_chunks(query="marmalade", collection_ids=[collection.id]) == []


def test_unknown_collection_is_a_command_error(db):
    with pytest.raises(CommandError, match="not a collection id"):
        call_command("ingest_files", "nope", str(FIXTURES / "tides.txt"))


# -- chunking and extraction ------------------------------------------------------------------


def test_chunks_cover_the_text_with_exact_offsets_and_token_counts():
    paragraphs = [" ".join(f"w{p}x{i}" for i in range(70)) + "." for p in range(7)]
    text = "\n\n".join(paragraphs)
    spans = split_into_chunks(text, target_tokens=150)
    assert [s.ordinal for s in spans] == list(range(len(spans)))
    assert [s.token_count for s in spans] == [140, 140, 140, 70]
    for span in spans:
        assert text[span.char_start : span.char_end].split()[0].startswith("w")
    assert sum(s.token_count for s in spans) == 7 * 70


def test_a_long_sentence_is_cut_at_word_boundaries():
    text = " ".join(f"word{i}" for i in range(25))
    spans = split_into_chunks(text, target_tokens=10)
    assert [(s.token_count, text[s.char_start : s.char_end].split()[0]) for s in spans] == [
        (10, "word0"),
        (10, "word10"),
        (5, "word20"),
    ]


@pytest.mark.parametrize("target", [5, 40, 200])
def test_each_chunks_token_count_is_the_words_it_holds(target):
    messy = (
        "Tides rise.  They fall!Twice a day? Yes... mostly.\n\n\n"
        "A_very_long_identifier_without_spaces "
        * 30
        + "\n \t\n"
        + " ".join(f"w{i}." for i in range(120))
        + "\n\nÉtés, naïve café: über-fast — 42 units/s."
    )
    ascii_only = messy.rsplit("\n\n", 1)[0]  # counted by another route than the rest
    texts = [messy, ascii_only, (FIXTURES / "tides.txt").read_text()]
    for text in texts:
        spans = split_into_chunks(text, target_tokens=target)
        assert spans, text[:40]
        for span in spans:
            assert span.token_count == count_tokens(text[span.char_start : span.char_end])
        assert sum(s.token_count for s in spans) == count_tokens(text)


def test_words_are_counted_as_the_word_pattern_finds_them_from_any_offset():
    ascii_text = "snake_case x2 (a)b  -- 42.5\nend_"
    other = "Étés naïve_ café—über ½ 2² x\u0301y ٣٤ 中文 🙂 a·b"
    for text in (ascii_text, other, ascii_text + other):
        words = chunking._WordIndex(text)
        for start in range(len(text) + 1):
            for end in range(start, len(text) + 1):
                assert words.count(start, end) == len(WORD.findall(text, start, end)), text[
                    start:end
                ]


def test_normalised_text_has_unix_lines_no_trailing_spaces_and_one_blank_line_at_most():
    raw = "  Title \t\r\n\r\n\r\n\r\nBody\x00 line\v\f\n \t \n\n\n\n\nEnd  \rlast \t"

    assert normalize_text(raw) == "Title\n\nBody line\n\nEnd\nlast"
    assert normalize_text("one\n\n\ntwo\n\n\n\n\n\n\n\nthree") == "one\n\ntwo\n\nthree"


def test_empty_text_has_no_chunks():
    assert split_into_chunks("", target_tokens=10) == []


def test_corrupt_pdf_and_empty_files_are_extraction_errors():
    with pytest.raises(ExtractionFailed) as corrupt:
        extract((FIXTURES / "corrupt.pdf").read_bytes(), fmt="pdf", name="corrupt.pdf")
    assert corrupt.value.code == "corrupt_pdf"
    with pytest.raises(ExtractionFailed) as empty:
        extract(b"  \n ", fmt="text", name="blank.txt")
    assert empty.value.code == "empty_document"


def test_pdf_text_and_metadata_are_extracted():
    extracted = extract(
        (FIXTURES / "analytical-engine.pdf").read_bytes(), fmt="pdf", name="engine.pdf"
    )
    assert (extracted.title, extracted.author, extracted.metadata) == (
        "Notes on the Analytical Engine",
        "Ada Lovelace",
        {"pages": 1},
    )
    assert extracted.text == (
        "The Analytical Engine weaves algebraic patterns\n"
        "just as the Jacquard loom weaves flowers and leaves."
    )


def test_csv_records_need_a_text_column():
    with pytest.raises(ExtractionFailed) as missing:
        parse_records(b"title,url\nA,https://a\n", fmt="csv", name="bad.csv")
    assert missing.value.code == "missing_text"


# -- limits: records, uploads, PDFs -------------------------------------------------------------


def _job_of(collection, *files):
    job = catalog_services.create_upload_job(
        collection_id=collection.id, files=list(files), enqueue=False
    )
    return catalog_services.run_ingestion_job(job_id=job.id)


def test_bad_characters_and_deep_nesting_fail_the_record_not_the_file(collection):
    deep = '{"id": "deep", "text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [
        json.dumps({"id": "fine", "text": "Tides rise twice a day."}),
        json.dumps({"id": "nul", "title": "A\x00B", "text": "Text."}),
        '{"id": "surrogate", "text": "lone \\ud800 half"}',
        deep,
        json.dumps({"id": "nested", "text": {"not": "a string"}}),
    ]
    upload = catalog_services.UploadedFile.from_bytes(
        name="records.jsonl", content="\n".join(lines).encode()
    )
    job = _job_of(collection, upload)
    assert (job.status, job.progress.created, job.progress.failed) == ("partial", 1, 4)
    assert [(e.name, e.code, e.message) for e in job.errors] == [
        (
            "records.jsonl line 2",
            "invalid_record",
            "records.jsonl line 2: 'title' contains a NUL character.",
        ),
        (
            "records.jsonl line 3",
            "invalid_record",
            "records.jsonl line 3: 'text' contains an unpaired surrogate (not Unicode).",
        ),
        ("records.jsonl line 4", "invalid_record", "records.jsonl line 4 is nested too deeply."),
        (
            "records.jsonl line 5",
            "invalid_record",
            "records.jsonl line 5: 'text' must be a string.",
        ),
    ]
    assert list(Document.objects.values_list("external_id", flat=True)) == ["fine"]


def test_a_nul_in_a_csv_record_fails_that_record(collection):
    upload = catalog_services.UploadedFile.from_bytes(
        name="rows.csv", content=b"id,title,text\na,Bees,Bees dance.\nb,Ants\x00,Ants march.\n"
    )
    job = _job_of(collection, upload)
    assert (job.progress.created, job.progress.failed) == (1, 1)
    assert [(e.name, e.code) for e in job.errors] == [("rows.csv line 3", "invalid_record")]


def test_a_record_file_stops_at_the_item_cap_without_reading_it_whole(
    collection, settings, tmp_path
):
    settings.INGESTION_MAX_ITEMS_PER_JOB = 50
    path = tmp_path / "many.csv"
    with path.open("w") as out:
        out.write("id,text\n")
        for n in range(200_000):
            out.write(f"r{n},Record number {n} about tides and moons.\n")
    tracemalloc.start()
    try:
        job = _job_of(collection, catalog_services.UploadedFile.from_path(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (job.progress.total, job.progress.expanded, job.progress.created) == (50, 1, 49)
    assert IngestionItem.objects.get(kind="file").error_message == (
        "Stopped at the job's limit of 50 items."
    )
    # Reading 200,000 rows into objects before applying the cap costs well over 100 MB.
    assert peak < 8 * 1024 * 1024


def test_an_upload_is_streamed_to_storage_not_read_into_memory(collection, settings, tmp_path):
    path = tmp_path / "big.txt"
    with path.open("wb") as out:
        for _ in range(19):
            out.write(b"Tides rise and fall twice a day along the coastline.\n" * 20_000)
    tracemalloc.start()
    try:
        job = catalog_services.create_upload_job(
            collection_id=collection.id,
            files=[catalog_services.UploadedFile.from_path(path)],
            enqueue=False,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert path.stat().st_size == 20_140_000
    assert peak < 2 * 1024 * 1024
    stored = Path(settings.INGESTION_STORAGE["OPTIONS"]["location"]) / f"{job.id}-0"
    assert stored.stat().st_size == 20_140_000
    assert IngestionItem.objects.get().payload is None


def _pdf_bomb(pages: int, text: str) -> bytes:
    """Return a PDF whose pages all draw one shared content stream."""
    from pypdf import PdfWriter
    from pypdf.generic import (
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
    )

    writer = PdfWriter()
    stream = DecodedStreamObject()
    lines = " ".join(f"({text} {n}) Tj T*" for n in range(40))
    stream.set_data(f"BT /F1 12 Tf 14 TL 72 720 Td {lines} ET".encode())
    content = writer._add_object(stream)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    resources = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    for _ in range(pages):
        page = writer.add_blank_page(width=612, height=792)
        page[NameObject("/Contents")] = content
        page[NameObject("/Resources")] = resources
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_with_more_pages_than_the_limit_fails_before_extraction(collection, settings):
    settings.INGESTION_MAX_PDF_PAGES = 100
    bomb = _pdf_bomb(5_000, "Glaciers carve valleys")
    assert len(bomb) < 1_000_000
    job = _job_of(
        collection, catalog_services.UploadedFile.from_bytes(name="bomb.pdf", content=bomb)
    )
    assert [(e.name, e.code, e.message) for e in job.errors] == [
        ("bomb.pdf", "too_many_pages", "bomb.pdf has 5000 pages; the limit is 100.")
    ]
    assert Document.objects.count() == 0


def test_a_pdf_stops_extracting_at_the_character_limit(settings):
    bomb = _pdf_bomb(400, "Glaciers carve valleys")
    with pytest.raises(ExtractionFailed) as failed:
        extract(bomb, fmt="pdf", name="bomb.pdf", limits=Limits(max_pages=1000, max_chars=20_000))
    assert (failed.value.code, failed.value.message) == (
        "too_much_text",
        "bomb.pdf yields more than 20000 characters of text; split it into smaller documents.",
    )
    small = extract(_pdf_bomb(2, "Glaciers"), fmt="pdf", name="ok.pdf", limits=Limits())
    assert (small.metadata, small.text.count("Glaciers")) == ({"pages": 2}, 80)


def test_a_page_past_the_main_text_size_keeps_its_body_text_without_scripts():
    page = (
        b"<html><head><title>Tides</title><meta name='author' content='Mara'></head><body>"
        b"<script>var x = 1;</script><nav>Home</nav><h1>Tides</h1>"
        + b"<p>The tide rises twice a day.</p>" * 50
        + b"<style>p {}</style></body></html>"
    )
    limits = Limits(max_main_text_html_bytes=1_000)
    extracted = extract(page, fmt="html", name="tides.html", limits=limits)
    assert (extracted.title, extracted.author, extracted.metadata) == (
        "Tides",
        "Mara",
        {"extraction": "body"},
    )
    assert extracted.text == "Tides\n\n" + "\n\n".join(["The tide rises twice a day."] * 50)
    with pytest.raises(ExtractionFailed) as failed:
        extract(page, fmt="html", name="tides.html", limits=Limits(1, 100, 1_000))
    assert failed.value.code == "too_much_text"
