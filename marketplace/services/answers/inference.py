"""Writing the planned answer with the inference backend, whole or streamed, and metering it."""

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

from django.conf import settings
from django.db import transaction

import inference_client
from catalog import services as catalog
from licensing import services as licensing
from marketplace import errors
from marketplace.services import inference as inference_clients
from marketplace.services.answers.funds import release_funds, settle_funds, worst_case_micros
from marketplace.services.answers.metering import _meter_before_delivery
from marketplace.services.answers.planning import AnswerPlan
from marketplace.services.answers.result import AnswerResult, finish
from marketplace.services.answers.sponsored import SponsoredRequest, attach, release, select

Delivered = TypeVar("Delivered")


class AnswerInterrupted(errors.DomainError):
    """Inference failed after the answer began: the partial answer is not charged."""

    status = 503
    code = "answer_interrupted"


@dataclass(frozen=True)
class StreamDelta:
    text: str


@dataclass(frozen=True)
class StreamDone:
    result: AnswerResult


def inference_config() -> inference_client.InferenceConfig:
    """Return the inference configuration from the INFERENCE_* settings."""
    values = {
        name: getattr(settings, name)
        for name in dir(settings)
        if name.startswith("INFERENCE_") and name.isupper()
    }
    return inference_client.InferenceConfig.from_mapping(values, prefix="INFERENCE_")


def _client() -> inference_client.InferenceClient:
    return inference_clients.shared_client(inference_config())


def statistics_for(answer_plan: AnswerPlan) -> inference_client.CorpusStatistics:
    """Return the word statistics of the collections the answer's sources were searched in."""
    found = catalog.word_statistics(collection_ids=answer_plan.collection_ids)
    return inference_client.CorpusStatistics(
        passages=found.passages, passages_with=found.passages_with
    )


def _no_answer(answer_plan: AnswerPlan) -> errors.NotFound:
    return errors.NotFound(
        "The licensed sources found for this question do not answer it; nothing was charged.",
        code="no_answer",
        details={"sources_considered": len(answer_plan.chosen)},
    )


def _grounded(answer: inference_client.Answer) -> bool:
    """Return whether any source grounds the answer (is credited with a share)."""
    return any(w.weight_ppm for w in answer.attribution.sources)


def _keep_grounding(
    answer_plan: AnswerPlan,
    answer: inference_client.Answer,
    statistics: inference_client.CorpusStatistics,
) -> inference_client.Answer:
    """Take out of the answer the sources it does not use: those that ground nothing, and
    those whose terms require a citation that ground a sentence not citing them."""
    return inference_client.keep_grounding(
        answer,
        _inference_sources(answer_plan),
        must_cite={c.source_id for c in answer_plan.chosen if c.terms.citation_required},
        statistics=statistics,
    )


def _inference_sources(answer_plan: AnswerPlan) -> list[inference_client.Source]:
    return [
        inference_client.Source(
            id=c.source_id,
            text=c.snippet,
            title=c.hit.document_title,
            url=c.hit.document_url,
            owner_id=str(c.hit.provider_org_id),
            license_id=str(c.terms.offer_version_id),
        )
        for c in answer_plan.chosen
    ]


def _finish_answer(
    answer_plan: AnswerPlan, answer: inference_client.Answer, *, settle: bool = False
) -> AnswerResult:
    return finish(
        answer_plan,
        text=answer.text,
        citations=answer.citations,
        attribution=answer.attribution,
        metadata=answer.metadata,
        usage=answer.usage,
        dropped_citations=answer.dropped_citations,
        settle=settle,
    )


def withhold(answer_plan: AnswerPlan, source_ids: Collection[str]) -> AnswerPlan:
    """Return the plan without the passages named (`chunk_<id>`): the answer it would be
    without them, searched in the same collections (leave-one-out measurement)."""
    return replace(
        answer_plan, chosen=tuple(c for c in answer_plan.chosen if c.source_id not in source_ids)
    )


def write_answer(
    answer_plan: AnswerPlan,
    *,
    max_tokens: int | None = None,
    statistics: inference_client.CorpusStatistics | None = None,
) -> inference_client.Answer:
    """Write the planned answer and take out the sources it does not use; meter nothing.

    `statistics` are the word statistics of the plan's collections (read from the index when
    not given).
    """
    statistics = statistics or statistics_for(answer_plan)
    answer = _client().answer(
        answer_plan.question,
        _inference_sources(answer_plan),
        max_tokens=max_tokens,
        statistics=statistics,
    )
    return _keep_grounding(answer_plan, answer, statistics)


