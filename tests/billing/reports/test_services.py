"""Billing reports as services: exact figures on a small month, equal to the month's statement,
one organization's data only, the role each report needs, bad input."""

from datetime import date, timedelta

import pytest

from accounts import errors as accounts_errors
from accounts import services as accounts
from billing import errors
from billing import services as billing
from billing.models import Purpose, Transaction
from tests.acting import acting_for, owner_of
from tests.billing.reports.conftest import LAST_MONTH, account_of, at, day, platform

pytestmark = pytest.mark.django_db


def _earnings(provider, **kwargs):
    kwargs.setdefault("since", day(1))
    kwargs.setdefault("until", day(28))
    return billing.provider_earnings(**acting_for(provider), **kwargs)


def test_earnings_by_day_are_each_days_payable_credits(month, provider):
    report = _earnings(provider, since=day(1), until=day(6))

    assert [(r.key, r.uses, r.cited_uses, r.answers, r.earned_micros) for r in report.rows] == [
        (day(1).isoformat(), 0, 0, 0, 0),
        (day(2).isoformat(), 2, 1, 1, 3600),
        (day(3).isoformat(), 1, 1, 1, 1800),
        (day(4).isoformat(), 0, 0, 0, 0),
        (day(5).isoformat(), 1, 1, 1, 1800),
        (day(6).isoformat(), 0, 0, 0, 0),
    ]
    total = report.total
    assert (total.uses, total.cited_uses, total.answers, total.transactions) == (4, 3, 3, 4)
    assert total.earned_micros == 7200
    assert total.attribution_weight_ppm == 2_500_000
    assert total.attribution_share_ppm == 833_333  # 2.5 answers' worth over 3 answers
    assert report.currency == "USD"
    assert report.rows_total == 6


def test_a_months_earnings_add_up_to_its_statements_payable_credits(month, provider):
    period = LAST_MONTH.strftime("%Y-%m")
    last_day = (LAST_MONTH.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)

    report = _earnings(provider, since=LAST_MONTH, until=last_day)
    statement = billing.statement_for(organization_id=provider.id, period=period)

    credits = sum(
        line.credit_micros for line in statement.lines if line.account == Purpose.PROVIDER_PAYABLE
    )
    assert (
        sum(r.earned_micros for r in report.rows) == report.total.earned_micros == credits == 7200
    )


def test_earnings_by_document_name_each_document(month, provider):
    report = _earnings(provider, group="document")

    guide, atlas = month["guide"], month["atlas"]
    assert [
        (r.key, r.label, r.uses, r.cited_uses, r.attribution_weight_ppm, r.attribution_share_ppm)
        for r in report.rows
    ] == [
        (str(guide.id), "Field guide", 2, 2, 1_600_000, 800_000),
        (str(atlas.id), "Atlas", 2, 1, 900_000, 450_000),
    ]  # as much earned by each and used as often: in key order
    # Each source used is an event rated on its own: its document earns its charge.
    assert {r.key: r.earned_micros for r in report.rows} == {
        str(atlas.id): 3600,
        str(guide.id): 3600,
    }
    assert report.total.earned_micros == 7200


def test_earnings_by_agent_name_each_agent(month, provider, agent):
    report = _earnings(provider, group="agent")

    assert [(r.label, r.uses, r.transactions, r.earned_micros) for r in report.rows] == [
        ("Acme Agents", 3, 3, 5400),
        ("Beta Bots", 1, 1, 1800),
    ]
    assert report.rows[0].key == str(agent.id)


def test_limit_lists_the_most_earned_first_and_counts_the_rest(month, provider):
    report = _earnings(provider, group="agent", limit=1)

    assert [r.label for r in report.rows] == ["Acme Agents"]
    assert report.rows_total == 2
    assert report.total.earned_micros == 7200


def test_agent_costs_by_day_and_provider(month, agent):
    by_day = billing.agent_costs(**acting_for(agent), since=day(2), until=day(3))
    by_provider = billing.agent_costs(
        **acting_for(agent), group="provider", since=day(1), until=day(28)
    )

    assert [(r.key, r.uses, r.metered_micros, r.charged_micros) for r in by_day.rows] == [
        (day(2).isoformat(), 3, 7000, 7000),
        (day(3).isoformat(), 0, 0, 0),
    ]
    assert [(r.label, r.uses, r.transactions, r.charged_micros) for r in by_provider.rows] == [
        ("Northwind Press", 3, 3, 6000),
        ("Elsewhere Media", 1, 1, 3000),
    ]
    assert by_provider.total.charged_micros == 9000


def test_reversed_uses_are_taken_back_and_payouts_are_not_earnings(month, provider):
    rated = Transaction.objects.get(
        kind="use", entries__effective_at=at(5), entries__amount_micros=-1800
    )
    billing.reverse_transaction(transaction_id=rated.id, effective_at=at(6))
    billing.post_transaction(
        billing.NewTransaction(
            idempotency_key="payout:test",
            kind=Transaction.Kind.PAYOUT,
            legs=(
                billing.debit(account_of(provider.id, Purpose.PROVIDER_PAYABLE, "USD"), 5000),
                billing.credit(platform(Purpose.STRIPE_CLEARING, "USD"), 5000),
            ),
            effective_at=at(7),
        )
    )

    report = _earnings(provider, since=day(5), until=day(7))

    assert [r.earned_micros for r in report.rows] == [1800, -1800, 0]
    assert report.total.earned_micros == 0


