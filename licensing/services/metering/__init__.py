"""Usage metering: one AnswerRecord per request id and one immutable UsageEvent per source.

Recording is exactly-once: the answer row is inserted with `ON CONFLICT DO NOTHING RETURNING`,
so a retried or duplicated delivery inserts nothing and charges nothing, even when two arrive at
once. Spend caps hold because the agreements a batch charges are locked before it is priced.

On PostgreSQL the hot statements are written by hand (array parameters, COPY) to reach tens of
thousands of events a second; their table and column names come from model metadata only.
"""

from licensing.services.metering.answers import (
    AnswerAttribution,
    SourceWeight,
    answer_attributions,
)
from licensing.services.metering.events import (
    USAGE_PAGE_MAX,
    UsageEventInfo,
    UsageEventPage,
    list_usage_events,
    usage_events_page,
)
from licensing.services.metering.feed import (
    RATABLE_COLUMNS,
    RatableUse,
    RevenueShareUse,
    existing_usage_event_ids,
    ratable_usage,
    ratable_usage_ids,
    ratable_usage_query,
    revenue_share_uses,
    revenue_share_weight,
    usage_high_water_mark,
    usage_window_end,
)
from licensing.services.metering.recording import (
    is_metered,
    record_use,
    record_uses,
    settle_use,
    void_use,
)
from licensing.services.metering.storage import INSERT_BATCH
from licensing.services.metering.uses import (
    BatchResult,
    MeteredAnswer,
    MeteredEvent,
    SourceUse,
    UseRecord,
)

__all__ = [
    "INSERT_BATCH",
    "RATABLE_COLUMNS",
    "USAGE_PAGE_MAX",
    "AnswerAttribution",
    "BatchResult",
    "MeteredAnswer",
    "MeteredEvent",
    "RatableUse",
    "RevenueShareUse",
    "SourceUse",
    "SourceWeight",
    "UsageEventInfo",
    "UsageEventPage",
    "UseRecord",
    "answer_attributions",
    "existing_usage_event_ids",
    "is_metered",
    "list_usage_events",
    "ratable_usage",
    "ratable_usage_ids",
    "ratable_usage_query",
    "record_use",
    "record_uses",
    "revenue_share_uses",
    "revenue_share_weight",
    "settle_use",
    "usage_events_page",
    "usage_high_water_mark",
    "usage_window_end",
    "void_use",
]
