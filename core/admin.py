"""What every app's admin shares."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only services write (ledgers, metering, decisions): the operator reads them,
    filters and searches; corrections go through the services (reversals, releases)."""

    show_full_result_count = False  # no COUNT(*) over a large table on every page

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
