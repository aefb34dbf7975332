"""The billing REST API: the `billing` scope, one organization's money only, bad input."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import RevenueReport
from tests.billing.conftest import meter

pytestmark = pytest.mark.django_db

THIS_MONTH = timezone.now().strftime("%Y-%m")


@pytest.fixture
def rated(agent, provider, make_offer, accept):
    """The agent used the provider's per-use content 3 times; rated."""
    agreement = accept(agent, make_offer(provider, price_micros=2000))
    for _ in range(3):
        meter(agent, agreement)
    billing.rate_usage()
    return agreement


@pytest.fixture
def stranger(make_org, make_offer, accept, provider):
    """Another agent with usage of its own."""
    org, _ = make_org(roles=("agent", "provider"), name="Stranger")
    agreement = accept(org, make_offer(provider, name="Other", price_micros=7000))
    meter(org, agreement)
    billing.rate_usage()
    return org


def test_balance_shows_what_the_organization_holds_owes_and_earned(
    rated, agent, provider, key_client
):
    agent_view = key_client(agent, scopes=["billing"]).get("/api/v1/billing/balance").json()
    provider_view = key_client(provider, scopes=["billing"]).get("/api/v1/billing/balance").json()

    assert agent_view["organization_id"] == str(agent.id)
    assert agent_view["currencies"] == [
        {
            "currency": "USD",
            "wallet_micros": 0,
            "reserved_micros": 0,
            "available_micros": 0,
            "receivable_micros": 6000,
            "payable_micros": 0,
            "agent_payable_micros": 0,
            "advertiser_prepaid_micros": 0,
        }
    ]
    assert provider_view["currencies"][0]["payable_micros"] == 5400


def test_a_new_organization_has_zero_balances(make_org, key_client):
    org, _ = make_org(roles=("agent",))

    body = key_client(org, scopes=["billing"]).get("/api/v1/billing/balance").json()

    assert body["postpaid"] is False
    assert body["currencies"][0]["wallet_micros"] == 0


def test_transactions_show_only_the_organizations_own_entries(rated, stranger, agent, key_client):
    client = key_client(agent, scopes=["billing"])

    first = client.get("/api/v1/billing/transactions?limit=2").json()
    rest = client.get(f"/api/v1/billing/transactions?before_id={first['next_before_id']}").json()

    rows = first["results"] + rest["results"]
    assert len(rows) == 3 and rest["next_before_id"] is None
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    for row in rows:
        assert row["kind"] == "use"
        assert row["entries"] == [
            {"account": "agent_receivable", "currency": "USD", "amount_micros": 2000}
        ]


def test_the_provider_sees_its_payable_entries_not_the_agents(rated, provider, key_client):
    rows = key_client(provider, scopes=["billing"]).get("/api/v1/billing/transactions").json()

    assert {(e["account"], e["amount_micros"]) for r in rows["results"] for e in r["entries"]} == {
        ("provider_payable", -1800)
    }


def test_a_statement_aggregates_the_month(rated, stranger, agent, key_client):
    client = key_client(agent, scopes=["billing"])

    body = client.get(f"/api/v1/billing/statements?period={THIS_MONTH}").json()

    assert body["period"] == THIS_MONTH
    assert body["lines"] == [
        {
            "account": "agent_receivable",
            "currency": "USD",
            "kind": "use",
            "transactions": 3,
            "debit_micros": 6000,
            "credit_micros": 0,
        }
    ]
    assert body["accounts"] == [
        {
            "account": "agent_receivable",
            "currency": "USD",
            "opening_micros": 0,
            "closing_micros": 6000,
        }
    ]


def test_a_statement_comes_as_csv_when_asked(rated, agent, key_client):
    client = key_client(agent, scopes=["billing"])

    response = client.get(f"/api/v1/billing/statements?period={THIS_MONTH}", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        [
            "period",
            "account",
            "currency",
            "kind",
            "transactions",
            "debit_micros",
            "credit_micros",
        ],
        [THIS_MONTH, "agent_receivable", "USD", "use", "3", "6000", "0"],
    ]


