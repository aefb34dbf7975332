"""What the report endpoints take (query strings) and give back."""

from rest_framework import serializers

from billing import services
from billing.api.serializers import OrganizationQueryMixin
from core.api.serializers import StrictSerializer

MAX_DAYS = services.REPORT_MAX_DAYS
MAX_ROWS = services.REPORT_MAX_ROWS


class ReportQuerySerializer(StrictSerializer):
    json_types = False  # read from the query string
    since = serializers.DateField(
        required=False, help_text="The first UTC day, YYYY-MM-DD (default: 29 days before until)."
    )
    until = serializers.DateField(
        required=False,
        help_text=f"The last UTC day, YYYY-MM-DD (default: today); at most {MAX_DAYS} days "
        "after since.",
    )
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", max_length=3, required=False, help_text="Default: the platform's."
    )
    format = serializers.ChoiceField(
        choices=["json", "csv"],
        required=False,
        help_text="csv: the same as Accept: text/csv (for a link in a browser).",
    )


class _Limited(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ROWS,
        default=100,
        help_text="Rows listed when grouped by other than day (most first); day lists every day.",
    )


class EarningsQuerySerializer(ReportQuerySerializer, OrganizationQueryMixin, _Limited):
    group = serializers.ChoiceField(choices=list(services.EARNINGS_GROUPS), default="day")


class CostsQuerySerializer(ReportQuerySerializer, OrganizationQueryMixin, _Limited):
    group = serializers.ChoiceField(choices=list(services.COST_GROUPS), default="day")


class SpendQuerySerializer(ReportQuerySerializer, OrganizationQueryMixin):
    group = serializers.ChoiceField(choices=list(services.FLOW_GROUPS), default="day")


class PlatformRevenueQuerySerializer(ReportQuerySerializer):
    group = serializers.ChoiceField(choices=list(services.FLOW_GROUPS), default="day")


class _Row(serializers.Serializer):
    key = serializers.CharField(
        help_text='The UTC day (YYYY-MM-DD), or the id or kind the row is for; "" for the '
        "total, and for what names no document, agent or provider."
    )
    label = serializers.CharField(help_text="The day, or the document's title or the name.")


class EarningsRowSerializer(_Row):
    uses = serializers.IntegerField(help_text="Usage events: a source used in a request.")
    cited_uses = serializers.IntegerField()
    answers = serializers.IntegerField(help_text="Distinct answers among the uses.")
    attribution_weight_ppm = serializers.IntegerField(
        help_text="The uses' attribution weights added up (1,000,000 = one whole answer)."
    )
    attribution_share_ppm = serializers.IntegerField(
        help_text="The average share of an answer it grounded: weight / answers."
    )
    transactions = serializers.IntegerField()
    earned_micros = serializers.IntegerField(
        help_text="Credited to the provider's payable account (the charge less the take), net "
        "of reversals; payouts left out."
    )


class CostRowSerializer(_Row):
    uses = serializers.IntegerField()
    cited_uses = serializers.IntegerField()
    answers = serializers.IntegerField()
    metered_micros = serializers.IntegerField(help_text="What metering priced the uses at.")
    transactions = serializers.IntegerField()
    charged_micros = serializers.IntegerField(
        help_text="Debited to the agent's wallet and receivable for licences, net of reversals."
    )


class SpendRowSerializer(_Row):
    charges = serializers.IntegerField(help_text="Ad charges (and their reversals).")
    spent_micros = serializers.IntegerField()
    added_micros = serializers.IntegerField(help_text="Top-ups and credits, less refunds.")


class PlatformRevenueRowSerializer(_Row):
    transactions = serializers.IntegerField()
    revenue_micros = serializers.IntegerField(help_text="Credited to platform revenue, net.")


class _Report(serializers.Serializer):
    group = serializers.CharField()
    since = serializers.DateField()
    until = serializers.DateField()
    currency = serializers.CharField()


class EarningsReportSerializer(_Report):
    organization_id = serializers.UUIDField()
    rows = EarningsRowSerializer(many=True)
    rows_total = serializers.IntegerField(help_text="Groups in all: rows lists the first limit.")
    total = EarningsRowSerializer()


class CostReportSerializer(_Report):
    organization_id = serializers.UUIDField()
    rows = CostRowSerializer(many=True)
    rows_total = serializers.IntegerField(help_text="Groups in all: rows lists the first limit.")
    total = CostRowSerializer()


class SpendReportSerializer(_Report):
    organization_id = serializers.UUIDField()
    rows = SpendRowSerializer(many=True)
    total = SpendRowSerializer()


class PlatformRevenueReportSerializer(_Report):
    rows = PlatformRevenueRowSerializer(many=True)
    total = PlatformRevenueRowSerializer()


def columns_of(row_serializer: type[serializers.Serializer]) -> tuple[str, ...]:
    """Return a row serializer's fields in order: the columns of its report's CSV."""
    return tuple(row_serializer().fields)
