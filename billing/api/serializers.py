from rest_framework import serializers

from core.api.serializers import StrictSerializer

BIGINT_MAX = 2**63 - 1
PERIOD_PATTERN = r"^2[0-9]{3}-(0[1-9]|1[0-2])$"  # a month of this millennium, YYYY-MM
MAX_REVENUE_MICROS = 10**15  # a billion currency units: anything larger is a typo


class OrganizationQueryMixin(serializers.Serializer):
    organization = serializers.UUIDField(
        required=False,
        help_text="The organization you act for (signed-in members of several; keys: their own).",
    )


class TransactionQuerySerializer(StrictSerializer, OrganizationQueryMixin):
    json_types = False  # read from the query string
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
    before_id = serializers.IntegerField(
        min_value=1,
        max_value=BIGINT_MAX,
        required=False,
        help_text="Page on: pass the previous page's next_before_id.",
    )


class StatementQuerySerializer(StrictSerializer, OrganizationQueryMixin):
    json_types = False
    period = serializers.RegexField(
        PERIOD_PATTERN, help_text="The month, YYYY-MM (UTC).", max_length=7
    )
    format = serializers.ChoiceField(
        choices=["json", "csv", "pdf"],
        required=False,
        help_text="csv or pdf: the same as Accept: text/csv or application/pdf (for a link in "
        "a browser).",
    )


class OrganizationOnlyQuerySerializer(StrictSerializer, OrganizationQueryMixin):
    json_types = False


class RevenueReportCreateSerializer(StrictSerializer):
    period = serializers.RegexField(
        PERIOD_PATTERN,
        max_length=7,
        help_text="The month the revenue was earned, YYYY-MM (UTC); once it has ended.",
    )
    revenue_micros = serializers.IntegerField(min_value=1, max_value=MAX_REVENUE_MICROS)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, max_length=3)
    agreement_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Share it over this revenue-share agreement's uses only (default: all).",
    )


class CurrencyBalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    wallet_micros = serializers.IntegerField()
    reserved_micros = serializers.IntegerField()
    available_micros = serializers.IntegerField()
    receivable_micros = serializers.IntegerField()
    payable_micros = serializers.IntegerField()
    agent_payable_micros = serializers.IntegerField()
    advertiser_prepaid_micros = serializers.IntegerField()


class BalanceSerializer(serializers.Serializer):
    organization_id = serializers.UUIDField()
    postpaid = serializers.BooleanField()
    currencies = CurrencyBalanceSerializer(many=True)


class EntrySerializer(serializers.Serializer):
    account = serializers.CharField(source="purpose")
    currency = serializers.CharField()
    amount_micros = serializers.IntegerField(help_text="Debit positive, credit negative.")


class TransactionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    effective_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    memo = serializers.CharField()
    usage_event_id = serializers.IntegerField(allow_null=True)
    agreement_id = serializers.UUIDField(allow_null=True)
    revenue_report_id = serializers.UUIDField(allow_null=True)
    reverses_id = serializers.IntegerField(allow_null=True)
    entries = EntrySerializer(many=True, help_text="Your organization's entries only.")


class TransactionPageSerializer(serializers.Serializer):
    results = TransactionSerializer(many=True)
    next_before_id = serializers.IntegerField(allow_null=True)


class StatementLineSerializer(serializers.Serializer):
    account = serializers.CharField()
    currency = serializers.CharField()
    kind = serializers.CharField()
    transactions = serializers.IntegerField()
    debit_micros = serializers.IntegerField()
    credit_micros = serializers.IntegerField()


class StatementAccountSerializer(serializers.Serializer):
    account = serializers.CharField()
    currency = serializers.CharField()
    opening_micros = serializers.IntegerField()
    closing_micros = serializers.IntegerField()


class StatementSerializer(serializers.Serializer):
    organization_id = serializers.UUIDField()
    period = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    lines = StatementLineSerializer(many=True)
    accounts = StatementAccountSerializer(many=True)


class RevenueReportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    agent_id = serializers.UUIDField()
    agreement_id = serializers.UUIDField(allow_null=True)
    period = serializers.CharField()
    revenue_micros = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.CharField()
    uses_count = serializers.IntegerField()
    allocated_micros = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    allocated_at = serializers.DateTimeField(allow_null=True)


class DatasetExportCreateSerializer(StrictSerializer):
    """No fields: the export covers the licence's collections (`{}` or no body)."""


class DatasetExportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    agreement_id = serializers.UUIDField()
    documents = serializers.IntegerField(help_text="Ready documents in the licensed collections.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(help_text="When the download URL stops working.")
    url = serializers.URLField(
        help_text="GET it with your API key (the `licensing` scope) before `expires_at`: a ZIP "
        "of data.jsonl and manifest.json. 403 if altered, 410 once expired."
    )
