"""Reports and PDF statements over the REST API: JSON and exact CSV, the role and scope each
needs, someone else's organization, bad input, operators only for the platform."""

import io

import pytest
from pypdf import PdfReader
from rest_framework.test import APIClient

from tests.billing.reports.conftest import LAST_MONTH, day
from tests.marketplace.factories import UserFactory

pytestmark = pytest.mark.django_db

EARNINGS = "/api/v1/reports/provider/earnings"
COSTS = "/api/v1/reports/agent/costs"
SPEND = "/api/v1/reports/advertiser/spend"
REVENUE = "/api/v1/reports/platform/revenue"
STATEMENTS = "/api/v1/billing/statements"
PERIOD = LAST_MONTH.strftime("%Y-%m")


def _days(first: int, last: int) -> dict:
    return {"since": day(first).isoformat(), "until": day(last).isoformat()}


def test_earnings_as_json(month, provider, key_client):
    response = key_client(provider, scopes=["billing"]).get(
        EARNINGS, {"group": "agent", **_days(1, 28)}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["group"], body["since"], body["until"], body["currency"]) == (
        "agent",
        day(1).isoformat(),
        day(28).isoformat(),
        "USD",
    )
    assert body["organization_id"] == str(provider.id)
    assert [(r["label"], r["uses"], r["earned_micros"]) for r in body["rows"]] == [
        ("Acme Agents", 3, 5400),
        ("Beta Bots", 1, 1800),
    ]
    assert body["total"]["earned_micros"] == 7200
    assert body["rows_total"] == 2


def test_earnings_as_csv_exactly(month, provider, key_client):
    client = key_client(provider, scopes=["billing"])

    by_format = client.get(EARNINGS, {"format": "csv", **_days(2, 3)})
    by_accept = client.get(EARNINGS, _days(2, 3), HTTP_ACCEPT="text/csv")

    d2, d3 = day(2).isoformat(), day(3).isoformat()
    assert by_format.status_code == 200
    assert by_format["Content-Type"].startswith("text/csv")
    assert by_format["Content-Disposition"] == (
        f'attachment; filename="provider-earnings-day-{d2}-{d3}.csv"'
    )
    assert by_format.content.decode() == (
        "key,label,uses,cited_uses,answers,attribution_weight_ppm,attribution_share_ppm,"
        "transactions,earned_micros\n"
        f"{d2},{d2},2,1,1,1000000,1000000,2,3600\n"
        f"{d3},{d3},1,1,1,1000000,1000000,1,1800\n"
    )
    assert by_accept.content == by_format.content


def test_agent_costs_by_provider_as_csv(month, agent, key_client):
    response = key_client(agent, scopes=["billing"]).get(
        COSTS, {"group": "provider", "format": "csv", **_days(1, 28)}
    )

    lines = response.content.decode().splitlines()
    assert (
        lines[0] == "key,label,uses,cited_uses,answers,metered_micros,transactions,charged_micros"
    )
    assert [line.split(",")[1:] for line in lines[1:]] == [
        ["Northwind Press", "3", "2", "2", "6000", "3", "6000"],
        ["Elsewhere Media", "1", "1", "1", "3000", "1", "3000"],
    ]


def test_advertiser_spend_and_empty_csv_keeps_its_header(advertiser, key_client):
    client = key_client(advertiser, scopes=["billing"])

    spend = client.get(SPEND, {"group": "kind", **_days(1, 28)}).json()
    empty = client.get(SPEND, {"group": "kind", "format": "csv", **_days(20, 21)})

    assert [(r["key"], r["spent_micros"], r["added_micros"]) for r in spend["rows"]] == [
        ("ad_revenue", 1_000_000, 0),
        ("credit", 0, 10_000_000),
    ]
    assert empty.content.decode() == "key,label,charges,spent_micros,added_micros\n"


def test_a_report_of_another_role_is_refused_with_wrong_role(month, provider, agent, key_client):
    as_provider = key_client(provider, scopes=["billing"]).get(COSTS)
    as_agent = key_client(agent, scopes=["billing"]).get(EARNINGS)
    spend = key_client(agent, scopes=["billing"]).get(SPEND, {"format": "csv"})

    assert (as_provider.status_code, as_provider.json()["code"]) == (403, "wrong_role")
    assert (as_agent.status_code, as_agent.json()["code"]) == (403, "wrong_role")
    assert spend.status_code == 403
    assert spend["Content-Type"] == "application/json"  # errors stay JSON when CSV was asked


def test_a_key_without_the_billing_scope_is_refused(month, provider, key_client):
    response = key_client(provider, scopes=["catalog"]).get(EARNINGS)

    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


def test_another_organization_is_not_found(month, provider, key_client):
    other = month["other_provider"]

    response = key_client(provider, scopes=["billing"]).get(EARNINGS, {"organization": other.id})

    assert response.status_code == 404
    assert "Elsewhere" not in response.content.decode()


