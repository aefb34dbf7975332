"""Celery tasks of payments through Stripe: thin, re-runnable, each calling one service.

Each is idempotent (state checks, ledger keys, Stripe idempotency keys from our rows), so a
task redelivered after its worker died re-runs safely (acks_late, reject_on_worker_lost).
Found by `config/celery.py` (`related_name="payment_tasks"`).
"""

from celery import shared_task

from billing import errors
from billing import services as billing

RETRY = {"autoretry_for": (errors.StripeUnavailable,), "retry_backoff": True, "max_retries": 5}
LATE = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(name="billing.process_stripe_event", **LATE, **RETRY)
def process_stripe_event(event_id: str) -> bool:
    """Apply one stored Stripe webhook event (once)."""
    return billing.process_event(event_id=event_id)


@shared_task(name="billing.retry_stripe_events", **LATE)
def retry_stripe_events() -> int:
    """Queue the stored events not processed yet (a lost task, a failure since fixed)."""
    ids = billing.unprocessed_event_ids()
    for event_id in ids:
        process_stripe_event.delay(event_id)
    return len(ids)


@shared_task(name="billing.release_wallet_holds", **LATE)
def release_wallet_holds() -> dict[str, int]:
    """Release the holds of answers rated (also run by billing.rate_usage after each pass)."""
    run = billing.release_wallet_holds()
    return {"marked": run.marked, "released": run.released}


@shared_task(name="billing.check_low_balances", **LATE)
def check_low_balances() -> dict[str, int]:
    """Flag low wallets and start their automatic top-ups."""
    run = billing.check_low_balances()
    return {"low": run.low, "started": run.started}


@shared_task(name="billing.pay_providers", **LATE)
def pay_providers() -> int:
    """Pay every provider whose payable balance reaches the minimum; retry pending payouts."""
    return len(billing.pay_providers())


@shared_task(name="billing.invoice_postpaid", **LATE, **RETRY)
def invoice_postpaid(period: str | None = None) -> dict[str, int]:
    """Send last month's invoices to postpaid organizations."""
    if not billing.stripe_configured():
        return {"invoiced": 0, "skipped": 0}
    run = billing.invoice_postpaid(period=period)
    return {"invoiced": run.invoiced, "skipped": run.skipped}


@shared_task(name="billing.reconcile_stripe", **LATE, **RETRY)
def reconcile_stripe() -> int:
    """Compare the last day of Stripe clearing with Stripe; return the differences found."""
    if not billing.stripe_configured():
        return 0
    return len(billing.reconcile().differences)
