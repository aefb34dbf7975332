"""The advertiser's performance and decision trace pages: exact figures by day, campaign and
unit (the ads reports tests' history: six impressions, one click), as tables, CSV and charts;
a bad period next to its field; traces of its own units in full and of others by reason only;
another advertiser's unit is 404."""

import csv
import io
from datetime import timedelta

import pytest

from ads import services as ads
from portal import advertiser_performance
from portal.advertiser_performance import REASON_TEXT, ctr_text
from tests.acting import owner_of
from tests.ads.conftest import license_of, meter
from tests.ads.test_reports_api import DAY1, DAY2, TODAY, history, units

__all__ = ["history", "license_of", "units"]

pytestmark = pytest.mark.django_db


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _csv(client, path, name, **query) -> list[list[str]]:
    response = client.get(path, {**query, "format": "csv", "table": name})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize(
    ("ppm", "shown"),
    [(0, "0.00%"), (1, "0.0001%"), (166_667, "16.6667%"), (500_000, "50.00%"), (10**6, "100.00%")],
)
def test_a_click_through_rate_is_shown_exactly_as_a_percentage(ppm, shown):
    assert ctr_text(ppm) == shown


def test_every_reason_of_a_trace_is_said_in_words():
    assert set(REASON_TEXT) == set(ads.REASONS)


def test_the_performance_page_shows_exact_totals(advertiser, browser_of, history):
    page = _page(browser_of.get(f"/orgs/{advertiser.id}/ad-performance/"))

    assert '<span class="value" data-testid="impressions-total">6</span>' in page
    assert '<span class="value" data-testid="clicks-total">1</span>' in page
    assert "16.6667%" in page  # 1 click in 6 impressions
    assert '<span class="value" data-testid="spend-total">0.038</span>' in page
    assert '<span class="value">2.00</span><span class="label">average per 1,000 shown' in page
    assert '<span class="value">0.03</span><span class="label">average per click' in page
    assert f"<title>{DAY1:%b %d}: 3 shown</title>" in page  # the chart's bar of DAY1
    assert f"<title>{DAY2:%b %d}: 0.032 USD</title>" in page
    assert f'href="/orgs/{advertiser.id}/reports/spend/">ad spend report</a>' in page


def test_the_tables_by_unit_campaign_and_day_export_exactly(advertiser, browser_of, history):
    path = f"/orgs/{advertiser.id}/ad-performance/"
    header = ["Shown", "Clicks", "CTR", "Spend (USD)", "Average CPM (USD)", "Average CPC (USD)"]

    by_unit = _csv(browser_of, path, "units")
    assert by_unit[0] == ["Ad", *header]
    assert sorted(by_unit[1:]) == [
        ["Boilers", "2", "1", "50.00%", "0.03", "—", "0.03"],
        ["Heat pumps", "4", "0", "0.00%", "0.008", "2.00", "—"],
    ]
    by_campaign = _csv(browser_of, path, "campaigns")
    assert sorted(row[0] for row in by_campaign[1:]) == ["Campaign cpc", "Campaign cpm"]
    by_day = _csv(browser_of, path, "daily")
    assert by_day[0] == ["Day (UTC)", *header]
    assert len(by_day) == 1 + 30  # every day of the period, those without events too
    days = {row[0]: row[1:] for row in by_day[1:]}
    assert days[DAY1.isoformat()] == ["3", "0", "0.00%", "0.006", "2.00", "—"]
    assert days[DAY2.isoformat()] == ["3", "1", "33.3333%", "0.032", "2.00", "0.03"]
    assert days[TODAY.isoformat()] == ["0", "0", "0.00%", "0.00", "—", "—"]


def test_a_period_of_days_or_dates(advertiser, browser_of, history):
    path = f"/orgs/{advertiser.id}/ad-performance/"

    week = browser_of.get(path, {"days": "7"})
    assert week.context["since"] == TODAY - timedelta(days=6)
    one_day = _page(browser_of.get(path, {"since": DAY2.isoformat(), "until": DAY2.isoformat()}))
    assert '<span class="value" data-testid="impressions-total">3</span>' in one_day


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"since": "2030-01-02", "until": "2030-01-01"}, "until", "The end is before the start."),
        ({"since": "2020-01-01", "until": "2021-06-01"}, "since", "At most 366 days at once."),
        ({"since": "soon"}, "since", "Enter a valid date."),
    ],
)
def test_a_bad_period_is_shown_next_to_its_field(advertiser, browser_of, query, field, message):
    response = browser_of.get(f"/orgs/{advertiser.id}/ad-performance/", query)

    assert response.status_code == 400
    assert response.context["form"].errors == {field: [message]}
    assert f'id="id_{field}_error"' in response.content.decode()


