"""Properties of the rule on random instances (Hypothesis): truthful for one slot, prices
within [floor, bid], and the same decisions as the benchmark's naive loop over plain objects."""

import importlib.util
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ads.services.auction import AuctionParams, BidType, Reason, SecondPriceEngine
from tests.ads.auction.builders import candidates, unit

ENGINE = SecondPriceEngine()
PATH = Path(__file__).resolve().parents[3] / "bench" / "bench_auction.py"
_spec = importlib.util.spec_from_file_location("bench_auction", PATH)
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench  # dataclasses look their module up while the class is made
_spec.loader.exec_module(bench)

# Relevance, pacing and CTR on coarse grids make ties (equal scores) common, as they should be.
grid = st.integers(0, 20).map(lambda n: n / 20)
bids = st.integers(0, 5_000_000)


@st.composite
def bidder(draw, unit_id):
    bid_type = draw(st.sampled_from([BidType.CPM, BidType.CPC]))
    return unit(
        unit_id,
        draw(bids),
        u=draw(grid),
        bid_type=bid_type,
        ctr=draw(st.integers(1, 50).map(lambda n: n / 1000)) if bid_type == BidType.CPC else 0.0,
        pacing=draw(st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.0])),
        advertiser=draw(st.integers(1, 4)),
        reason=draw(st.sampled_from([Reason.ELIGIBLE] * 6 + [Reason.NOT_APPROVED])),
    )


@st.composite
def auctions(draw, max_slots=3):
    count = draw(st.integers(0, 12))
    ids = draw(st.lists(st.integers(1, 10_000), min_size=count, max_size=count, unique=True))
    units = [draw(bidder(unit_id)) for unit_id in ids]
    params = AuctionParams(
        slots=draw(st.integers(1, max_slots)),
        relevance_floor=draw(st.sampled_from([0.0, 0.1, 0.5])),
        reserve_micros=float(draw(st.sampled_from([0, 1, 100, 1000, 333]))),
        beta=draw(st.sampled_from([0.0, 1.0, 2.0, 1.5])),
        floor_cpm_micros=draw(st.sampled_from([0, 100_000, 1_000_000])),
        floor_cpc_micros=draw(st.sampled_from([0, 10_000])),
    )
    return units, params


def _payoff(units, params, index, bid, value):
    """Return the focal unit's utility per event: value - price if it wins, else 0."""
    changed = [dict(row) for row in units]
    changed[index]["max_bid_micros"] = bid
    result = ENGINE.run(candidates(*changed), params)
    slots = result.winners.tolist()
    if index not in slots:
        return 0
    return value - int(result.price_micros[slots.index(index)])


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_one_slot_bidding_your_value_is_a_dominant_strategy(data):
    units, params = data.draw(auctions(max_slots=1))
    # The focal advertiser has one unit here (with several, its best unit competes).
    focal = {**data.draw(bidder(20_000)), "advertiser_id": 99}
    units = [*units, focal]
    index = len(units) - 1
    value = data.draw(bids)  # what an event is worth to the focal advertiser
    truthful = _payoff(units, params, index, value, value)
    assert truthful >= 0  # never pays above its value when it bids it
    near = st.sampled_from([value - 1, value + 1, value * 2, value // 2])
    lies = data.draw(st.lists(st.one_of(bids, st.integers(0, 50_000_000), near), max_size=6))
    for lie in [*lies, 0]:
        if lie >= 0:
            assert _payoff(units, params, index, lie, value) <= truthful, (lie, value)


@settings(max_examples=400, deadline=None)
@given(instance=auctions())
def test_prices_lie_between_the_floor_and_the_bid_and_winners_qualify(instance):
    units, params = instance
    c = candidates(*units)
    result = ENGINE.run(c, params)
    winners = result.winners.tolist()
    assert len(winners) <= params.slots
    assert len({int(c.advertiser_id[i]) for i in winners}) == len(winners)
    scores = result.scores[winners].tolist()
    assert scores == sorted(scores, reverse=True)
    for i, price in zip(winners, result.price_micros.tolist(), strict=True):
        floor = params.floor_cpc_micros if c.bid_type[i] == BidType.CPC else params.floor_cpm_micros
        assert floor <= price <= int(c.max_bid_micros[i])
        assert c.relevance[i] >= params.relevance_floor
        assert result.scores[i] >= params.reserve_micros
        assert result.reasons[i] == Reason.WON
    assert int((result.reasons == Reason.WON).sum()) == len(winners)


@settings(max_examples=300, deadline=None)
@given(instance=auctions())
def test_the_engine_decides_as_the_naive_loop_does(instance):
    units, params = instance
    c = candidates(*units)
    result = ENGINE.run(c, params)
    winners, reasons = bench.naive_auction(bench.plain_units(c), c.relevance.tolist(), params)
    assert winners == list(zip(result.unit_ids.tolist(), result.price_micros.tolist(), strict=True))
    assert reasons == result.reasons.tolist()
