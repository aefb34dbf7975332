from rest_framework import serializers

from core.api.serializers import StrictSerializer
from licensing.models import LicenseAgreement, PaymentType, Period, PriceUnit, UsageType

MAX_PRICE = 10**15
BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint, the widest integer column
INT_MAX = 2**31 - 1  # PostgreSQL integer


class TermsFieldsMixin(serializers.Serializer):
    collection_ids = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=1000
    )
    usage_types = serializers.ListField(
        child=serializers.ChoiceField(choices=UsageType.choices), min_length=1, max_length=6
    )
    payment_type = serializers.ChoiceField(choices=PaymentType.choices)
    price_micros = serializers.IntegerField(min_value=0, max_value=MAX_PRICE, default=0)
    price_unit = serializers.ChoiceField(choices=PriceUnit.choices, default=PriceUnit.NONE)
    currency = serializers.CharField(max_length=3, default="USD")
    period = serializers.ChoiceField(choices=Period.choices, allow_blank=True, default="")
    revenue_share_bps = serializers.IntegerField(min_value=0, max_value=10_000, default=0)
    revenue_share_min_micros = serializers.IntegerField(min_value=0, max_value=MAX_PRICE, default=0)
    max_snippet_chars = serializers.IntegerField(
        min_value=1, max_value=INT_MAX, allow_null=True, default=None
    )
    citation_required = serializers.BooleanField(default=False)
    territories = serializers.ListField(
        child=serializers.CharField(min_length=2, max_length=2), default=list, max_length=250
    )
    allowed_agent_org_ids = serializers.ListField(
        child=serializers.UUIDField(), default=list, max_length=1000
    )
    denied_agent_org_ids = serializers.ListField(
        child=serializers.UUIDField(), default=list, max_length=1000
    )
    expires_at = serializers.DateTimeField(allow_null=True, default=None)


class OfferCreateSerializer(StrictSerializer, TermsFieldsMixin):
    name = serializers.CharField(max_length=120)
    auto_accept = serializers.BooleanField(default=False)


class OfferUpdateSerializer(StrictSerializer, TermsFieldsMixin):
    name = serializers.CharField(max_length=120, required=False)
    auto_accept = serializers.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class TermsSerializer(serializers.Serializer):
    collection_ids = serializers.ListField(child=serializers.UUIDField())
    usage_types = serializers.ListField(child=serializers.CharField())
    payment_type = serializers.CharField()
    price_micros = serializers.IntegerField()
    price_unit = serializers.CharField()
    currency = serializers.CharField()
    period = serializers.CharField()
    revenue_share_bps = serializers.IntegerField()
    revenue_share_min_micros = serializers.IntegerField()
    max_snippet_chars = serializers.IntegerField(allow_null=True)
    citation_required = serializers.BooleanField()
    territories = serializers.ListField(child=serializers.CharField())
    allowed_agent_org_ids = serializers.ListField(child=serializers.UUIDField())
    denied_agent_org_ids = serializers.ListField(child=serializers.UUIDField())
    expires_at = serializers.DateTimeField(allow_null=True)


class OfferSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    provider_id = serializers.UUIDField()
    provider_name = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    auto_accept = serializers.BooleanField()
    version = serializers.IntegerField()
    versions = serializers.ListField(child=serializers.IntegerField())
    terms = TermsSerializer()
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)


class MarketTermsSerializer(TermsSerializer):
    """Terms as agents see them: whom else an offer is offered to or refused is not shown."""

    allowed_agent_org_ids = None
    denied_agent_org_ids = None


class MarketCollectionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    topics = serializers.ListField(child=serializers.CharField())
    document_count = serializers.IntegerField(help_text="Documents ready to be used.")
    sample_passage = serializers.CharField(
        help_text="The opening of the collection's first passage, within the offer's quote limit."
    )


class MarketOfferSerializer(OfferSerializer):
    terms = MarketTermsSerializer()
    # In market listings (an agreement's offer leaves them out).
    provider_slug = serializers.CharField(
        required=False, help_text="Filter by it: ?provider=<slug>."
    )
    collections = MarketCollectionSerializer(many=True, required=False)
    explanation = serializers.CharField(required=False, help_text="The terms in plain words.")


class QuoteRequestSerializer(StrictSerializer):
    usage_type = serializers.ChoiceField(choices=UsageType.choices, default="ai-input")
    sources = serializers.IntegerField(min_value=0, max_value=1000, default=1)
    tokens = serializers.IntegerField(
        min_value=0, max_value=10_000_000, default=0, help_text="Content tokens per source."
    )
    cited = serializers.BooleanField(default=True)


class QuoteSerializer(serializers.Serializer):
    offer_id = serializers.UUIDField()
    offer_version = serializers.IntegerField()
    usage_type = serializers.CharField()
    payment_type = serializers.CharField()
    price_unit = serializers.CharField()
    units = serializers.IntegerField()
    amount_micros = serializers.IntegerField()
    currency = serializers.CharField()
    period = serializers.CharField()
    period_price_micros = serializers.IntegerField()


