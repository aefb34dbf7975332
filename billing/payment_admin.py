"""Payments in the admin, read-only: what was asked of Stripe and what it answered."""

from django.contrib import admin

from billing.admin import ReadOnlyAdmin
from billing.models import (
    ConnectedAccount,
    Payout,
    Reconciliation,
    StripeEvent,
    StripeInvoice,
    TopUp,
    WalletHold,
)


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "amount_micros",
        "currency",
        "method",
        "status",
        "created_at",
    ]
    list_filter = ["status", "method"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "created", "received_at", "processed_at", "attempts", "error"]
    list_filter = ["type"]


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(ReadOnlyAdmin):
    list_display = ["organization", "stripe_account_id", "payouts_enabled", "details_submitted"]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "amount_micros",
        "currency",
        "status",
        "transfer_id",
        "created_at",
    ]
    list_filter = ["status"]


@admin.register(StripeInvoice)
class StripeInvoiceAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "period", "amount_micros", "status", "stripe_invoice_id"]
    list_filter = ["status", "period"]


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = ["id", "started_at", "since", "until", "stripe_transactions", "differences"]


@admin.register(WalletHold)
class WalletHoldAdmin(ReadOnlyAdmin):
    list_display = ["request_id", "organization", "amount_micros", "status", "created_at"]
    list_filter = ["status"]
