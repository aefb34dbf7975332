from rest_framework import serializers

from ads.models import AdUnit, Campaign, Pacing
from ads.services.campaigns import MAX_MICROS
from ads.services.content import CATEGORIES, MAX_IDS, MAX_WORD_LENGTH, MAX_WORDS
from core.api.serializers import StrictSerializer

URL_PATTERN = r"^https?://[^\s/?#@]+([/?#]\S*)?$"  # the service checks the rest (a real host)


def _max(model, name: str) -> int:
    return model._meta.get_field(name).max_length


class OrganizationQuerySerializer(StrictSerializer):
    json_types = False  # read from the query string
    organization = serializers.UUIDField(
        required=False,
        help_text="The organization you act for (signed-in members of several; keys: their own).",
    )


# -- campaigns -------------------------------------------------------------------------------


class CampaignSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    advertiser_id = serializers.UUIDField()
    name = serializers.CharField()
    currency = serializers.CharField()
    total_budget_micros = serializers.IntegerField()
    daily_budget_micros = serializers.IntegerField(allow_null=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    pacing = serializers.ChoiceField(choices=Pacing.choices)
    status = serializers.ChoiceField(choices=Campaign.Status.choices)
    spent_micros = serializers.IntegerField(help_text="What its ad events were charged.")
    unit_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _budget(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_MICROS, **kwargs)


class CampaignCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=_max(Campaign, "name"))
    total_budget_micros = _budget(help_text="All the campaign may spend, in micros.")
    daily_budget_micros = _budget(
        required=False, allow_null=True, help_text="At most this a day (UTC), in micros."
    )
    starts_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    pacing = serializers.ChoiceField(choices=Pacing.choices, default=Pacing.EVEN)
    currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        max_length=3,
        required=False,
        help_text="The platform's currency (the default); campaigns are funded in it.",
    )


class CampaignUpdateSerializer(StrictSerializer):
    min_fields = 1
    name = serializers.CharField(max_length=_max(Campaign, "name"), required=False)
    total_budget_micros = _budget(required=False)
    daily_budget_micros = _budget(required=False, allow_null=True)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    pacing = serializers.ChoiceField(choices=Pacing.choices, required=False)


class CampaignListQuerySerializer(OrganizationQuerySerializer):
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)


# -- ad units ----------------------------------------------------------------------------------


def _words(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=MAX_WORD_LENGTH),
        max_length=MAX_WORDS,
        required=False,
        help_text=help_text,
    )


def _ids(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.UUIDField(), max_length=MAX_IDS, required=False, help_text=help_text
    )


class TargetingSerializer(StrictSerializer):
    """Where a unit may appear. Empty or left out: anywhere (includes), nothing (excludes)."""

    keywords = _words("Words and phrases of questions this unit answers.")
    topics = _words("Topics of the passages it belongs beside.")
    collections = _ids("Appear only next to passages of these collections.")
    exclude_collections = _ids("Never next to passages of these collections.")
    providers = _ids("Appear only next to these providers' content.")
    exclude_providers = _ids("Never next to these providers' content.")
    agent_orgs = _ids("Only in answers to these agent organizations.")
    exclude_agent_orgs = _ids("Never in answers to these agent organizations.")


class TargetingOutSerializer(serializers.Serializer):
    keywords = serializers.ListField(child=serializers.CharField())
    topics = serializers.ListField(child=serializers.CharField())
    collections = serializers.ListField(child=serializers.UUIDField())
    exclude_collections = serializers.ListField(child=serializers.UUIDField())
    providers = serializers.ListField(child=serializers.UUIDField())
    exclude_providers = serializers.ListField(child=serializers.UUIDField())
    agent_orgs = serializers.ListField(child=serializers.UUIDField())
    exclude_agent_orgs = serializers.ListField(child=serializers.UUIDField())


class AdUnitSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    campaign_id = serializers.UUIDField()
    advertiser_id = serializers.UUIDField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    call_to_action = serializers.CharField()
    context_hints = serializers.CharField()
    targeting = TargetingOutSerializer()
    category = serializers.ChoiceField(choices=CATEGORIES)
    bid_type = serializers.ChoiceField(choices=AdUnit.BidType.choices)
    max_bid_micros = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AdUnit.Status.choices)
    review_state = serializers.ChoiceField(
        choices=AdUnit.ReviewState.choices,
        help_text="pending: waits for an operator (a new or edited unit); approved: may serve; "
        "rejected: see review_reason.",
    )
    review_reason = serializers.CharField(help_text="Why it was rejected (empty otherwise).")
    version = serializers.IntegerField(help_text="Goes up with every edit that is reviewed.")
    submitted_at = serializers.DateTimeField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AdUnitCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=_max(AdUnit, "title"), help_text="Plain text.")
    body = serializers.CharField(max_length=_max(AdUnit, "body"), help_text="Plain text.")
    url = serializers.RegexField(
        URL_PATTERN,
        max_length=_max(AdUnit, "url"),
        help_text="Where a click goes: an absolute http:// or https:// address.",
    )
    call_to_action = serializers.CharField(max_length=_max(AdUnit, "call_to_action"))
    context_hints = serializers.CharField(
        max_length=_max(AdUnit, "context_hints"),
        required=False,
        allow_blank=True,
        help_text="When this unit helps, in plain language (matched against questions).",
    )
    targeting = TargetingSerializer(required=False)
    category = serializers.ChoiceField(choices=CATEGORIES)
    bid_type = serializers.ChoiceField(choices=AdUnit.BidType.choices)
    max_bid_micros = _budget(
        help_text="cpm: the most per 1,000 served; cpc: the most per click. Within the budget."
    )


class AdUnitUpdateSerializer(AdUnitCreateSerializer):
    min_fields = 1
    title = serializers.CharField(max_length=_max(AdUnit, "title"), required=False)
    body = serializers.CharField(max_length=_max(AdUnit, "body"), required=False)
    url = serializers.RegexField(URL_PATTERN, max_length=_max(AdUnit, "url"), required=False)
    call_to_action = serializers.CharField(
        max_length=_max(AdUnit, "call_to_action"), required=False
    )
    targeting = TargetingSerializer(
        required=False, help_text="Replaces the whole targeting: keys left out are emptied."
    )
    category = serializers.ChoiceField(choices=CATEGORIES, required=False)
    bid_type = serializers.ChoiceField(choices=AdUnit.BidType.choices, required=False)
    max_bid_micros = _budget(required=False)


class UnitListQuerySerializer(StrictSerializer):
    json_types = False
    review_state = serializers.ChoiceField(choices=AdUnit.ReviewState.choices, required=False)


# -- providers' preferences ----------------------------------------------------------------------


class AdPreferencesSerializer(serializers.Serializer):
    provider_id = serializers.UUIDField()
    allow_ads = serializers.BooleanField(help_text="Whether ads may appear beside your content.")
    blocked_advertisers = serializers.ListField(child=serializers.UUIDField())
    blocked_categories = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORIES))
    updated_at = serializers.DateTimeField(
        allow_null=True, help_text="null: never set; the defaults apply (ads allowed)."
    )


class AdPreferencesUpdateSerializer(StrictSerializer):
    min_fields = 1
    allow_ads = serializers.BooleanField(required=False)
    blocked_advertisers = serializers.ListField(
        child=serializers.UUIDField(),
        max_length=MAX_IDS,
        required=False,
        help_text="Advertiser organizations never shown beside your content (replaces the list).",
    )
    blocked_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=CATEGORIES),
        max_length=len(CATEGORIES),
        required=False,
        help_text="Categories never shown beside your content (replaces the list).",
    )
