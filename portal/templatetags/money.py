"""`{{ amount_micros|money }}`: integer micro-units as a decimal amount, to the micro."""

from django import template

from core.money import format_micros

register = template.Library()


@register.filter
def money(micros: int | None) -> str:
    """Return 24949684 as "24.949684", 28800 as "0.0288", 0 as "0.00": exact, at least
    two decimals, thousands grouped."""
    if micros is None:
        return ""
    return format_micros(int(micros), min_places=2, group=True)
