"""Choosing sponsored items for an answer: the snapshot, every eligibility rule, the holds."""

import math
import time
import uuid

import pytest

from ads import services as ads
from ads.services.auction import budget_store
from tests.acting import owner_of

pytestmark = pytest.mark.django_db

QUESTION = "How does a heat pump keep working in freezing weather?"
SOURCES = (
    "Cold-climate heat pumps keep working in freezing weather because outdoor air below zero "
    "still holds heat.",
)
HEAT = {"targeting": {"keywords": ["heat pump"], "topics": ["energy"]}}
TRAVEL = {
    "title": "Rail passes across Europe",
    "body": "One pass, thirty countries, second class or first.",
    "url": "https://rail.example.com/pass",
    "call_to_action": "See passes",
    "context_hints": "Someone planning a train journey through Europe.",
    "category": "travel",
    "targeting": {"keywords": ["train", "rail pass"]},
}


def context(agent, *, question=QUESTION, providers=(), collections=(), request_id=None):
    return ads.AdContext(
        request_id=request_id or f"ans_{uuid.uuid4().hex}",
        agent_id=agent.id,
        question=question,
        currency="USD",
        source_texts=SOURCES,
        provider_ids=tuple(p.id for p in providers),
        collection_ids=tuple(c.id for c in collections),
    )


def winners(selection):
    return [p.unit.unit_id for p in selection.placements]


def reasons_by_unit(selection):
    result, snapshot = selection.result, selection.snapshot
    return {snapshot.unit_ids[row]: ads_reason(result.reasons[row]) for row in range(len(snapshot))}


def ads_reason(code):
    from ads.services.auction import Reason

    return Reason(int(code)).code


def relevance_of(selection, unit_id):
    return float(selection.result.candidates.relevance[selection.snapshot.unit_rows[unit_id]])


