from rest_framework import serializers

from catalog.models import Collection, IngestionJob
from core.api.serializers import StrictSerializer

URL_KINDS = [IngestionJob.Kind.URL, IngestionJob.Kind.SITEMAP, IngestionJob.Kind.FEED]


class CollectionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    organization_id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    language = serializers.CharField()
    topics = serializers.ListField(child=serializers.CharField())
    document_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _field(name: str):
    return Collection._meta.get_field(name)


class CollectionCreateSerializer(StrictSerializer):
    organization_id = serializers.UUIDField(
        required=False, help_text="Needed only if you belong to several provider organizations."
    )
    name = serializers.CharField(max_length=_field("name").max_length)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    language = serializers.CharField(
        required=False, allow_blank=True, max_length=_field("language").max_length
    )
    topics = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=50
    )


class CollectionUpdateSerializer(CollectionCreateSerializer):
    organization_id = None
    name = serializers.CharField(max_length=_field("name").max_length, required=False)


class DuplicateRefSerializer(serializers.Serializer):
    document_id = serializers.IntegerField(help_text="The original document (another provider's).")
    title = serializers.CharField()
    similarity = serializers.FloatField(
        help_text="Estimated Jaccard similarity of the two texts (0 to 1), by `measure`."
    )
    measure = serializers.ChoiceField(
        choices=["wording", "content"],
        help_text="wording: their 5-word shingles (a copy, edited or not); content: their "
        "content words and pairs of consecutive content words (a reworded copy).",
    )


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    collection_id = serializers.UUIDField()
    external_id = serializers.CharField()
    source_url = serializers.CharField()
    title = serializers.CharField()
    author = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    content_type = serializers.CharField()
    content_hash = serializers.CharField()
    status = serializers.CharField(
        help_text="pending until searchable, then ready; duplicate: held out of retrieval as a "
        "copy of an earlier document of another provider (see duplicate_of)."
    )
    metadata = serializers.DictField()
    version = serializers.IntegerField()
    chunk_count = serializers.IntegerField()
    held_out_chunk_count = serializers.IntegerField(
        help_text="Passages held out of retrieval: repeats of an earlier passage of the "
        "collection, copies of another provider's, or all of a duplicate document's."
    )
    duplicate_of = DuplicateRefSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DocumentDetailSerializer(DocumentSerializer):
    text = serializers.CharField()


class DocumentPageSerializer(serializers.Serializer):
    documents = DocumentSerializer(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


MAX_PAGE_LIMIT = 500
MAX_PAGE_OFFSET = 10_000_000


class PageQuerySerializer(StrictSerializer):
    json_types = False  # read from the query string
    limit = serializers.IntegerField(
        required=False, default=50, min_value=1, max_value=MAX_PAGE_LIMIT
    )
    offset = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=MAX_PAGE_OFFSET
    )


class UploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        help_text="One or more files (txt, md, html, pdf, jsonl, csv).",
    )


class UrlIngestionSerializer(StrictSerializer):
    url = serializers.CharField(max_length=2048)
    kind = serializers.ChoiceField(
        choices=URL_KINDS,
        default=IngestionJob.Kind.URL,
        help_text="url: one page; sitemap: every page a sitemap lists; feed: an RSS/Atom feed.",
    )


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(
        help_text="Every item found so far, including those found by expanding sitemaps, "
        "feeds and record files; grows while a job runs."
    )
    done = serializers.IntegerField()
    pending = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    expanded = serializers.IntegerField(
        help_text="Sitemaps, feeds and record files expanded into the items they list."
    )


class IngestionErrorSerializer(serializers.Serializer):
    ordinal = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class IngestionJobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    collection_id = serializers.UUIDField()
    kind = serializers.CharField()
    source = serializers.CharField()
    status = serializers.ChoiceField(choices=IngestionJob.Status.choices)
    progress = ProgressSerializer()
    errors = IngestionErrorSerializer(many=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class SearchSerializer(StrictSerializer):
    query = serializers.CharField(max_length=2000)
    collection_ids = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=1000
    )
    k = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100)


class ChunkHitSerializer(serializers.Serializer):
    chunk_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    collection_id = serializers.UUIDField()
    provider_org_id = serializers.UUIDField()
    score = serializers.FloatField()
    text = serializers.CharField()
    char_start = serializers.IntegerField()
    char_end = serializers.IntegerField()
    document_title = serializers.CharField()
    document_url = serializers.CharField()
    document_author = serializers.CharField()
    document_published_at = serializers.DateTimeField(allow_null=True)


class DisputeRequestSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=2000,
        allow_blank=True,
        help_text="Why the document is not a copy (an operator reads it).",
    )


class DisputeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    original_document_id = serializers.IntegerField(
        allow_null=True, help_text="What it was held out against when disputed."
    )
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=["open", "released", "upheld"])
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution_note = serializers.CharField()
