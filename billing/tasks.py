"""Billing's Celery tasks: thin, re-runnable, each calling one service."""

from celery import shared_task

from billing import services


# Rating is idempotent (unique keys), so a task redelivered after its worker died re-runs
# safely: acks_late with reject_on_worker_lost puts it back on the queue instead of losing it.
@shared_task(name="billing.rate_usage", acks_late=True, reject_on_worker_lost=True)
def rate_usage() -> dict[str, int]:
    """Rate the usage events not yet rated into the ledger."""
    run = services.rate_usage()
    services.release_wallet_holds()  # holds of the answers just rated (billing/services/holds.py)
    return {"events": run.events, "written": run.written, "reversed": run.reversed}


@shared_task(name="billing.charge_agreements", acks_late=True, reject_on_worker_lost=True)
def charge_agreements() -> dict[str, int]:
    """Charge the subscription periods and purchases that are due; renew or lapse."""
    run = services.charge_agreements()
    return {"charged": run.charged, "renewed": run.renewed, "lapsed": run.lapsed}


@shared_task(name="billing.allocate_revenue_report", acks_late=True, reject_on_worker_lost=True)
def allocate_revenue_report(report_id: str) -> None:
    """Share a revenue report's revenue with its period's revenue-share providers."""
    services.allocate_revenue_report(report_id=report_id)