def test_a_member_sees_only_their_organizations_reports(month, provider, api_client):
    owner = provider.memberships.get(role="owner").user
    api_client.force_login(owner)

    mine = api_client.get(EARNINGS, _days(1, 28))
    theirs = api_client.get(EARNINGS, {"organization": month["other_provider"].id})

    assert mine.json()["total"]["earned_micros"] == 7200
    assert theirs.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {"since": "2024-01-02", "until": "2024-01-01"},
        {"since": "2023-01-01", "until": "2024-02-05"},
        {"since": "yesterday"},
        {"group": "week"},
        {"limit": "0"},
        {"limit": "1001"},
        {"currency": "usd"},
        {"colour": "blue"},
        {"since": ""},
    ],
)
def test_bad_input_is_a_400_in_the_error_format(provider, key_client, query):
    response = key_client(provider, scopes=["billing"]).get(EARNINGS, query)

    assert response.status_code == 400
    assert set(response.json()) >= {"code", "message"}


def test_platform_revenue_is_for_operators_only(advertiser, provider, key_client):
    staff = UserFactory(is_staff=True)
    client = APIClient()
    client.force_login(staff)

    as_operator = client.get(REVENUE, {"group": "kind", **_days(1, 28)})
    as_key = key_client(provider, scopes=["billing"]).get(REVENUE)
    member = APIClient()
    member.force_login(provider.memberships.get(role="owner").user)
    as_member = member.get(REVENUE)

    assert [(r["key"], r["revenue_micros"]) for r in as_operator.json()["rows"]] == [
        ("ad_revenue", 300_000),
        ("use", 1100),
    ]
    assert (as_key.status_code, as_key.json()["code"]) == (403, "not_an_operator")
    assert (as_member.status_code, as_member.json()["code"]) == (403, "not_an_operator")


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_a_monthly_statement_as_pdf(month, provider, key_client):
    client = key_client(provider, scopes=["billing"])

    response = client.get(STATEMENTS, {"period": PERIOD}, HTTP_ACCEPT="application/pdf")
    by_format = client.get(STATEMENTS, {"period": PERIOD, "format": "pdf"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="statement-{PERIOD}.pdf"'
    assert response.content.startswith(b"%PDF")
    assert by_format.content.startswith(b"%PDF")
    text = _pdf_text(response.content)
    assert "Northwind Press" in text
    assert f"({PERIOD})" in text
    # The payable account: opened at zero, closed at what the month's four uses earned.
    assert "Provider payable (earned, not paid out; liability)" in text
    assert "Pay-per-use charge 4 0.00 USD 0.0072 USD" in text
    assert "Total 4 0.00 USD 0.0072 USD" in text
    assert "0.00 USD 0.0072 USD" in text


def test_the_agents_statement_pdf_totals_what_it_was_charged(month, agent, key_client):
    response = key_client(agent, scopes=["billing"]).get(
        STATEMENTS, {"period": PERIOD, "format": "pdf"}
    )

    text = _pdf_text(response.content)
    assert "Acme Agents" in text
    assert "Total 4 0.009 USD 0.00 USD" in text  # 2,000 x 3 + 3,000 micros owed


def test_a_pdf_statement_escapes_the_organizations_name(month, provider, key_client):
    provider.name = "<b>Bold</b> & Co"
    provider.save(update_fields=["name"])

    response = key_client(provider, scopes=["billing"]).get(
        STATEMENTS, {"period": PERIOD, "format": "pdf"}
    )

    assert "<b>Bold</b> & Co" in _pdf_text(response.content)


def test_a_bad_period_is_json_even_when_a_pdf_was_asked(provider, key_client):
    response = key_client(provider, scopes=["billing"]).get(
        STATEMENTS, {"period": "2024-13"}, HTTP_ACCEPT="application/pdf"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "period" in response.json()["details"]


def test_the_schema_documents_the_reports(api_client):
    schema = api_client.get("/api/schema/?format=json").json()

    for path, operation_id in [
        (EARNINGS, "reports_provider_earnings"),
        (COSTS, "reports_agent_costs"),
        (SPEND, "reports_advertiser_spend"),
        (REVENUE, "reports_platform_revenue"),
    ]:
        get = schema["paths"][path]["get"]
        assert get["operationId"] == operation_id
        assert set(get["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    statement = schema["paths"][STATEMENTS]["get"]["responses"]["200"]["content"]
    assert set(statement) == {"application/json", "text/csv", "application/pdf"}
    until = next(p for p in schema["paths"][EARNINGS]["get"]["parameters"] if p["name"] == "until")
    assert "400 days" in until["description"]


def test_without_pango_a_pdf_statement_is_409_and_json_still_works(
    month, provider, key_client, monkeypatch
):
    import weasyprint

    def no_pango(*args, **kwargs):
        raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(weasyprint, "HTML", no_pango)
    client = key_client(provider, scopes=["billing"])

    pdf = client.get(STATEMENTS, {"period": PERIOD, "format": "pdf"})
    json = client.get(STATEMENTS, {"period": PERIOD})

    assert (pdf.status_code, pdf.json()["code"]) == (409, "pdf_unavailable")
    assert json.status_code == 200
