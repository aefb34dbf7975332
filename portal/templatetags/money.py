"""`{{ amount_micros|money }}`: integer micro-units as a decimal amount, to the micro."""

from decimal import Decimal

from django import template

register = template.Library()

MICROS = Decimal(1_000_000)


@register.filter
def money(micros: int | None) -> str:
    """Return 24949684 as "24.949684", 28800 as "0.0288", 0 as "0.00": exact, at least
    two decimals, no trailing zeros past them, thousands grouped."""
    if micros is None:
        return ""
    text = f"{Decimal(int(micros)) / MICROS:,.6f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"
