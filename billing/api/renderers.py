"""Statements and reports as CSV (`Accept: text/csv` or `?format=csv`), statements as PDF
(`Accept: application/pdf` or `?format=pdf`); errors stay JSON whatever was asked for."""

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from rest_framework.renderers import BaseRenderer

CSV_COLUMNS = (
    "period",
    "account",
    "currency",
    "kind",
    "transactions",
    "debit_micros",
    "credit_micros",
)


def _as_json_error(data: Any, renderer_context: Any) -> bytes:
    response = (renderer_context or {}).get("response")
    if response is not None:
        response["Content-Type"] = "application/json"
    return json.dumps(data).encode()


class CSVRenderer(BaseRenderer):
    """A table as CSV: a header of `columns`, then one line per row; anything else (an error)
    keeps its JSON shape."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"
    table_key = "rows"  # the list in the data that holds the table

    def columns(self, data: dict[str, Any], renderer_context: Any) -> Sequence[str]:
        raise NotImplementedError

    def rows(self, data: dict[str, Any], columns: Sequence[str]) -> Iterable[Sequence[Any]]:
        raise NotImplementedError

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if not isinstance(data, dict) or self.table_key not in data:
            return _as_json_error(data, renderer_context)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        columns = self.columns(data, renderer_context)
        writer.writerow(columns)
        writer.writerows(self.rows(data, columns))
        return out.getvalue().encode()


class StatementCSVRenderer(CSVRenderer):
    """One line per account and kind of transaction of a month's statement."""

    table_key = "lines"

    def columns(self, data: dict[str, Any], renderer_context: Any) -> Sequence[str]:
        return CSV_COLUMNS

    def rows(self, data: dict[str, Any], columns: Sequence[str]) -> Iterable[Sequence[Any]]:
        for line in data["lines"]:
            yield [data["period"], *(line[c] for c in columns[1:])]


class ReportCSVRenderer(CSVRenderer):
    """One line per row of a report, its columns named by the view's `csv_columns` (the
    total is left out: a CSV holds the table, the JSON its total too)."""

    def columns(self, data: dict[str, Any], renderer_context: Any) -> Sequence[str]:
        columns: Sequence[str] = renderer_context["view"].csv_columns
        return columns

    def rows(self, data: dict[str, Any], columns: Sequence[str]) -> Iterable[Sequence[Any]]:
        return ([row[c] for c in columns] for row in data["rows"])


class PDFRenderer(BaseRenderer):
    """A document already made as PDF bytes; anything else (an error) keeps its JSON shape."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return _as_json_error(data, renderer_context)
