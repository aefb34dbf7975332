"""Budgets, pacing, schedules and the frequency cap in the auction; recording what served."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ads import services as ads
from ads.models import AdEvent, AuctionTrace, Campaign, Serving
from ads.services.auction import budget_store
from tests.acting import owner_of
from tests.ads.test_placement import HEAT, TRAVEL, context, reasons_by_unit, winners

pytestmark = pytest.mark.django_db


def today_at(hour: int) -> float:
    day = timezone.now().astimezone(UTC).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp()


def spend(campaign_id, micros):
    store = budget_store()
    store.remaining_many([str(campaign_id)])  # loaded by the first auction
    hold = store.reserve(str(campaign_id), micros)
    store.settle(hold, spent_micros=micros)


def test_a_campaign_with_nothing_left_is_out_of_budget(agent, approved_unit, settings):
    settings.ADS_BUDGET_VIEW_MAX_AGE_S = 0  # read the budgets at every auction
    heat = approved_unit(**HEAT, campaign={"total_budget_micros": 10_000_000})
    ads.release_selection(ads.select_sponsored(context(agent)))  # loads its budget
    spend(heat.campaign_id, 10_000_000)

    chosen = ads.select_sponsored(context(agent))

    assert (winners(chosen), reasons_by_unit(chosen)[heat.id]) == ([], "out_of_budget")


def test_even_pacing_holds_back_a_campaign_ahead_of_the_day_and_asap_does_not(
    agent, approved_unit, rival_unit, settings
):
    settings.ADS_BUDGET_VIEW_MAX_AGE_S = 0  # read the budgets at every auction
    midnight = datetime.fromtimestamp(today_at(0), UTC)
    budget = {
        "total_budget_micros": 100_000_000,
        "daily_budget_micros": 10_000_000,
        "starts_at": midnight,
    }
    even = approved_unit(**HEAT, campaign={**budget, "pacing": "even"})
    asap = rival_unit(**HEAT, title="Heat pump parts", campaign={**budget, "pacing": "asap"})
    six_am = today_at(6)  # a quarter of the day gone
    ads.select_sponsored(context(agent), now_s=six_am)  # loads both budgets
    ads.release_selection(ads.select_sponsored(context(agent), now_s=six_am))
    spend(even.campaign_id, 2_000_000)  # 20% of today's budget: on pace
    spend(asap.campaign_id, 6_000_000)  # 60%: asap does not care

    on_pace = ads.select_sponsored(context(agent), now_s=six_am)
    assert set(reasons_by_unit(on_pace).values()) == {"won", "outbid"}
    ads.release_selection(on_pace)

    spend(even.campaign_id, 1_000_000)  # 30%: ahead of a quarter of the day
    ahead = ads.select_sponsored(context(agent), now_s=six_am)
    assert reasons_by_unit(ahead) == {even.id: "paced", asap.id: "won"}
    ads.release_selection(ahead)
    later = ads.select_sponsored(context(agent), now_s=today_at(9))  # 37.5% of the day gone
    assert reasons_by_unit(later)[even.id] in ("won", "outbid")
    ads.release_selection(later)


def test_a_snapshot_checks_schedules_when_it_serves(agent, approved_unit, rival_unit, settings):
    settings.ADS_SNAPSHOT_MAX_AGE_S = 10**9  # one snapshot for the whole test
    now = timezone.now()
    ending = approved_unit(**HEAT, campaign={"ends_at": now + timedelta(minutes=5)})
    starting = rival_unit(
        **HEAT, title="Heat pump parts", campaign={"starts_at": now + timedelta(minutes=2)}
    )

    first = ads.select_sponsored(context(agent), now_s=now.timestamp())
    assert reasons_by_unit(first) == {ending.id: "won", starting.id: "off_schedule"}
    ads.release_selection(first)
    later = ads.select_sponsored(context(agent), now_s=(now + timedelta(minutes=6)).timestamp())

    assert later.snapshot is first.snapshot
    assert reasons_by_unit(later) == {ending.id: "off_schedule", starting.id: "won"}
    ads.release_selection(later)


def test_an_agent_sees_a_unit_at_most_the_frequency_cap_a_day(
    agent, make_org, approved_unit, settings, django_capture_on_commit_callbacks
):
    settings.ADS_FREQUENCY_CAP = 2
    heat = approved_unit(**HEAT)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            ads.serve_selection(ads.select_sponsored(context(agent)))

    capped = ads.select_sponsored(context(agent))
    assert (winners(capped), reasons_by_unit(capped)[heat.id]) == ([], "frequency_capped")
    other, _ = make_org(roles=("agent",))
    assert winners(ads.select_sponsored(context(other))) == [heat.id]  # per agent org
    settings.ADS_FREQUENCY_CAP = 0
    assert winners(ads.select_sponsored(context(agent))) == [heat.id]


def test_recording_writes_the_serving_its_impression_and_the_trace_and_spends_the_hold(
    agent, approved_unit, rival_unit, settings, django_capture_on_commit_callbacks
):
    settings.ADS_TRACE_MAX_CANDIDATES = 1
    heat = approved_unit(**HEAT)
    rival_unit(**TRAVEL)
    rival_unit(**{**TRAVEL, "title": "Night trains"})
    chosen = ads.select_sponsored(context(agent))
    placement = chosen.placements[0]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        (served,) = ads.serve_selection(chosen)
        assert Serving.objects.count() == 0  # written once the answer commits
        assert budget_store().remaining(str(heat.campaign_id)).reserved_micros > 0

    assert len(callbacks) == 2  # recording, then charging what it recorded
    serving = Serving.objects.get()
    assert (serving.unit_id, serving.price_micros, list(serving.reasons)) == (
        heat.id,
        placement.price_micros,
        list(placement.reasons),
    )
    assert (served.id, served.click_path) == (serving.id, ads.click_path(serving.id))
    impression = AdEvent.objects.get(serving=serving)
    assert impression.amount_micros == placement.price_micros // 1000
    trace = AuctionTrace.objects.get()
    assert [row[2] for row in trace.candidates] == ["won"]
    assert trace.omitted == {"below_floor": 2}
    left = budget_store().remaining(str(heat.campaign_id))
    assert (left.reserved_micros, left.spent_micros) == (0, impression.amount_micros)


def test_a_winner_changed_since_the_auction_is_not_recorded_nor_charged(
    agent, advertiser, approved_unit, django_capture_on_commit_callbacks
):
    heat = approved_unit(**HEAT)
    chosen = ads.select_sponsored(context(agent))
    ads.pause_unit(actor=owner_of(advertiser), unit_id=heat.id)

    with django_capture_on_commit_callbacks(execute=True):
        ads.serve_selection(chosen)

    assert Serving.objects.count() == AdEvent.objects.count() == 0
    assert AuctionTrace.objects.get().request_id == chosen.context.request_id
    left = budget_store().remaining(str(heat.campaign_id))
    assert (left.reserved_micros, left.spent_micros) == (0, 0)  # its hold given back


def test_recording_is_once_per_request(agent, approved_unit, django_capture_on_commit_callbacks):
    approved_unit(**HEAT)
    chosen = ads.select_sponsored(context(agent))
    with django_capture_on_commit_callbacks() as callbacks:
        ads.serve_selection(chosen)
    (callback,) = callbacks
    callback()
    callback()  # a redelivered task

    assert Serving.objects.count() == AdEvent.objects.count() == AuctionTrace.objects.count() == 1


def test_reconcile_sets_the_store_to_charged_and_pending_events_and_frees_stale_holds(
    agent, approved_unit, settings, django_capture_on_commit_callbacks
):
    heat = approved_unit(**HEAT, campaign={"total_budget_micros": 50_000_000})
    chosen = ads.select_sponsored(context(agent))  # a hold nobody settles: its process died
    held = chosen.placements[0].reservation.amount_micros
    with django_capture_on_commit_callbacks(execute=True):
        ads.serve_selection(ads.select_sponsored(context(agent)))  # pending, not charged yet
    pending = AdEvent.objects.get().amount_micros
    campaign = Campaign.objects.get(id=heat.campaign_id)
    store = budget_store()
    settings.BILLING_HOLD_TTL_S = -1  # every hold counts as stale

    run = ads.reconcile_budgets()

    assert run.campaigns >= 1 and run.released_micros >= held
    left = store.remaining(str(campaign.id))
    assert (left.spent_micros, left.spent_today_micros, left.reserved_micros) == (
        pending,
        pending,
        0,
    )
    assert left.total_micros == 50_000_000 - pending


def test_a_click_takes_its_charge_from_the_budget_and_is_free_once_it_is_spent(
    agent, approved_unit, client, django_capture_on_commit_callbacks
):
    cpc = {**HEAT, "bid_type": "cpc", "max_bid_micros": 40_000}
    heat = approved_unit(**cpc, campaign={"total_budget_micros": 50_000})
    servings = []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            chosen = ads.select_sponsored(context(agent))
            servings += ads.serve_selection(chosen)
    store = budget_store()
    assert store.remaining(str(heat.campaign_id)).reserved_micros == 0  # a CPC hold goes back
    spend(heat.campaign_id, 50_000 - 7)  # 7 micros left

    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(servings[0].click_path).status_code == 302
        assert client.get(servings[1].click_path).status_code == 302

    clicks = AdEvent.objects.filter(kind="click").order_by("id")
    assert [(c.status, c.amount_micros) for c in clicks] == [
        ("pending", 7),  # the last micros of the budget cap the charge
        ("over_budget", 0),
    ]
    left = store.remaining(str(heat.campaign_id))
    assert (left.total_micros, left.spent_micros, left.reserved_micros) == (0, 50_000, 0)