def test_a_bad_period_is_a_json_400_even_when_csv_was_asked(agent, key_client):
    response = key_client(agent, scopes=["billing"]).get(
        "/api/v1/billing/statements?period=2026-13", HTTP_ACCEPT="text/csv"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid"


def test_a_month_without_money_has_an_empty_statement(rated, agent, key_client):
    body = (
        key_client(agent, scopes=["billing"])
        .get("/api/v1/billing/statements?period=2001-01")
        .json()
    )

    assert (body["lines"], body["accounts"]) == ([], [])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/billing/balance",
        "/api/v1/billing/transactions",
        f"/api/v1/billing/statements?period={THIS_MONTH}",
        "/api/v1/billing/revenue-reports",
    ],
)
def test_no_endpoint_shows_another_organizations_money(rated, stranger, agent, key_client, path):
    own = key_client(agent, scopes=["billing"])
    separator = "&" if "?" in path else "?"

    naming_other = own.get(f"{path}{separator}organization={stranger.id}")
    theirs = key_client(stranger, scopes=["billing"]).get(path)

    assert naming_other.status_code == 404
    assert theirs.status_code == 200
    assert str(agent.id) not in theirs.content.decode()
    assert "6000" not in theirs.content.decode()


def test_a_member_sees_the_organization_they_name(rated, agent, provider, client):
    owner = agent.memberships.get(role="owner").user
    client.force_login(owner)

    response = client.get(f"/api/v1/billing/balance?organization={agent.id}")
    other = client.get(f"/api/v1/billing/balance?organization={provider.id}")

    assert response.json()["currencies"][0]["receivable_micros"] == 6000
    assert other.status_code == 404


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "limit=x", "before_id=0", "colour=red", "organization=nope"],
)
def test_bad_transaction_queries_are_400(agent, key_client, query):
    response = key_client(agent, scopes=["billing"]).get(f"/api/v1/billing/transactions?{query}")

    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "details"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period": "2026-1", "revenue_micros": 5}, "period"),
        ({"period": "2026-01", "revenue_micros": -5}, "revenue_micros"),
        ({"period": "2026-01", "revenue_micros": 0}, "revenue_micros"),
        ({"period": "2026-01", "revenue_micros": "5"}, "revenue_micros"),
        ({"period": "2026-01", "revenue_micros": 5, "currency": "usd"}, "currency"),
        ({"period": "2026-01", "revenue_micros": 5, "bonus": 1}, "bonus"),
        ({"period": "2026-01"}, "revenue_micros"),
    ],
)
def test_bad_revenue_reports_are_400_and_write_nothing(agent, key_client, body, field):
    response = key_client(agent, scopes=["billing"]).post(
        "/api/v1/billing/revenue-reports", body, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["details"]
    assert RevenueReport.objects.count() == 0


def test_a_revenue_report_for_a_closed_period_is_422(agent, key_client):
    response = key_client(agent, scopes=["billing"]).post(
        "/api/v1/billing/revenue-reports",
        {"period": "2020-01", "revenue_micros": 5_000_000},
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "period_closed"
    assert RevenueReport.objects.count() == 0


def test_a_revenue_report_for_another_organizations_agreement_is_404(rated, stranger, key_client):
    last_month = (timezone.now().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")

    response = key_client(stranger, scopes=["billing"]).post(
        "/api/v1/billing/revenue-reports",
        {"period": last_month, "revenue_micros": 5_000_000, "agreement_id": str(rated.id)},
        format="json",
    )

    assert response.status_code == 404
    assert RevenueReport.objects.count() == 0


def test_a_revenue_report_is_created_and_listed(agent, key_client, make_org, settings):
    settings.BILLING_REVENUE_REPORT_DAYS = 31  # whatever today is, last month is open
    last_month = (timezone.now().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    client = key_client(agent, scopes=["billing"])

    created = client.post(
        "/api/v1/billing/revenue-reports",
        {"period": last_month, "revenue_micros": 5_000_000},
        format="json",
    )
    listed = client.get("/api/v1/billing/revenue-reports").json()
    other, _ = make_org(roles=("agent",))
    others = key_client(other, scopes=["billing"]).get("/api/v1/billing/revenue-reports").json()

    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    assert [r["id"] for r in listed] == [created.json()["id"]]
    assert others == []


def test_a_provider_cannot_report_revenue(provider, key_client):
    response = key_client(provider, scopes=["billing"]).post(
        "/api/v1/billing/revenue-reports",
        {"period": "2026-01", "revenue_micros": 5},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "wrong_role"


def test_a_key_without_the_billing_scope_is_refused(agent, key_client):
    response = key_client(agent, scopes=["query"]).get("/api/v1/billing/balance")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_format_csv_in_the_query_asks_for_csv_too(rated, agent, key_client):
    response = key_client(agent, scopes=["billing"]).get(
        f"/api/v1/billing/statements?period={THIS_MONTH}&format=csv"
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines()[1].startswith(f"{THIS_MONTH},agent_receivable")
