"""The answer's result: its sources, the providers' shares, its cost and a signed receipt."""

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings

import inference_client
from accounts import services as accounts
from catalog import services as catalog
from marketplace.services.answers.metering import _meter
from marketplace.services.answers.planning import AnswerPlan, LeftOut
from marketplace.services.receipts import RECEIPT_VERSION, Receipt, sign_receipt


@dataclass(frozen=True)
class UsedSource:
    number: int
    source_id: str
    chunk_id: int
    document_id: int
    collection_id: uuid.UUID
    title: str
    url: str
    author: str
    published_at: datetime | None
    provider_id: uuid.UUID
    provider_name: str
    offer_id: uuid.UUID
    offer_name: str
    offer_version: int
    agreement_id: uuid.UUID | None
    payment_type: str
    price_unit: str
    citation_required: bool
    text: str
    char_start: int
    char_end: int
    score: float
    cited: bool
    weight_ppm: int
    units: int
    amount_micros: int
    unit_price_micros: int = 0
    # False for a search result shown as a title and a link: its licence does not permit search.
    snippet_licensed: bool = True


@dataclass(frozen=True)
class ProviderShare:
    provider_id: uuid.UUID
    provider_name: str
    weight_ppm: int
    amount_micros: int


@dataclass(frozen=True)
class AnswerResult:
    id: str
    agent_id: uuid.UUID
    created_at: datetime
    usage_type: str
    question: str
    text: str
    citations: tuple[inference_client.Citation, ...]
    sources: tuple[UsedSource, ...]
    providers: tuple[ProviderShare, ...]
    unattributed_ppm: int
    attribution_method: str
    attribution_version: str
    total_micros: int
    currency: str
    max_price_micros: int | None
    left_out: tuple[LeftOut, ...]
    metadata: inference_client.AnswerMetadata | None
    usage: inference_client.Usage | None
    dropped_citations: tuple[inference_client.DroppedCitation, ...]
    receipt: Receipt
    metered: bool
    listed: tuple[UsedSource, ...] = ()  # a search's title-and-link results, not metered
    # Sponsored items shown beside the answer (answers/sponsored.py): never part of its text,
    # citations, attribution, cost or receipt.
    sponsored: tuple[dict[str, Any], ...] = ()


def names_for(
    *, collection_ids: Iterable[uuid.UUID] = (), organization_ids: Iterable[uuid.UUID] = ()
) -> dict[str, str]:
    """Return display names of collections and organizations, keyed by id as a string."""
    names = {str(i): n for i, n in catalog.collection_names(collection_ids=collection_ids).items()}
    names.update(
        (str(i), n)
        for i, n in accounts.organization_names(organization_ids=organization_ids).items()
    )
    return names


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _receipt(result: AnswerResult) -> Receipt:
    """Sign what a provider needs to check its pay: who asked what, what was answered, and for
    each source the agreement, offer version, payment type, units, unit price and amount, its
    weight and whether it was cited and grounded the answer (a weight above 0)."""
    return sign_receipt(
        {
            "version": RECEIPT_VERSION,
            "id": result.id,
            "created_at": result.created_at.isoformat(),
            "agent_id": str(result.agent_id),
            "usage_type": result.usage_type,
            "question_sha256": _sha256(result.question),
            "answer_sha256": _sha256(result.text),
            "currency": result.currency,
            "total_micros": result.total_micros,
            "unattributed_ppm": result.unattributed_ppm,
            "method": f"{result.attribution_method}/{result.attribution_version}",
            "sources": [
                {
                    "source_id": s.source_id,
                    "document_id": s.document_id,
                    "provider_id": str(s.provider_id),
                    "offer_id": str(s.offer_id),
                    "offer_version": s.offer_version,
                    "agreement_id": str(s.agreement_id) if s.agreement_id else None,
                    "payment_type": s.payment_type,
                    "price_unit": s.price_unit,
                    "units": s.units,
                    "unit_price_micros": s.unit_price_micros,
                    "amount_micros": s.amount_micros,
                    "weight_ppm": s.weight_ppm,
                    "cited": s.cited,
                    "grounded": s.weight_ppm > 0,
                }
                for s in result.sources
            ],
        }
    )


