from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.models import Collection, Document, DuplicateDispute, IngestionItem, IngestionJob
from catalog.services import duplicates


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "language", "created_at"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "collection",
        "external_id",
        "status",
        "duplicate_of",
        "duplicate_similarity",
        "duplicate_measure",
        "version",
        "updated_at",
    ]
    list_filter = ["status", "duplicate_measure"]
    search_fields = ["title", "external_id", "source_url"]
    raw_id_fields = ["collection"]
    readonly_fields = [
        "content_hash",
        "version",
        "status",
        "duplicate_of",
        "duplicate_similarity",
        "duplicate_measure",
        "duplicate_released_from",
        "duplicate_released_at",
        "duplicate_released_by",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["collection", "duplicate_of"]
    actions = ["release_duplicates"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.action(description="Release: not a duplicate (back into retrieval)")
    def release_duplicates(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        """Let the selected held-out documents back into retrieval (false positives)."""
        released = 0
        for document_id in queryset.values_list("id", flat=True):
            user_id = request.user.pk if request.user.is_authenticated else None
            if duplicates.release_duplicate(document_id=document_id, released_by_id=user_id):
                released += 1
        self.message_user(
            request, f"Released {released} of {queryset.count()} documents.", messages.SUCCESS
        )


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


@admin.register(DuplicateDispute)
class DuplicateDisputeAdmin(admin.ModelAdmin):
    """The review queue of duplicate verdicts providers contest (filter: open)."""

    list_display = ["id", "document", "original", "status", "created_at", "resolved_at"]
    list_filter = ["status"]
    search_fields = ["document__title", "document__collection__organization__name", "reason"]
    list_select_related = ["document", "original"]
    readonly_fields = [
        "document",
        "original",
        "reason",
        "status",
        "opened_by",
        "created_at",
        "resolved_at",
        "resolved_by",
        "resolution_note",
    ]
    actions = ["release", "uphold"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def _resolve(self, request: HttpRequest, queryset, *, release: bool, note: str) -> None:  # type: ignore[no-untyped-def]
        user_id = request.user.pk if request.user.is_authenticated else None
        answered = sum(
            duplicates.resolve_dispute(
                dispute_id=dispute_id, release=release, note=note, resolved_by_id=user_id
            )
            for dispute_id in queryset.values_list("id", flat=True)
        )
        self.message_user(request, f"Answered {answered} open disputes.", messages.SUCCESS)

    @admin.action(description="Release: not a copy (the document goes back into retrieval)")
    def release(self, request: HttpRequest, queryset: QuerySet[DuplicateDispute]) -> None:
        self._resolve(request, queryset, release=True, note="Released by an operator.")

    @admin.action(description="Uphold: a copy (the document stays held out)")
    def uphold(self, request: HttpRequest, queryset: QuerySet[DuplicateDispute]) -> None:
        self._resolve(request, queryset, release=False, note="Upheld by an operator.")
