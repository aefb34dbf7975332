"""What metering takes (the uses of an answer) and what it returns (the events it wrote)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from licensing.models import AnswerRecord


@dataclass(frozen=True)
class SourceUse:
    """One source used in an answer, under the terms the agent had for its collection."""

    collection_id: uuid.UUID
    provider_id: uuid.UUID
    offer_version_id: int
    agreement_id: uuid.UUID | None
    document_id: int | None = None
    chunk_id: int | None = None
    tokens: int = 0
    cited: bool = False
    attribution_weight_ppm: int = 0


@dataclass(frozen=True)
class UseRecord:
    request_id: str
    agent_id: uuid.UUID
    usage_type: str
    sources: tuple[SourceUse, ...]
    api_key_id: uuid.UUID | None = None
    created_at: datetime | None = None
    kind: str = ""  # answer, search or content; by default from the usage type
    # What the agent declares the answer earned (revenue-share sources get their share).
    revenue_micros: int | None = None


# A table row as the hot path keeps it: column name -> value. Answers, usage events and locked
# agreements travel between pricing, the cap check and the writes as rows, not model objects.
Row = dict[str, Any]
# The agreement that covers each offer version an agent uses: agent -> offer version -> agreement.
Resolved = dict[uuid.UUID, dict[int, uuid.UUID]]


def _default_kind(usage_type: str) -> str:
    return AnswerRecord.Kind.SEARCH if usage_type == "search" else AnswerRecord.Kind.ANSWER


@dataclass(frozen=True)
class MeteredEvent:
    collection_id: uuid.UUID
    provider_id: uuid.UUID
    document_id: int | None
    chunk_id: int | None
    agreement_id: uuid.UUID
    offer_version_id: int
    payment_type: str
    price_unit: str
    units: int
    unit_price_micros: int
    amount_micros: int
    currency: str
    attribution_weight_ppm: int
    cited: bool


@dataclass(frozen=True)
class MeteredAnswer:
    answer_id: uuid.UUID
    request_id: str
    created: bool
    total_micros: int
    currency: str
    events: tuple[MeteredEvent, ...]


@dataclass(frozen=True)
class BatchResult:
    recorded: tuple[str, ...]
    duplicates: tuple[str, ...]
    over_cap: tuple[str, ...]


def _event_key(request_id: str, index: int, source: SourceUse) -> str:
    target = source.chunk_id or source.document_id or source.collection_id
    return f"{request_id}:{index}:{target}"
