"""Statements as CSV (`Accept: text/csv`); errors stay JSON whatever was asked for."""

import csv
import io
import json
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


class StatementCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        if not isinstance(data, dict) or "lines" not in data:  # an error: keep its JSON shape
            if response is not None:
                response["Content-Type"] = "application/json"
            return json.dumps(data).encode()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for line in data["lines"]:
            writer.writerow([data["period"], *(line[c] for c in CSV_COLUMNS[1:])])
        return out.getvalue().encode()
