"""Prepaid wallets on the answer path: the worst case is held before the answer is written,
settled on what it was metered at, and released once rating has drawn the wallet."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services as billing
from billing.models import WalletHold
from licensing.models import AnswerRecord, UsageEvent
from marketplace import errors
from marketplace.services.answers import inference

pytestmark = pytest.mark.django_db

HEAT_QUESTION = "How does a heat pump keep working in freezing weather?"


@pytest.fixture(autouse=True)
def _holds_on(settings):
    settings.BILLING_WALLET_HOLDS = True


def _ask(client, **body):
    return client.post("/api/v1/answers", {"question": HEAT_QUESTION, **body}, format="json")


def _line(org):
    return billing.balance_of(organization_id=org.id).currencies[0]


def _fund(org, micros):
    billing.grant_credit(organization_id=org.id, amount_micros=micros, idempotency_key=str(org.id))


def test_an_unfunded_prepaid_agent_is_refused_402_before_anything_is_written(market, agent_client):
    response = _ask(agent_client)

    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "insufficient_funds"
    assert body["message"].startswith("Your wallet cannot cover this answer: it needs up to ")
    assert "0 USD is available" in body["message"]
    assert body["details"]["available_micros"] == 0
    assert body["details"]["needed_micros"] > 0
    assert AnswerRecord.objects.count() == 0 and UsageEvent.objects.count() == 0
    assert WalletHold.objects.count() == 0


def test_a_wallet_short_of_the_worst_case_is_refused_and_says_what_it_has(market, agent_client):
    _fund(market.agent, 1000)

    response = _ask(agent_client)

    assert response.status_code == 402
    details = response.json()["details"]
    assert (details["wallet_micros"], details["available_micros"]) == (1000, 1000)
    assert details["needed_micros"] > 1000
    assert "0.001 USD is available" in response.json()["message"]
    assert _line(market.agent).reserved_micros == 0


def test_an_answer_holds_its_cost_until_rating_draws_the_wallet(market, agent_client, settings):
    _fund(market.agent, 1_000_000)

    response = _ask(agent_client)

    assert response.status_code == 200, response.json()
    total = response.json()["cost"]["total_micros"]
    assert total > 0
    assert WalletHold.objects.get().amount_micros == total  # settled, or metered at its quote
    line = _line(market.agent)
    assert (line.wallet_micros, line.reserved_micros) == (1_000_000, total)
    assert line.available_micros == 1_000_000 - total
    over = timezone.now() + timedelta(seconds=settings.BILLING_HOLD_TTL_S + 1)
    assert billing.release_wallet_holds(now=over).released == 0  # not rated yet: still held

    billing.rate_usage()
    assert billing.release_wallet_holds(now=over).released == 1

    line = _line(market.agent)
    assert (line.wallet_micros, line.reserved_micros) == (1_000_000 - total, 0)
    assert WalletHold.objects.count() == 0
    assert billing.release_wallet_holds() == billing.HoldRelease(marked=0, released=0)


def test_what_is_held_for_one_answer_is_not_promised_to_the_next(market, agent_client):
    _fund(market.agent, 1_000_000)
    first = _ask(agent_client).json()
    needed = first["cost"]["total_micros"]
    # Spend the wallet down (another agent's charge, say) to just what the first answer owes.
    billing.post_transaction(
        billing.NewTransaction(
            idempotency_key="spend",
            kind="use",
            legs=(
                billing.debit(
                    billing.org_account(market.agent.id, "agent_wallet", "USD"),
                    1_000_000 - needed,
                ),
                billing.credit(
                    billing.platform_account("platform_revenue", "USD"), 1_000_000 - needed
                ),
            ),
            effective_at=timezone.now(),
        )
    )

    response = _ask(agent_client)

    assert response.status_code == 402
    assert response.json()["details"]["available_micros"] == 0
    assert response.json()["details"]["reserved_micros"] == needed


def test_a_failed_answer_releases_its_hold(market, agent_client, monkeypatch):
    _fund(market.agent, 1_000_000)

    def no_answer(answer_plan, answer, statistics):
        raise errors.NotFound("nothing grounds it", code="no_answer")

    monkeypatch.setattr(inference, "_keep_grounding", no_answer)

    response = _ask(agent_client)

    assert response.status_code == 404
    assert WalletHold.objects.count() == 0
    assert _line(market.agent).reserved_micros == 0


def test_a_streamed_answer_settles_its_hold(market, agent_client):
    _fund(market.agent, 1_000_000)

    response = _ask(agent_client, stream=True)
    body = b"".join(response.streaming_content)

    assert response.status_code == 200
    assert b"answer.completed" in body
    total = AnswerRecord.objects.get().total_micros
    assert WalletHold.objects.get().amount_micros == total
    assert _line(market.agent).reserved_micros == total


def test_a_stream_refused_for_funds_is_a_402_before_it_starts(market, agent_client):
    response = _ask(agent_client, stream=True)

    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_funds"


def test_postpaid_organizations_are_not_held(market, agent_client):
    billing.set_postpaid(organization_id=market.agent.id, postpaid=True)

    response = _ask(agent_client)

    assert response.status_code == 200
    assert WalletHold.objects.count() == 0


def test_holds_off_answers_are_not_held(market, agent_client, settings):
    settings.BILLING_WALLET_HOLDS = False

    assert _ask(agent_client).status_code == 200
    assert WalletHold.objects.count() == 0


def test_the_hold_of_an_answer_that_never_finished_is_released_after_its_time(market, settings):
    _fund(market.agent, 1_000_000)
    assert billing.hold_for_answer(
        organization_id=market.agent.id, request_id="ans_dead", amount_micros=5000, currency="USD"
    )
    assert (
        billing.hold_for_answer(  # the same request again holds nothing more
            organization_id=market.agent.id,
            request_id="ans_dead",
            amount_micros=5000,
            currency="USD",
        )
        is False
    )
    assert _line(market.agent).reserved_micros == 5000
    assert billing.release_wallet_holds() == billing.HoldRelease(marked=0, released=0)

    later = timezone.now() + timedelta(seconds=settings.BILLING_HOLD_TTL_S + 1)
    assert billing.release_wallet_holds(now=later) == billing.HoldRelease(marked=1, released=1)
    assert _line(market.agent).reserved_micros == 0


def test_an_answer_metered_at_its_worst_case_keeps_its_hold_until_its_time(
    market, agent_client, monkeypatch, settings
):
    _fund(market.agent, 1_000_000)
    from marketplace.services.answers import funds

    monkeypatch.setattr(funds, "worst_case_micros", lambda plan: 2000)  # one source, as metered
    response = _ask(agent_client, max_sources=1)
    assert response.json()["cost"]["total_micros"] == 2000
    assert WalletHold.objects.get().status == "held"  # nothing to settle
    billing.rate_usage()
    assert billing.release_wallet_holds().released == 0

    later = timezone.now() + timedelta(seconds=settings.BILLING_HOLD_TTL_S + 1)
    assert billing.release_wallet_holds(now=later).released == 1
    line = _line(market.agent)
    assert (line.wallet_micros, line.reserved_micros) == (1_000_000 - 2000, 0)


def test_holding_adds_a_bounded_number_of_queries(
    market, agent_client, django_assert_max_num_queries
):
    _fund(market.agent, 1_000_000)
    _ask(agent_client)  # warm the entitlement cache
    # The answer path's 9, and: postpaid?, hold (savepoint, wallet update, hold row, release),
    # settle (savepoint, hold update, wallet update, release).
    with django_assert_max_num_queries(9 + 9):
        response = _ask(agent_client)
    assert response.status_code == 200


def test_an_answer_metered_below_its_worst_case_is_settled_at_once(
    market, agent_client, monkeypatch
):
    _fund(market.agent, 1_000_000)
    from marketplace.services.answers import funds

    monkeypatch.setattr(funds, "worst_case_micros", lambda plan: 50_000)

    response = _ask(agent_client)

    total = response.json()["cost"]["total_micros"]
    hold = WalletHold.objects.get()
    assert (hold.status, hold.amount_micros) == ("settled", total)
    assert _line(market.agent).reserved_micros == total
    billing.rate_usage()
    assert billing.release_wallet_holds() == billing.HoldRelease(marked=1, released=1)
    assert _line(market.agent).reserved_micros == 0


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_an_answer_is_rated_in_the_background_soon_after(
    market, agent_client, settings
):
    settings.BILLING_WITHOUT_BROKER = "thread"
    _fund(market.agent, 1_000_000)

    response = _ask(agent_client)

    assert response.status_code == 200, response.json()
    total = response.json()["cost"]["total_micros"]
    assert billing.background_rating.wait_idle(timeout=30)
    line = _line(market.agent)
    assert line.wallet_micros == 1_000_000 - total  # drawn by rating, no command run
    assert billing.check_ledger().ok


@pytest.mark.django_db(transaction=True)
def test_with_rating_off_without_a_broker_nothing_is_rated_until_asked(
    market, agent_client, settings
):
    settings.BILLING_WITHOUT_BROKER = "off"
    _fund(market.agent, 1_000_000)

    assert _ask(agent_client).status_code == 200

    assert billing.background_rating.wait_idle(timeout=30)
    assert _line(market.agent).wallet_micros == 1_000_000
    billing.rating_pass()
    assert _line(market.agent).wallet_micros < 1_000_000
