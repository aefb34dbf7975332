import uuid

from django.db import models
from django.db.models import Q


class UsageType(models.TextChoices):
    """RSL 1.0 usage vocabulary."""

    AI_INPUT = "ai-input", "AI input (grounding at query time)"
    AI_TRAIN = "ai-train", "AI training"
    AI_INDEX = "ai-index", "AI indexing"
    SEARCH = "search", "Search"
    AI_ALL = "ai-all", "All AI uses"
    ALL = "all", "All uses"


class PaymentType(models.TextChoices):
    FREE = "free", "Free"
    ATTRIBUTION = "attribution", "Free with attribution"
    USE = "use", "Pay per use"
    SUBSCRIPTION = "subscription", "Subscription"
    REVENUE_SHARE = "revenue_share", "Revenue share"
    PURCHASE = "purchase", "One-off purchase"


class PriceUnit(models.TextChoices):
    NONE = "none", "No unit price"
    RETRIEVED_SOURCE = "retrieved_source", "Per source retrieved"
    CITED_SOURCE = "cited_source", "Per source cited"
    THOUSAND_TOKENS = "1k_tokens", "Per 1,000 content tokens"
    PERIOD = "period", "Per period"
    ONE_OFF = "one_off", "Once"


class Period(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"


class LicenseOffer(models.Model):
    """A provider's offer. Its terms live in versions; the current one is what new agents get."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="license_offers"
    )
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    auto_accept = models.BooleanField(default=False)
    current_version = models.ForeignKey(
        "OfferVersion", on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "provider"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class OfferVersion(models.Model):
    """The terms of one version of an offer. Immutable once the offer has been published."""

    offer = models.ForeignKey(LicenseOffer, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    collections = models.ManyToManyField("catalog.Collection", related_name="offer_versions")
    usage_types = models.JSONField(default=list)
    payment_type = models.CharField(max_length=16, choices=PaymentType.choices)
    price_micros = models.BigIntegerField(default=0)
    price_unit = models.CharField(max_length=16, choices=PriceUnit.choices, default=PriceUnit.NONE)
    currency = models.CharField(max_length=3, default="USD")
    period = models.CharField(max_length=8, choices=Period.choices, blank=True)
    revenue_share_bps = models.PositiveIntegerField(default=0)
    # The least a revenue-share provider earns per use, whatever the answer earned.
    revenue_share_min_micros = models.BigIntegerField(default=0)
    max_snippet_chars = models.PositiveIntegerField(null=True, blank=True)
    citation_required = models.BooleanField(default=False)
    territories = models.JSONField(default=list, blank=True)
    allowed_agent_org_ids = models.JSONField(default=list, blank=True)
    denied_agent_org_ids = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["offer", "version"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "version"], name="offer_version_unique"),
            models.CheckConstraint(condition=Q(price_micros__gte=0), name="price_not_negative"),
            models.CheckConstraint(
                condition=Q(revenue_share_bps__lte=10_000), name="revenue_share_at_most_100pct"
            ),
            models.CheckConstraint(
                condition=Q(revenue_share_min_micros__gte=0), name="revenue_share_min_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer_id} v{self.version}"


class LicenseAgreement(models.Model):
    """An agent organization's acceptance of one offer version."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        SUSPENDED = "suspended", "Suspended"

    class Origin(models.TextChoices):
        """How the agent came to hold it, which decides what its consent covers."""

        ACCEPTED = "accepted", "Accepted by the agent"
        # Made by an auto-accept offer on first use: the agent's price ceilings still bound it.
        AUTO_ACCEPT = "auto_accept", "Made by an auto-accept offer"
        # One content fetch paid at its crawler-max-price: ended as soon as it is made.
        SINGLE_FETCH = "single_fetch", "One content fetch"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="license_agreements"
    )
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.ACCEPTED)
    offer = models.ForeignKey(LicenseOffer, on_delete=models.PROTECT, related_name="agreements")
    offer_version = models.ForeignKey(
        OfferVersion, on_delete=models.PROTECT, related_name="agreements"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Why a suspended agreement ended (e.g. a subscription renewal left unpaid), for the 402.
    status_reason = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    spend_cap_micros = models.BigIntegerField(null=True, blank=True)
    spent_micros = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # A provider's notice that it ends the agreement: access ends then (a subscription, at the
    # end of the last period that begins before then; no period is charged past it).
    notice_given_at = models.DateTimeField(null=True, blank=True)
    notice_ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "offer"],
                condition=Q(status="active"),
                name="one_active_agreement_per_offer",
            ),
            models.CheckConstraint(condition=Q(spent_micros__gte=0), name="spent_not_negative"),
            models.CheckConstraint(
                condition=Q(spend_cap_micros__isnull=True)
                | Q(spent_micros__lte=models.F("spend_cap_micros")),
                name="spent_within_cap",
            ),
        ]
        indexes = [models.Index(fields=["agent", "status"])]

    def __str__(self) -> str:
        return f"{self.agent_id} on {self.offer_id} ({self.status})"