def test_another_advertisers_figures_are_not_shown(
    advertiser, rival, agent, provider, make_campaign, make_unit, operator, browser_of, history
):
    theirs = make_unit(rival, make_campaign(rival, name="Coldfront winter").id, title="Coldfront")
    theirs = ads.approve_unit(reviewer_id=operator.pk, unit_id=theirs.id, version=1)
    request_id = meter(agent, [])
    ads.record_serving(
        request_id=request_id,
        auction_id="rival-auction",
        agent_id=agent.id,
        winners=[ads.ServedUnit(unit_id=theirs.id, unit_version=1, price_micros=1_000_000)],
    )

    page = _page(browser_of.get(f"/orgs/{advertiser.id}/ad-performance/"))
    assert '<span class="value" data-testid="impressions-total">6</span>' in page
    assert "Coldfront" not in page


@pytest.fixture
def auction(advertiser, rival, agent, make_campaign, make_unit, operator, history):
    """An auction our CPM unit won over the rival's unit; our CPC unit was below the floor."""
    theirs = make_unit(rival, make_campaign(rival).id, title="Coldfront's secret ad")
    request_id = meter(agent, [])
    ads.record_serving(
        request_id=request_id,
        auction_id="auction-mixed",
        agent_id=agent.id,
        winners=[ads.ServedUnit(unit_id=history["cpm"].id, unit_version=1, price_micros=1_500_000)],
        candidates=[
            ads.TraceCandidate(history["cpm"].id, "won", 0.8125, 1_500_000),
            ads.TraceCandidate(theirs.id, "outbid", 0.5, None),
            ads.TraceCandidate(history["cpc"].id, "below_floor", 0.01, None),
        ],
    )
    return theirs


def test_traces_show_own_units_in_full_and_others_by_reason_only(
    advertiser, browser_of, history, auction
):
    page = _page(browser_of.get(f"/orgs/{advertiser.id}/ad-traces/"))

    assert "auction-mixed" in page
    assert "Won: shown with the answer" in page
    assert "Lost: another ad scored higher (outbid)" in page
    assert "Lost: not relevant enough to the question and its sources" in page
    assert "Another advertiser&#x27;s ad" in page
    assert "Coldfront" not in page and str(auction.id) not in page
    assert f'href="/orgs/{advertiser.id}/ads/{history["cpm"].id}/">Heat pumps</a>' in page
    assert "0.8125" in page and "1.50" in page

    rows = _csv(browser_of, f"/orgs/{advertiser.id}/ad-traces/", "candidates")
    mixed = [row[2:] for row in rows[1:] if row[1] == "auction-mixed"]
    assert mixed == [
        ["Heat pumps", "Won: shown with the answer", "0.8125", "1.50"],
        ["Another advertiser's ad", "Lost: another ad scored higher (outbid)", "", ""],
        ["Boilers", "Lost: not relevant enough to the question and its sources", "0.0100", ""],
    ]


def test_traces_of_one_unit_and_pages_of_older_auctions(
    advertiser, browser_of, history, auction, monkeypatch
):
    path = f"/orgs/{advertiser.id}/ad-traces/"
    cpc = history["cpc"]

    only_cpc = _csv(browser_of, path, "candidates", unit=str(cpc.id))
    # The CPC unit's two servings on DAY2, and the mixed auction it lost.
    auctions = [row[1] for row in only_cpc[1:] if row[2] == "Boilers"]
    assert len(set(auctions)) == 3 and auctions[0] == "auction-mixed"
    assert {row[2] for row in only_cpc[1:] if row[1] != "auction-mixed"} == {"Boilers"}

    monkeypatch.setattr(advertiser_performance, "TRACES_PER_PAGE", 4)
    first = browser_of.get(path)
    assert len(first.context["auctions"]) == 4
    older = first.context["next_before"]
    assert f"?before={older}" in first.content.decode()
    rest = browser_of.get(path, {"before": older})
    assert len(rest.context["auctions"]) == 3  # seven auctions in all
    assert rest.context["next_before"] is None


def test_another_advertisers_unit_in_the_trace_filter_is_the_404_page(
    advertiser, rival, browser_of, auction
):
    path = f"/orgs/{advertiser.id}/ad-traces/"

    assert browser_of.get(path, {"unit": str(auction.id)}).status_code == 404
    assert browser_of.get(path, {"unit": "not-an-id"}).status_code == 404
    assert browser_of.get(f"/orgs/{rival.id}/ad-traces/").status_code == 404


def test_empty_pages_say_so(advertiser, browser_of):
    traces = _page(browser_of.get(f"/orgs/{advertiser.id}/ad-traces/"))
    assert "None of your ads took part in an auction yet" in traces
    performance = _page(browser_of.get(f"/orgs/{advertiser.id}/ad-performance/"))
    assert '<span class="value" data-testid="impressions-total">0</span>' in performance
    assert "No ad of yours was shown in this period." in performance
    assert ads.list_campaigns(actor=owner_of(advertiser), organization_id=advertiser.id) == []
