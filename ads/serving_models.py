"""What was served beside answers, what it cost, and why it won.

- `AdVersion`: a copy of what one version of a unit showed and whom it targeted, written when
  that version first serves (the ad repository lists these; the unit itself may change).
- `Serving`: one sponsored item served with one answer, at the price the auction set.
- `AdEvent`: an impression or a click of a serving, once each (a unique key), with what it
  charges the advertiser and whether the charge was posted to the ledger.
- `AuctionTrace`: why each candidate of an auction won or lost, kept for
  ADS_TRACE_RETENTION_DAYS; `AuctionTraceUnit` finds an advertiser's units in traces.

Money is integer micros of the campaign's currency; times are UTC.
"""

import uuid

from django.db import models
from django.db.models import Q


class BidType(models.TextChoices):
    CPM = "cpm", "Per 1,000 served"
    CPC = "cpc", "Per click"


class AdVersion(models.Model):
    """What one version of a unit showed, and whom it targeted, as it was served."""

    id = models.BigAutoField(primary_key=True)
    unit = models.ForeignKey("ads.AdUnit", on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    campaign = models.ForeignKey("ads.Campaign", on_delete=models.PROTECT, related_name="+")
    advertiser = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(max_length=100)
    body = models.TextField(max_length=500)
    url = models.URLField(max_length=2048)
    call_to_action = models.CharField(max_length=40)
    category = models.CharField(max_length=20)
    bid_type = models.CharField(max_length=3, choices=BidType.choices)
    targeting = models.JSONField(default=dict)
    first_served_at = models.DateTimeField()

    class Meta:
        ordering = ["-first_served_at", "-id"]
        verbose_name = "served ad version"
        indexes = [models.Index(fields=["-first_served_at", "-id"], name="adversion_served")]
        constraints = [
            models.UniqueConstraint(fields=["unit", "version"], name="one_copy_per_unit_version")
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class Serving(models.Model):
    """One sponsored item served beside one answer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    auction_id = models.CharField(max_length=100)
    request_id = models.CharField(max_length=100)  # the answer's
    slot = models.PositiveSmallIntegerField()
    agent = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("ads.AdUnit", on_delete=models.PROTECT, related_name="servings")
    unit_version = models.PositiveIntegerField()
    # Indexed with the time by Meta.indexes (as is the advertiser).
    ad_version = models.ForeignKey(
        AdVersion, on_delete=models.PROTECT, related_name="servings", db_index=False
    )
    campaign = models.ForeignKey("ads.Campaign", on_delete=models.PROTECT, related_name="+")
    advertiser = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    bid_type = models.CharField(max_length=3, choices=BidType.choices)
    # The auction's price per event of the bid type: per 1,000 served (CPM) or per click (CPC).
    price_micros = models.BigIntegerField()
    # The most one event may charge: the budget held for it when less than its price allows
    # (the last unit a campaign's budget pays for); None: no cap beyond the price.
    max_charge_micros = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    reasons = models.JSONField(default=list)  # "why this ad", short plain strings
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "slot"]
        indexes = [
            models.Index(fields=["advertiser", "created_at"], name="serving_advertiser"),
            models.Index(fields=["ad_version", "created_at"], name="serving_ad_version"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["request_id", "slot"], name="one_serving_per_slot"),
            models.CheckConstraint(condition=Q(price_micros__gt=0), name="serving_price_positive"),
            models.CheckConstraint(
                condition=Q(max_charge_micros__isnull=True) | Q(max_charge_micros__gt=0),
                name="serving_max_charge_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} #{self.slot}"


class AdEvent(models.Model):
    """An impression or a click of a serving, recorded once under its key."""

    class Kind(models.TextChoices):
        IMPRESSION = "impression", "Impression"
        CLICK = "click", "Click"

    class Status(models.TextChoices):
        PENDING = "pending", "To be charged"
        CHARGED = "charged", "Charged"
        FREE = "free", "Nothing to charge"  # a CPC impression, a CPM click
        UNFUNDED = "unfunded", "Not charged: the advertiser's prepaid funds could not pay"
        OVER_BUDGET = "over_budget", "Not charged: the campaign's budget was spent"
        VOID = "void", "Not charged: the answer was never delivered"

    id = models.BigAutoField(primary_key=True)
    serving = models.ForeignKey(
        Serving, on_delete=models.PROTECT, related_name="events", db_index=False
    )  # indexed with the kind by Meta.indexes
    kind = models.CharField(max_length=10, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=100)  # unique: see Meta.constraints
    # What the event charges the advertiser (the ledger gets it once the status is `charged`).
    amount_micros = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices)
    transaction_id = models.BigIntegerField(null=True, blank=True)  # billing's ledger
    created_at = models.DateTimeField()
    charged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=Q(status="pending"), name="adevent_pending"),
            models.Index(fields=["serving", "kind"], name="adevent_serving"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="ad_event_key_unique"),
            models.CheckConstraint(
                condition=Q(amount_micros__gte=0), name="ad_event_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(status="charged")
                | Q(transaction_id__isnull=False, amount_micros__gt=0),
                name="ad_event_charged_in_ledger",
            ),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class AuctionTrace(models.Model):
    """Why each candidate of one auction won or lost.

    `candidates` is a list of compact rows, winners first then by score: `[unit id, advertiser
    id, reason code, score, price micros or null]`; `omitted` counts, by reason, the candidates
    past ADS_TRACE_MAX_CANDIDATES that were not kept.
    """

    id = models.BigAutoField(primary_key=True)
    auction_id = models.CharField(max_length=100)  # unique: see Meta.constraints
    request_id = models.CharField(max_length=100)
    agent = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    candidates = models.JSONField(default=list)
    omitted = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="auctiontrace_created"),
            models.Index(fields=["request_id"], name="auctiontrace_request"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["auction_id"], name="one_trace_per_auction"),
        ]

    def __str__(self) -> str:
        return self.auction_id


class AuctionTraceUnit(models.Model):
    """A unit that appears in a trace, so an advertiser finds the traces of its units."""

    id = models.BigAutoField(primary_key=True)
    trace = models.ForeignKey(AuctionTrace, on_delete=models.CASCADE, related_name="units")
    # The advertiser's own: who may see this unit's row of the trace. Plain ids, not foreign
    # keys: a trace is a record of a decision, written once and purged whole.
    unit_id = models.UUIDField()
    advertiser_id = models.UUIDField()

    class Meta:
        indexes = [
            models.Index(fields=["unit_id", "-trace"], name="traceunit_unit"),
            models.Index(fields=["advertiser_id", "-trace"], name="traceunit_advertiser"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} in {self.trace_id}"


__all__ = ["AdEvent", "AdVersion", "AuctionTrace", "AuctionTraceUnit", "Serving"]
