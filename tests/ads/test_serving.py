"""Recording servings and traces: what is kept, once, and what the agent can prove."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from ads import errors
from ads import services as ads
from ads.models import AdEvent, AdVersion, AuctionTrace, AuctionTraceUnit, Serving
from marketplace.services import receipts
from tests.acting import owner_of
from tests.ads.conftest import serve


def test_a_serving_keeps_what_was_shown_why_and_at_what_price(agent, advertiser, approved_unit):
    unit = approved_unit()

    recorded = serve(agent, "req-1", [unit], prices=[1_500_000], reasons=("keyword: heat pump",))

    (serving,) = recorded.servings
    assert recorded.created and recorded.skipped == ()
    assert (serving.request_id, serving.auction_id, serving.slot) == ("req-1", "auction-req-1", 0)
    assert (serving.unit_id, serving.unit_version, serving.advertiser_id) == (
        unit.id,
        1,
        advertiser.id,
    )
    assert (serving.advertiser_name, serving.title, serving.url) == (
        "Warmth Ltd",
        unit.title,
        unit.url,
    )
    assert (serving.bid_type, serving.price_micros, serving.currency) == ("cpm", 1_500_000, "USD")
    assert serving.reasons == ("keyword: heat pump",)
    event = AdEvent.objects.get()
    assert (event.kind, event.idempotency_key, event.amount_micros, event.status) == (
        "impression",
        f"impression:{serving.id}",
        1500,
        "pending",
    )
    assert ads.servings_for(request_id="req-1")[0].id == serving.id


def test_a_winner_whose_unit_changed_since_the_auction_is_not_served(
    agent, advertiser, approved_unit
):
    kept, edited = approved_unit(), approved_unit(title="Boilers, serviced")
    ads.update_unit(actor=owner_of(advertiser), unit_id=edited.id, body="New text, new review.")

    recorded = serve(agent, "req-2", [kept, edited])

    assert [s.unit_id for s in recorded.servings] == [kept.id]
    assert recorded.skipped == (edited.id,)
    assert Serving.objects.count() == AdEvent.objects.count() == 1


def test_bad_winners_are_refused_and_nothing_is_written(agent, approved_unit):
    unit = approved_unit()
    bad = [
        dict(price_micros=0),
        dict(price_micros=-5),
        dict(unit_version=0),
        dict(max_charge_micros=0),
        dict(reasons=("",)),
        dict(reasons=("x" * 201,)),
        dict(reasons=tuple("r" * 5 for _ in range(11))),
    ]
    for change in bad:
        winner = ads.ServedUnit(
            **{"unit_id": unit.id, "unit_version": 1, "price_micros": 1000, **change}
        )
        with pytest.raises(errors.ValidationFailed):
            ads.record_serving(
                request_id="req-bad", auction_id="a", agent_id=agent.id, winners=[winner]
            )
    with pytest.raises(errors.ValidationFailed):
        ads.record_serving(request_id="", auction_id="a", agent_id=agent.id, winners=[])
    with pytest.raises(errors.ValidationFailed):
        serve(agent, "req-bad", [unit, unit])

    assert not Serving.objects.exists() and not AuctionTrace.objects.exists()


def test_a_version_served_is_copied_once_for_the_repository(agent, advertiser, approved_unit):
    unit = approved_unit()

    serve(agent, "req-a", [unit])
    serve(agent, "req-b", [unit])

    version = AdVersion.objects.get()
    assert (version.unit_id, version.version, version.title) == (unit.id, 1, unit.title)
    assert version.targeting["keywords"] == []


def test_a_sponsored_item_is_labelled_and_signed_with_the_receipt_keys(agent, approved_unit):
    (serving,) = serve(agent, "req-signed", [approved_unit()]).servings

    item = ads.sponsored_item(serving, sign=receipts.sign_receipt)

    assert item["label"] == "Sponsored"
    assert (
        item["advertiser"]
        == item["paid_by"]
        == {
            "id": str(serving.advertiser_id),
            "name": "Warmth Ltd",
        }
    )
    assert item["reasons"] == ["keyword: heat"]
    assert item["click_url"] == serving.click_path
    assert "price_micros" not in item["signed"]["payload"]
    assert receipts.verify_receipt(item["signed"]).valid
    forged = {**item["signed"], "payload": {**item["signed"]["payload"], "title": "Other"}}
    assert not receipts.verify_receipt(forged).valid


def candidates_of(winner, loser, rival_unit):
    return [
        ads.TraceCandidate(unit_id=rival_unit.id, reason="outbid", score=900.0),
        ads.TraceCandidate(unit_id=loser.id, reason="below_floor", score=0.0),
        ads.TraceCandidate(unit_id=winner.id, reason="won", score=1200.0, price_micros=1_000_000),
    ]


@pytest.fixture
def rival_unit(rival, make_campaign, make_unit, operator):
    campaign = make_campaign(rival, starts_at=timezone.now() - timedelta(hours=1))
    unit = make_unit(rival, campaign.id)
    return ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=1)


def test_a_trace_keeps_winners_first_then_by_score_and_counts_the_rest(
    agent, advertiser, rival, approved_unit, rival_unit, settings
):
    settings.ADS_TRACE_MAX_CANDIDATES = 2
    winner, loser = approved_unit(), approved_unit(title="Second")

    serve(agent, "req-t", [winner], candidates=candidates_of(winner, loser, rival_unit))

    trace = AuctionTrace.objects.get()
    assert trace.candidates == [
        [str(winner.id), str(advertiser.id), "won", 1200.0, 1_000_000],
        [str(rival_unit.id), str(rival.id), "outbid", 900.0, None],
    ]
    assert trace.omitted == {"below_floor": 1}
    assert {(u.unit_id, u.advertiser_id) for u in trace.units.all()} == {
        (winner.id, advertiser.id),
        (rival_unit.id, rival.id),
    }


def test_an_advertiser_sees_its_own_candidates_and_only_the_reasons_of_others(
    agent, advertiser, rival, approved_unit, rival_unit
):
    winner, loser = approved_unit(), approved_unit(title="Second")
    serve(agent, "req-t", [winner], candidates=candidates_of(winner, loser, rival_unit))

    mine = ads.list_traces(actor=owner_of(advertiser)).results
    theirs = ads.list_traces(actor=owner_of(rival), unit_id=rival_unit.id).results

    assert [(c.own, c.unit_id, c.reason, c.price_micros) for c in mine[0].candidates] == [
        (True, winner.id, "won", 1_000_000),
        (False, None, "outbid", None),
        (True, loser.id, "below_floor", None),
    ]
    assert [(c.own, c.unit_id, c.reason, c.score) for c in theirs[0].candidates] == [
        (False, None, "won", None),
        (True, rival_unit.id, "outbid", 900.0),
        (False, None, "below_floor", None),
    ]


def test_another_advertisers_unit_has_no_traces_for_you(advertiser, rival_unit):
    with pytest.raises(errors.NotFound):
        ads.list_traces(actor=owner_of(advertiser), unit_id=rival_unit.id)


def test_a_candidate_with_an_unknown_reason_is_refused(agent, approved_unit):
    unit = approved_unit()
    with pytest.raises(errors.ValidationFailed):
        serve(agent, "req-r", [unit], candidates=[ads.TraceCandidate(unit.id, "lucky", 1.0)])
    with pytest.raises(errors.ValidationFailed):
        serve(agent, "req-r", [unit], candidates=[ads.TraceCandidate(unit.id, "won", float("nan"))])

    assert not Serving.objects.exists()


def test_traces_past_their_retention_are_purged(agent, approved_unit, settings):
    settings.ADS_TRACE_RETENTION_DAYS = 30
    unit = approved_unit()
    now = timezone.now()
    candidates = [ads.TraceCandidate(unit.id, "won", 1.0, 1000)]
    for days_ago, request_id in ((31, "old"), (29, "recent")):
        ads.record_serving(
            request_id=request_id,
            auction_id=f"auction-{request_id}",
            agent_id=agent.id,
            winners=[],
            candidates=candidates,
            now=now - timedelta(days=days_ago),
        )

    purged = ads.purge_traces(now=now)

    assert purged == 1
    assert list(AuctionTrace.objects.values_list("request_id", flat=True)) == ["recent"]
    assert AuctionTraceUnit.objects.count() == 1


def test_recording_an_auction_that_served_nothing_is_also_once(agent, approved_unit):
    unit = approved_unit()
    candidates = [ads.TraceCandidate(unit.id, "below_reserve", 0.5)]

    for _ in range(2):
        ads.record_serving(
            request_id="req-none",
            auction_id=f"auction-{uuid.uuid4()}",
            agent_id=agent.id,
            winners=[],
            candidates=candidates,
        )

    assert AuctionTrace.objects.count() == 1


def test_recording_an_auction_is_a_fixed_number_of_queries(
    agent, advertiser, approved_unit, django_assert_max_num_queries, settings
):
    settings.ADS_TRACE_MAX_CANDIDATES = 50
    units = [approved_unit(title=f"Unit {n}") for n in range(3)]
    candidates = [ads.TraceCandidate(u.id, "outbid", float(n)) for n, u in enumerate(units)]
    candidates += [ads.TraceCandidate(uuid.uuid4(), "below_floor", 0.0) for _ in range(100)]

    with django_assert_max_num_queries(12):
        recorded = serve(agent, "req-q", units, candidates=candidates)

    assert len(recorded.servings) == 3


def test_operators_see_every_serving_and_trace_in_the_admin(client, operator, agent, approved_unit):
    unit = approved_unit()
    (serving,) = serve(
        agent, "req-admin", [unit], candidates=[ads.TraceCandidate(unit.id, "won", 2.0, 1000)]
    ).servings
    client.force_login(operator)

    traces = client.get("/admin/ads/auctiontrace/")
    detail = client.get(f"/admin/ads/serving/{serving.id}/change/")

    assert traces.status_code == 200 and b"auction-req-admin" in traces.content
    assert detail.status_code == 200 and b"impression" in detail.content
