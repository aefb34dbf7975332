"""The auction with budget holds: a winner whose campaign cannot pay is replaced."""

from ads.services.auction import LocalBudgetStore, Reason, cost_micros, run_and_reserve
from tests.ads.auction.builders import CPC, CPM, candidates, params, unit

A = unit(1, 2_000_000, u=0.5, campaign=10)  # score 1000
B = unit(2, 1_000_000, u=0.9, campaign=20)  # score 900
C = unit(3, 50_000, u=0.8, bid_type=CPC, ctr=0.02, campaign=30)  # score 800
RESERVE = params(reserve_micros=100.0)


def stocked(**budgets):
    store = LocalBudgetStore(clock=lambda: 1_764_590_400.0)
    for campaign, micros in budgets.items():
        store.set_limits(int(campaign[1:]), total_micros=micros, daily_micros=micros)
    return store


def reasons(result):
    return [Reason(int(r)).code for r in result.reasons]


def test_a_unit_served_costs_its_price_per_1000_rounded_up_or_its_price_per_click():
    assert cost_micros(CPM, 1_800_000) == 1_800
    assert cost_micros(CPM, 1_800_001) == 1_801
    assert cost_micros(CPC, 31_250) == 31_250


def test_the_winner_holds_its_cost_against_its_campaign():
    store = stocked(c10=5_000, c20=5_000)
    served = run_and_reserve(candidates(A, B), RESERVE, store=store)
    assert served.rounds == 1
    assert served.result.unit_ids.tolist() == [1]
    assert [(h.campaign_id, h.amount_micros) for h in served.reservations] == [(10, 1_800)]
    assert store.remaining(10).reserved_micros == 1_800


def test_a_winner_out_of_budget_is_replaced_and_the_next_pays_its_own_second_price():
    store = stocked(c10=0, c20=5_000, c30=5_000)
    served = run_and_reserve(candidates(A, B, C), RESERVE, store=store)
    assert served.rounds == 2
    assert served.result.unit_ids.tolist() == [2]
    assert served.result.price_micros.tolist() == [888_889]  # priced by C, as if A were absent
    assert reasons(served.result) == ["out_of_budget", "won", "outbid"]
    assert [(h.campaign_id, h.amount_micros) for h in served.reservations] == [(20, 889)]
    assert store.remaining(10).reserved_micros == 0


def test_holds_of_a_round_that_is_run_again_are_given_back():
    store = stocked(c10=5_000, c20=0, c30=50_000)
    served = run_and_reserve(
        candidates(A, B, C), params(slots=2, reserve_micros=100.0), store=store
    )
    assert served.result.unit_ids.tolist() == [1, 3]
    assert [h.amount_micros for h in served.reservations] == [1_600, 6_250]  # C: 100 / 0.016
    assert store.remaining(10).reserved_micros == 1_600  # the first round's 1,800 came back


def test_the_last_unit_of_a_budget_takes_what_is_left_or_nothing_when_not_partial():
    store = stocked(c10=1_000, c20=5_000)
    served = run_and_reserve(candidates(A, B), RESERVE, store=store)
    assert [(h.campaign_id, h.amount_micros) for h in served.reservations] == [(10, 1_000)]
    store = stocked(c10=1_000, c20=5_000)
    whole = run_and_reserve(candidates(A, B), RESERVE, store=store, partial=False)
    # B alone: the reserve, 100 / 0.0009 = 111,112 per 1,000, so 112 micros for one
    assert [(h.campaign_id, h.amount_micros) for h in whole.reservations] == [(20, 112)]


def test_after_the_last_round_winners_without_a_hold_are_dropped_from_the_result():
    store = stocked(c10=0, c20=0, c30=0)
    served = run_and_reserve(candidates(A, B, C), RESERVE, store=store, max_rounds=2)
    assert served.rounds == 2
    assert served.result.unit_ids.tolist() == []
    assert served.reservations == ()
    assert reasons(served.result) == ["out_of_budget", "out_of_budget", "outbid"]


def test_holds_named_after_the_auction_are_not_taken_twice_on_a_retry():
    store = stocked(c10=5_000, c20=5_000)
    first = run_and_reserve(candidates(A, B), RESERVE, store=store, hold_prefix="auction-9")
    again = run_and_reserve(candidates(A, B), RESERVE, store=store, hold_prefix="auction-9")
    assert first.reservations == again.reservations
    assert store.remaining(10).reserved_micros == 1_800
