import pytest

from core.money import format_micros, format_money


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
