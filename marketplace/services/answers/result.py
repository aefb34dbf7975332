"""The answer's result: its sources, the providers' shares, its cost and a signed receipt."""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

import inference_client
from accounts import services as accounts
from catalog import services as catalog
from marketplace.services.answers.metering import _meter
from marketplace.services.answers.planning import AnswerPlan, LeftOut
from marketplace.services.receipts import sign_receipt


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


@dataclass(frozen=True)
class ProviderShare:
    provider_id: uuid.UUID
    provider_name: str
    weight_ppm: int
    amount_micros: int


@dataclass(frozen=True)
class AnswerResult:
    id: str
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
    receipt: dict
    metered: bool


def names_for(*, collection_ids=(), organization_ids=()) -> dict[str, str]:
    """Return display names of collections and organizations, keyed by id as a string."""
    names = {str(i): n for i, n in catalog.collection_names(collection_ids=collection_ids).items()}
    names.update(
        (str(i), n)
        for i, n in accounts.organization_names(organization_ids=organization_ids).items()
    )
    return names


def _receipt(result: AnswerResult) -> dict:
    return sign_receipt(
        {
            "id": result.id,
            "created_at": result.created_at.isoformat(),
            "usage_type": result.usage_type,
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
                    "weight_ppm": s.weight_ppm,
                    "amount_micros": s.amount_micros,
                }
                for s in result.sources
            ],
        }
    )


def finish(
    answer_plan: AnswerPlan,
    *,
    text: str,
    citations=(),
    attribution: inference_client.Attribution | None = None,
    metadata=None,
    usage=None,
    dropped_citations=(),
    settle: bool = False,
) -> AnswerResult:
    """Meter the planned sources with the answer's citations and weights; sign the receipt.

    With `settle`, the answer was metered before it was written and this replaces that.
    """
    cited = {c.source_id for c in citations}
    if attribution is not None:
        weights = {w.source_id: w.weight_ppm for w in attribution.sources}
        unattributed = attribution.unattributed_ppm
        method, version = attribution.method, attribution.version
    else:  # a search: each snippet shown counts equally
        share = 1_000_000 // len(answer_plan.chosen)
        weights = {c.source_id: share for c in answer_plan.chosen}
        unattributed = 1_000_000 - share * len(answer_plan.chosen)
        method, version = "equal-share", "1"
    metered = _meter(answer_plan, cited, weights, settle=settle)
    events = {e.chunk_id: e for e in metered.events}
    names = {c.hit.provider_org_id: c.hit.provider_name for c in answer_plan.chosen}
    sources = []
    for number, c in enumerate(answer_plan.chosen, start=1):
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
            )
        )
    shares: dict = {}
    for s in sources:
        weight, amount = shares.get(s.provider_id, (0, 0))
        shares[s.provider_id] = (weight + s.weight_ppm, amount + s.amount_micros)
    providers = tuple(
        ProviderShare(provider_id=p, provider_name=names.get(p, ""), weight_ppm=w, amount_micros=a)
        for p, (w, a) in sorted(shares.items(), key=lambda item: (-item[1][0], str(item[0])))
    )
    result = AnswerResult(
        id=answer_plan.request_id,
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
        receipt={},
        metered=metered.created,
    )
    return replace(result, receipt=_receipt(result))
