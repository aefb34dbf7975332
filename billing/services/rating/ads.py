"""Ad revenue into the ledger: one transaction per ad event (an impression or a click), kind
`ad_revenue`, under the key `ad:<event key>`.

The advertiser's prepaid funds pay the event's price. It is shared, exact to the micro by
largest remainder: the platform's take (ADS_PLATFORM_TAKE_BPS), the agent's share
(ADS_AGENT_SHARE_BPS, credited to its wallet), and the rest to the providers of the sources
that grounded the answer, by their attribution weight (a source of weight zero gets nothing;
an answer no source grounded leaves that part to the platform). Each transaction names the
answer's request id in `external_ref`, so an answer's ad revenue is found beside its licence
fees (`answer_transactions`).

A charge the advertiser's prepaid funds cannot cover in full is refused, not split: nothing is
written for it (prepaid funds never go below zero) and the caller is told `unfunded`.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from billing import errors
from billing.models import Purpose, Transaction
from billing.services.ledger import lock_accounts, post_transactions, transaction_info
from billing.services.rating.shares import BPS, largest_remainder
from billing.services.types import (
    Leg,
    NewTransaction,
    TransactionInfo,
    credit,
    debit,
    merged,
    org_account,
    platform_account,
)
from licensing import services as licensing

AD_POSTED = "posted"
AD_ALREADY_POSTED = "already_posted"
AD_UNFUNDED = "unfunded"
AD_NO_ANSWER = "no_answer"  # no metered answer of this agent under the request id (yet)


@dataclass(frozen=True)
class AdCharge:
    """What one ad event charges: `event_key` is the event's own unique key."""

    event_key: str
    advertiser_id: uuid.UUID
    agent_id: uuid.UUID
    request_id: str
    amount_micros: int
    currency: str
    effective_at: datetime
    memo: str = ""


@dataclass(frozen=True)
class AdChargeOutcome:
    event_key: str
    status: str  # posted, already_posted, unfunded or no_answer
    transaction_id: int | None = None


@dataclass(frozen=True)
class AdRevenueSplit:
    """Who gets what of one ad event's amount (every part in micros, adding up to it)."""

    platform_micros: int
    agent_micros: int
    providers: tuple[tuple[uuid.UUID, int], ...]  # by provider id, each more than zero


def ledger_key(event_key: str) -> str:
    return f"ad:{event_key}"


def ad_revenue_split(
    *,
    amount_micros: int,
    sources: Sequence[licensing.SourceWeight],
    take_bps: int | None = None,
    agent_bps: int | None = None,
) -> AdRevenueSplit:
    """Return how an ad event's amount is shared (see the module's docstring)."""
    take_bps = settings.ADS_PLATFORM_TAKE_BPS if take_bps is None else take_bps
    agent_bps = settings.ADS_AGENT_SHARE_BPS if agent_bps is None else agent_bps
    if min(take_bps, agent_bps) < 0 or take_bps + agent_bps > BPS:
        raise errors.ValidationFailed("The take and the agent's share are 0-10000 bps in all.")
    platform, agent, pool = largest_remainder(
        amount_micros, [take_bps, agent_bps, BPS - take_bps - agent_bps]
    )
    weights: defaultdict[uuid.UUID, int] = defaultdict(int)
    for source in sources:
        weights[source.provider_id] += source.attribution_weight_ppm
    providers = sorted((p for p, w in weights.items() if w > 0), key=str)
    if not providers:
        return AdRevenueSplit(platform_micros=platform + pool, agent_micros=agent, providers=())
    shares = largest_remainder(pool, [weights[p] for p in providers])
    return AdRevenueSplit(
        platform_micros=platform,
        agent_micros=agent,
        providers=tuple((p, s) for p, s in zip(providers, shares, strict=True) if s),
    )


def _legs(charge: AdCharge, split: AdRevenueSplit) -> tuple[Leg, ...]:
    currency = charge.currency
    legs = [
        debit(
            org_account(charge.advertiser_id, Purpose.ADVERTISER_PREPAID, currency),
            charge.amount_micros,
        )
    ]
    if split.platform_micros:
        legs.append(
            credit(platform_account(Purpose.PLATFORM_REVENUE, currency), split.platform_micros)
        )
    if split.agent_micros:
        legs.append(
            credit(org_account(charge.agent_id, Purpose.AGENT_WALLET, currency), split.agent_micros)
        )
    for provider_id, share in split.providers:
        legs.append(credit(org_account(provider_id, Purpose.PROVIDER_PAYABLE, currency), share))
    return merged(legs)


