"""Rounding micros to a currency's minor unit: the one place money is rounded.

The ledger keeps integer micros (1 USD = 1,000,000). Stripe moves whole minor units (cents).
Rounding happens once, when money crosses to Stripe: a top-up must be a whole number of minor
units (nothing to round), a payout pays the whole minor units of the payable balance (the
fraction stays payable), an invoice bills the whole minor units of what is owed (the fraction
is carried to the next invoice). Always down: nobody is charged or paid a fraction not owed.
"""

# ISO 4217 exponents that are not 2 (Stripe's list of zero- and three-decimal currencies).
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "JPY",
            "KMF",
            "KRW",
            "MGA",
            "PYG",
            "RWF",
            "UGX",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "JOD", "KWD", "OMR", "TND"], 3),
}
MICROS_PER_UNIT = 1_000_000
_MICROS_PER_MINOR_UNIT = {0: MICROS_PER_UNIT, 2: MICROS_PER_UNIT // 100, 3: MICROS_PER_UNIT // 1000}


def micros_per_minor_unit(currency: str) -> int:
    """Return how many micros one minor unit of the currency is (USD: 10,000)."""
    return _MICROS_PER_MINOR_UNIT[_EXPONENTS.get(currency.upper(), 2)]


def to_minor_units(amount_micros: int, currency: str) -> int:
    """Return the whole minor units in an amount of micros, rounded down."""
    return amount_micros // micros_per_minor_unit(currency)


def from_minor_units(amount_minor: int, currency: str) -> int:
    """Return the micros in a whole number of minor units."""
    return amount_minor * micros_per_minor_unit(currency)


def is_whole_minor_units(amount_micros: int, currency: str) -> bool:
    return amount_micros % micros_per_minor_unit(currency) == 0