def finish(
    answer_plan: AnswerPlan,
    *,
    text: str,
    citations: Sequence[inference_client.Citation] = (),
    attribution: inference_client.Attribution | None = None,
    metadata: inference_client.AnswerMetadata | None = None,
    usage: inference_client.Usage | None = None,
    dropped_citations: Sequence[inference_client.DroppedCitation] = (),
    settle: bool = False,
) -> AnswerResult:
    """Meter the sources used with the answer's grounding and weights; sign the receipt.

    In an answer, a source is used only if it grounds the answer (a share above 0): the others
    are neither metered nor shown, and the used ones keep their planned numbers, which the
    text's markers name. A source counts as cited when it grounds a sentence that carries a
    marker, whatever number the marker names. In a search each snippet shown is a use.
    With `settle`, the answer was metered before it was written and this replaces that.
    """
    numbered = list(enumerate(answer_plan.chosen, start=1))
    if attribution is not None:
        weights = {w.source_id: w.weight_ppm for w in attribution.sources}
        cited = set(attribution.grounds_cited())
        unattributed = attribution.unattributed_ppm
        method, version = attribution.method, attribution.version
        numbered = [(n, c) for n, c in numbered if weights.get(c.source_id, 0) > 0]
    else:  # a search: each snippet shown counts equally, and is shown with its source (cited)
        cited = {c.source_id for c in answer_plan.chosen}
        share = 1_000_000 // len(answer_plan.chosen)
        weights = {c.source_id: share for c in answer_plan.chosen}
        unattributed = 1_000_000 - share * len(answer_plan.chosen)
        method, version = "equal-share", "1"
    used = [c for _, c in numbered]
    metered = _meter(answer_plan, cited, weights, settle=settle, used=used)
    events = {e.chunk_id: e for e in metered.events}
    names = {c.hit.provider_org_id: c.hit.provider_name for c in used}
    sources = []
    for number, c in numbered:
        event = events.get(c.hit.chunk_id)
        sources.append(
            UsedSource(
                number=number,
                source_id=c.source_id,
                chunk_id=c.hit.chunk_id,
                document_id=c.hit.document_id,
                collection_id=c.hit.collection_id,
                title=c.hit.document_title,
                url=c.hit.document_url,
                author=c.hit.document_author,
                published_at=c.hit.document_published_at,
                provider_id=c.hit.provider_org_id,
                provider_name=names.get(c.hit.provider_org_id, ""),
                offer_id=c.terms.offer_id,
                offer_name=c.terms.offer_name,
                offer_version=c.terms.version,
                agreement_id=event.agreement_id if event else c.terms.agreement_id,
                payment_type=c.terms.payment_type,
                price_unit=c.terms.price_unit,
                citation_required=c.terms.citation_required,
                text=c.snippet,
                char_start=c.hit.char_start + c.snippet_start,
                char_end=c.hit.char_start + c.snippet_start + len(c.snippet),
                score=c.hit.score,
                cited=c.source_id in cited,
                weight_ppm=weights.get(c.source_id, 0),
                units=event.units if event else 0,
                amount_micros=event.amount_micros if event else 0,
                unit_price_micros=event.unit_price_micros if event else 0,
            )
        )
    shares: dict[uuid.UUID, tuple[int, int]] = {}
    for s in sources:
        weight, amount = shares.get(s.provider_id, (0, 0))
        shares[s.provider_id] = (weight + s.weight_ppm, amount + s.amount_micros)
    providers = tuple(
        ProviderShare(provider_id=p, provider_name=names.get(p, ""), weight_ppm=w, amount_micros=a)
        for p, (w, a) in sorted(shares.items(), key=lambda item: (-item[1][0], str(item[0])))
    )
    result = AnswerResult(
        id=answer_plan.request_id,
        agent_id=answer_plan.agent_id,
        created_at=answer_plan.created_at,
        usage_type=answer_plan.usage_type,
        question=answer_plan.question,
        text=text,
        citations=tuple(citations),
        sources=tuple(sources),
        providers=providers,
        unattributed_ppm=unattributed,
        attribution_method=method,
        attribution_version=version,
        total_micros=metered.total_micros,
        currency=metered.currency,
        max_price_micros=answer_plan.max_price_micros,
        left_out=answer_plan.left_out,
        metadata=metadata,
        usage=usage,
        dropped_citations=tuple(dropped_citations),
        receipt=Receipt(payload={}, key_id="", algorithm="", signature=""),  # signed below
        metered=metered.created,
    )
    return replace(result, receipt=_receipt(result))


def unmetered(answer_plan: AnswerPlan) -> AnswerResult:
    """Return the result of a use with no planned source: nothing metered, nothing charged."""
    result = AnswerResult(
        id=answer_plan.request_id,
        agent_id=answer_plan.agent_id,
        created_at=answer_plan.created_at,
        usage_type=answer_plan.usage_type,
        question=answer_plan.question,
        text="",
        citations=(),
        sources=(),
        providers=(),
        unattributed_ppm=1_000_000,
        attribution_method="equal-share",
        attribution_version="1",
        total_micros=0,
        currency=settings.LICENSING_CURRENCY,
        max_price_micros=answer_plan.max_price_micros,
        left_out=answer_plan.left_out,
        metadata=None,
        usage=None,
        dropped_citations=(),
        receipt=Receipt(payload={}, key_id="", algorithm="", signature=""),  # signed below
        metered=False,
    )
    return replace(result, receipt=_receipt(result))
