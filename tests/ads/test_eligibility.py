"""The units an auction may consider: approved, active, of an active campaign in schedule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ads import services as ads
from tests.acting import owner_of

pytestmark = pytest.mark.django_db


def test_only_approved_active_units_of_running_campaigns_are_eligible(
    advertiser, make_campaign, make_unit, approved_unit, operator
):
    now = timezone.now()
    actor = owner_of(advertiser)
    serving = approved_unit(title="Serving")
    paused_unit = approved_unit(title="Paused unit")
    ads.pause_unit(actor=actor, unit_id=paused_unit.id)
    paused_campaign = approved_unit(title="Paused campaign")
    ads.pause_campaign(actor=actor, campaign_id=paused_campaign.campaign_id)
    ended = approved_unit(title="Ended")
    ads.end_campaign(actor=actor, campaign_id=ended.campaign_id)
    approved_unit(title="Over soon", campaign={"ends_at": now + timedelta(minutes=5)})
    future = make_campaign(advertiser, starts_at=now + timedelta(days=1))
    later = make_unit(advertiser, future.id, title="Later")
    ads.approve_unit(reviewer_id=operator.pk, unit_id=later.id, version=1)
    waiting = make_campaign(advertiser)
    make_unit(advertiser, waiting.id, title="Pending")
    rejected = make_unit(advertiser, waiting.id, title="Rejected")
    ads.reject_unit(reviewer_id=operator.pk, unit_id=rejected.id, version=1, reason="No.")

    eligible = ads.eligible_units(now=now + timedelta(minutes=10))
    tomorrow = ads.eligible_units(now=now + timedelta(days=2))

    assert [u.title for u in eligible] == ["Serving"]
    assert sorted(u.title for u in tomorrow) == ["Later", "Serving"]
    unit = eligible[0]
    assert (unit.unit_id, unit.version, unit.campaign_id) == (serving.id, 1, serving.campaign_id)
    assert (unit.advertiser_id, unit.advertiser_name) == (advertiser.id, "Warmth Ltd")
    assert (unit.bid_type, unit.max_bid_micros, unit.currency) == ("cpm", 5_000_000, "USD")
    assert (unit.pacing, unit.total_budget_micros, unit.daily_budget_micros) == (
        "even",
        100_000_000,
        None,
    )
    assert unit.targeting == ads.Targeting()
    assert ads.eligible_units(now=now + timedelta(minutes=10), currency="EUR") == []


def test_an_edited_unit_leaves_the_auction_until_approved_again(
    advertiser, approved_unit, operator
):
    unit = approved_unit()
    ads.update_unit(actor=owner_of(advertiser), unit_id=unit.id, body="Now cheaper.")

    assert ads.eligible_units() == []

    ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=2)
    assert [(u.unit_id, u.version, u.body) for u in ads.eligible_units()] == [
        (unit.id, 2, "Now cheaper.")
    ]


def test_eligible_units_is_one_query_however_many_units(
    advertiser, approved_unit, collection, django_assert_num_queries
):
    for n in range(12):
        approved_unit(title=f"Unit {n}", targeting={"collections": [str(collection.id)]})

    with django_assert_num_queries(1):
        units = ads.eligible_units()

    assert len(units) == 12
    assert {u.targeting.collections for u in units} == {(collection.id,)}
