"""Payments in the admin, read-only: what was asked of Stripe and what it answered."""

from django.contrib import admin

from billing.models import (
    ConnectedAccount,
    FundingProfile,
    Payout,
    Reconciliation,
    StripeEvent,
    StripeInvoice,
    TopUp,
    WalletHold,
)
from core.admin import ReadOnlyAdmin


@admin.register(FundingProfile)
class FundingProfileAdmin(ReadOnlyAdmin):
    list_display = ["organization", "low_balance_micros", "auto_top_up_micros", "updated_at"]
    list_filter = ["updated_at"]
    search_fields = ["organization__name", "=stripe_customer_id"]
    list_select_related = ["organization"]


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
    list_filter = ["status", "method", "currency"]
    search_fields = ["organization__name", "=payment_intent_id", "=checkout_session_id"]
    list_select_related = ["organization"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "created", "received_at", "processed_at", "attempts", "error"]
    list_filter = ["type"]
    search_fields = ["=id", "type"]


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(ReadOnlyAdmin):
    list_display = ["organization", "stripe_account_id", "payouts_enabled", "details_submitted"]
    list_filter = ["payouts_enabled", "details_submitted"]
    search_fields = ["organization__name", "=stripe_account_id"]


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
    list_filter = ["status", "currency"]
    search_fields = ["organization__name", "=transfer_id", "=id"]
    list_select_related = ["organization"]


@admin.register(StripeInvoice)
class StripeInvoiceAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "period", "amount_micros", "status", "stripe_invoice_id"]
    list_filter = ["status", "period"]
    search_fields = ["organization__name", "=stripe_invoice_id"]


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = ["id", "started_at", "since", "until", "stripe_transactions", "differences"]
    date_hierarchy = "started_at"


@admin.register(WalletHold)
class WalletHoldAdmin(ReadOnlyAdmin):
    list_display = ["request_id", "organization", "amount_micros", "status", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["=request_id", "organization__name"]
    list_select_related = ["organization"]
