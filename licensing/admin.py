"""Licensing in the admin, for operators: offers with their versions, agreements, price
ceilings, answers and usage events. Read-only: providers change offers and agents agreements
through the services (versions, notices, caps), and metering is append-only."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from licensing.models import (
    AnswerRecord,
    LicenseAgreement,
    LicenseOffer,
    OfferVersion,
    PriceCeiling,
    UsageEvent,
)


class OfferVersionInline(admin.TabularInline):
    model = OfferVersion
    extra = 0
    can_delete = False
    fields = [
        "version",
        "payment_type",
        "price_micros",
        "price_unit",
        "currency",
        "period",
        "revenue_share_bps",
        "usage_types",
        "created_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LicenseOffer)
class LicenseOfferAdmin(ReadOnlyAdmin):
    list_display = ["name", "provider", "status", "payment_type", "auto_accept", "published_at"]
    list_filter = ["status", "auto_accept", "current_version__payment_type"]
    search_fields = ["name", "provider__name", "provider__slug"]
    list_select_related = ["provider", "current_version"]
    inlines = [OfferVersionInline]

    @admin.display(description="payment type")
    def payment_type(self, offer):
        return offer.current_version.payment_type if offer.current_version else "-"


@admin.register(OfferVersion)
class OfferVersionAdmin(ReadOnlyAdmin):
    list_display = ["offer", "version", "payment_type", "price_micros", "price_unit", "created_at"]
    list_filter = ["payment_type", "price_unit", "currency", "citation_required"]
    search_fields = ["offer__name", "offer__provider__name"]
    list_select_related = ["offer"]


@admin.register(LicenseAgreement)
class LicenseAgreementAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "agent",
        "offer",
        "status",
        "origin",
        "starts_at",
        "ends_at",
        "spend_cap_micros",
        "spent_micros",
    ]
    list_filter = ["status", "origin", "offer_version__payment_type"]
    search_fields = ["agent__name", "offer__name", "offer__provider__name", "=id"]
    list_select_related = ["agent", "offer"]
    date_hierarchy = "starts_at"


@admin.register(PriceCeiling)
class PriceCeilingAdmin(ReadOnlyAdmin):
    list_display = ["agent", "per_source_micros", "per_answer_micros", "updated_at"]
    list_filter = ["updated_at"]
    search_fields = ["agent__name"]
    list_select_related = ["agent"]


@admin.register(AnswerRecord)
class AnswerRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "request_id",
        "agent",
        "kind",
        "usage_type",
        "sources_count",
        "total_micros",
        "currency",
        "created_at",
    ]
    list_filter = ["kind", "usage_type", "currency"]
    search_fields = ["=request_id", "agent__name"]
    list_select_related = ["agent"]
    date_hierarchy = "created_at"


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "answer",
        "agent",
        "provider",
        "usage_type",
        "payment_type",
        "agreement",
        "amount_micros",
        "currency",
        "attribution_weight_ppm",
        "cited",
        "created_at",
    ]
    list_filter = ["usage_type", "payment_type", "cited"]
    search_fields = ["=answer__request_id", "agent__name", "provider__name"]
    list_select_related = ["answer", "agent", "provider", "agreement"]
    raw_id_fields = ["answer", "agreement"]
