from django.contrib import admin

from catalog.models import Collection, Document, IngestionItem, IngestionJob


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "language", "created_at"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "collection", "external_id", "status", "version", "updated_at"]
    list_filter = ["status"]
    search_fields = ["title", "external_id", "source_url"]
    raw_id_fields = ["collection"]
    readonly_fields = ["content_hash", "version", "created_at", "updated_at"]
    list_select_related = ["collection"]


class IngestionItemInline(admin.TabularInline):
    model = IngestionItem
    extra = 0
    fields = ["ordinal", "kind", "name", "status", "error_code", "error_message", "document"]
    readonly_fields = fields
    can_delete = False


@admin.register(IngestionJob)
class IngestionJobAdmin(admin.ModelAdmin):
    list_display = ["id", "collection", "kind", "status", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    raw_id_fields = ["collection", "created_by"]
    inlines = [IngestionItemInline]
