"""Advertisers' reports as CSV (`Accept: text/csv`); errors stay JSON."""

from typing import Any

from core.api.csv import CSVRenderer, Table

REPORT_COLUMNS = (
    "group",
    "key",
    "name",
    "impressions",
    "clicks",
    "ctr_ppm",
    "spend_micros",
    "avg_cpm_micros",
    "avg_cpc_micros",
)


class ReportCSVRenderer(CSVRenderer):
    def table(self, data: dict[str, Any]) -> Table | None:
        if "rows" not in data:  # an error
            return None
        rows = (
            [data["group"], *("" if row[c] is None else row[c] for c in REPORT_COLUMNS[1:])]
            for row in [*data["rows"], data["totals"]]
        )
        return REPORT_COLUMNS, rows
