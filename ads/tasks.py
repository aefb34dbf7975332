"""Ads' Celery tasks: thin, re-runnable, each calling one service."""

from typing import Any

from celery import shared_task

from ads import services


# Charging is idempotent (one ledger key per event), so a task redelivered after its worker
# died re-runs safely.
@shared_task(name="ads.charge_ad_events", acks_late=True, reject_on_worker_lost=True)
def charge_ad_events() -> dict[str, int]:
    """Post the pending ad events to the ledger."""
    run = services.charge_ad_events()
    return {
        "charged": run.charged,
        "unfunded": run.unfunded,
        "over_budget": run.over_budget,
        "void": run.void,
        "waiting": run.waiting,
    }


@shared_task(name="ads.purge_auction_traces", acks_late=True, reject_on_worker_lost=True)
def purge_auction_traces() -> int:
    """Delete the auction traces past ADS_TRACE_RETENTION_DAYS."""
    return services.purge_traces()


# Reconciling sets counters to the record and frees stale holds: re-running it is harmless.
@shared_task(name="ads.reconcile_budgets", acks_late=True, reject_on_worker_lost=True)
def reconcile_budgets() -> dict[str, int]:
    """Set the budget store's counters to the spend of record; free stale holds."""
    run = services.reconcile_budgets()
    return {
        "campaigns": run.campaigns,
        "corrected": run.corrected,
        "released_micros": run.released_micros,
    }


# Recording is once per request id (record_serving returns what the first call wrote), so a
# task redelivered after its worker died re-runs safely.
@shared_task(
    name="ads.record_serving", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def record_serving(payload: dict[str, Any]) -> int:
    """Write what an answer served (servings, impressions, the auction's trace); return how
    many servings it wrote or found."""
    return len(services.record_payload(payload).servings)


@shared_task(name="ads.record_servings", acks_late=True, reject_on_worker_lost=True)
def record_servings() -> int:
    """Write what answers served, from the outbox, until it is empty; return how many."""
    return services.record_served()