def test_the_relevant_unit_wins_pays_the_second_price_and_its_cost_is_held(
    agent, approved_unit, rival_unit
):
    heat = approved_unit(**HEAT, max_bid_micros=5_000_000)
    pumps = rival_unit(**HEAT, title="Heat pump parts", max_bid_micros=2_000_000)
    rail = rival_unit(**TRAVEL)

    chosen = ads.select_sponsored(context(agent))

    assert winners(chosen) == [heat.id]
    assert reasons_by_unit(chosen) == {heat.id: "won", pumps.id: "outbid", rail.id: "below_floor"}
    u_heat, u_pumps = relevance_of(chosen, heat.id), relevance_of(chosen, pumps.id)
    # the least bid that still wins: the runner-up's score over the winner's weight
    expected = math.ceil(2_000_000 * u_pumps / u_heat * (1 - 1e-12))
    placement = chosen.placements[0]
    assert placement.price_micros == max(expected, 100_000)
    held = budget_store().remaining(str(heat.campaign_id))
    assert held.reserved_micros == placement.reservation.amount_micros
    assert placement.reservation.amount_micros == -(-placement.price_micros // 1000)
    assert placement.reasons[0] == "Matches the keywords: heat pump"
    assert placement.reasons[1] == "Its context hints match: heat, pumps"  # not "how"
    assert not any(r.startswith("About the topics") for r in placement.reasons)  # "energy"
    assert placement.reasons[-1] == f"Relevance to the question and its sources: {u_heat:.2f}"
    ads.release_selection(chosen)
    assert budget_store().remaining(str(heat.campaign_id)).reserved_micros == 0


def test_a_lone_unit_pays_the_reserve_over_its_weight_never_less_than_the_floor(
    agent, approved_unit
):
    heat = approved_unit(**HEAT)
    chosen = ads.select_sponsored(context(agent))
    u = relevance_of(chosen, heat.id)
    # gamma = 100 micros per unit served; the weight of a CPM bid is u / 1000
    expected = math.ceil(100 * 1000 / u * (1 - 1e-12))
    assert chosen.placements[0].price_micros == max(expected, 100_000)


def test_a_paused_or_edited_unit_stops_serving_at_once(agent, advertiser, approved_unit):
    heat = approved_unit(**HEAT)
    assert winners(ads.select_sponsored(context(agent))) == [heat.id]

    ads.pause_unit(actor=owner_of(advertiser), unit_id=heat.id)
    assert winners(ads.select_sponsored(context(agent))) == []

    ads.resume_unit(actor=owner_of(advertiser), unit_id=heat.id)
    assert winners(ads.select_sponsored(context(agent))) == [heat.id]
    ads.update_unit(actor=owner_of(advertiser), unit_id=heat.id, body="Now with a new body.")
    assert ads.select_sponsored(context(agent)).skipped_because == "no_units"


def test_a_sensitive_question_gets_no_auction_and_holds_nothing(agent, approved_unit, settings):
    heat = approved_unit(**HEAT)
    for question in (
        "My heat pump broke and I am thinking about suicide",
        "Do heat pumps come up in the ELECTIONS?",
        "Someone has chest pain near the heat pump",
        "Self-harm and heat pumps",
    ):
        chosen = ads.select_sponsored(context(agent, question=question))
        assert (chosen.skipped_because, chosen.placements) == ("sensitive_question", ())
    assert ads.sensitive_term("Is electricity cheaper at night?") is None  # not "election"
    assert ads.sensitive_term("The voting age", terms=["vote"]) is None
    assert ads.sensitive_term("Did you vote?", terms=["vote"]) == "vote"
    settings.ADS_SENSITIVE_TERMS = []
    assert winners(ads.select_sponsored(context(agent, question="suicide heat pump"))) == [heat.id]


def test_a_provider_that_forbids_ads_gets_none_beside_its_content(
    agent, provider, make_org, approved_unit
):
    heat = approved_unit(**HEAT)
    other, _ = make_org(roles=("provider",))
    ads.set_ad_preferences(actor=owner_of(provider), allow_ads=False)

    alone = ads.select_sponsored(context(agent, providers=[provider]))
    mixed = ads.select_sponsored(context(agent, providers=[other, provider]))
    elsewhere = ads.select_sponsored(context(agent, providers=[other]))

    assert (alone.skipped_because, mixed.skipped_because) == ("provider_opt_out",) * 2
    assert winners(elsewhere) == [heat.id]
    ads.set_ad_preferences(actor=owner_of(provider), allow_ads=True)  # seen at once
    assert winners(ads.select_sponsored(context(agent, providers=[provider]))) == [heat.id]


def test_blocked_advertisers_and_categories_are_not_served_beside_that_provider(
    agent, provider, advertiser, approved_unit, rival_unit
):
    heat = approved_unit(**HEAT, max_bid_micros=9_000_000)
    pumps = rival_unit(**HEAT, title="Heat pump parts", category="software")
    ads.set_ad_preferences(actor=owner_of(provider), blocked_advertisers=[advertiser.id])

    blocked = ads.select_sponsored(context(agent, providers=[provider]))
    assert winners(blocked) == [pumps.id]
    assert reasons_by_unit(blocked)[heat.id] == "blocked"

    ads.set_ad_preferences(
        actor=owner_of(provider), blocked_advertisers=[], blocked_categories=["software"]
    )
    by_category = ads.select_sponsored(context(agent, providers=[provider]))
    assert winners(by_category) == [heat.id]
    assert reasons_by_unit(by_category)[pumps.id] == "blocked"


def targeted(**targeting):
    return {"targeting": {"keywords": ["heat pump"], **targeting}}


def test_units_appear_only_where_their_targeting_allows(
    agent, advertiser, make_org, provider, collection, approved_unit
):
    other_agent, _ = make_org(roles=("agent",))
    pause = lambda unit: ads.pause_unit(actor=owner_of(advertiser), unit_id=unit.id)  # noqa: E731

    beside = approved_unit(**targeted(collections=[str(collection.id)]))
    chosen = ads.select_sponsored(context(agent, collections=[collection], providers=[provider]))
    assert winners(chosen) == [beside.id]
    assert "Targets answers from the collections: Energy" in chosen.placements[0].reasons
    assert winners(ads.select_sponsored(context(agent))) == []  # not beside that collection
    pause(beside)

    avoid = approved_unit(**targeted(exclude_providers=[str(provider.id)]))
    assert winners(ads.select_sponsored(context(agent, providers=[provider]))) == []
    assert winners(ads.select_sponsored(context(agent))) == [avoid.id]
    pause(avoid)

    only_them = approved_unit(**targeted(agent_orgs=[str(other_agent.id)]))
    assert winners(ads.select_sponsored(context(agent))) == []
    theirs = ads.select_sponsored(context(other_agent))
    assert winners(theirs) == [only_them.id]
    assert "Offered to your organization by name" in theirs.placements[0].reasons
    pause(only_them)

    not_them = approved_unit(**targeted(exclude_agent_orgs=[str(other_agent.id)]))
    assert winners(ads.select_sponsored(context(other_agent))) == []
    assert winners(ads.select_sponsored(context(agent))) == [not_them.id]


def test_an_auction_reads_nothing_from_the_database_once_its_process_has_a_snapshot(
    agent, provider, approved_unit, django_assert_num_queries
):
    heat = approved_unit(**HEAT)
    ads.release_selection(ads.select_sponsored(context(agent, providers=[provider])))

    with django_assert_num_queries(0):
        chosen = ads.select_sponsored(context(agent, providers=[provider]))

    assert winners(chosen) == [heat.id]


def test_a_snapshot_is_read_again_after_its_age_and_kept_when_nothing_changed(
    agent, advertiser, approved_unit, settings
):
    from ads.services.placement import current_snapshot

    settings.ADS_SNAPSHOT_MAX_AGE_S = 60
    heat = approved_unit(**HEAT)
    now = time.time() // 60 * 60 + 1  # the next call falls in the very next minute
    first = current_snapshot(currency="USD", now_s=now)
    assert current_snapshot(currency="USD", now_s=now + 61) is first  # the same units
    other = approved_unit(**{**HEAT, "title": "Heat pump parts"})
    later = current_snapshot(currency="USD", now_s=now + 61)  # a new generation: built again
    assert later is not first and set(later.unit_ids) == {heat.id, other.id}
