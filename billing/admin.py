"""The ledger in the admin: read-only (corrections are reversing transactions, posted by
services), and the one operator setting, postpaid billing."""

from django.contrib import admin

from billing.models import Account, BillingProfile, Entry, RevenueReport, Transaction


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


@admin.register(RevenueReport)
class RevenueReportAdmin(ReadOnlyAdmin):
    list_display = ["agent", "period", "revenue_micros", "currency", "status", "allocated_micros"]
    list_filter = ["status"]


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = ["organization", "postpaid", "updated_at"]
    list_filter = ["postpaid"]
    raw_id_fields = ["organization"]


from billing import payment_admin  # noqa: E402, F401  (Stripe: top-ups, events, payouts, invoices)
