"""Results as text for the model to read: prices, offers, sources, cost and errors."""

import json

from licensing import services as licensing
from marketplace import errors


def _money(micros: int, currency: str) -> str:
    return licensing.format_price(micros, currency)


_UNITS = {
    "retrieved_source": "per source retrieved",
    "cited_source": "per source cited",
    "1k_tokens": "per 1,000 content tokens",
}


def _price(offer: dict) -> str:
    payment, currency = offer["payment_type"], offer["currency"]
    price = _money(offer["price_micros"], currency)
    if payment == "free":
        return "free"
    if payment == "attribution":
        return "free with attribution"
    if payment == "use":
        return f"{price} {_UNITS.get(offer['price_unit'], offer['price_unit'])}"
    if payment == "subscription":
        return f"{price} per {offer['period'] or 'period'}"
    if payment == "revenue_share":
        return f"{offer['revenue_share_bps'] / 100:g}% of what the answer earns"
    return f"{price} once ({payment})"


def _offer_line(number: int, offer: dict) -> str:
    line = (
        f"{number}. {offer['name']}, by {offer['provider_name']}: {_price(offer)}; "
        f"usage {', '.join(offer['usage_types'])}"
    )
    if offer.get("collections"):
        line += f"; collections {', '.join(c['name'] for c in offer['collections'])}"
    if offer.get("accepted"):
        return line + "; accepted."
    how = "accepted automatically on first use" if offer["auto_accept"] else "accept first"
    return f"{line}; {how}: POST {offer['accept_url']} (offer {offer['offer_id']})"


def _source_line(source: dict) -> str:
    license_ = source["license"]
    price = source["price"]
    line = f"[{source['number']}] {source['title']}, {source['provider']['name']}"
    if source["url"]:
        line += f", {source['url']}"
    terms = f"{license_['offer_name']} ({license_['payment_type']})"
    return f"{line}\n    license: {terms}; {_money(price['amount_micros'], price['currency'])}"


def _cost_line(body: dict, what: str) -> str:
    cost = body["cost"]
    line = (
        f"Cost: {_money(cost['total_micros'], cost['currency'])} for "
        f"{len(cost['sources'])} source(s), metered as {body['id']}"
    )
    if cost["max_price_micros"] is not None:
        line += f" (limit {_money(cost['max_price_micros'], cost['currency'])})"
    line += f". The {what} carries a signed receipt (key {body['receipt']['key_id']})."
    left_out = cost["left_out_for_price"]
    if left_out:
        titles = "; ".join(f"{item['title']} ({item['price_micros']} micros)" for item in left_out)
        line += f"\nLeft out to stay within the price limit: {titles}."
    return line


def error_text(exc: errors.DomainError) -> str:
    """Return the error's code, status and message; the offers that would cover a 402."""
    lines = [f"{exc.code} (HTTP {exc.status}): {exc.message}"]
    details = dict(exc.details)
    offers = details.pop("offers", None)
    if offers:
        lines.append("Offers that would cover it:")
        lines += [_offer_line(n, offer) for n, offer in enumerate(offers, start=1)]
    if details:
        lines.append(f"Details: {json.dumps(details, sort_keys=True, default=str)}")
    return "\n".join(lines)
