"""What other apps read of metered answers by request id: who asked, and which sources
grounded the answer by how much (ad revenue is shared by it)."""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from licensing.models import AnswerRecord, UsageEvent


@dataclass(frozen=True)
class SourceWeight:
    """One usage event of an answer: the source's provider and its attribution weight."""

    usage_event_id: int
    provider_id: uuid.UUID
    attribution_weight_ppm: int


@dataclass(frozen=True)
class AnswerAttribution:
    """A metered answer: its agent, its currency and its sources (by event id)."""

    request_id: str
    agent_id: uuid.UUID
    currency: str
    sources: tuple[SourceWeight, ...]


def answer_attributions(*, request_ids: Iterable[str]) -> dict[str, AnswerAttribution]:
    """Return the metered answers among these request ids, with their sources (two queries;
    an answer not metered, or voided, is absent)."""
    wanted = sorted(set(request_ids))
    if not wanted:
        return {}
    answers = {
        answer_id: (request_id, agent_id, currency)
        for answer_id, request_id, agent_id, currency in AnswerRecord.objects.filter(
            request_id__in=wanted
        ).values_list("id", "request_id", "agent_id", "currency")
    }
    sources: defaultdict[uuid.UUID, list[SourceWeight]] = defaultdict(list)
    for event_id, answer_id, provider_id, weight in (
        UsageEvent.objects.filter(answer_id__in=list(answers))
        .order_by("id")
        .values_list("id", "answer_id", "provider_id", "attribution_weight_ppm")
    ):
        sources[answer_id].append(SourceWeight(event_id, provider_id, weight))
    return {
        request_id: AnswerAttribution(
            request_id=request_id,
            agent_id=agent_id,
            currency=currency,
            sources=tuple(sources[answer_id]),
        )
        for answer_id, (request_id, agent_id, currency) in answers.items()
    }
