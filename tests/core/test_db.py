import pytest
from django.db import connection

from accounts.models import APIKey
from billing.models import Account, Purpose
from core.db import add_to_column
from tests.marketplace.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def _platform_accounts(*balances):
    purposes = [Purpose.PLATFORM_REVENUE, Purpose.STRIPE_FEES]
    return [
        Account.objects.create(purpose=p, currency="USD", balance_micros=b)
        for p, b in zip(purposes, balances, strict=False)
    ]


def test_add_to_column_adds_each_delta_to_its_row_only():
    revenue, fees = _platform_accounts(-1_000, 250)
    untouched = Account.objects.create(
        purpose=Purpose.PLATFORM_REVENUE, currency="EUR", balance_micros=7
    )

    add_to_column(Account, "balance_micros", {revenue.id: -500, fees.id: 1_250})

    balances = dict(Account.objects.values_list("id", "balance_micros"))
    assert balances == {revenue.id: -1_500, fees.id: 1_500, untouched.id: 7}


def test_add_to_column_with_uuid_keys():
    org = OrganizationFactory()
    keys = [
        APIKey.objects.create(
            organization=org,
            name=f"k{i}",
            prefix=f"p{i}",
            secret_hash="x",
            rate_limit_per_minute=60,
        )
        for i in range(2)
    ]

    add_to_column(APIKey, "rate_limit_per_minute", {keys[0].id: 5, keys[1].id: -10})

    limits = dict(APIKey.objects.values_list("id", "rate_limit_per_minute"))
    assert limits == {keys[0].id: 65, keys[1].id: 50}


def test_add_to_column_statements(django_assert_num_queries):
    revenue, fees = _platform_accounts(0, 0)

    with django_assert_num_queries(0):
        add_to_column(Account, "balance_micros", {})
    expected = 1 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(expected):
        add_to_column(Account, "balance_micros", {revenue.id: 1, fees.id: 2})

    assert list(Account.objects.order_by("id").values_list("balance_micros", flat=True)) == [1, 2]
