"""What advertisers' reports, auction traces and the ad repository take and return."""

from rest_framework import serializers

from ads.api.serializers import OrganizationQuerySerializer
from ads.services.reports import GROUPS
from ads.services.repository import PAGE_MAX as REPOSITORY_PAGE_MAX
from ads.services.traces import PAGE_MAX as TRACE_PAGE_MAX
from ads.services.traces import REASONS
from core.api.serializers import StrictSerializer

BIGINT_MAX = 2**63 - 1
MAX_OFFSET = 1_000_000  # deeper pages: narrow by advertiser

# -- reports -----------------------------------------------------------------------------------


class ReportQuerySerializer(OrganizationQuerySerializer):
    group = serializers.ChoiceField(choices=GROUPS, default="day", help_text="One row per...")
    # "from" is a Python keyword: the fields are renamed in __init__.
    date_from = serializers.DateField(
        required=False, help_text="The first UTC day (YYYY-MM-DD); default: 29 days before to."
    )
    date_to = serializers.DateField(
        required=False, help_text="The last UTC day, included; default: today."
    )
    format = serializers.ChoiceField(
        choices=["json", "csv"],
        required=False,
        help_text="csv: the same as Accept: text/csv (for a link in a browser).",
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("date_from")
        fields["to"] = fields.pop("date_to")
        fields["from"].source = "date_from"
        fields["to"].source = "date_to"
        return fields


class ReportRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The day (YYYY-MM-DD), campaign id or unit id.")
    name = serializers.CharField(help_text="The campaign's name or the unit's title.")
    impressions = serializers.IntegerField()
    clicks = serializers.IntegerField()
    ctr_ppm = serializers.IntegerField(help_text="Clicks per million impressions.")
    spend_micros = serializers.IntegerField(help_text="What was charged.")
    avg_cpm_micros = serializers.IntegerField(
        allow_null=True, help_text="What CPM impressions were charged per 1,000."
    )
    avg_cpc_micros = serializers.IntegerField(
        allow_null=True, help_text="What CPC clicks were charged per click."
    )
    cpm_impressions = serializers.IntegerField()
    cpm_spend_micros = serializers.IntegerField()
    cpc_clicks = serializers.IntegerField()
    cpc_spend_micros = serializers.IntegerField()


class ReportSerializer(serializers.Serializer):
    advertiser_id = serializers.UUIDField()
    group = serializers.ChoiceField(choices=GROUPS)
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    rows = ReportRowSerializer(many=True)
    totals = ReportRowSerializer()


# -- traces ------------------------------------------------------------------------------------


class TraceQuerySerializer(OrganizationQuerySerializer):
    unit = serializers.UUIDField(required=False, help_text="One of your units (default: all).")
    limit = serializers.IntegerField(min_value=1, max_value=TRACE_PAGE_MAX, default=50)
    before_id = serializers.IntegerField(
        min_value=1,
        max_value=BIGINT_MAX,
        required=False,
        help_text="The next page: `next_before_id` of this one.",
    )


class TraceRowSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=REASONS)
    own = serializers.BooleanField(help_text="One of your units: its id, score and price too.")
    unit_id = serializers.UUIDField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    price_micros = serializers.IntegerField(allow_null=True)


class TraceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    auction_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    candidates = TraceRowSerializer(many=True)
    omitted = serializers.DictField(
        child=serializers.IntegerField(), help_text="Candidates not kept, counted by reason."
    )


class TracePageSerializer(serializers.Serializer):
    results = TraceSerializer(many=True)
    next_before_id = serializers.IntegerField(allow_null=True)


# -- the ad repository -------------------------------------------------------------------------


class RepositoryQuerySerializer(StrictSerializer):
    json_types = False
    advertiser = serializers.UUIDField(required=False, help_text="One advertiser's ads only.")
    limit = serializers.IntegerField(min_value=1, max_value=REPOSITORY_PAGE_MAX, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class RepositoryEntrySerializer(serializers.Serializer):
    unit_id = serializers.UUIDField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    call_to_action = serializers.CharField()
    category = serializers.CharField()
    bid_type = serializers.CharField()
    advertiser_id = serializers.UUIDField(help_text="On whose behalf it was shown.")
    advertiser_name = serializers.CharField()
    paid_by_id = serializers.UUIDField(help_text="Who paid for it.")
    paid_by_name = serializers.CharField()
    first_served_at = serializers.DateTimeField()
    last_served_at = serializers.DateTimeField()
    targeting = serializers.DictField(help_text="The parameters it was targeted with.")
    impressions = serializers.IntegerField(help_text="Reach: the answers it was served with.")


class RepositoryPageSerializer(serializers.Serializer):
    results = RepositoryEntrySerializer(many=True)
    next_offset = serializers.IntegerField(allow_null=True)