def answer_question(
    answer_plan: AnswerPlan,
    *,
    max_tokens: int | None = None,
    sponsored: SponsoredRequest | None = None,
) -> AnswerResult:
    """Write the planned answer with the configured inference backend and meter it.

    An answer no source grounds (the sources do not answer the question) is not delivered
    nor metered: NotFound `no_answer`. The plan's wallet hold is settled on what the answer
    was metered at, or released if it fails. With `sponsored` allowed, sponsored items are
    chosen after the answer is written and recorded with it (answers/sponsored.py).
    """
    return deliver_answer(answer_plan, _as_is, max_tokens=max_tokens, sponsored=sponsored)


def _as_is(result: AnswerResult) -> AnswerResult:
    return result


def deliver_answer(
    answer_plan: AnswerPlan,
    deliver: Callable[[AnswerResult], Delivered],
    *,
    max_tokens: int | None = None,
    sponsored: SponsoredRequest | None = None,
) -> Delivered:
    """Write the planned answer, then meter it and hand it to `deliver` in one database
    transaction; return what `deliver` returns.

    What `deliver` writes (the response a retry with the same Idempotency-Key is given)
    commits with the metering or not at all: if the database goes away in between, the answer
    is not metered either, and the retry is answered afresh instead of refused for an answer
    it never received. Inference runs before the transaction opens. The plan's wallet hold
    is settled on what the answer was metered at once that commits, or released if it fails.
    Sponsored items are chosen once the answer is written (their budgets held), and recorded
    in that transaction; if it fails, the budgets are given back.
    """
    selection = None
    try:
        answer = write_answer(answer_plan, max_tokens=max_tokens)
        if not _grounded(answer):
            raise _no_answer(answer_plan)
        selection = select(answer_plan, answer, sponsored)
        with transaction.atomic():
            result = attach(_finish_answer(answer_plan, answer), selection, sponsored)
            delivered = deliver(result)
    except BaseException:
        release(selection)
        release_funds(answer_plan)
        raise
    settle_funds(answer_plan, result.total_micros)
    return delivered


def stream_answer(
    answer_plan: AnswerPlan,
    *,
    max_tokens: int | None = None,
    sponsored: SponsoredRequest | None = None,
) -> Iterator[StreamDelta | StreamDone]:
    """Yield the answer's text as it is written, then the metered result.

    The answer is metered before its first text is yielded, so a client that goes away
    mid-stream has paid for what it read (the quoted price of every planned source). If
    inference fails after that, the text was never completed: the metering is undone and
    AnswerInterrupted is raised, so the agent pays nothing for a broken answer. Nor does it pay
    for an answer no source grounds: that metering is undone too and NotFound `no_answer` ends
    the stream (the embedded backend streams no text for it, so nothing is metered at all).
    On completion the metering is settled on the sources the answer used: the others are
    dropped from it, and the result's text has their markers taken out. Sponsored items, if
    allowed, are chosen once the text is complete and come with the result.
    """
    try:
        yield from _stream_answer(answer_plan, max_tokens, sponsored)
    except GeneratorExit:  # the client went away: what it read stays metered at the quote
        settle_funds(answer_plan, worst_case_micros(answer_plan))
        raise
    except BaseException:  # failed: nothing is charged
        release_funds(answer_plan)
        raise


def _stream_answer(
    answer_plan: AnswerPlan, max_tokens: int | None, sponsored: SponsoredRequest | None
) -> Iterator[StreamDelta | StreamDone]:
    statistics = statistics_for(answer_plan)
    events = _client().stream_answer(
        answer_plan.question,
        _inference_sources(answer_plan),
        max_tokens=max_tokens,
        statistics=statistics,
    )
    metered, answer = False, None
    try:
        for event in events:
            if isinstance(event, inference_client.AnswerComplete):
                answer = event.answer
                break
            if event.text and not metered:
                _meter_before_delivery(answer_plan)
                metered = True
            yield StreamDelta(event.text)
        if answer is None:
            raise inference_client.InferenceError("The stream ended without an answer.")
    except Exception as exc:
        if metered:  # the text was never completed: the agent does not pay for it
            licensing.void_use(request_id=answer_plan.request_id)
        if isinstance(exc, inference_client.InferenceError):
            raise AnswerInterrupted(
                "The answer could not be completed; nothing was charged for it. Retry.",
                details={"request_id": answer_plan.request_id},
            ) from exc
        raise
    finally:
        events.close()
    answer = _keep_grounding(answer_plan, answer, statistics)
    if not _grounded(answer):
        if metered:
            licensing.void_use(request_id=answer_plan.request_id)
        raise _no_answer(answer_plan)
    selection = select(answer_plan, answer, sponsored)
    try:
        result = attach(_finish_answer(answer_plan, answer, settle=metered), selection, sponsored)
    except BaseException:
        release(selection)
        raise
    settle_funds(answer_plan, result.total_micros)  # settled before the client has the end
    yield StreamDone(result)
