"""The auction rule, exact values: second price, floors, reserve, ties, K slots, traces."""

import numpy as np
import pytest

from ads.services.auction import (
    AuctionParams,
    AuctionResult,
    Candidates,
    Reason,
    SecondPriceEngine,
    auction_params,
    run_auction,
)
from tests.ads.auction.builders import CPC, candidates, params, unit

ENGINE = SecondPriceEngine()
# Scores (expected micros per unit served), with beta = 1 and pacing 1:
A = unit(1, 2_000_000, u=0.5)  # CPM: 2,000,000 / 1000 x 0.5 = 1000
B = unit(2, 1_000_000, u=0.9)  # CPM: 900
C = unit(3, 50_000, u=0.8, bid_type=CPC, ctr=0.02)  # CPC: 50,000 x 0.02 x 0.8 = 800


def run(*units, **changes):
    return ENGINE.run(candidates(*units), params(**changes))


def outcome(result):
    return list(zip(result.unit_ids.tolist(), result.price_micros.tolist(), strict=True))


def reasons(result):
    return [Reason(int(r)).code for r in result.reasons]


def test_the_winner_pays_the_least_bid_that_would_still_have_won():
    result = run(A, B)
    assert outcome(result) == [(1, 1_800_000)]  # 900 / (0.5 / 1000)
    assert reasons(result) == ["won", "outbid"]
    assert result.winner_scores.tolist() == [1000.0]


def test_cpc_and_cpm_compete_on_expected_micros_per_unit_served():
    assert outcome(run(A, C)) == [(1, 1_600_000)]  # 800 / 0.0005
    cheap_cpm = unit(4, 500_000, u=1.0)  # score 500
    assert outcome(run(C, cheap_cpm)) == [(3, 31_250)]  # 500 / (0.02 x 0.8), per click


def test_the_no_ad_reserve_sets_the_price_of_a_lone_winner_and_can_refuse_every_unit():
    assert outcome(run(A, reserve_micros=100.0)) == [(1, 200_000)]  # 100 / 0.0005
    assert outcome(run(A, reserve_micros=1000.0)) == [(1, 2_000_000)]  # exactly at the bid
    refused = run(A, B, reserve_micros=1000.5)
    assert outcome(refused) == []
    assert reasons(refused) == ["below_reserve", "below_reserve"]


def test_the_reserve_is_the_price_floor_when_it_beats_the_runner_up():
    assert outcome(run(A, B, reserve_micros=950.0)) == [(1, 1_900_000)]


def test_the_floor_price_raises_the_price_and_keeps_out_lower_bids():
    assert outcome(run(A, reserve_micros=100.0, floor_cpm_micros=250_000)) == [(1, 250_000)]
    low = unit(5, 90_000, u=1.0)  # would score 90 and win alone
    result = run(low, floor_cpm_micros=100_000)
    assert outcome(result) == []
    assert reasons(result) == ["below_price_floor"]
    # Each bid type has its own floor: a CPC floor of 60,000 keeps C (50,000) out, not A.
    assert reasons(run(A, C, floor_cpc_micros=60_000)) == ["won", "below_price_floor"]
    assert outcome(run(A, C, floor_cpc_micros=60_000)) == [(1, 0)]


def test_a_unit_below_the_relevance_floor_never_wins_whatever_its_bid():
    rich = unit(6, 10**12, u=0.05)
    result = run(rich, B, relevance_floor=0.1)
    assert reasons(result) == ["below_floor", "won"]
    assert outcome(result) == [(2, 0)]  # alone above the floor, no reserve, no floor price
    assert outcome(run(rich, B, relevance_floor=0.1, floor_cpm_micros=100_000)) == [(2, 100_000)]


def test_ties_go_to_the_lower_unit_id_whatever_the_order_and_the_winner_pays_its_bid():
    seven, three = unit(7, 1_000_000), unit(3, 1_000_000)
    for order in ((seven, three), (three, seven)):
        result = run(*order)
        assert outcome(result) == [(3, 1_000_000)]
    many = [unit(i, 1_000_000) for i in np.random.default_rng(3).permutation(range(10, 60))]
    result = run(*many)
    assert outcome(result) == [(10, 1_000_000)]
    assert sorted(reasons(result)) == ["outbid"] * 49 + ["won"]


def test_pacing_scales_the_score_and_the_price_undoes_it():
    paced = unit(1, 2_000_000, u=1.0, pacing=0.5)  # 1000
    rival = unit(2, 900_000, u=1.0)  # 900
    assert outcome(run(paced, rival)) == [(1, 1_800_000)]  # 900 / (0.5 x 0.001)
    stopped = unit(1, 2_000_000, u=1.0, pacing=0.0)
    assert reasons(run(stopped, rival)) == ["paced", "won"]


def test_beta_weighs_relevance():
    a = unit(1, 2_000_000, u=0.5)
    b = unit(2, 1_000_000, u=0.6)
    assert outcome(run(a, b, beta=1.0)) == [(1, 1_200_000)]  # 600 / 0.0005
    assert outcome(run(a, b, beta=2.0)) == [(1, 1_440_000)]  # 360 / (0.001 x 0.25)
    assert outcome(run(a, b, beta=3.0)) == [(1, 1_728_000)]  # 250 vs 216: 216 / (0.001 x 0.125)
    assert outcome(run(a, b, beta=0.0)) == [(1, 1_000_000)]  # relevance ignored: 2000 vs 1000


