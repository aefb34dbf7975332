"""Amounts in integer micro-units (1,000,000 to the currency unit) written as decimals."""

MICROS_PER_UNIT = 1_000_000


def format_micros(micros: int, *, min_places: int = 0, group: bool = False) -> str:
    """Return micros as an exact decimal: no trailing zeros past `min_places` decimals, and
    no decimal point when there are none; `group` separates thousands.

    format_micros(2500) -> "0.0025", format_micros(49_000_000, min_places=1) -> "49.0",
    format_micros(1_234_500_000, min_places=2, group=True) -> "1,234.50".
    """
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS_PER_UNIT)
    digits = f"{fraction:06d}".rstrip("0").ljust(min_places, "0")
    text = f"{whole:,}" if group else str(whole)
    return f"{sign}{text}.{digits}" if digits else f"{sign}{text}"


def format_money(micros: int, currency: str) -> str:
    """Return an amount for a message: format_money(1_500_000_000, "USD") -> "1,500 USD"."""
    return f"{format_micros(micros, group=True)} {currency}"
