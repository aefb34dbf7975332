"""Postpaid invoices: one Stripe invoice a month per postpaid organization, paid by webhook.

An invoice has one line per licence (agreement): what the organization's receivable was
charged under it in the month, with how many uses that was. Each line bills whole minor units
(rounded down; the fraction stays receivable for the next invoice). The row is written first
(unique per organization, month and currency), then Stripe is asked under `invoice-<id>`; the
`invoice.paid` webhook credits the receivable from Stripe clearing under `invoice:<id>`.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from billing import errors
from billing.models import Account, BillingProfile, Entry, Purpose, StripeInvoice, Transaction
from billing.services import gateway
from billing.services.currency import from_minor_units, to_minor_units
from billing.services.ledger import post_transaction
from billing.services.rating.reports import period_bounds
from billing.services.top_ups import ensure_customer
from billing.services.types import NewTransaction, credit, debit, org_account, platform_account
from licensing import errors as licensing_errors
from licensing import services as licensing

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvoiceRun:
    period: str
    invoiced: int
    skipped: int  # nothing owed, or invoiced before


def previous_period(now: datetime | None = None) -> str:
    first = (now or timezone.now()).replace(day=1)
    return f"{(first - timedelta(days=1)):%Y-%m}"


def invoice_lines(
    *, organization_id: uuid.UUID, period: str, currency: str
) -> list[dict[str, object]]:
    """Return the month's receivable charges of an organization, one line per licence."""
    start, end = period_bounds(period)
    grouped = (
        Entry.objects.filter(
            account__organization_id=organization_id,
            account__purpose=Purpose.AGENT_RECEIVABLE,
            account__currency=currency,
            effective_at__gte=start,
            effective_at__lt=end,
            amount_micros__gt=0,
        )
        .exclude(transaction__kind=Transaction.Kind.REFUND)
        .values("transaction__agreement_id")
        .annotate(total=Sum("amount_micros"), uses=Count("transaction__usage_event_id"))
        .order_by("transaction__agreement_id")
    )
    lines = []
    for group in grouped:
        agreement_id = group["transaction__agreement_id"]
        amount = from_minor_units(to_minor_units(group["total"], currency), currency)
        if amount <= 0:
            continue
        lines.append(
            {
                "agreement_id": str(agreement_id) if agreement_id else None,
                "description": _describe(organization_id, agreement_id, group["uses"], period),
                "amount_micros": amount,
                "uses": group["uses"],
            }
        )
    return lines


def _describe(
    organization_id: uuid.UUID, agreement_id: uuid.UUID | None, uses: int, period: str
) -> str:
    if agreement_id is None:
        return f"Other charges, {period}"
    try:
        agreement = licensing.agent_agreement(agent_id=organization_id, agreement_id=agreement_id)
        name = f"{agreement.offer.name} ({agreement.offer.terms.payment_type})"
    except licensing_errors.NotFound:
        name = str(agreement_id)
    usage = f", {uses} uses" if uses else ""
    return f"Licence {name}{usage}, {period}"


def invoice_postpaid(*, period: str | None = None) -> InvoiceRun:
    """Invoice every postpaid organization for a month (by default the last one)."""
    period = period or previous_period()
    period_bounds(period)  # 400 for a malformed period
    currency = settings.LICENSING_CURRENCY
    invoiced = skipped = 0
    for organization_id in BillingProfile.objects.filter(postpaid=True).values_list(
        "organization_id", flat=True
    ):
        if invoice_organization(organization_id=organization_id, period=period, currency=currency):
            invoiced += 1
        else:
            skipped += 1
    return InvoiceRun(period=period, invoiced=invoiced, skipped=skipped)


def invoice_organization(*, organization_id: uuid.UUID, period: str, currency: str) -> bool:
    """Send one organization's invoice for a month (once); return whether one was sent now."""
    if not gateway.configured():
        raise gateway._not_configured()
    row = StripeInvoice.objects.filter(
        organization_id=organization_id, period=period, currency=currency
    ).first()
    if row is None:
        lines = invoice_lines(organization_id=organization_id, period=period, currency=currency)
        if not lines:
            return False
        row, _ = StripeInvoice.objects.get_or_create(
            organization_id=organization_id,
            period=period,
            currency=currency,
            defaults={
                "amount_micros": sum(int(str(line["amount_micros"])) for line in lines),
                "lines": lines,
            },
        )
    if row.status != StripeInvoice.Status.DRAFT:
        return False
    info = gateway.create_invoice(
        customer_id=ensure_customer(organization_id),
        currency=currency,
        lines=[
            gateway.InvoiceLine(
                amount_minor=to_minor_units(int(line["amount_micros"]), currency),
                description=str(line["description"]),
            )
            for line in row.lines
        ],
        description=f"Provenant usage, {period}",
        metadata={"invoice_id": str(row.id), "organization_id": str(organization_id)},
        days_until_due=settings.BILLING_INVOICE_DAYS_UNTIL_DUE,
        idempotency_key=f"invoice-{row.id}",
    )
    StripeInvoice.objects.filter(id=row.id, status=StripeInvoice.Status.DRAFT).update(
        status=StripeInvoice.Status.OPEN,
        stripe_invoice_id=info.id,
        hosted_invoice_url=info.hosted_invoice_url[:1000],
    )
    return True


def mark_paid(*, invoice: dict[str, object]) -> bool:
    """Apply invoice.paid: the receivable is settled from Stripe clearing (once)."""
    metadata = invoice.get("metadata") or {}
    invoice_id = metadata.get("invoice_id") if isinstance(metadata, dict) else None
    rows = StripeInvoice.objects.filter(stripe_invoice_id=str(invoice.get("id", "")))
    if invoice_id:
        try:
            rows = StripeInvoice.objects.filter(id=uuid.UUID(str(invoice_id)))
        except ValueError:
            return False
    with transaction.atomic():
        row = rows.select_for_update().first()
        if row is None or row.status == StripeInvoice.Status.PAID:
            return False
        paid = from_minor_units(int(str(invoice.get("amount_paid") or 0)), row.currency)
        if paid != row.amount_micros:
            raise errors.ValidationFailed(
                "Stripe's invoice payment does not match the invoice.",
                code="amount_mismatch",
                details={"expected_micros": row.amount_micros, "paid_micros": paid},
            )
        post_transaction(
            NewTransaction(
                idempotency_key=f"invoice:{row.id}",
                kind=Transaction.Kind.INVOICE_PAYMENT,
                legs=(
                    debit(platform_account(Purpose.STRIPE_CLEARING, row.currency), paid),
                    credit(
                        org_account(row.organization_id, Purpose.AGENT_RECEIVABLE, row.currency),
                        paid,
                    ),
                ),
                effective_at=timezone.now(),
                memo=f"Invoice {row.period}",
                external_ref=str(invoice.get("id", ""))[:200],
            )
        )
        row.status = StripeInvoice.Status.PAID
        row.paid_at = timezone.now()
        if not row.stripe_invoice_id:
            row.stripe_invoice_id = str(invoice.get("id", ""))
        row.save(update_fields=["status", "paid_at", "stripe_invoice_id"])
    return True


def receivable_micros(*, organization_id: uuid.UUID, currency: str) -> int:
    balance = (
        Account.objects.filter(
            organization_id=organization_id, purpose=Purpose.AGENT_RECEIVABLE, currency=currency
        )
        .values_list("balance_micros", flat=True)
        .first()
    )
    return balance or 0
