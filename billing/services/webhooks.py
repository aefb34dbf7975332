"""Stripe webhooks: verified on the raw body, stored once by event id, processed once.

`receive_event` verifies the signature (gateway), then inserts the event under its id (a
primary key: a replayed delivery inserts nothing) and returns whether it still needs
processing. `process_event` (a Celery task) handles it under a row lock and marks it processed
in the same transaction; every handler is idempotent on its own (ledger keys, state checks,
event times), so events are safe in any order and any number of times.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from billing import errors
from billing.models import StripeEvent
from billing.services import gateway, invoices, payouts, top_ups

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    event_id: str
    type: str
    created: bool  # False: a replay of an event stored before
    pending: bool  # not processed yet: a task should process it


def receive_event(*, payload: bytes, signature_header: str) -> Received:
    """Verify and store a webhook delivery (nothing is written for a bad signature)."""
    event = gateway.verified_event(payload=payload, signature_header=signature_header)
    created_at = datetime.fromtimestamp(int(event.get("created") or 0), tz=UTC)
    row, created = StripeEvent.objects.get_or_create(
        id=event["id"],
        defaults={
            "type": str(event.get("type", ""))[:100],
            "created": created_at,
            "payload": event,
        },
    )
    return Received(
        event_id=row.id, type=row.type, created=created, pending=row.processed_at is None
    )


def process_event(*, event_id: str) -> bool:
    """Handle a stored event once; return whether this call handled it."""
    with transaction.atomic():
        row = StripeEvent.objects.select_for_update().filter(id=event_id).first()
        if row is None or row.processed_at is not None:
            return False
        StripeEvent.objects.filter(id=event_id).update(attempts=row.attempts + 1)
    try:
        _handle(row.type, row.payload, row.created)
    except errors.DomainError as exc:  # our data disagrees with Stripe's: kept for a person
        logger.error("Stripe event %s (%s) refused: %s", row.id, row.type, exc.message)
        StripeEvent.objects.filter(id=event_id).update(error=exc.message[:2000])
        raise
    with transaction.atomic():
        done = StripeEvent.objects.filter(id=event_id, processed_at__isnull=True).update(
            processed_at=timezone.now(), error=""
        )
    return bool(done)


def unprocessed_event_ids(*, limit: int = 500) -> list[str]:
    """Return the ids of stored events not processed yet (oldest first), for a retry."""
    rows = StripeEvent.objects.filter(processed_at__isnull=True).order_by("received_at")
    return list(rows.values_list("id", flat=True)[:limit])


def _object(payload: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("data") or {}
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def _id_of(value: Any) -> str:
    """Return a Stripe reference's id, whether it comes as an id or an expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _metadata(obj: dict[str, Any]) -> dict[str, str]:
    metadata = obj.get("metadata")
    return {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}


def _handle(kind: str, payload: dict[str, Any], created: datetime) -> None:
    """Apply one event. Each branch is idempotent and independent of the order of events."""
    obj = _object(payload)
    if kind == "payment_intent.succeeded":
        _credit(obj, payment_intent_id=_id_of(obj.get("id")))
    elif kind == "checkout.session.completed":
        if obj.get("payment_status") == "paid":
            _credit(obj, payment_intent_id=_id_of(obj.get("payment_intent")))
    elif kind == "payment_intent.payment_failed":
        top_up = top_ups.find_top_up(
            metadata=_metadata(obj), payment_intent_id=_id_of(obj.get("id"))
        )
        if top_up is not None:
            error = obj.get("last_payment_error") or {}
            message = error.get("message", "") if isinstance(error, dict) else ""
            top_ups.fail_top_up(top_up_id=top_up.id, message=str(message))
    elif kind == "charge.refunded":
        _refund(obj)
    elif kind == "account.updated":
        payouts.apply_account_update(account=obj, event_created=created)
    elif kind == "transfer.reversed":
        payouts.reverse_payout(transfer=obj)
    elif kind in ("invoice.paid", "invoice.payment_succeeded"):
        invoices.mark_paid(invoice=obj)
    # Any other event type is stored and marked processed: nothing of ours depends on it.


def _credit(obj: dict[str, Any], *, payment_intent_id: str) -> None:
    top_up = top_ups.find_top_up(metadata=_metadata(obj), payment_intent_id=payment_intent_id)
    if top_up is None:
        return  # a payment that is not a top-up (an invoice's, say)
    amount = obj.get("amount_received") or obj.get("amount_total") or obj.get("amount") or 0
    top_ups.credit_top_up(
        top_up_id=top_up.id,
        amount_minor=int(amount),
        currency=str(obj.get("currency") or top_up.currency),
        reference=_id_of(obj.get("latest_charge")) or payment_intent_id or _id_of(obj.get("id")),
        payment_intent_id=payment_intent_id,
    )


def _refund(charge: dict[str, Any]) -> None:
    payment_intent_id = _id_of(charge.get("payment_intent"))
    top_up = top_ups.find_top_up(metadata=_metadata(charge), payment_intent_id=payment_intent_id)
    if top_up is None:
        return
    if charge.get("paid") or charge.get("status") == "succeeded":
        # A refund implies the payment succeeded: credit it first if its own event is late.
        top_ups.credit_top_up(
            top_up_id=top_up.id,
            amount_minor=int(charge.get("amount") or 0),
            currency=str(charge.get("currency") or top_up.currency),
            reference=_id_of(charge.get("id")),
            payment_intent_id=payment_intent_id,
        )
    top_ups.refund_top_up(
        top_up_id=top_up.id,
        refunded_minor=int(charge.get("amount_refunded") or 0),
        currency=str(charge.get("currency") or top_up.currency),
        charge_id=_id_of(charge.get("id")),
    )
