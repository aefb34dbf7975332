"""Record files (jsonl, csv): one document per record, read line by line."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from catalog.ingestion.extract.formats import ExtractionFailed
from catalog.ingestion.extract.text import _SURROGATES


@dataclass(frozen=True)
class Record:
    """One record of a jsonl/csv file: a document of its own."""

    external_id: str
    title: str
    url: str
    text: str
    author: str = ""
    published_at: str = ""


RECORD_FIELDS = ("id", "url", "title", "text", "author", "published_at")


def _field_value(row: dict, key: str, where: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ExtractionFailed("invalid_record", f"{where}: '{key}' must be a string.")
    text = str(value)
    if "\x00" in text:
        raise ExtractionFailed("invalid_record", f"{where}: '{key}' contains a NUL character.")
    if _SURROGATES.search(text):
        raise ExtractionFailed(
            "invalid_record", f"{where}: '{key}' contains an unpaired surrogate (not Unicode)."
        )
    return text.strip()


def _record_from(row: dict, *, where: str) -> Record:
    values = {key: _field_value(row, key, where) for key in RECORD_FIELDS}
    text = values["text"]
    if not text:
        raise ExtractionFailed("missing_text", f"{where} has no 'text'.")
    url = values["url"]
    external_id = values["id"] or url or values["title"]
    if not external_id:
        raise ExtractionFailed("missing_id", f"{where} needs an 'id', 'url' or 'title'.")
    return Record(
        external_id=external_id[:1024],
        title=values["title"][:500],
        url=url[:2048],
        text=text,
        author=values["author"][:300],
        published_at=values["published_at"],
    )


RecordResult = tuple[str, Record | None, str]


def _decoded_lines(stream: IO[bytes]) -> Iterator[str]:
    """Yield a file's lines one at a time: UTF-8 (a BOM is dropped), else cp1252, else latin-1."""
    for number, raw in enumerate(stream):
        if number == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        for encoding in ("utf-8", "cp1252", "latin-1"):
            try:
                yield raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue


def _jsonl_records(lines: Iterable[str], name: str) -> Iterator[RecordResult]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            row = json.loads(line)
        except RecursionError:
            yield where, None, f"{where} is nested too deeply."
            continue
        except ValueError:
            yield where, None, f"{where} is not a JSON object."
            continue
        if not isinstance(row, dict):
            yield where, None, f"{where} is not a JSON object."
            continue
        try:
            yield where, _record_from(row, where=where), ""
        except ExtractionFailed as exc:
            yield where, None, exc.message


def _csv_records(lines: Iterable[str], name: str) -> Iterator[RecordResult]:
    try:
        reader = csv.DictReader(lines)
        if reader.fieldnames is None:
            raise ExtractionFailed("empty_document", f"{name} is empty.")
        fields = [f.strip().lower() for f in reader.fieldnames]
        if "text" not in fields:
            raise ExtractionFailed("missing_text", f"{name} has no 'text' column.")
        for raw in reader:
            where = f"{name} line {reader.line_num}"
            row = {(k or "").strip().lower(): v for k, v in raw.items() if isinstance(k, str)}
            try:
                yield where, _record_from(row, where=where), ""
            except ExtractionFailed as exc:
                yield where, None, exc.message
    except csv.Error as exc:
        raise ExtractionFailed("corrupt_csv", f"{name} is not valid CSV: {exc}.") from exc


def iter_records(stream: IO[bytes], *, fmt: str, name: str) -> Iterator[RecordResult]:
    """Yield (where, record, error) per record of a jsonl/csv file, reading it line by line.

    Nothing but the current line is held in memory, so a caller can stop at any count. A
    record that is not valid (not an object, nested too deeply, a NUL or an unpaired surrogate
    in a field, no text or id) yields an error naming its line; the file goes on.
    """
    lines = _decoded_lines(stream)
    seen_any = False
    records = _jsonl_records(lines, name) if fmt == "jsonl" else _csv_records(lines, name)
    for result in records:
        seen_any = True
        yield result
    if not seen_any and fmt == "jsonl":
        raise ExtractionFailed("empty_document", f"{name} is empty.")


def parse_records(content: bytes, *, fmt: str, name: str) -> list[RecordResult]:
    """Return (where, record, error) per record of a jsonl/csv file held in memory."""
    return list(iter_records(io.BytesIO(content), fmt=fmt, name=name))
