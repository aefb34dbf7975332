import pytest

from portal.templatetags.money import money


@pytest.mark.parametrize(
    ("micros", "shown"),
    [
        (0, "0.00"),
        (28_800, "0.0288"),
        (1, "0.000001"),
        (24_949_684, "24.949684"),
        (1_000_000, "1.00"),
        (1_234_500_000, "1,234.50"),
        (-2_000, "-0.002"),
        (None, ""),
    ],
)
def test_money_shows_micros_exactly(micros, shown):
    assert money(micros) == shown
