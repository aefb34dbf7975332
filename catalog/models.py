"""The catalog: providers' collections, their documents, the chunks retrieval searches, and
the ingestion jobs that fill them."""

import uuid

from django.conf import settings
from django.db import models


class Collection(models.Model):
    """A provider's body of content, the unit that licenses are offered on."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="collections"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    language = models.CharField(max_length=16, blank=True, default="en")
    topics = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="collection_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    """One source document in its current version: its clean text and what it came from."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        DUPLICATE = "duplicate", "Held out: a copy of another provider's document"

    id = models.BigAutoField(primary_key=True)
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="documents")
    # The document's identity inside its collection: the record id, the URL or the file name.
    # Ingesting the same external_id again updates this document instead of adding another.
    external_id = models.CharField(max_length=1024)
    source_url = models.URLField(max_length=2048, blank=True, default="")
    title = models.CharField(max_length=500, blank=True, default="")
    author = models.CharField(max_length=300, blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    content_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    text = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    # Held out of retrieval (status duplicate) as a near-copy of this earlier document of another
    # provider: `duplicate_similarity` is the estimated Jaccard similarity by the measure that
    # found it, `duplicate_measure`: "wording" (5-word shingles: a copy, lightly edited or not)
    # or "content" (content words and their pairs: a reworded copy).
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates"
    )
    duplicate_similarity = models.FloatField(null=True, blank=True)
    duplicate_measure = models.CharField(max_length=10, blank=True, default="")
    # An operator found this document is no copy of that one: it is never held out against it.
    duplicate_released_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    duplicate_released_at = models.DateTimeField(null=True, blank=True)
    duplicate_released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The version whose duplicate-detection signatures are stored; ingestion signs each version
    # as it stores it. Lower than `version` (0 for documents stored before detection, or reset
    # after an algorithm change): `manage.py sign_documents` signs and judges it.
    signed_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "external_id"], name="document_external_id_unique"
            )
        ]

    def __str__(self) -> str:
        return self.title or self.external_id


class Chunk(models.Model):
    """A passage of a document's text: what retrieval finds and answers cite."""

    id = models.BigAutoField(primary_key=True)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    # Denormalized from the document so the exact collection filter needs no join.
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    char_start = models.PositiveIntegerField()
    char_end = models.PositiveIntegerField()
    token_count = models.PositiveIntegerField()
    # Held out of retrieval: its document is a held-out duplicate, or this passage repeats an
    # earlier one of its collection or copies another provider's (`duplicate_of`). Denormalized
    # so that search filters on the chunk row alone. The pointer has no database constraint and
    # deleting the original does nothing to it (chunks stay cheap to delete): the services that
    # delete chunks re-check the passages that pointed at them.
    held_out = models.BooleanField(default=False)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["document_id", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["document", "ordinal"], name="chunk_ordinal_unique"),
            models.CheckConstraint(
                condition=models.Q(char_end__gte=models.F("char_start")),
                name="chunk_offsets_ordered",
            ),
        ]
        indexes = [models.Index(fields=["collection", "id"], name="chunk_collection_idx")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.ordinal}"


class TextSignature(models.Model):
    """The MinHash signatures of a document version: of the whole text and of each passage.

    Part 0 is the document, part i the passage of ordinal i - 1. Per part: its wording and its
    content signatures (2 x 128 16-bit values; all ones: too short to sign), the chunk, and
    `since`, which orders who published a text first: a new text is dated when it is ingested;
    a new version keeps the date of the old text it nearly repeats or rewords (an edit keeps
    ownership, a new text does not). One row per document, replaced with each version, so a
    document costs one row, not one per passage.
    """

    id = models.BigAutoField(primary_key=True)
    document = models.OneToOneField(Document, on_delete=models.CASCADE, related_name="signature")
    # Denormalized from the document: candidates are judged without joining collections.
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    algorithm = models.CharField(max_length=64)
    digests = models.BinaryField()  # parts x 256 little-endian 16-bit values
    chunk_ids = models.BinaryField()  # parts x little-endian 64-bit ids (0 for the document)
    since_us = models.BinaryField()  # parts x little-endian 64-bit microseconds since 1970

    def __str__(self) -> str:
        return f"signatures of document {self.document_id}"


class SignatureBand(models.Model):
    """One LSH band key of one part of a signature row: texts sharing a key are candidates.

    Only parts that may be originals (not held out) have keys. The one index holds the key,
    the signature and the part, so a lookup reads the index alone. Rows of a replaced
    signature are left behind (they match no signature any more, ids are never reused) and
    `sign_documents` prunes them.
    """

    id = models.BigAutoField(primary_key=True)
    signature = models.ForeignKey(
        TextSignature,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    part = models.PositiveSmallIntegerField()
    key = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["key", "signature", "part"], name="signatureband_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.signature_id}/{self.part}:{self.key}"


class IngestionJob(models.Model):
    """One run of the ingestion pipeline over a batch: uploaded files, a URL, a sitemap, a feed."""

    class Kind(models.TextChoices):
        UPLOAD = "upload", "Upload"
        URL = "url", "URL"
        SITEMAP = "sitemap", "Sitemap"
        FEED = "feed", "RSS/Atom feed"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partly failed"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, related_name="ingestion_jobs"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=2048, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} job {self.id}"


class IngestionItem(models.Model):
    """One unit of a job (a file, a record, a URL) with its outcome and, if it failed, why."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        UNCHANGED = "unchanged", "Unchanged"
        EXPANDED = "expanded", "Expanded"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        FILE = "file", "Uploaded file"
        RECORD = "record", "Record of a jsonl/csv file or feed entry"
        PAGE = "page", "Web page"
        SITEMAP = "sitemap", "Sitemap"
        FEED = "feed", "RSS/Atom feed"

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(IngestionJob, on_delete=models.CASCADE, related_name="items")
    ordinal = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FILE)
    name = models.CharField(max_length=2048)
    content_type = models.CharField(max_length=100, blank=True, default="")
    # A record (as JSON) waits here for the worker; cleared once processed. Uploaded files wait
    # in the ingestion storage instead (older jobs kept their bytes here).
    payload = models.BinaryField(null=True, blank=True)
    # How many sitemaps/feeds lie between this item and the URL the job started from.
    depth = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=50, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    document = models.ForeignKey(
        Document, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["job", "ordinal"], name="ingestion_item_unique")
        ]
        indexes = [models.Index(fields=["job", "status"], name="ingestion_item_status_idx")]

    def __str__(self) -> str:
        return self.name


class DuplicateDispute(models.Model):
    """A provider contests that its document is a copy: an operator reviews it in the admin
    and releases the document (not a copy) or upholds the verdict (it stays held out)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open: waiting for an operator"
        RELEASED = "released", "Released: not a copy"
        UPHELD = "upheld", "Upheld: held out as a copy"

    id = models.BigAutoField(primary_key=True)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="disputes")
    # What it was held out against when disputed (the original may change or go later).
    original = models.ForeignKey(
        Document, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document"],
                condition=models.Q(status="open"),
                name="one_open_dispute_per_document",
            ),
        ]

    def __str__(self) -> str:
        return f"dispute {self.id} of document {self.document_id} ({self.status})"
