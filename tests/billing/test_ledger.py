"""The ledger: balanced, append-only, idempotent transactions and balance rows kept with them."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing import errors
from billing import services as billing
from billing.models import Account, Entry, Purpose, Transaction

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database's own checks are PostgreSQL's"
)


def _use(agent_id, provider_id, key="use:1", amount=1000, take=100):
    return billing.NewTransaction(
        idempotency_key=key,
        kind="use",
        effective_at=timezone.now(),
        legs=(
            billing.debit(billing.org_account(agent_id, Purpose.AGENT_RECEIVABLE, "USD"), amount),
            billing.credit(
                billing.org_account(provider_id, Purpose.PROVIDER_PAYABLE, "USD"), amount - take
            ),
            billing.credit(billing.platform_account(Purpose.PLATFORM_REVENUE, "USD"), take),
        ),
    )


def _balances():
    return {
        (a.organization_id, a.purpose): a.balance_micros
        for a in Account.objects.all().order_by("id")
    }


def test_a_posted_transaction_moves_each_balance_row(make_org):
    agent, _ = make_org(roles=("agent",))
    provider, _ = make_org(roles=("provider",))

    posted = billing.post_transaction(_use(agent.id, provider.id))

    assert posted.created is True
    assert [(e.purpose, e.amount_micros) for e in posted.entries] == [
        ("agent_receivable", 1000),
        ("provider_payable", -900),
        ("platform_revenue", -100),
    ]
    assert _balances() == {
        (agent.id, "agent_receivable"): 1000,
        (provider.id, "provider_payable"): -900,
        (None, "platform_revenue"): -100,
    }
    balance = billing.balance_of(organization_id=provider.id).currencies[0]
    assert (balance.payable_micros, balance.receivable_micros) == (900, 0)
    assert billing.balance_of(organization_id=agent.id).currencies[0].receivable_micros == 1000


def test_posting_the_same_key_again_changes_nothing(make_org):
    agent, _ = make_org(roles=("agent",))
    provider, _ = make_org(roles=("provider",))
    first = billing.post_transaction(_use(agent.id, provider.id))

    again = billing.post_transaction(_use(agent.id, provider.id, amount=5000, take=7))
    result = billing.post_transactions([_use(agent.id, provider.id)] * 3)

    assert (again.id, again.created) == (first.id, False)
    assert result.written == {} and result.duplicates == ("use:1",)
    assert Transaction.objects.count() == 1 and Entry.objects.count() == 3
    assert _balances()[(agent.id, "agent_receivable")] == 1000


def test_an_unbalanced_transaction_writes_nothing(make_org):
    agent, _ = make_org(roles=("agent",))
    provider, _ = make_org(roles=("provider",))
    good = _use(agent.id, provider.id, key="good")
    bad = billing.NewTransaction(
        idempotency_key="bad",
        kind="use",
        effective_at=timezone.now(),
        legs=(
            billing.debit(billing.org_account(agent.id, Purpose.AGENT_RECEIVABLE, "USD"), 10),
            billing.credit(billing.org_account(provider.id, Purpose.PROVIDER_PAYABLE, "USD"), 9),
        ),
    )

    with pytest.raises(errors.Unbalanced) as raised:
        billing.post_transactions([good, bad])

    assert raised.value.details["off_by_micros"] == {"USD": 1}
    assert Transaction.objects.count() == 0 and Account.objects.count() == 0


def test_each_currency_balances_on_its_own(make_org):
    agent, _ = make_org(roles=("agent",))
    crossed = billing.NewTransaction(
        idempotency_key="fx",
        kind="adjustment",
        effective_at=timezone.now(),
        legs=(
            billing.debit(billing.org_account(agent.id, Purpose.AGENT_RECEIVABLE, "USD"), 100),
            billing.credit(billing.platform_account(Purpose.PLATFORM_REVENUE, "EUR"), 100),
        ),
    )

    with pytest.raises(errors.Unbalanced):
        billing.post_transaction(crossed)


@pytest.mark.parametrize(
    ("legs", "problem"),
    [
        ((), "at least two"),
        ((("agent_receivable", 0), ("platform_revenue", 0)), "non-zero"),
        ((("platform_revenue", 5), ("provider_payable", -5)), "not an organization account"),
    ],
)
def test_malformed_transactions_are_refused(make_org, legs, problem):
    agent, _ = make_org(roles=("agent",))

    def account(purpose):
        if purpose == "platform_revenue":
            return billing.platform_account(purpose, "USD")
        return billing.org_account(agent.id, purpose, "USD")

    legs = tuple(billing.Leg(account(p), a) for p, a in legs)
    if problem == "not an organization account":
        legs = (billing.Leg(billing.org_account(agent.id, "platform_revenue", "USD"), 5), legs[1])
    new = billing.NewTransaction("k", "use", legs, timezone.now())

    with pytest.raises(errors.ValidationFailed, match=problem):
        billing.post_transaction(new)
    assert Transaction.objects.count() == 0


def test_a_reversal_negates_every_entry_once(make_org):
    agent, _ = make_org(roles=("agent",))
    provider, _ = make_org(roles=("provider",))
    original = billing.post_transaction(_use(agent.id, provider.id))

    reversal = billing.reverse_transaction(transaction_id=original.id)
    again = billing.reverse_transaction(transaction_id=original.id)

    assert reversal.kind == "reversal" and reversal.reverses_id == original.id
    assert [e.amount_micros for e in reversal.entries] == [-1000, 900, 100]
    assert again.id == reversal.id
    assert set(_balances().values()) == {0}
    with pytest.raises(errors.Conflict):
        billing.reverse_transaction(transaction_id=reversal.id)


def test_a_wallet_never_goes_below_zero(make_org):
    agent, _ = make_org(roles=("agent",))
    provider, _ = make_org(roles=("provider",))
    billing.grant_credit(organization_id=agent.id, amount_micros=500, idempotency_key="g1")
    spend = billing.NewTransaction(
        idempotency_key="spend",
        kind="use",
        effective_at=timezone.now(),
        legs=(
            billing.debit(billing.org_account(agent.id, Purpose.AGENT_WALLET, "USD"), 501),
            billing.credit(billing.org_account(provider.id, Purpose.PROVIDER_PAYABLE, "USD"), 501),
        ),
    )

    with pytest.raises(errors.InsufficientFunds) as raised:
        billing.post_transaction(spend)

    assert raised.value.details["available_micros"] == 500
    assert billing.balance_of(organization_id=agent.id).currencies[0].wallet_micros == 500
    assert Transaction.objects.count() == 1  # the credit only


def test_a_credit_is_granted_once_per_key(make_org):
    agent, _ = make_org(roles=("agent",))

    billing.grant_credit(organization_id=agent.id, amount_micros=2_000_000, idempotency_key="a")
    billing.grant_credit(organization_id=agent.id, amount_micros=2_000_000, idempotency_key="a")

    line = billing.balance_of(organization_id=agent.id).currencies[0]
    assert (line.wallet_micros, line.available_micros) == (2_000_000, 2_000_000)
    with pytest.raises(errors.ValidationFailed):
        billing.grant_credit(organization_id=agent.id, amount_micros=0, idempotency_key="z")


@on_postgres
def test_postgres_refuses_an_unbalanced_transaction_written_around_the_service(make_org):
    agent, _ = make_org(roles=("agent",))
    billing.post_transaction(_use(agent.id, agent.id, key="ok"))
    row = Transaction.objects.get()
    account = Account.objects.get(purpose="agent_receivable")

    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        Entry.objects.create(
            transaction=row,
            account=account,
            amount_micros=7,
            currency="USD",
            effective_at=row.effective_at,
        )
        with connection.cursor() as cursor:  # what COMMIT would do: run the deferred check
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    assert Entry.objects.count() == 3


@on_postgres
def test_postgres_refuses_an_entry_in_another_currency_than_its_account(make_org):
    agent, _ = make_org(roles=("agent",))
    billing.post_transaction(_use(agent.id, agent.id, key="ok"))
    row = Transaction.objects.get()
    account = Account.objects.get(purpose="agent_receivable")

    with pytest.raises(IntegrityError, match="currency"), transaction.atomic():
        for amount in (7, -7):
            Entry.objects.create(
                transaction=row,
                account=account,
                amount_micros=amount,
                currency="EUR",
                effective_at=row.effective_at,
            )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@on_postgres
@pytest.mark.parametrize("change", ["update", "delete"])
def test_postgres_keeps_the_ledger_append_only(make_org, change):
    agent, _ = make_org(roles=("agent",))
    billing.post_transaction(_use(agent.id, agent.id, key="ok"))

    for rows in (Entry.objects.all(), Transaction.objects.all()):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            if change == "update":
                rows.update(effective_at=timezone.now())
            else:  # straight to SQL: the ORM would refuse first (protected foreign keys)
                rows._raw_delete(rows.db)

    assert (Transaction.objects.count(), Entry.objects.count()) == (1, 3)


def _immediately():
    with connection.cursor() as cursor:  # what COMMIT does: run the deferred checks now
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@on_postgres
def test_postgres_lets_a_transactions_entries_come_in_several_statements(make_org):
    agent, _ = make_org(roles=("agent",))
    billing.post_transaction(_use(agent.id, agent.id, key="opens-the-accounts"))
    receivable, payable = (
        Account.objects.get(purpose=p) for p in ("agent_receivable", "provider_payable")
    )
    now = timezone.now()

    row = Transaction.objects.create(idempotency_key="by-hand", kind="adjustment", effective_at=now)
    Entry.objects.create(
        transaction=row, account=receivable, amount_micros=5, currency="USD", effective_at=now
    )
    Entry.objects.create(
        transaction=row, account=payable, amount_micros=-5, currency="USD", effective_at=now
    )
    _immediately()  # deferred: checked once all of its entries are in

    assert Entry.objects.filter(transaction=row).count() == 2


@on_postgres
def test_postgres_refuses_entries_for_a_transaction_already_checked(make_org):
    agent, _ = make_org(roles=("agent",))
    posted = billing.post_transaction(_use(agent.id, agent.id, key="ok"))
    _immediately()
    account = Account.objects.get(purpose="agent_receivable")

    with pytest.raises(IntegrityError, match="is closed"), transaction.atomic():
        for amount in (7, -7):  # balanced, but added after the transaction was checked
            Entry.objects.create(
                transaction_id=posted.id,
                account=account,
                amount_micros=amount,
                currency="USD",
                effective_at=posted.effective_at,
            )

    assert Entry.objects.count() == 3


@on_postgres
def test_postgres_refuses_a_transaction_with_no_entries(make_org):
    with pytest.raises(IntegrityError, match="fewer than two entries"), transaction.atomic():
        Transaction.objects.create(
            idempotency_key="empty", kind="adjustment", effective_at=timezone.now()
        )
        _immediately()
