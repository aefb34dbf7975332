"""Statements and reports as CSV (`Accept: text/csv` or `?format=csv`), statements as PDF
(`Accept: application/pdf` or `?format=pdf`); errors stay JSON whatever was asked for."""

import json
from collections.abc import Sequence
from typing import Any

from rest_framework.renderers import BaseRenderer

from core.api.csv import CSVRenderer, Table

CSV_COLUMNS = (
    "period",
    "account",
    "currency",
    "kind",
    "transactions",
    "debit_micros",
    "credit_micros",
)


class StatementCSVRenderer(CSVRenderer):
    """One line per account and kind of transaction of a month's statement."""

    def table(self, data: dict[str, Any]) -> Table | None:
        if "lines" not in data:  # an error
            return None
        rows = ([data["period"], *(line[c] for c in CSV_COLUMNS[1:])] for line in data["lines"])
        return CSV_COLUMNS, rows


class ReportCSVRenderer(CSVRenderer):
    """One line per row of a report, its columns named by the view's `csv_columns` (the
    total is left out: a CSV holds the table, the JSON its total too)."""

    columns: Sequence[str] = ()

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        view = (renderer_context or {}).get("view")
        self.columns = tuple(getattr(view, "csv_columns", ()))  # a renderer serves one response
        return super().render(data, accepted_media_type, renderer_context)

    def table(self, data: dict[str, Any]) -> Table | None:
        if "rows" not in data:  # an error
            return None
        return self.columns, ([row[c] for c in self.columns] for row in data["rows"])


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
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data).encode()
