"""Request and response shapes of top-ups, funding, Connect onboarding and payouts."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.api.serializers import OrganizationQueryMixin
from billing.services.currency import micros_per_minor_unit
from core.api.serializers import StrictCharField, StrictSerializer

# A top-up is a whole number of the currency's minor units (USD: a multiple of 10,000 micros).
STEP = micros_per_minor_unit(settings.LICENSING_CURRENCY)
LEAST, MOST = settings.BILLING_TOP_UP_MIN_MICROS, settings.BILLING_TOP_UP_MAX_MICROS
AMOUNT = {"minimum": LEAST, "maximum": MOST, "multipleOf": STEP}


@extend_schema_field({"type": "integer", **AMOUNT})
class TopUpAmountField(serializers.IntegerField):
    """An amount one top-up may add: within the bounds, in whole minor units."""

    def __init__(self, **kwargs):
        super().__init__(min_value=kwargs.pop("min_value", LEAST), max_value=MOST, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value % STEP:
            raise serializers.ValidationError(f"A multiple of {STEP} (whole minor units).")
        return value


@extend_schema_field({"type": "integer", "anyOf": [{"enum": [0]}, AMOUNT]})
class AutoTopUpAmountField(TopUpAmountField):
    """0 (off), or an amount a top-up may add."""

    def __init__(self, **kwargs):
        super().__init__(min_value=0, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if 0 < value < LEAST:
            raise serializers.ValidationError(f"0 (off) or at least {LEAST}.")
        return value


class TopUpCreateSerializer(StrictSerializer):
    amount_micros = TopUpAmountField(
        help_text="What to add, in micros: a whole number of the currency's minor units (USD: "
        f"a multiple of 10000), from {LEAST} to {MOST}.",
    )
    method = serializers.ChoiceField(
        choices=["payment_intent", "checkout"],
        default="payment_intent",
        help_text="payment_intent: confirm with Stripe.js using client_secret; checkout: send "
        "the payer to checkout_url.",
    )
    purpose = serializers.ChoiceField(
        choices=["agent_wallet", "advertiser_prepaid"],
        required=False,
        help_text="What to fund: an agent's wallet or an advertiser's prepaid ad funds. "
        "Default: the one your organization's roles allow (the wallet, if it is both).",
    )


class TopUpSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    organization_id = serializers.UUIDField()
    purpose = serializers.CharField()
    amount_micros = serializers.IntegerField()
    currency = serializers.CharField()
    method = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "succeeded", "failed", "refunded"])
    refunded_micros = serializers.IntegerField()
    payment_intent_id = serializers.CharField()
    checkout_session_id = serializers.CharField()
    failure_message = serializers.CharField()
    created_at = serializers.DateTimeField()
    credited_at = serializers.DateTimeField(allow_null=True)
    client_secret = serializers.CharField(
        help_text="Given once, when the top-up is created with method payment_intent."
    )
    checkout_url = serializers.CharField(
        help_text="Given once, when the top-up is created with method checkout."
    )


class TopUpListSerializer(serializers.Serializer):
    results = TopUpSerializer(many=True)


class FundingSerializer(serializers.Serializer):
    organization_id = serializers.UUIDField()
    low_balance_micros = serializers.IntegerField()
    auto_top_up_micros = serializers.IntegerField()
    has_payment_method = serializers.BooleanField()
    low_balance_since = serializers.DateTimeField(allow_null=True)
    stripe_configured = serializers.BooleanField()


class FundingUpdateSerializer(StrictSerializer):
    min_fields = 1
    low_balance_micros = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=settings.BILLING_TOP_UP_MAX_MICROS,
        help_text="Below this available wallet balance you are flagged (0: never).",
    )
    auto_top_up_micros = AutoTopUpAmountField(
        required=False,
        help_text="Top up this much automatically when under the threshold (0: off).",
    )
    payment_method_id = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="A card saved with a SetupIntent (pm_...), charged off session; '' removes it.",
    )


class ConnectSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    payouts_enabled = serializers.BooleanField()
    details_submitted = serializers.BooleanField()
    onboarding_url = serializers.CharField(
        help_text="A one-time Stripe onboarding link (given by POST; expires)."
    )
    onboarding_expires_at = serializers.IntegerField(allow_null=True)


class PayoutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    organization_id = serializers.UUIDField()
    stripe_account_id = serializers.CharField()
    amount_micros = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "paid", "failed", "reversed"])
    transfer_id = serializers.CharField()
    failure_message = serializers.CharField()
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)


class PayoutListSerializer(serializers.Serializer):
    results = PayoutSerializer(many=True)


class PayoutLineSerializer(serializers.Serializer):
    kind = serializers.CharField()
    agreement_id = serializers.UUIDField(allow_null=True)
    transactions = serializers.IntegerField()
    amount_micros = serializers.IntegerField()


class PayoutItemSerializer(serializers.Serializer):
    transaction_id = serializers.IntegerField()
    kind = serializers.CharField()
    effective_at = serializers.DateTimeField()
    usage_event_id = serializers.IntegerField(allow_null=True)
    agreement_id = serializers.UUIDField(allow_null=True)
    amount_micros = serializers.IntegerField()
    memo = serializers.CharField()


class PayoutStatementSerializer(serializers.Serializer):
    payout = PayoutSerializer()
    earned_micros = serializers.IntegerField()
    carried_micros = serializers.IntegerField()
    lines = PayoutLineSerializer(many=True)
    items = PayoutItemSerializer(many=True)
    items_total = serializers.IntegerField()


class PayoutQuerySerializer(StrictSerializer, OrganizationQueryMixin):
    json_types = False
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class TopUpQuerySerializer(StrictSerializer, OrganizationQueryMixin):
    json_types = False
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class EmptySerializer(StrictSerializer):
    """No fields: the request names what it acts on in its path or headers."""
