import pytest

from core.money import AmountError, format_micros, format_money, parse_micros


@pytest.mark.parametrize(
    ("micros", "options", "shown"),
    [
        (0, {}, "0"),
        (1_000, {}, "0.001"),
        (2_500, {}, "0.0025"),
        (49_000_000, {"min_places": 1}, "49.0"),
        (0, {"min_places": 1}, "0.0"),
        (1, {"min_places": 2}, "0.000001"),
        (1_234_500_000, {"min_places": 2, "group": True}, "1,234.50"),
        (-2_000, {"min_places": 2}, "-0.002"),
        (-49_000_000, {}, "-49"),
    ],
)
def test_format_micros_is_exact(micros, options, shown):
    assert format_micros(micros, **options) == shown


def test_format_money_names_the_currency_and_groups_thousands():
    assert format_money(49_000_000, "USD") == "49 USD"
    assert format_money(24_977_684, "EUR") == "24.977684 EUR"
    assert format_money(1_500_000_000, "USD") == "1,500 USD"


@pytest.mark.parametrize(
    ("typed", "micros"),
    [
        ("0.0025", 2_500),
        ("49", 49_000_000),
        (" 12.5 ", 12_500_000),
        (".25", 250_000),
        ("5.", 5_000_000),
        ("1,234.5", 1_234_500_000),
        ("0.000001", 1),
        ("0.1000000000", 100_000),  # zeros past the sixth decimal change nothing
        ("999999999.999999", 999_999_999_999_999),
        ("000012.50", 12_500_000),
    ],
)
def test_parse_micros_reads_a_typed_amount_exactly(typed, micros):
    assert parse_micros(typed) == micros
    assert parse_micros(format_micros(micros)) == micros  # what is shown reads back the same


SIX_DECIMALS = "At most six decimals (a millionth of the currency)."


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter an amount like 0.002 or 49."),
        ("abc", "Enter an amount like 0.002 or 49."),
        ("1e3", "Enter an amount like 0.002 or 49."),
        ("1,2", "Enter an amount like 0.002 or 49."),
        ("١٢", "Enter an amount like 0.002 or 49."),  # digits, but not ASCII ones
        ("9" * 5000, "Enter an amount like 0.002 or 49."),
        ("-1", "Enter an amount of zero or more."),
        ("0.0000001", SIX_DECIMALS),
        # Decimal arithmetic at 28 digits would round this to exactly 1,000,000 micros.
        ("1." + "0" * 30 + "1", SIX_DECIMALS),
        ("10.000001", "At most 10."),
    ],
)
def test_parse_micros_refuses_what_is_not_a_whole_number_of_micros(typed, message):
    with pytest.raises(AmountError) as refused:
        parse_micros(typed, max_micros=10_000_000)
    assert str(refused.value) == message