def test_advertiser_spend_by_day_and_kind(advertiser):
    by_day = billing.advertiser_spend(**acting_for(advertiser), since=day(1), until=day(4))
    by_kind = billing.advertiser_spend(
        **acting_for(advertiser), group="kind", since=day(1), until=day(4)
    )

    assert [(r.key, r.charges, r.spent_micros, r.added_micros) for r in by_day.rows] == [
        (day(1).isoformat(), 0, 0, 10_000_000),
        (day(2).isoformat(), 0, 0, 0),
        (day(3).isoformat(), 0, 0, 0),
        (day(4).isoformat(), 2, 1_000_000, 0),
    ]
    assert [(r.key, r.label, r.spent_micros, r.added_micros) for r in by_kind.rows] == [
        ("ad_revenue", "Ad revenue of an answer", 1_000_000, 0),
        ("credit", "Credit granted by the operator", 0, 10_000_000),
    ]
    assert (by_day.total.spent_micros, by_day.total.added_micros) == (1_000_000, 10_000_000)


def test_ad_revenue_is_earned_by_no_one_document_and_by_the_answers_agent(advertiser, provider):
    by_document = _earnings(provider, group="document")
    by_agent = _earnings(provider, group="agent")

    first = by_document.rows[0]
    assert (first.key, first.uses, first.earned_micros) == ("", 0, 500_000)
    assert by_document.rows[0].label.startswith("No one document")
    assert [(r.label, r.earned_micros) for r in by_agent.rows] == [
        ("Acme Agents", 505_400),
        ("Beta Bots", 1800),
    ]


def test_platform_revenue_by_day_and_kind_for_operators(advertiser, make_org, django_user_model):
    staff = django_user_model.objects.create_user(
        email="ops@example.com", password="pw-123456789", is_staff=True
    )
    operator = accounts.actor_for_user(user_id=staff.pk)

    by_kind = billing.platform_revenue(actor=operator, group="kind", since=day(1), until=day(28))
    by_day = billing.platform_revenue(actor=operator, since=day(2), until=day(4))

    assert [(r.key, r.transactions, r.revenue_micros) for r in by_kind.rows] == [
        ("ad_revenue", 2, 300_000),
        ("use", 5, 1100),
    ]
    assert [(r.key, r.revenue_micros) for r in by_day.rows] == [
        (day(2).isoformat(), 700),
        (day(3).isoformat(), 200),
        (day(4).isoformat(), 300_000),
    ]


def test_platform_revenue_refuses_members_who_are_not_operators(month, provider):
    with pytest.raises(accounts_errors.PermissionDenied) as refused:
        billing.platform_revenue(actor=owner_of(provider))
    assert refused.value.code == "not_an_operator"


def test_another_organizations_data_never_appears(month, provider):
    other = month["other_provider"]

    mine = _earnings(provider, group="document")
    theirs = _earnings(other, group="document")

    assert str(month["guide"].id) not in {r.key for r in theirs.rows}
    assert [r.label for r in theirs.rows] == ["Elsewhere"]
    assert theirs.total.earned_micros == 2700
    assert "Elsewhere" not in {r.label for r in mine.rows}
    with pytest.raises(accounts_errors.NotFound):
        billing.provider_earnings(actor=owner_of(provider), organization_id=other.id)


def test_each_report_needs_its_role(month, provider, agent):
    with pytest.raises(accounts_errors.PermissionDenied) as refused:
        billing.agent_costs(**acting_for(provider))
    assert refused.value.code == "wrong_role"
    with pytest.raises(accounts_errors.PermissionDenied) as refused:
        billing.provider_earnings(**acting_for(agent))
    assert refused.value.code == "wrong_role"
    with pytest.raises(accounts_errors.PermissionDenied):
        billing.advertiser_spend(**acting_for(agent))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"since": date(2024, 1, 2), "until": date(2024, 1, 1)}, "since"),
        ({"since": date(2023, 1, 1), "until": date(2024, 2, 5)}, "since"),
        ({"until": date(9999, 12, 31)}, "until"),
        ({"group": "week"}, "group"),
        ({"limit": 0}, "limit"),
        ({"currency": "usd"}, "currency"),
    ],
)
def test_bad_input_is_refused(provider, kwargs, field):
    with pytest.raises(errors.ValidationFailed) as refused:
        billing.provider_earnings(**acting_for(provider), **kwargs)
    assert field in refused.value.details


def test_four_hundred_days_are_allowed(provider):
    report = billing.provider_earnings(
        **acting_for(provider), since=date(2023, 1, 1), until=date(2023, 1, 1) + timedelta(days=399)
    )
    assert len(report.rows) == 400


@pytest.mark.parametrize("group", ["day", "document", "agent"])
def test_a_report_reads_in_eleven_queries_at_most(
    month, provider, group, django_assert_max_num_queries
):
    with django_assert_max_num_queries(11):  # actor, accounts, sums, tallies, names
        _earnings(provider, group=group)
