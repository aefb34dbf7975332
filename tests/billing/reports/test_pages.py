"""The portal's report pages: tables of the same figures as the API, CSV and JSON links that
work in the signed-in browser, statements as PDF, one organization only, operators only."""

import pytest
from django.test import Client
from lxml import html

from tests.billing.reports.conftest import LAST_MONTH, day
from tests.marketplace.factories import UserFactory

pytestmark = pytest.mark.django_db


def _member(org) -> Client:
    client = Client()
    client.force_login(org.memberships.get(role="owner").user)
    return client


def _range(**extra) -> dict:
    return {"since": day(1).isoformat(), "until": day(28).isoformat(), **extra}


def _table(response) -> list[list[str]]:
    page = html.fromstring(response.content)
    return [
        [" ".join(cell.text_content().split()) for cell in row.xpath("th|td")]
        for row in page.xpath("//table/tbody/tr|//table/tfoot/tr")
    ]


def test_the_organization_page_links_to_its_reports(month, provider):
    page = _member(provider).get(f"/orgs/{provider.id}/")

    assert f'href="/orgs/{provider.id}/reports/"' in page.content.decode()


def test_the_reports_page_lists_the_reports_of_the_organizations_roles(month, provider):
    page = _member(provider).get(f"/orgs/{provider.id}/reports/")

    links = html.fromstring(page.content).xpath("//main//a/@href")
    assert f"/orgs/{provider.id}/reports/earnings/" in links
    assert f"/orgs/{provider.id}/reports/costs/" not in links
    assert "/reports/platform/" not in links  # not an operator


def test_earnings_by_document_as_a_table_with_downloads(month, provider):
    client = _member(provider)

    page = client.get(f"/orgs/{provider.id}/reports/earnings/", _range(group="document"))

    assert page.status_code == 200
    assert _table(page) == [
        ["Field guide", "2", "2", "2", "80.0%", "0.0036"],
        ["Atlas", "2", "1", "2", "45.0%", "0.0036"],
        ["Total", "4", "3", "3", "83.3%", "0.0072"],
    ]
    tree = html.fromstring(page.content)
    (csv_link,) = tree.xpath("//a[text()='CSV']/@href")
    (json_link,) = tree.xpath("//a[text()='JSON']/@href")
    csv = client.get(csv_link)
    assert csv.status_code == 200
    assert csv.content.decode().splitlines()[1].split(",")[1:] == [
        "Field guide",
        "2",
        "2",
        "2",
        "1600000",
        "800000",
        "2",
        "3600",
    ]
    assert client.get(json_link).json()["total"]["earned_micros"] == 7200


def test_an_agents_costs_page(month, agent):
    page = _member(agent).get(f"/orgs/{agent.id}/reports/costs/", _range(group="provider"))

    assert _table(page) == [
        ["Northwind Press", "3", "2", "2", "0.006"],
        ["Elsewhere Media", "1", "1", "1", "0.003"],
        ["Total", "4", "3", "3", "0.009"],
    ]


def test_a_report_of_another_role_says_so(month, provider):
    page = _member(provider).get(f"/orgs/{provider.id}/reports/costs/")

    assert page.status_code == 403
    assert "agent role" in page.content.decode()


def test_another_organizations_reports_are_not_found(month, provider):
    other = month["other_provider"]
    client = _member(provider)

    for url in (
        f"/orgs/{other.id}/reports/",
        f"/orgs/{other.id}/reports/earnings/",
        f"/orgs/{other.id}/reports/statement.pdf?period={LAST_MONTH:%Y-%m}",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Elsewhere" not in response.content.decode()


def test_bad_dates_are_refused_on_the_page(provider):
    client = _member(provider)

    bad_date = client.get(f"/orgs/{provider.id}/reports/earnings/", {"since": "someday"})
    too_long = client.get(
        f"/orgs/{provider.id}/reports/earnings/", {"since": "2020-01-01", "until": "2022-01-01"}
    )

    assert bad_date.status_code == 400
    assert too_long.status_code == 400
    assert "at most 400 days" in too_long.content.decode()


def test_a_monthly_statement_downloads_as_pdf(month, provider):
    client = _member(provider)

    index = client.get(f"/orgs/{provider.id}/reports/")
    months = html.fromstring(index.content).xpath("//select[@name='period']/option/@value")
    pdf = client.get(f"/orgs/{provider.id}/reports/statement.pdf", {"period": months[1]})
    bad = client.get(f"/orgs/{provider.id}/reports/statement.pdf", {"period": "May"})

    assert months[1] == f"{LAST_MONTH:%Y-%m}"
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert bad.status_code == 400


def test_platform_revenue_page_for_operators_only(advertiser, provider):
    operator = Client()
    operator.force_login(UserFactory(is_staff=True))

    page = operator.get("/reports/platform/", _range(group="kind"))
    refused = _member(provider).get("/reports/platform/")

    assert _table(page) == [
        ["Ad revenue of an answer", "2", "0.30"],
        ["Pay-per-use charge", "5", "0.0011"],
        ["Total", "7", "0.3011"],
    ]
    assert refused.status_code == 403
