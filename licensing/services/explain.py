"""An offer's terms in plain words, as the market shows them to agents."""

from core.money import format_money
from licensing.models import PaymentType, PriceUnit
from licensing.services.offers import OfferTerms

USES = {
    "ai-input": "grounding answers",
    "ai-train": "AI training",
    "ai-index": "AI indexing",
    "search": "search",
    "ai-all": "every AI use",
    "all": "every use",
}
PER_UNIT: dict[str, str] = {
    PriceUnit.RETRIEVED_SOURCE.value: "each source retrieved for an answer",
    PriceUnit.CITED_SOURCE.value: "each source an answer cites",
    PriceUnit.THOUSAND_TOKENS.value: "each 1,000 tokens of content an answer uses",
}


def explain_terms(terms: OfferTerms) -> str:
    """Return the terms as a few plain sentences: what it costs, for what, and with what
    conditions. explain_terms(per cited source at 5,000 micros) -> "Pay 0.005 USD for each
    source an answer cites. For grounding answers and search. Citation required. ..."."""
    sentences = [_price(terms), "For " + _joined([USES.get(u, u) for u in terms.usage_types]) + "."]
    if terms.citation_required or terms.payment_type == PaymentType.ATTRIBUTION:
        sentences.append("Citation required.")
    if terms.max_snippet_chars:
        sentences.append(f"Quotes up to {terms.max_snippet_chars:,} characters.")
    if terms.territories:
        sentences.append("Only in " + _joined(list(terms.territories)) + ".")
    if terms.expires_at is not None:
        sentences.append(f"Until {terms.expires_at:%Y-%m-%d}.")
    return " ".join(sentences)


def _price(terms: OfferTerms) -> str:
    price = format_money(terms.price_micros, terms.currency)
    kind = terms.payment_type
    if kind == PaymentType.FREE:
        return "Free."
    if kind == PaymentType.ATTRIBUTION:
        return "Free, with attribution to the source."
    if kind == PaymentType.USE:
        return f"Pay {price} for {PER_UNIT.get(terms.price_unit, 'each use')}."
    if kind == PaymentType.SUBSCRIPTION:
        return (
            f"{price} a {terms.period or 'period'}, paid from your wallet when you accept and at "
            "each renewal; no charge per answer."
        )
    if kind == PaymentType.REVENUE_SHARE:
        share = f"{terms.revenue_share_bps / 100:g}%"
        text = (
            f"{share} of the revenue your answers earn (as you declare it), split between "
            "sources by how much each contributed"
        )
        if terms.revenue_share_min_micros:
            minimum = format_money(terms.revenue_share_min_micros, terms.currency)
            text += f"; at least {minimum} a use"
        return text + "."
    if kind == PaymentType.PURCHASE:
        return f"{price} once, paid when you accept; a dataset export of the collections."
    return f"{kind}: {price}."


def _joined(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
