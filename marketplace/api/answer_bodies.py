"""The JSON shapes of answers and searches, shared by the REST, OpenAI-compatible and MCP APIs."""

from marketplace.services.answers import AnswerResult, LeftOut, UsedSource


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _left_out(item: LeftOut) -> dict:
    return {
        "source_id": item.source_id,
        "document_id": item.document_id,
        "title": item.title,
        "provider_id": str(item.provider_id),
        "offer_id": str(item.offer_id),
        "price_micros": item.price_micros,
        "reason": item.reason,
    }


def _source(source: UsedSource, currency: str) -> dict:
    return {
        "number": source.number,
        "id": source.source_id,
        "document_id": source.document_id,
        "collection_id": str(source.collection_id),
        "title": source.title,
        "url": source.url,
        "author": source.author,
        "published_at": _iso(source.published_at),
        "provider": {"id": str(source.provider_id), "name": source.provider_name},
        "license": {
            "offer_id": str(source.offer_id),
            "offer_name": source.offer_name,
            "offer_version": source.offer_version,
            "agreement_id": str(source.agreement_id) if source.agreement_id else None,
            "payment_type": source.payment_type,
            "price_unit": source.price_unit,
            "citation_required": source.citation_required,
        },
        "snippet": source.text,
        "span": {"start": source.char_start, "end": source.char_end},
        "score": round(source.score, 4),
        "cited": source.cited,
        "price": {
            "units": source.units,
            "amount_micros": source.amount_micros,
            "currency": currency,
        },
    }


def _attribution(result: AnswerResult) -> dict:
    return {
        "method": result.attribution_method,
        "version": result.attribution_version,
        "unattributed_ppm": result.unattributed_ppm,
        "sources": [
            {"source_id": s.source_id, "weight_ppm": s.weight_ppm, "cited": s.cited}
            for s in result.sources
        ],
        "providers": [
            {
                "provider_id": str(p.provider_id),
                "name": p.provider_name,
                "weight_ppm": p.weight_ppm,
                "amount_micros": p.amount_micros,
            }
            for p in result.providers
        ],
    }


def _cost(result: AnswerResult) -> dict:
    return {
        "total_micros": result.total_micros,
        "currency": result.currency,
        "max_price_micros": result.max_price_micros,
        "sources": [
            {"source_id": s.source_id, "amount_micros": s.amount_micros} for s in result.sources
        ],
        "left_out_for_price": [_left_out(item) for item in result.left_out],
    }


def _metadata(result: AnswerResult) -> dict:
    meta, usage = result.metadata, result.usage
    return {
        "backend": meta.requested_backend if meta else None,
        "served_by": meta.served_by if meta else None,
        "fallback": meta.fell_back if meta else False,
        "fallback_reason": meta.fallback_reason if meta else None,
        "model": usage.model if usage else None,
        "latency_ms": round(usage.latency_ms, 2) if usage else None,
        "prompt_tokens": usage.prompt_tokens if usage else 0,
        "completion_tokens": usage.completion_tokens if usage else 0,
        "dropped_citations": [
            {"number": d.number, "claim": d.claim_text, "reason": d.reason}
            for d in result.dropped_citations
        ],
    }


def answer_body(result: AnswerResult) -> dict:
    """Return the JSON of an answer: text, citations, sources, attribution, cost, receipt."""
    return {
        "id": result.id,
        "object": "answer",
        "created_at": _iso(result.created_at),
        "question": result.question,
        "answer": result.text,
        "ai_generated": True,  # machine-written: see docs/api.md, "AI-generated answers"
        "citations": [
            {
                "number": c.number,
                "source_id": c.source_id,
                "answer_start": c.answer_start,
                "answer_end": c.answer_end,
                "cited_text": c.cited_text,
                "source_start": c.source_start,
                "source_end": c.source_end,
            }
            for c in result.citations
        ],
        "sources": [_source(s, result.currency) for s in result.sources],
        "attribution": _attribution(result),
        "cost": _cost(result),
        "sponsored": list(result.sponsored),
        "receipt": result.receipt,
        "metadata": _metadata(result),
    }


def _search_result(source: UsedSource, currency: str) -> dict:
    body = _source(source, currency)
    body["snippet_licensed"] = source.snippet_licensed
    if not source.snippet_licensed:  # a title and a link: the licence does not permit search
        body["snippet"] = None
        body["span"] = None
    return body


def search_body(result: AnswerResult, query: str) -> dict:
    """Return the JSON of a search: licensed snippets with their terms and what each cost,
    then the matches whose licence does not permit search, as titles and links."""
    return {
        "id": result.id,
        "object": "search",
        "created_at": _iso(result.created_at),
        "query": query,
        "results": [_search_result(s, result.currency) for s in (*result.sources, *result.listed)],
        "cost": _cost(result),
        "receipt": result.receipt,
    }
