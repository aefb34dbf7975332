"""Pricing a batch: each use at the price of the offer version its agreement accepted."""

import uuid
from datetime import datetime

from licensing.services.metering.uses import Resolved, Row, UseRecord, _default_kind, _event_key
from licensing.services.terms import price_use

# The accepted terms of an agreement, as a use is priced under them: (agreement id,
# payment type, price unit, price in micros, currency, offer version id).
AcceptedTerms = tuple[uuid.UUID, str, str, int, str, int]


def _accepted_terms(
    resolved: Resolved, agreements: dict[uuid.UUID, Row]
) -> dict[uuid.UUID, dict[int, AcceptedTerms]]:
    """Map agent -> offer version -> the accepted terms of the agreement that covers it."""
    # The agreement's accepted version sets the price, whatever the offer says now; an
    # agent's agreement for an offer version is on that version, so prices are memoised
    # per (version, tokens, cited).
    terms = {
        agreement_id: (
            agreement_id,
            row["offer_version__payment_type"],
            row["offer_version__price_unit"],
            row["offer_version__price_micros"],
            row["offer_version__currency"],
            row["offer_version_id"],
        )
        for agreement_id, row in agreements.items()
    }
    return {
        agent_id: {version: terms[agreement] for version, agreement in by_version.items()}
        for agent_id, by_version in resolved.items()
    }


def _price_records(
    records: list[UseRecord], by_agent: dict[uuid.UUID, dict[int, AcceptedTerms]], now: datetime
) -> list[tuple[Row, list[Row]]]:
    """Return each record's answer row and event rows, priced; prices are memoised."""
    prices: dict[tuple[int, int, bool], tuple[int, int]] = {}
    priced: list[tuple[Row, list[Row]]] = []
    for record in records:
        agent_id = record.agent_id
        agent_agreements = by_agent[agent_id]
        usage_type = record.usage_type
        request_id = record.request_id
        created_at = record.created_at or now
        events: list[Row] = []
        total = 0
        for index, source in enumerate(record.sources):
            agreement_id, payment_type, price_unit, price_micros, currency, version_id = (
                agent_agreements[source.offer_version_id]
            )
            price_key = (version_id, source.tokens, source.cited)
            price = prices.get(price_key)
            if price is None:
                price = prices[price_key] = price_use(
                    payment_type=payment_type,
                    price_unit=price_unit,
                    price_micros=price_micros,
                    tokens=source.tokens,
                    cited=source.cited,
                )
            units, amount = price
            total += amount
            events.append(
                {
                    "agent_id": agent_id,
                    "provider_id": source.provider_id,
                    "collection_id": source.collection_id,
                    "document_id": source.document_id,
                    "chunk_id": source.chunk_id,
                    "agreement_id": agreement_id,
                    "offer_version_id": version_id,
                    "usage_type": usage_type,
                    "payment_type": payment_type,
                    "price_unit": price_unit,
                    "units": units,
                    "unit_price_micros": price_micros,
                    "amount_micros": amount,
                    "currency": currency,
                    "attribution_weight_ppm": source.attribution_weight_ppm,
                    "cited": source.cited,
                    "idempotency_key": _event_key(request_id, index, source),
                    "created_at": created_at,
                }
            )
        answer = {
            "id": uuid.uuid4(),
            "request_id": request_id,
            "agent_id": agent_id,
            "api_key_id": record.api_key_id,
            "usage_type": usage_type,
            "kind": record.kind or _default_kind(usage_type),
            "sources_count": len(events),
            "total_micros": total,
            "currency": events[0]["currency"] if events else "USD",
            "revenue_micros": record.revenue_micros,
            "created_at": created_at,
        }
        priced.append((answer, events))
    return priced
