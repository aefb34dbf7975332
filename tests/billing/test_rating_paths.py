"""Rating inside PostgreSQL (set-based) writes the very ledger the Python path writes.

The same usage events (per use by source, by cited source and by 1,000 tokens; revenue shares
with and without a minimum, declared revenue in the event's currency or another; two currencies;
prepaid wallets that run dry in the middle of a batch, a postpaid agent, an agent with no
wallet) are rated by the Python path in a savepoint that is rolled back, then set-based in SQL;
the transactions, their entries, the balances and what each pass reports must be equal.
"""

import random

import pytest
from django.db import connection, transaction
from django.test import override_settings

from billing import services as billing
from billing.models import Account, Transaction
from licensing import services as licensing
from tests.billing.conftest import meter

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the set-based path is PostgreSQL's"
    ),
]

OFFERS = [
    {"price_micros": 2000},
    {"price_micros": 7, "price_unit": "1k_tokens"},
    {"price_micros": 1500, "price_unit": "cited_source", "currency": "EUR"},
    {
        "payment_type": "revenue_share",
        "price_micros": 0,
        "price_unit": "none",
        "revenue_share_bps": 2000,
    },
    {
        "payment_type": "revenue_share",
        "price_micros": 0,
        "price_unit": "none",
        "revenue_share_bps": 100,
        "revenue_share_min_micros": 500,
    },
    {
        "payment_type": "revenue_share",
        "price_micros": 0,
        "price_unit": "none",
        "revenue_share_bps": 3333,
        "currency": "EUR",
    },
    {"payment_type": "free", "price_micros": 0, "price_unit": "none"},
]
# (Prices are in one currency per deployment, LICENSING_CURRENCY; the EUR offers are made under
# another setting, as a deployment that changed its currency would have them.)


def _ledger():
    transactions = []
    for t in Transaction.objects.prefetch_related("entries__account").order_by("idempotency_key"):
        legs = sorted(
            (str(e.account.organization_id), e.account.purpose, e.currency, e.amount_micros)
            for e in t.entries.all()
        )
        assert {e.effective_at for e in t.entries.all()} == {t.effective_at}
        transactions.append(
            (
                t.idempotency_key,
                t.kind,
                t.effective_at,
                t.usage_event_id,
                t.agreement_id,
                t.memo,
                *legs,
            )
        )
    balances = sorted(
        (str(a.organization_id), a.purpose, a.currency, a.balance_micros, a.reserved_micros)
        for a in Account.objects.all()
    )
    return transactions, balances


def _rate(set_based: bool):
    runs = [
        billing.rate_usage(batch_size=7, max_batches=2, set_based=set_based),
        billing.rate_usage(batch_size=11, set_based=set_based),
        billing.rate_usage(batch_size=5, from_id=0, set_based=set_based),
        billing.rate_usage(set_based=set_based),
    ]
    with connection.cursor() as cursor:  # what COMMIT does: the deferred balance checks
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert billing.check_ledger().ok
    return runs, _ledger()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rating_in_sql_writes_the_ledger_the_python_path_writes(seed, make_org, make_offer, accept):
    rng = random.Random(seed)
    providers = [make_org(roles=("provider",))[0] for _ in range(2)]
    offers = []
    for n, terms in enumerate(OFFERS):  # an offer is in the platform's currency when it is made
        with override_settings(LICENSING_CURRENCY=terms.get("currency", "USD")):
            offers.append(make_offer(providers[n % 2], **terms))
    agents = [make_org(roles=("agent",))[0] for _ in range(4)]
    billing.grant_credit(organization_id=agents[0].id, amount_micros=9_000, idempotency_key="a0")
    billing.grant_credit(organization_id=agents[1].id, amount_micros=5_000, idempotency_key="a1")
    billing.set_postpaid(organization_id=agents[1].id, postpaid=True)
    billing.grant_credit(organization_id=agents[3].id, amount_micros=10**9, idempotency_key="a3")
    billing.grant_credit(
        organization_id=agents[3].id, amount_micros=3_000, idempotency_key="e3", currency="EUR"
    )
    agreements = {(a.id, o.id): accept(a, o) for a in agents for o in offers}
    revenues = [None, None, 0, 1, 999_999, 1_000_000, 10**15]
    for n in range(60):
        agent = rng.choice(agents)
        # An answer's sources come from one offer or several (in either currency: declared
        # revenue is in the answer's currency, its first source's, and only shared in it).
        chosen = rng.choices(offers, k=rng.randint(1, 4)) if n % 2 else [rng.choice(offers)]
        licensing.record_use(
            licensing.UseRecord(
                request_id=f"paths-{seed}-{n}",
                agent_id=agent.id,
                usage_type="ai-input",
                revenue_micros=rng.choice(revenues),
                sources=tuple(
                    licensing.SourceUse(
                        collection_id=offer.terms.collection_ids[0],
                        provider_id=offer.provider_id,
                        offer_version_id=offer.version_id,
                        agreement_id=agreements[(agent.id, offer.id)].id,
                        chunk_id=i + 1,
                        tokens=rng.randint(1, 3000),
                        cited=rng.random() < 0.7,
                        attribution_weight_ppm=rng.randint(0, 1_000_000 // len(chosen)),
                    )
                    for i, offer in enumerate(chosen)
                ),
            )
        )
    assert licensing.usage_high_water_mark() > 0

    with transaction.atomic():
        python_runs, python_ledger = _rate(set_based=False)
        transaction.set_rollback(True)
    assert Transaction.objects.filter(kind__in=("use", "revenue_share")).count() == 0
    sql_runs, sql_ledger = _rate(set_based=True)

    assert sql_runs == python_runs
    assert sql_ledger == python_ledger
    assert sum(run.written for run in sql_runs) == len(sql_ledger[0]) - 4  # less the credits
    assert sql_runs[2].written == 0  # re-rating from the start wrote nothing


def test_rating_in_sql_draws_the_wallet_first_in_event_order(agent, provider, make_offer, accept):
    agreement = accept(agent, make_offer(provider, price_micros=2000))
    billing.grant_credit(organization_id=agent.id, amount_micros=5000, idempotency_key="start")
    meter(agent, agreement, sources=4)

    run = billing.rate_usage(set_based=True)

    assert (run.events, run.written) == (4, 4)
    legs = [
        sorted((e.account.purpose, e.amount_micros) for e in t.entries.all())
        for t in Transaction.objects.filter(kind="use").order_by("usage_event_id")
    ]
    assert legs == [
        [("agent_wallet", 2000), ("platform_revenue", -200), ("provider_payable", -1800)],
        [("agent_wallet", 2000), ("platform_revenue", -200), ("provider_payable", -1800)],
        [
            ("agent_receivable", 1000),
            ("agent_wallet", 1000),
            ("platform_revenue", -200),
            ("provider_payable", -1800),
        ],
        [("agent_receivable", 2000), ("platform_revenue", -200), ("provider_payable", -1800)],
    ]
    line = billing.balance_of(organization_id=agent.id).currencies[0]
    assert (line.wallet_micros, line.receivable_micros) == (0, 3000)