def _check(charge: AdCharge) -> None:
    amount = charge.amount_micros
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise errors.ValidationFailed("An ad charge is a whole number of micros above zero.")
    if not charge.event_key or len(ledger_key(charge.event_key)) > 200:
        raise errors.ValidationFailed("An ad charge needs its event's key (at most 197 chars).")


def post_ad_revenue(charges: Sequence[AdCharge]) -> list[AdChargeOutcome]:
    """Post each charge once (in the order given, in one database transaction); return what
    became of each: posted, already posted, unfunded (nothing written) or no answer yet.

    The prepaid funds and wallets a batch touches are locked first, in id order (as rating
    locks agents' wallets before the rest), so it never deadlocks with rating.
    """
    for charge in charges:
        _check(charge)
    if not charges:
        return []
    keys = [ledger_key(c.event_key) for c in charges]
    with transaction.atomic():
        posted: dict[str, int | None] = dict(
            Transaction.objects.filter(idempotency_key__in=keys).values_list(
                "idempotency_key", "id"
            )
        )
        answers = licensing.answer_attributions(request_ids={c.request_id for c in charges})
        wallets = {
            org_account(c.advertiser_id, Purpose.ADVERTISER_PREPAID, c.currency) for c in charges
        }
        wallets |= {org_account(c.agent_id, Purpose.AGENT_WALLET, c.currency) for c in charges}
        locked = lock_accounts(wallets)
        available = {key: -balance for key, (_, balance) in locked.items()}
        outcomes: list[AdChargeOutcome] = []
        batch: list[NewTransaction] = []
        for charge, key in zip(charges, keys, strict=True):
            if key in posted:
                outcomes.append(AdChargeOutcome(charge.event_key, AD_ALREADY_POSTED, posted[key]))
                continue
            answer = answers.get(charge.request_id)
            if answer is None or answer.agent_id != charge.agent_id:
                outcomes.append(AdChargeOutcome(charge.event_key, AD_NO_ANSWER))
                continue
            prepaid = org_account(charge.advertiser_id, Purpose.ADVERTISER_PREPAID, charge.currency)
            if available[prepaid] < charge.amount_micros:
                outcomes.append(AdChargeOutcome(charge.event_key, AD_UNFUNDED))
                continue
            available[prepaid] -= charge.amount_micros
            sources = answer.sources if answer.currency == charge.currency else ()
            split = ad_revenue_split(amount_micros=charge.amount_micros, sources=sources)
            batch.append(
                NewTransaction(
                    idempotency_key=key,
                    kind=Transaction.Kind.AD_REVENUE,
                    legs=_legs(charge, split),
                    effective_at=charge.effective_at,
                    memo=charge.memo,
                    external_ref=charge.request_id,
                )
            )
            posted[key] = None  # the same event twice in one batch is posted once
            outcomes.append(AdChargeOutcome(charge.event_key, AD_POSTED))
        written = post_transactions(batch).written
    return [
        AdChargeOutcome(o.event_key, o.status, written[ledger_key(o.event_key)])
        if o.transaction_id is None and o.status in (AD_POSTED, AD_ALREADY_POSTED)
        else o
        for o in outcomes
    ]


def answer_transactions(*, request_id: str) -> tuple[TransactionInfo, ...]:
    """Return every ledger transaction of one answer, oldest first: its licence fees (through
    its usage events) and its ad revenue (through its request id). For operators and audits:
    each organization sees its own entries through `list_transactions`."""
    found = licensing.answer_attributions(request_ids=[request_id]).get(request_id)
    event_ids: Iterable[int] = () if found is None else (s.usage_event_id for s in found.sources)
    ad = Transaction.Kind.AD_REVENUE
    rows = Transaction.objects.filter(
        Q(usage_event_id__in=list(event_ids), kind__in=_LICENCE_KINDS)
        | Q(external_ref=request_id, kind=ad)
        | Q(reverses__external_ref=request_id, reverses__kind=ad)
    ).order_by("id")
    return tuple(transaction_info(row) for row in rows)


_LICENCE_KINDS = (Transaction.Kind.USE, Transaction.Kind.REVENUE_SHARE, Transaction.Kind.REVERSAL)
