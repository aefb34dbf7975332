"""Rating usage events into the ledger: one transaction per event that moves money.

A pass reads events in id order after its cursor, up to a mark below which every event is
committed (`licensing.usage_high_water_mark`), in batches: each batch is one database
transaction that locks the cursor and the accounts it touches, posts one transaction per
event under the key `usage:<event id>` and moves the cursor. Re-running a pass over events
already rated writes nothing: their keys are posted.

- `use`: the event's metered amount (price per unit under the offer version the agreement
  accepted), paid by the agent, earned by the provider less the platform's take;
- `revenue_share`: the offer's basis points of the revenue the answer declared, times the
  source's attribution weight, at least the offer's minimum per use;
- subscriptions and purchases are charged per agreement (`agreements.py`); free and
  attribution-only uses move nothing and are not read.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.models import Purpose, RatingCursor, Transaction
from billing.services.balances import postpaid_organizations
from billing.services.charges import Charge, post_charges
from billing.services.ledger import post_transactions, posted_keys, reversal_of
from billing.services.rating.shares import (
    BPS,
    Funding,
    accounts_touched,
    revenue_share_micros,
)
from billing.services.rating.usage_sql import rate_batch_in_sql
from billing.services.types import org_account, platform_account
from licensing import services as licensing

USAGE_CURSOR = "usage"
VOIDED_CURSOR = "voided-usage"
RATED_KINDS = (Transaction.Kind.USE, Transaction.Kind.REVENUE_SHARE)


@dataclass(frozen=True)
class RatingRun:
    events: int  # events read that move money
    written: int  # transactions posted
    already_rated: int  # events whose transaction was posted before
    position: int  # the usage cursor afterwards
    reversed: int = 0  # charges of voided events reversed


def usage_key(event_id: int) -> str:
    return f"usage:{event_id}"


def use_charge(use: licensing.RatableUse) -> int:
    """Return what one event charges the agent, in micros (zero: nothing is written)."""
    if use.payment_type == "use":
        return use.amount_micros
    share = 0
    if use.revenue_micros:
        share = revenue_share_micros(
            revenue_micros=use.revenue_micros,
            bps=use.revenue_share_bps,
            weight_ppm=use.attribution_weight_ppm,
        )
    return max(share, use.revenue_share_min_micros)


def _cursor(name: str) -> RatingCursor:
    RatingCursor.objects.get_or_create(name=name)
    return RatingCursor.objects.select_for_update().get(name=name)


def rate_usage(
    *,
    batch_size: int | None = None,
    from_id: int | None = None,
    max_batches: int | None = None,
    set_based: bool | None = None,
) -> RatingRun:
    """Rate the usage events not yet rated; with `from_id`, re-rate every event after it
    (events already rated are left as they are). Then reverse charges of voided events.

    On PostgreSQL each batch is rated inside the database (`usage_sql`), elsewhere in Python;
    both write the same ledger. `set_based=False` asks for the Python path on PostgreSQL too.

    Call it outside a database transaction (a task, a command): on PostgreSQL it takes a
    moment's SHARE lock on the usage table, which an outer transaction would hold on to.
    """
    batch_size = batch_size or settings.BILLING_RATING_BATCH
    if set_based is None or set_based:
        set_based = connection.vendor == "postgresql"
    mark = licensing.usage_high_water_mark()
    rerun_from = from_id
    events = written = already = batches = 0
    while True:
        with transaction.atomic():
            cursor = _cursor(USAGE_CURSOR)
            start = cursor.position if rerun_from is None else rerun_from
            # A window of at most `batch_size` event ids: each batch reads a bounded range.
            reached = licensing.usage_window_end(after_id=start, upto_id=mark, size=batch_size)
            if set_based:
                outcome = rate_batch_in_sql(after_id=start, upto_id=reached, limit=batch_size)
                read = outcome.events
                batch_written, batch_already = outcome.written, outcome.already_rated
            else:
                uses = licensing.ratable_usage(after_id=start, upto_id=reached, limit=batch_size)
                read = len(uses)
                batch_written, batch_already = _rate_batch(uses)
            reached = max(start, reached)
            if reached > cursor.position:
                cursor.position = reached
                cursor.save(update_fields=["position", "updated_at"])
            position = cursor.position
        events += read
        written += batch_written
        already += batch_already
        batches += 1
        if rerun_from is not None:
            rerun_from = reached
        if reached >= mark or (max_batches is not None and batches >= max_batches):
            break
    return RatingRun(
        events=events,
        written=written,
        already_rated=already,
        position=position,
        reversed=reverse_voided_uses(),
    )


def _rate_batch(uses: list[licensing.RatableUse]) -> tuple[int, int]:
    """Post the transactions of a batch of events; return (written, already rated)."""
    if not uses:
        return 0, 0
    # Rated events are left out before wallets are drawn on for the rest.
    done = posted_keys(usage_key(u.id) for u in uses)
    already = len(done)
    uses = [u for u in uses if usage_key(u.id) not in done]
    charges = [(use, use_charge(use)) for use in uses]
    charges = [(use, amount) for use, amount in charges if amount > 0]
    if not charges:
        return 0, already
    agents = {(u.agent_id, u.currency) for u, _ in charges}
    providers = {(u.provider_id, u.currency) for u, _ in charges}
    funding = Funding(
        accounts_touched(agents, providers), postpaid_organizations({a for a, _ in agents})
    )
    take_bps = {str(k): settings.BILLING_TAKE_RATE_BPS.get(k, 0) for k in RATED_KINDS}
    batch = []
    for use, amount in charges:
        currency, agent_id = use.currency, use.agent_id
        from_wallet, owed = funding.split(agent_id, currency, amount)
        take = (amount * take_bps[use.payment_type] + BPS // 2) // BPS
        batch.append(
            Charge(
                idempotency_key=usage_key(use.id),
                kind=use.payment_type,
                effective_at=use.created_at,
                wallet=org_account(agent_id, Purpose.AGENT_WALLET, currency),
                wallet_micros=from_wallet,
                receivable=org_account(agent_id, Purpose.AGENT_RECEIVABLE, currency),
                receivable_micros=owed,
                payable=org_account(use.provider_id, Purpose.PROVIDER_PAYABLE, currency),
                payable_micros=amount - take,
                platform=platform_account(Purpose.PLATFORM_REVENUE, currency),
                take_micros=take,
                usage_event_id=use.id,
                agreement_id=use.agreement_id,
            )
        )
    result = post_charges(batch, funding.ids)
    return len(result.written), already + len(result.duplicates)


def reverse_voided_uses(*, now: datetime | None = None, limit: int = 20_000) -> int:
    """Reverse the charges of usage events that metering voided after they were rated.

    Each rated transaction is looked at once, in id order, when it is older than
    BILLING_VOID_WINDOW_S (metering voids an answer's events only while it is delivered).
    Return how many charges were reversed.
    """
    horizon = (now or timezone.now()) - timedelta(seconds=settings.BILLING_VOID_WINDOW_S)
    with transaction.atomic():
        cursor = _cursor(VOIDED_CURSOR)
        rows = []
        for row in (
            Transaction.objects.filter(id__gt=cursor.position)
            .order_by("id")
            .values_list("id", "kind", "usage_event_id", "created_at")[:limit]
        ):
            if row[3] > horizon:
                break  # this one, and every later one, may still be voided
            rows.append(row)
        if not rows:
            return 0
        rated = [(tid, event_id) for tid, kind, event_id, _ in rows if kind in RATED_KINDS]
        existing = licensing.existing_usage_event_ids(ids=[e for _, e in rated if e is not None])
        orphans = [tid for tid, event_id in rated if event_id not in existing]
        reversed_count = 0
        if orphans:
            originals = Transaction.objects.filter(id__in=orphans, reversal__isnull=True)
            reversals = [
                reversal_of(t, memo="Reversal: the answer was never delivered")
                for t in originals.prefetch_related("entries__account")
            ]
            reversed_count = len(post_transactions(reversals).written)
        cursor.position = rows[-1][0]
        cursor.save(update_fields=["position", "updated_at"])
    return reversed_count