class PriceCeiling(models.Model):
    """An agent organization's consent to prices it did not accept itself (auto-accept offers).

    No row means the defaults in settings (AGENT_DEFAULT_MAX_PRICE_PER_SOURCE_MICROS and
    AGENT_DEFAULT_MAX_PRICE_PER_ANSWER_MICROS).
    """

    agent = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="price_ceiling",
    )
    per_source_micros = models.BigIntegerField()
    per_answer_micros = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(per_source_micros__gte=0) & Q(per_answer_micros__gte=0),
                name="price_ceiling_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.per_source_micros}/source, {self.per_answer_micros}/answer"


class AnswerRecord(models.Model):
    """One metered use: an answer, a search or a content fetch. Recorded once per request id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request_id = models.CharField(max_length=100, unique=True)
    agent = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="answer_records"
    )
    api_key = models.ForeignKey(
        "accounts.APIKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Kind(models.TextChoices):
        ANSWER = "answer", "Answer"
        SEARCH = "search", "Search"
        CONTENT = "content", "Content fetch"
        EXPORT = "export", "Dataset export (a purchase licence's collections)"

    usage_type = models.CharField(max_length=10, choices=UsageType.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ANSWER)
    sources_count = models.PositiveIntegerField(default=0)
    total_micros = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    # What the agent declares the answer earned (its currency), shared with revenue-share
    # sources by attribution weight; None: nothing declared.
    revenue_micros = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agent", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(revenue_micros__isnull=True) | Q(revenue_micros__gte=0),
                name="answer_revenue_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.request_id


class UsageEvent(models.Model):
    """One source used in one answer, priced from the agreement's offer version. Immutable."""

    # Every index here is paid on each of the many rows metering writes, so there is none that
    # no query uses: agent and provider are served by the (agent|provider, created_at) indexes,
    # and nothing looks events up by collection or document.
    answer = models.ForeignKey(AnswerRecord, on_delete=models.PROTECT, related_name="events")
    agent = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    provider = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Usage history outlives the content: deleting a document or collection keeps its events.
    collection = models.ForeignKey(
        "catalog.Collection",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    document = models.ForeignKey(
        "catalog.Document",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
    )
    chunk_id = models.BigIntegerField(null=True, blank=True)
    agreement = models.ForeignKey(LicenseAgreement, on_delete=models.PROTECT, related_name="events")
    offer_version = models.ForeignKey(OfferVersion, on_delete=models.PROTECT, related_name="+")
    usage_type = models.CharField(max_length=10, choices=UsageType.choices)
    payment_type = models.CharField(max_length=16, choices=PaymentType.choices)
    price_unit = models.CharField(max_length=16, choices=PriceUnit.choices)
    units = models.BigIntegerField()
    unit_price_micros = models.BigIntegerField()
    amount_micros = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    attribution_weight_ppm = models.PositiveIntegerField(default=0)
    cited = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=200)  # unique: see Meta.constraints
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["provider", "created_at"]),
            models.Index(fields=["agent", "created_at"]),
        ]
        constraints = [
            # A constraint, not unique=True: on PostgreSQL that would add a second, LIKE index.
            models.UniqueConstraint(fields=["idempotency_key"], name="usage_event_key_unique"),
            models.CheckConstraint(condition=Q(amount_micros__gte=0), name="amount_not_negative"),
            models.CheckConstraint(
                condition=Q(attribution_weight_ppm__lte=1_000_000), name="weight_at_most_one"
            ),
        ]

    def __str__(self) -> str:
        return self.idempotency_key