def test_k_slots_charge_each_winner_the_score_of_the_next():
    assert outcome(run(A, B, C, slots=2, reserve_micros=100.0)) == [
        (1, 1_800_000),  # 900 / 0.0005
        (2, 888_889),  # 800 / 0.0009 = 888,888.9 rounded up to a whole micro
    ]
    assert outcome(run(C, B, A, slots=3, reserve_micros=100.0)) == [
        (1, 1_800_000),
        (2, 888_889),
        (3, 6_250),  # the reserve: 100 / (0.02 x 0.8)
    ]
    fewer = run(A, B, C, slots=5, reserve_micros=100.0)
    assert len(fewer.winners) == 3
    assert reasons(fewer) == ["won", "won", "won"]


def test_one_unit_per_advertiser_and_its_own_units_never_set_its_price():
    sibling = unit(4, 1_900_000, u=0.5, advertiser=A["advertiser_id"])  # 950
    result = run(A, sibling, B)
    assert outcome(result) == [(1, 1_800_000)]  # priced by B (900), not by its sibling (950)
    assert reasons(result) == ["won", "outbid", "outbid"]
    two = run(A, sibling, B, slots=2, reserve_micros=100.0)
    assert outcome(two) == [(1, 1_800_000), (2, 111_112)]  # 100 / 0.0009 = 111,111.1


def test_the_runner_up_is_found_behind_many_units_of_one_advertiser():
    crowd = [unit(100 + i, 5_000_000 - i, advertiser=1) for i in range(40)]
    other = unit(9, 500_000, advertiser=2)  # 500
    result = run(*crowd, other, slots=1)
    assert outcome(result) == [(100, 500_000)]  # 500 / 0.001
    assert outcome(run(*crowd, other, slots=2)) == [(100, 500_000), (9, 0)]


def test_units_ineligible_before_the_auction_keep_their_reason():
    codes = [Reason.NOT_APPROVED, Reason.OUT_OF_BUDGET, Reason.BLOCKED, Reason.FREQUENCY_CAPPED,
             Reason.OFF_SCHEDULE, Reason.PACED]  # fmt: skip
    shut = [unit(10 + i, 10**9, reason=code) for i, code in enumerate(codes)]
    result = run(*shut, B)
    assert outcome(result) == [(2, 0)]
    assert reasons(result) == [code.code for code in codes] + ["won"]


def test_no_candidates_and_no_qualified_candidates_have_no_winner():
    empty = ENGINE.run(candidates(), params())
    assert outcome(empty) == []
    assert len(empty.reasons) == 0
    zero = run(unit(1, 1_000_000, u=0.0))  # score 0 never wins, even with no reserve
    assert reasons(zero) == ["below_reserve"]


def test_the_result_is_read_only_and_renders_a_trace():
    result = run(A, B, C)
    for array in (result.winners, result.price_micros, result.scores, result.reasons):
        assert not array.flags.writeable
    assert result.render_winners() == [
        {"slot": 0, "unit_id": 1, "campaign_id": 10, "advertiser_id": 100, "bid_type": "cpm",
         "price_micros": 1_800_000, "score": 1000.0},
    ]  # fmt: skip
    trace = result.render_trace()
    assert [(t["unit_id"], t["reason"]) for t in trace] == [(1, "won"), (2, "outbid"),
                                                             (3, "outbid")]  # fmt: skip
    assert trace[2] == {"unit_id": 3, "campaign_id": 30, "reason": "outbid", "relevance": 0.8,
                        "score": pytest.approx(800.0), "max_bid_micros": 50_000}  # fmt: skip
    assert result.reason_counts() == {"outbid": 2, "won": 1}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"relevance": 1.5}, "relevance"),
        ({"pacing": -0.1}, "pacing"),
        ({"est_ctr": float("nan")}, "est_ctr"),
        ({"max_bid_micros": -1}, "max_bid_micros"),
        ({"bid_type": 2}, "bid_type"),
        ({"reasons": Reason.WON}, "reasons"),  # an outcome is not an input
    ],
)
def test_bad_candidates_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        candidates({**A, **changes})


def test_arrays_of_different_lengths_and_bad_parameters_are_refused():
    good = candidates(A, B)
    with pytest.raises(ValueError, match="length"):
        good.with_relevance([0.5])
    with pytest.raises(ValueError, match="relevance"):
        good.with_relevance([0.5, 1.5])  # a question's relevance is checked as it comes in
    for bad in ({"slots": 0}, {"relevance_floor": 1.2}, {"reserve_micros": -1.0},
                {"beta": float("inf")}, {"floor_cpc_micros": -5}):  # fmt: skip
        with pytest.raises(ValueError):
            params(**bad)


class NoAdEngine:
    """An engine that never shows an ad: the setting picks it."""

    def run(self, candidates: Candidates, params: AuctionParams) -> AuctionResult:
        nothing = np.zeros(0, dtype=np.int64)
        return AuctionResult(
            candidates=candidates,
            winners=nothing,
            price_micros=nothing,
            scores=np.zeros(len(candidates)),
            reasons=np.full(len(candidates), Reason.BELOW_RESERVE, dtype=np.uint8),
        )


def test_the_engine_and_the_parameters_come_from_settings(settings):
    settings.ADS_SLOTS = 2
    settings.ADS_RELEVANCE_FLOOR = 0.0
    settings.ADS_RESERVE_MICROS = 100.0
    settings.ADS_BETA = 1.0
    settings.ADS_FLOOR_CPM_MICROS = 0
    settings.ADS_FLOOR_CPC_MICROS = 0
    assert auction_params() == params(slots=2, reserve_micros=100.0)
    assert auction_params(slots=3).slots == 3
    assert outcome(run_auction(candidates(A, B, C))) == [(1, 1_800_000), (2, 888_889)]
    settings.ADS_AUCTION_ENGINE = "tests.ads.auction.test_engine.NoAdEngine"
    assert outcome(run_auction(candidates(A, B, C))) == []
