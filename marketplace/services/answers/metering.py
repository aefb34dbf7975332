"""Metering an answer's planned sources through licensing, once per request id."""

from collections.abc import Mapping, Sequence, Set

from licensing import services as licensing
from marketplace.services import idempotency
from marketplace.services.answers.planning import AnswerPlan, Candidate


def _meter(
    answer_plan: AnswerPlan,
    cited: Set[str],
    weights: Mapping[str, int],
    *,
    settle: bool = False,
    used: Sequence[Candidate] | None = None,
) -> licensing.MeteredAnswer:
    """Meter the sources used (by default every planned one) once under the request id."""
    uses = tuple(
        licensing.SourceUse(
            collection_id=c.hit.collection_id,
            provider_id=c.hit.provider_org_id,
            offer_version_id=c.terms.offer_version_id,
            agreement_id=c.terms.agreement_id,
            document_id=c.hit.document_id,
            chunk_id=c.hit.chunk_id,
            tokens=c.tokens,
            cited=c.source_id in cited,
            attribution_weight_ppm=weights.get(c.source_id, 0),
        )
        for c in (answer_plan.chosen if used is None else used)
    )
    record = licensing.UseRecord(
        request_id=answer_plan.request_id,
        agent_id=answer_plan.agent_id,
        usage_type=answer_plan.usage_type,
        sources=uses,
        api_key_id=answer_plan.api_key_id,
        created_at=answer_plan.created_at,
        revenue_micros=answer_plan.revenue_micros,
    )
    metered = licensing.settle_use(record) if settle else licensing.record_use(record)
    if not metered.created:
        # Another run of the same request was metered first: this text must not go out free.
        raise idempotency.already_metered(answer_plan.request_id)
    return metered


def _meter_before_delivery(answer_plan: AnswerPlan) -> licensing.MeteredAnswer:
    """Meter a streamed answer before its first text leaves: every planned source, as quoted.

    The sources were chosen and priced (as if cited) before inference, so the answer can be
    charged before it is written; which sources it cites, and their weights, replace this
    when the text is complete (`finish(..., settle=True)`).
    """
    chosen = answer_plan.chosen
    share = 1_000_000 // len(chosen)
    return _meter(answer_plan, {c.source_id for c in chosen}, {c.source_id: share for c in chosen})
