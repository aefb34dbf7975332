"""Operators' review of ad units (the review queue) and a view of campaigns and providers'
preferences.

What a unit shows is the advertiser's to change, through the API; here it is read-only, and
approval and rejection go through `ads.services` on the version the operator confirmed. Every
advertiser text is escaped by Django's templates wherever it is shown.
"""

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from ads import errors
from ads.models import AdUnit, Campaign, ProviderAdPreferences
from core.admin import ReadOnlyAdmin


class AdUnitInline(admin.TabularInline):
    model = AdUnit
    extra = 0
    can_delete = False
    fields = ["title", "bid_type", "max_bid_micros", "status", "review_state", "version"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "advertiser",
        "status",
        "pacing",
        "total_budget_micros",
        "daily_budget_micros",
        "currency",
        "starts_at",
        "ends_at",
        "created_at",
    ]
    list_filter = ["status", "pacing", "currency", "starts_at"]
    search_fields = ["name", "advertiser__name", "id"]
    date_hierarchy = "created_at"
    list_select_related = ["advertiser"]
    inlines = [AdUnitInline]


def _review(modeladmin, request, queryset, *, decision: str):
    """Show the chosen units as they are now, then apply the decision to those versions."""
    units = list(queryset.select_related("campaign__advertiser").order_by("submitted_at", "id"))
    if request.POST.get("confirm") != "yes":
        return TemplateResponse(
            request,
            "admin/ads/adunit/review.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": f"{decision.capitalize()} ad units",
                "decision": decision,
                "units": units,
                "action": request.POST.get("action"),
                "opts": modeladmin.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
    # Imported here, not with the admin: every process imports the admin when Django starts,
    # and ads.services brings the auction, billing and Stripe with it (tests/ads/test_start_up.py).
    from ads import services

    reason = request.POST.get("reason", "")
    done = 0
    for unit in units:
        version = request.POST.get(f"version_{unit.pk}", "")
        try:
            seen = int(version)
            if decision == "approve":
                services.approve_unit(reviewer_id=request.user.pk, unit_id=unit.pk, version=seen)
            else:
                services.reject_unit(
                    reviewer_id=request.user.pk, unit_id=unit.pk, version=seen, reason=reason
                )
            done += 1
        except ValueError:
            modeladmin.message_user(request, f"{unit}: no version confirmed.", messages.ERROR)
        except errors.DomainError as exc:
            modeladmin.message_user(request, f"{unit}: {exc.message}", messages.ERROR)
    if done:
        past = "approved" if decision == "approve" else "rejected"
        modeladmin.message_user(request, f"{done} ad unit(s) {past}.", messages.SUCCESS)
    return None


@admin.action(
    description="Approve the selected units (after a look at them)", permissions=["change"]
)
def approve_units(modeladmin, request, queryset):
    return _review(modeladmin, request, queryset, decision="approve")


@admin.action(description="Reject the selected units (with a reason)", permissions=["change"])
def reject_units(modeladmin, request, queryset):
    return _review(modeladmin, request, queryset, decision="reject")


@admin.register(AdUnit)
class AdUnitAdmin(admin.ModelAdmin):
    """The review queue: filter on `pending`, oldest submission first."""

    list_display = [
        "title",
        "advertiser",
        "campaign",
        "category",
        "bid_type",
        "max_bid_micros",
        "review_state",
        "version",
        "status",
        "submitted_at",
    ]
    list_filter = ["review_state", "status", "category", "bid_type"]
    search_fields = ["title", "body", "url", "campaign__name", "campaign__advertiser__name", "id"]
    ordering = ["submitted_at"]
    list_select_related = ["campaign__advertiser"]
    actions = [approve_units, reject_units]
    readonly_fields = [field.name for field in AdUnit._meta.fields]

    @admin.display(ordering="campaign__advertiser__name")
    def advertiser(self, unit):
        return unit.campaign.advertiser

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProviderAdPreferences)
class ProviderAdPreferencesAdmin(ReadOnlyAdmin):
    list_display = ["provider", "allow_ads", "updated_at"]
    list_filter = ["allow_ads"]
    search_fields = ["provider__name"]


# Servings, their events and auction traces, read-only.
from ads import serving_admin  # noqa: E402, F401
