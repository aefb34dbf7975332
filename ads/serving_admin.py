"""What operators see of serving: every sponsored item served, its events and what they were
charged, and every auction's trace (advertisers see only their own rows through the API).
Read-only: these are records of what happened."""

from django.contrib import admin

from ads.models import AdEvent, AdVersion, AuctionTrace, Serving
from core.admin import ReadOnlyAdmin


class AdEventInline(admin.TabularInline):
    model = AdEvent
    extra = 0
    can_delete = False
    fields = ["kind", "amount_micros", "status", "transaction_id", "created_at", "charged_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Serving)
class ServingAdmin(ReadOnlyAdmin):
    list_display = [
        "request_id",
        "slot",
        "unit",
        "advertiser",
        "agent",
        "bid_type",
        "price_micros",
        "currency",
        "created_at",
    ]
    list_filter = ["bid_type", "currency"]
    search_fields = ["request_id", "auction_id", "id", "advertiser__name", "agent__name"]
    date_hierarchy = "created_at"
    list_select_related = ["unit", "advertiser", "agent"]
    inlines = [AdEventInline]


@admin.register(AdEvent)
class AdEventAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "kind", "amount_micros", "status", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["idempotency_key"]
    date_hierarchy = "created_at"


@admin.register(AuctionTrace)
class AuctionTraceAdmin(ReadOnlyAdmin):
    """Every candidate of every auction: unit, advertiser, reason, score, price."""

    list_display = ["auction_id", "request_id", "agent", "created_at"]
    search_fields = ["auction_id", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["agent"]


@admin.register(AdVersion)
class AdVersionAdmin(ReadOnlyAdmin):
    """What each version of a unit showed when it served (the ad repository's entries)."""

    list_display = ["title", "version", "advertiser", "bid_type", "category", "first_served_at"]
    list_filter = ["bid_type", "category"]
    search_fields = ["title", "body", "url", "advertiser__name", "unit__id"]
    date_hierarchy = "first_served_at"
    list_select_related = ["advertiser"]
