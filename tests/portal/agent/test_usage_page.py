"""The agent's usage and cost page: totals, charts and tables by day, provider and collection
from the agent's own answers only, CSV exports, and a bad period shown next to its field."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from licensing import services as licensing
from licensing.models import UsageEvent
from marketplace.services import answers
from portal.charts import LEFT
from tests.acting import acting_for

pytestmark = pytest.mark.django_db


def _answer(agent, question):
    return answers.answer_question(answers.plan(agent_id=agent.id, question=question))


def _page(market, query=None, client=None):
    return (client or Client()).get(f"/orgs/{market.agent.id}/usage/", query or {})


@pytest.fixture
def used(market):
    """Two answers of the agent: heat pumps (Northwind, paid) and sleep (Helio, free)."""
    heat = _answer(market.agent, "How does a heat pump keep working in freezing weather?")
    sleep = _answer(market.agent, "How does sleep help memory?")
    return heat, sleep


def test_usage_shows_totals_charts_and_cost_by_provider_and_collection(market, used, agent_browser):
    heat, sleep = used
    response = _page(market, client=agent_browser)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="value" data-testid="answers-total">2</span>' in html
    cost = heat.total_micros + sleep.total_micros
    assert cost == heat.total_micros > 0  # the sleep offer is free, with attribution
    assert f'data-testid="cost-total">{cost / 1_000_000:.3f}' in html
    assert html.count('<svg class="chart"') == 2  # cost and answers per day
    assert '<ul class="shares chart" aria-label="Cost by provider">' in html
    assert '<ul class="shares chart" aria-label="Cost by collection">' in html
    for name in ("Northwind Press", "Helio Science", "Energy", "Sleep"):
        assert name in html, name


def test_each_table_exports_as_csv(market, used, agent_browser):
    heat, _ = used
    url = f"/orgs/{market.agent.id}/usage/"

    def rows(name):
        response = agent_browser.get(url, {"format": "csv", "table": name})
        assert response.status_code == 200
        return list(csv.reader(io.StringIO(response.content.decode())))

    providers = rows("providers")
    assert providers[0] == ["Provider", "Answers", "Searches", "Sources used", "Cost (USD)"]
    heat_events = len(heat.sources)
    assert providers[1] == [
        "Northwind Press",
        "1",
        "0",
        str(heat_events),
        f"{heat.total_micros / 1_000_000:.3f}",
    ]
    assert providers[2][0] == "Helio Science" and providers[2][4] == "0.00"
    collections = {r[0]: r for r in rows("collections")[1:]}
    assert set(collections) == {"Energy", "Sleep"}
    today = timezone.now().date().isoformat()
    daily = rows("daily")
    assert len(daily) == 1 + 30
    assert daily[1][:2] == [today, "2"]
    caps = {r[0]: r for r in rows("caps")[1:]}
    assert caps["Per source"][1:] == [
        "Northwind Press",
        f"{heat.total_micros / 1_000_000:.3f}",
        "No cap",
    ]


def test_another_agents_usage_is_not_counted(market, used, make_org, agent_browser):
    other, owner = make_org(roles=("agent",), name="Other Agents")
    licensing.accept_offer(**acting_for(other), offer_id=market.canals_offer.id)
    _answer(other, "When did the Panama Canal open?")
    assert UsageEvent.objects.filter(agent=other).exists()

    mine = _page(market, client=agent_browser).content.decode()
    client = Client()
    client.force_login(owner)
    theirs = client.get(f"/orgs/{other.id}/usage/").content.decode()

    assert "Harbor Guides" not in mine and "Canals" not in mine
    assert 'data-testid="answers-total">1</span>' in theirs
    assert "Northwind Press" not in theirs
    assert client.get(f"/orgs/{market.agent.id}/usage/").status_code == 404


def test_the_period_can_be_chosen(market, used, agent_browser):
    week = _page(market, {"days": "7"}, client=agent_browser)
    today = timezone.now().date()
    custom = _page(
        market,
        {"since": (today - timedelta(days=2)).isoformat(), "until": today.isoformat()},
        client=agent_browser,
    )
    past = _page(
        market,
        {"since": "2020-01-01", "until": "2020-01-31"},
        client=agent_browser,
    )

    assert 'aria-current="true">7 days' in week.content.decode()
    assert 'data-testid="answers-total">2</span>' in custom.content.decode()
    assert "Jan 1 to Jan 31, 2020" in past.content.decode()
    assert 'data-testid="answers-total">0</span>' in past.content.decode()


@pytest.mark.parametrize(
    ("query", "field", "problem"),
    [
        ({"since": "2024-02-30"}, "since", "Enter a valid date."),
        ({"since": "2024-03-02", "until": "2024-03-01"}, "since", "On or before until."),
        ({"since": "2020-01-01", "until": "2024-01-01"}, "since", "Too far back."),
    ],
)
def test_a_bad_period_is_shown_next_to_its_field(market, agent_browser, query, field, problem):
    response = _page(market, query, client=agent_browser)

    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert problem in html
    assert '<details class="more" open>' in html


def test_a_small_count_labels_each_axis_value_once(market, used, agent_browser):
    html = _page(market, client=agent_browser).content.decode()
    chart = re.search(r'<svg class="chart"[^>]*answers-chart.*?</svg>', html, re.S).group(0)

    axis = re.findall(rf'<text x="{LEFT - 6}" y="[^"]+" text-anchor="end">([^<]*)</text>', chart)
    assert axis == ["0", "1", "2"]
