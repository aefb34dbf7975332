"""CSV responses (`Accept: text/csv`): a renderer that turns a response's table into CSV,
while an error keeps its JSON shape whatever was asked for."""

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from rest_framework.renderers import BaseRenderer

Table = tuple[Sequence[str], Iterable[Sequence[Any]]]


class CSVRenderer(BaseRenderer):
    """Render what `table` makes of a response's data as CSV: a header row, then one line per
    row. Data that is no table (`table` returns None: an error) is sent as JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def table(self, data: dict[str, Any]) -> Table | None:
        raise NotImplementedError

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        table = self.table(data) if isinstance(data, dict) else None
        if table is None:
            if response is not None:
                response["Content-Type"] = "application/json"
            return json.dumps(data).encode()
        header, rows = table
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue().encode()
