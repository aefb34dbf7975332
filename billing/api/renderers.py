"""Statements as CSV (`Accept: text/csv`); errors stay JSON whatever was asked for."""

from typing import Any

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
    def table(self, data: dict[str, Any]) -> Table | None:
        if "lines" not in data:  # an error
            return None
        rows = ([data["period"], *(line[c] for c in CSV_COLUMNS[1:])] for line in data["lines"])
        return CSV_COLUMNS, rows
