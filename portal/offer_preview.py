"""What an offer's terms cost an agent and earn the provider, in plain words, computed by the
code that prices answers (`licensing.price_use`) and rates them (`billing.take_micros`)."""

from dataclasses import dataclass

from django.conf import settings

from billing import services as billing
from core.money import format_micros
from licensing import services as licensing

MAX_PASSAGES = 50


@dataclass(frozen=True)
class PricePreview:
    headline: str  # "An answer citing 2 passages costs the agent 0.004 USD."
    details: tuple[str, ...]
    agent_pays_micros: int | None  # per answer of `passages` passages; None: not per answer
    provider_earns_micros: int | None


def _money(micros: int, currency: str) -> str:
    return f"{format_micros(micros, min_places=2, group=True)} {currency}"


def _passages(n: int) -> str:
    return f"{n} passage{'s' if n != 1 else ''}"


def preview(terms: licensing.OfferTerms, *, passages: int = 2) -> PricePreview:
    """Return what an answer citing `passages` of the provider's passages costs under `terms`."""
    currency = terms.currency
    tokens = settings.CATALOG_CHUNK_TOKENS
    payment = terms.payment_type
    take_bps = settings.BILLING_TAKE_RATE_BPS.get(payment, 0)
    take = f"the platform's {take_bps / 100:g}% take" if take_bps else "no platform take"
    if payment == "use":
        charges = [
            licensing.price_use(
                payment_type=payment,
                price_unit=terms.price_unit,
                price_micros=terms.price_micros,
                tokens=tokens,
                cited=True,
            )[1]
            for _ in range(passages)
        ]
        pays = sum(charges)
        # Rating takes the platform's share of each source's charge (one usage event) apart.
        earns = sum(c - billing.take_micros(payment, c) for c in charges)
        details = []
        if terms.price_unit == "1k_tokens":
            details.append(
                f"Priced by length: each passage counted as {tokens} tokens, the usual size."
            )
        if terms.price_unit == "retrieved_source":
            details.append("Charged for every passage that grounds the answer, cited or not.")
        if terms.price_unit == "cited_source":
            details.append("Charged only for passages the answer cites.")
        details.append(f"You earn {_money(earns, currency)} of it, after {take}.")
        return PricePreview(
            f"An answer citing {_passages(passages)} costs the agent {_money(pays, currency)}.",
            tuple(details),
            pays,
            earns,
        )
    if payment in ("free", "attribution"):
        cite = " and must cite you" if payment == "attribution" or terms.citation_required else ""
        return PricePreview(
            f"An answer citing {_passages(passages)} costs the agent nothing{cite}.",
            ("Free offers earn nothing; they put your content in front of agents.",),
            0,
            0,
        )
    if payment == "subscription":
        period = terms.period or "period"
        earns = terms.price_micros - billing.take_micros(payment, terms.price_micros)
        return PricePreview(
            f"The agent pays {_money(terms.price_micros, currency)} per {period}; "
            f"an answer citing {_passages(passages)} costs nothing more.",
            (f"You earn {_money(earns, currency)} per {period}, after {take}.",),
            None,
            None,
        )
    if payment == "purchase":
        earns = terms.price_micros - billing.take_micros(payment, terms.price_micros)
        return PricePreview(
            f"The agent pays {_money(terms.price_micros, currency)} once; "
            f"an answer citing {_passages(passages)} costs nothing more.",
            (f"You earn {_money(earns, currency)} per sale, after {take}.",),
            None,
            None,
        )
    # Revenue share: a share of what the answer earned, split by attribution weight.
    basis = settings.LICENSING_REVENUE_SHARE_BASIS_MICROS
    weight_ppm = 1_000_000 // passages
    each = billing.revenue_share_micros(
        revenue_micros=basis, bps=terms.revenue_share_bps, weight_ppm=weight_ppm
    )
    each = max(each, terms.revenue_share_min_micros)
    pays = each * passages
    earns = passages * (each - billing.take_micros(payment, each))
    return PricePreview(
        f"An answer citing {_passages(passages)} that earns {_money(basis, currency)} "
        f"pays you {_money(pays, currency)}: {terms.revenue_share_bps / 100:g}% of it, "
        f"split by attribution weight.",
        (
            f"Each passage weighs {weight_ppm / 10_000:g}% here"
            + (
                f"; each use pays at least {_money(terms.revenue_share_min_micros, currency)}."
                if terms.revenue_share_min_micros
                else "."
            ),
            f"You keep {_money(earns, currency)} of it, after {take}.",
        ),
        pays,
        earns,
    )
