"""Campaigns, ad units and providers' ad preferences.

Money is integer micros of the campaign's currency; times are UTC. Targeting lists hold plain
strings (keywords, topics, categories) or organization and collection ids as strings.
"""

import uuid

from django.db import models
from django.db.models import F, Q


class Pacing(models.TextChoices):
    EVEN = "even", "Even (spread the daily budget over the day)"
    ASAP = "asap", "As soon as possible"


class Category(models.TextChoices):
    """What an ad is about; providers may block whole categories beside their content."""

    FINANCE = "finance", "Finance and investing"
    HEALTH = "health", "Health and medicine"
    GAMBLING = "gambling", "Gambling"
    ALCOHOL = "alcohol", "Alcohol"
    POLITICS = "politics", "Politics and advocacy"
    SOFTWARE = "software", "Software and developer tools"
    EDUCATION = "education", "Education and training"
    TRAVEL = "travel", "Travel"
    RETAIL = "retail", "Retail and consumer goods"
    OTHER = "other", "Other"


class Campaign(models.Model):
    """An advertiser's budget and schedule, under which its ad units serve."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"
        # Its advertiser's prepaid funds could not pay an event: it serves again once resumed.
        OUT_OF_FUNDS = "out_of_funds", "Out of funds"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    advertiser = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="campaigns"
    )
    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3)
    total_budget_micros = models.BigIntegerField()
    daily_budget_micros = models.BigIntegerField(null=True, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    pacing = models.CharField(max_length=8, choices=Pacing.choices, default=Pacing.EVEN)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    # What its events have been charged (ads.services.charging), never above the total budget.
    spent_micros = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["advertiser", "-created_at"], name="campaign_advertiser")]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_budget_micros__gt=0), name="campaign_total_budget_positive"
            ),
            models.CheckConstraint(
                condition=Q(daily_budget_micros__isnull=True)
                | Q(daily_budget_micros__gt=0, daily_budget_micros__lte=F("total_budget_micros")),
                name="campaign_daily_budget_within_total",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="campaign_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=Q(spent_micros__gte=0, spent_micros__lte=F("total_budget_micros")),
                name="campaign_spent_within_budget",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AdUnit(models.Model):
    """One sponsored item: what is shown, where it may appear, and what it bids.

    A unit serves only once an operator has approved its current version; editing what it
    shows, whom it targets or what it bids sends it back to review.
    """

    class BidType(models.TextChoices):
        CPM = "cpm", "Per 1,000 served"
        CPC = "cpc", "Per click"

    class ReviewState(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="units")
    title = models.CharField(max_length=100)
    body = models.TextField(max_length=500)
    url = models.URLField(max_length=2048)
    call_to_action = models.CharField(max_length=40)
    context_hints = models.TextField(
        max_length=1000, blank=True, help_text="When this unit helps, in plain language."
    )
    keywords = models.JSONField(default=list, blank=True)
    topics = models.JSONField(default=list, blank=True)
    collections = models.JSONField(default=list, blank=True, help_text="Appear next to these.")
    exclude_collections = models.JSONField(default=list, blank=True)
    providers = models.JSONField(default=list, blank=True, help_text="Appear next to these.")
    exclude_providers = models.JSONField(default=list, blank=True)
    agent_orgs = models.JSONField(default=list, blank=True, help_text="Only for these agents.")
    exclude_agent_orgs = models.JSONField(default=list, blank=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    bid_type = models.CharField(max_length=3, choices=BidType.choices)
    max_bid_micros = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    review_state = models.CharField(
        max_length=8, choices=ReviewState.choices, default=ReviewState.PENDING
    )
    version = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    review_reason = models.TextField(max_length=1000, blank=True)
    first_approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "ad unit"
        indexes = [
            models.Index(fields=["campaign", "-created_at"], name="adunit_campaign"),
            models.Index(fields=["review_state", "submitted_at"], name="adunit_review_queue"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(max_bid_micros__gt=0), name="adunit_bid_positive"),
            models.CheckConstraint(condition=Q(version__gte=1), name="adunit_version_positive"),
            models.CheckConstraint(
                condition=Q(review_state="pending") | Q(reviewed_at__isnull=False),
                name="adunit_reviewed_when_decided",
            ),
            models.CheckConstraint(
                condition=~Q(review_state="rejected") | ~Q(review_reason=""),
                name="adunit_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(review_state="approved") | Q(first_approved_at__isnull=False),
                name="adunit_approval_recorded",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ProviderAdPreferences(models.Model):
    """What a provider allows beside its content; a provider without a row allows ads."""

    provider = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="ad_preferences",
    )
    allow_ads = models.BooleanField(default=True)
    blocked_advertisers = models.JSONField(default=list, blank=True)
    blocked_categories = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "provider ad preferences"
        verbose_name_plural = "provider ad preferences"

    def __str__(self) -> str:
        return f"Ad preferences of {self.provider_id}"


# What was served, clicked and decided (Serving, AdEvent, AdVersion, AuctionTrace).
from ads.serving_models import *  # noqa: E402, F403
