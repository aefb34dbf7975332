"""Amounts in integer micro-units (1,000,000 to the currency unit) written as decimals, and
decimals typed by people read back into micro-units exactly."""

import re

MICROS_PER_UNIT = 1_000_000
PLACES = 6  # decimals of a micro-unit
MAX_WHOLE_DIGITS = 30  # far past any budget; keeps int() of typed digits cheap
# "1234", "1,234.5", ".25", "0.002": ASCII digits, thousands grouped by commas or not.
_AMOUNT = re.compile(r"(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.(?P<fraction>[0-9]*))?")


class AmountError(ValueError):
    """A typed amount that is not a whole number of micro-units; its message says why."""


def parse_micros(text: str, *, max_micros: int | None = None) -> int:
    """Return a decimal amount typed in the currency as integer micros, exactly, in integer
    arithmetic (no float, no rounding): "0.0025" -> 2500, "1,234.5" -> 1234500000.

    Refuse (AmountError) anything else: a sign, an exponent, more than six decimals that are
    not zeros, an amount above `max_micros`.
    """
    typed = text.strip()
    negative = typed.startswith("-")
    match = _AMOUNT.fullmatch(typed[1:].lstrip() if negative else typed)
    if match is None or not (match["whole"] or match["fraction"]):
        raise AmountError("Enter an amount like 0.002 or 49.")
    if negative:
        raise AmountError("Enter an amount of zero or more.")
    whole = match["whole"].replace(",", "").lstrip("0")
    fraction = (match["fraction"] or "").rstrip("0")
    if len(fraction) > PLACES:
        raise AmountError("At most six decimals (a millionth of the currency).")
    if len(whole) > MAX_WHOLE_DIGITS:
        raise AmountError("Enter an amount like 0.002 or 49.")
    micros = int(whole or "0") * MICROS_PER_UNIT + int(fraction.ljust(PLACES, "0"))
    if max_micros is not None and micros > max_micros:
        raise AmountError(f"At most {format_micros(max_micros, group=True)}.")
    return micros


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
