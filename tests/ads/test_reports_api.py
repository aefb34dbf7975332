"""Reports, traces and the ad repository through the API: exact figures, CSV, each tenant's
own data only, and bad input refused."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from ads import services as ads
from ads.models import AdEvent
from tests.ads.conftest import fund, meter

TODAY = timezone.now().astimezone(UTC).date()
DAY1, DAY2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)


def at(day, hour=12):
    return datetime.combine(day, time(hour), tzinfo=UTC)


@pytest.fixture
def units(advertiser, make_campaign, make_unit, operator):
    """A CPM unit (2,000,000 per 1,000) and a CPC unit (30,000 a click), approved, each in its
    own campaign running since before DAY1."""
    made = {}
    for name, fields in (
        ("cpm", {"title": "Heat pumps", "bid_type": "cpm", "max_bid_micros": 2_000_000}),
        ("cpc", {"title": "Boilers", "bid_type": "cpc", "max_bid_micros": 30_000}),
    ):
        campaign = make_campaign(
            advertiser, name=f"Campaign {name}", starts_at=timezone.now() - timedelta(days=5)
        )
        unit = make_unit(advertiser, campaign.id, **fields)
        made[name] = ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=1)
    return made


def serve_on(agent, agreement, unit, price, day):
    request_id = meter(agent, [(agreement, 1_000_000)])
    (serving,) = ads.record_serving(
        request_id=request_id,
        auction_id=f"auction-{request_id}",
        agent_id=agent.id,
        winners=[ads.ServedUnit(unit_id=unit.id, unit_version=1, price_micros=price)],
        candidates=[ads.TraceCandidate(unit.id, "won", 10.0, price)],
        now=at(day),
    ).servings
    return serving


@pytest.fixture
def history(advertiser, agent, provider, units, license_of):
    """DAY1: three CPM impressions. DAY2: one CPM impression, two CPC ones, one click."""
    fund(advertiser, 10_000_000)
    agreement = license_of(provider, agent)
    for _ in range(3):
        serve_on(agent, agreement, units["cpm"], 2_000_000, DAY1)
    serve_on(agent, agreement, units["cpm"], 2_000_000, DAY2)
    clicked = serve_on(agent, agreement, units["cpc"], 30_000, DAY2)
    serve_on(agent, agreement, units["cpc"], 30_000, DAY2)
    ads.record_click(token=clicked.click_path.removeprefix("/c/"), now=at(DAY2, 13))
    ads.charge_ad_events()
    return units


def report(client, accept=None, **params):
    query = {"from": DAY1.isoformat(), "to": TODAY.isoformat(), **params}
    query = {name: value for name, value in query.items() if value is not None}
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return client.get("/api/v1/ads/reports", query, **headers)


def row(key, name, impressions, clicks, ctr, spend, cpm, cpc, cpm_n, cpm_spend, cpc_n, cpc_spend):
    return {
        "key": key,
        "name": name,
        "impressions": impressions,
        "clicks": clicks,
        "ctr_ppm": ctr,
        "spend_micros": spend,
        "avg_cpm_micros": cpm,
        "avg_cpc_micros": cpc,
        "cpm_impressions": cpm_n,
        "cpm_spend_micros": cpm_spend,
        "cpc_clicks": cpc_n,
        "cpc_spend_micros": cpc_spend,
    }


TOTALS = row("total", "", 6, 1, 166_667, 38_000, 2_000_000, 30_000, 4, 8000, 1, 30_000)


def test_the_report_by_day_is_exact(key_client, advertiser, history):
    response = report(key_client(advertiser), group="day")

    assert response.status_code == 200
    body = response.json()
    assert (body["group"], body["date_from"], body["date_to"]) == (
        "day",
        DAY1.isoformat(),
        TODAY.isoformat(),
    )
    assert body["rows"] == [
        row(DAY1.isoformat(), "", 3, 0, 0, 6000, 2_000_000, None, 3, 6000, 0, 0),
        # 1 click in 3 impressions: 333,333.3 per million, half up.
        row(DAY2.isoformat(), "", 3, 1, 333_333, 32_000, 2_000_000, 30_000, 1, 2000, 1, 30_000),
    ]
    assert body["totals"] == TOTALS


def test_the_report_by_campaign_and_by_unit(key_client, advertiser, history):
    client = key_client(advertiser)
    cpm, cpc = history["cpm"], history["cpc"]

    by_unit = report(client, group="unit").json()
    by_campaign = report(client, group="campaign").json()

    expected = {
        str(cpm.id): row(str(cpm.id), "Heat pumps", 4, 0, 0, 8000, 2_000_000, None, 4, 8000, 0, 0),
        str(cpc.id): row(
            str(cpc.id), "Boilers", 2, 1, 500_000, 30_000, None, 30_000, 0, 0, 1, 30_000
        ),
    }
    assert {r["key"]: r for r in by_unit["rows"]} == expected
    assert {r["name"]: r["spend_micros"] for r in by_campaign["rows"]} == {
        "Campaign cpm": 8000,
        "Campaign cpc": 30_000,
    }
    assert by_unit["totals"] == by_campaign["totals"] == TOTALS


def test_the_report_as_csv(key_client, advertiser, history):
    response = report(key_client(advertiser), group="day", accept="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines() == [
        "group,key,name,impressions,clicks,ctr_ppm,spend_micros,avg_cpm_micros,avg_cpc_micros",
        f"day,{DAY1.isoformat()},,3,0,0,6000,2000000,",
        f"day,{DAY2.isoformat()},,3,1,333333,32000,2000000,30000",
        "day,total,,6,1,166667,38000,2000000,30000",
    ]
    as_link = report(key_client(advertiser), group="day", format="csv")
    assert as_link.content == response.content


def test_an_error_asked_for_as_csv_stays_json(key_client, advertiser):
    response = report(key_client(advertiser), group="week", accept="text/csv")

    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json()["code"] == "invalid"


def test_a_range_outside_the_events_reports_nothing(key_client, advertiser, history):
    body = report(key_client(advertiser), **{"from": TODAY.isoformat()}).json()

    assert body["rows"] == []
    assert body["totals"] == row("total", "", 0, 0, 0, 0, None, None, 0, 0, 0, 0)


def test_void_events_are_not_counted_and_refused_ones_cost_nothing(key_client, advertiser, history):
    AdEvent.objects.filter(kind="impression", serving__bid_type="cpc").update(status="void")
    AdEvent.objects.filter(kind="click").update(status="unfunded", transaction_id=None)

    totals = report(key_client(advertiser)).json()["totals"]

    assert (totals["impressions"], totals["clicks"], totals["spend_micros"]) == (4, 1, 8000)
    assert totals["avg_cpc_micros"] == 0


def test_another_advertiser_sees_none_of_it(key_client, rival, history):
    body = report(key_client(rival)).json()

    assert body["rows"] == [] and body["totals"]["impressions"] == 0


def test_reports_need_an_advertiser_and_the_ads_scope(key_client, agent, advertiser):
    assert report(key_client(agent)).status_code == 403
    response = report(key_client(advertiser, scopes=["billing"]))
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


@pytest.mark.parametrize(
    "params",
    [
        {"group": "week"},
        {"from": "2026-13-01"},
        {"from": TODAY.isoformat(), "to": DAY1.isoformat()},
        {"from": (TODAY - timedelta(days=400)).isoformat()},
        {"colour": "blue"},
        {"from": "9999-12-31", "to": None},
        {"from": None, "to": "0001-01-02"},
        {"organization": "not-a-uuid"},
    ],
)
def test_bad_report_queries_are_400(key_client, advertiser, params):
    response = report(key_client(advertiser), **params)

    assert response.status_code == 400
    assert {"code", "message"} <= set(response.json())


# -- traces ------------------------------------------------------------------------------------


def test_traces_of_your_unit_newest_first_page_by_page(key_client, advertiser, history):
    client = key_client(advertiser)
    unit = history["cpm"]

    first = client.get("/api/v1/ads/traces", {"unit": str(unit.id), "limit": 3}).json()
    rest = client.get(
        "/api/v1/ads/traces", {"unit": str(unit.id), "before_id": first["next_before_id"]}
    ).json()

    assert len(first["results"]) == 3 and len(rest["results"]) == 1
    assert rest["next_before_id"] is None
    ids = [t["id"] for t in first["results"] + rest["results"]]
    assert ids == sorted(ids, reverse=True)
    assert first["results"][0]["candidates"] == [
        {
            "reason": "won",
            "own": True,
            "unit_id": str(unit.id),
            "score": 10.0,
            "price_micros": 2_000_000,
        }
    ]
    everything = client.get("/api/v1/ads/traces").json()["results"]
    assert len(everything) == 6


def test_another_advertisers_unit_is_404_and_its_traces_are_not_yours(key_client, rival, history):
    client = key_client(rival)

    response = client.get("/api/v1/ads/traces", {"unit": str(history["cpm"].id)})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert client.get("/api/v1/ads/traces").json() == {"results": [], "next_before_id": None}


@pytest.mark.parametrize(
    "params", [{"unit": "abc"}, {"limit": 0}, {"limit": 201}, {"before_id": -1}, {"x": 1}]
)
def test_bad_trace_queries_are_400(key_client, advertiser, params):
    assert key_client(advertiser).get("/api/v1/ads/traces", params).status_code == 400


# -- the ad repository -------------------------------------------------------------------------


def test_the_repository_lists_every_ad_served_to_any_organization(
    key_client, make_org, advertiser, history
):
    reader, _ = make_org(roles=("provider",))

    response = key_client(reader, scopes=["catalog"]).get("/api/v1/ads/repository")

    assert response.status_code == 200
    entries = {e["unit_id"]: e for e in response.json()["results"]}
    cpm = entries[str(history["cpm"].id)]
    assert cpm["impressions"] == 4
    assert (cpm["advertiser_name"], cpm["paid_by_name"]) == ("Warmth Ltd", "Warmth Ltd")
    assert cpm["paid_by_id"] == cpm["advertiser_id"] == str(advertiser.id)
    assert cpm["first_served_at"].startswith(DAY1.isoformat())
    assert cpm["last_served_at"].startswith(DAY2.isoformat())
    assert (cpm["title"], cpm["version"], cpm["bid_type"]) == ("Heat pumps", 1, "cpm")
    assert set(cpm["targeting"]) == {
        "keywords",
        "topics",
        "collections",
        "exclude_collections",
        "providers",
        "exclude_providers",
        "agent_orgs",
        "exclude_agent_orgs",
    }
    assert entries[str(history["cpc"].id)]["impressions"] == 2
    assert response.json()["next_offset"] is None


def test_the_repository_pages_and_filters_by_advertiser(key_client, agent, rival, history):
    client = key_client(agent)

    page = client.get("/api/v1/ads/repository", {"limit": 1}).json()
    theirs = client.get("/api/v1/ads/repository", {"advertiser": str(rival.id)}).json()

    assert len(page["results"]) == 1 and page["next_offset"] == 1
    assert theirs["results"] == []


def test_the_repository_needs_a_key_or_a_session(api_client):
    assert api_client.get("/api/v1/ads/repository").status_code in (401, 403)


@pytest.mark.parametrize("params", [{"advertiser": "x"}, {"offset": -1}, {"limit": 0}])
def test_bad_repository_queries_are_400(key_client, agent, params):
    assert key_client(agent).get("/api/v1/ads/repository", params).status_code == 400