class AcceptSerializer(StrictSerializer):
    spend_cap_micros = serializers.IntegerField(
        min_value=0, max_value=MAX_PRICE, required=False, allow_null=True
    )


class AgreementSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    agent_id = serializers.UUIDField()
    offer = MarketOfferSerializer()
    status = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    spend_cap_micros = serializers.IntegerField(allow_null=True)
    spent_micros = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    origin = serializers.ChoiceField(
        choices=LicenseAgreement.Origin.choices,
        help_text="accepted: by you; auto_accept: made by an auto-accept offer on first use, "
        "bound by your price ceilings; single_fetch: one content fetch at its crawler-max-price.",
    )


class AgreementUpdateSerializer(StrictSerializer):
    min_fields = 1  # PATCH: the one field it changes
    spend_cap_micros = serializers.IntegerField(
        min_value=0,
        max_value=MAX_PRICE,
        allow_null=True,
        help_text="The new cap (null: none). What was spent stays; a cap below it stops charges.",
    )


class PriceCeilingsSerializer(serializers.Serializer):
    per_source_micros = serializers.IntegerField()
    per_answer_micros = serializers.IntegerField()
    currency = serializers.CharField()
    is_default = serializers.BooleanField(help_text="True until the organization sets its own.")
    updated_at = serializers.DateTimeField(allow_null=True)


class PriceCeilingsUpdateSerializer(StrictSerializer):
    min_fields = 1
    per_source_micros = serializers.IntegerField(min_value=0, max_value=MAX_PRICE, required=False)
    per_answer_micros = serializers.IntegerField(min_value=0, max_value=MAX_PRICE, required=False)


class EntitlementSerializer(serializers.Serializer):
    collection_id = serializers.UUIDField()
    provider_id = serializers.UUIDField()
    offer_id = serializers.UUIDField()
    offer_name = serializers.CharField()
    version = serializers.IntegerField()
    agreement_id = serializers.UUIDField(allow_null=True)
    payment_type = serializers.CharField()
    price_micros = serializers.IntegerField()
    price_unit = serializers.CharField()
    currency = serializers.CharField()
    max_snippet_chars = serializers.IntegerField(allow_null=True)
    citation_required = serializers.BooleanField()
    auto_accepted = serializers.BooleanField(
        help_text="Usable without your acceptance, within your price ceilings."
    )


class UsageEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    request_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    agent_id = serializers.UUIDField()
    provider_id = serializers.UUIDField()
    collection_id = serializers.UUIDField()
    document_id = serializers.IntegerField(allow_null=True)
    chunk_id = serializers.IntegerField(allow_null=True)
    agreement_id = serializers.UUIDField()
    offer_id = serializers.UUIDField()
    offer_version = serializers.IntegerField()
    usage_type = serializers.CharField()
    payment_type = serializers.CharField()
    price_unit = serializers.CharField()
    units = serializers.IntegerField()
    unit_price_micros = serializers.IntegerField()
    amount_micros = serializers.IntegerField()
    currency = serializers.CharField()
    attribution_weight_ppm = serializers.IntegerField()
    cited = serializers.BooleanField()


class MarketFilterSerializer(serializers.Serializer):
    usage_type = serializers.ChoiceField(choices=UsageType.choices, required=False)
    provider = serializers.CharField(
        required=False, max_length=140, help_text="A provider's slug (or organization id)."
    )
    collection = serializers.UUIDField(required=False, help_text="A collection id.")
    topic = serializers.CharField(
        required=False, max_length=100, help_text="A topic of one of the offer's collections."
    )


class UsageEventPageSerializer(serializers.Serializer):
    results = UsageEventSerializer(many=True)
    next_before_id = serializers.IntegerField(
        allow_null=True, help_text="Pass as before_id for the next page; null on the last page."
    )


class AgreementQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=LicenseAgreement.Status.choices, required=False, help_text="Only these."
    )


class UsageTypeQuerySerializer(serializers.Serializer):
    usage_type = serializers.ChoiceField(choices=UsageType.choices, default="ai-input")


class UsageQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)
    before_id = serializers.IntegerField(
        min_value=1,
        max_value=BIGINT_MAX,
        required=False,
        help_text="Page on: pass the previous page's next_before_id.",
    )


class NoticeRequestSerializer(StrictSerializer):
    days = serializers.IntegerField(
        min_value=1,
        max_value=3650,
        help_text="Days until it ends; at least LICENSING_MIN_NOTICE_DAYS (30 by default).",
    )


class LicenseeSerializer(serializers.Serializer):
    agreement_id = serializers.UUIDField()
    agent_id = serializers.UUIDField()
    agent_name = serializers.CharField()
    offer_id = serializers.UUIDField()
    offer_name = serializers.CharField()
    offer_version = serializers.IntegerField()
    payment_type = serializers.CharField()
    status = serializers.CharField()
    origin = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    spend_cap_micros = serializers.IntegerField(allow_null=True)
    spent_micros = serializers.IntegerField()
    currency = serializers.CharField()
    notice_ends_at = serializers.DateTimeField(allow_null=True)
