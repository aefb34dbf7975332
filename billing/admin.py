"""The ledger in the admin: read-only (corrections are reversing transactions, posted by
services), and the one operator setting, postpaid billing."""

from django.contrib import admin

from billing.models import (
    Account,
    BillingProfile,
    DatasetExport,
    Entry,
    RevenueReport,
    Transaction,
)
from core.admin import ReadOnlyAdmin


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "purpose",
        "currency",
        "balance_micros",
        "reserved_micros",
    ]
    list_filter = ["purpose", "currency"]
    search_fields = ["organization__name"]


class EntryInline(admin.TabularInline):
    model = Entry
    extra = 0
    can_delete = False
    fields = ["account", "amount_micros", "currency"]
    readonly_fields = fields


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "idempotency_key", "effective_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key"]
    inlines = [EntryInline]


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "transaction", "account", "amount_micros", "currency", "effective_at"]
    list_filter = ["account__purpose", "currency", "transaction__kind"]
    search_fields = ["=transaction__idempotency_key", "account__organization__name"]
    list_select_related = ["transaction", "account", "account__organization"]
    raw_id_fields = ["transaction", "account"]


@admin.register(DatasetExport)
class DatasetExportAdmin(ReadOnlyAdmin):
    list_display = ["id", "agent", "agreement_id", "documents", "downloads", "expires_at"]
    search_fields = ["agent__name", "=agreement_id"]
    list_select_related = ["agent"]
    date_hierarchy = "created_at"


@admin.register(RevenueReport)
class RevenueReportAdmin(ReadOnlyAdmin):
    list_display = ["agent", "period", "revenue_micros", "currency", "status", "allocated_micros"]
    list_filter = ["status", "currency"]
    search_fields = ["agent__name", "period"]


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = ["organization", "postpaid", "updated_at"]
    list_filter = ["postpaid"]
    search_fields = ["organization__name"]
    raw_id_fields = ["organization"]


from billing import payment_admin  # noqa: E402, F401  (Stripe: top-ups, events, payouts, invoices)
