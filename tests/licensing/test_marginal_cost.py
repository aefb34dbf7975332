"""Offers are compared by the marginal cost of the use at hand, never by raw price_micros."""

import dataclasses
import itertools
import uuid

import pytest

from licensing import services

COLLECTION = uuid.uuid4()
TOKENS = 12  # the passage at hand
CHEAP, DEAR = 100, 5_000  # marginal costs, in micros, of the cheaper and the dearer option


@pytest.fixture(autouse=True)
def _revenue_basis(settings):
    settings.LICENSING_REVENUE_SHARE_BASIS_MICROS = 10_000


def _terms(payment_type, *, price_unit="none", price_micros=0, bps=0, held=True, name=""):
    return services.Terms(
        collection_id=COLLECTION,
        provider_id=uuid.uuid4(),
        offer_id=uuid.uuid4(),
        offer_name=name or f"{payment_type}/{price_unit}",
        offer_version_id=1,
        version=1,
        agreement_id=uuid.uuid4() if held else None,
        usage_types=("ai-input",),
        payment_type=payment_type,
        price_micros=price_micros,
        price_unit=price_unit,
        currency="USD",
        revenue_share_bps=bps,
        max_snippet_chars=None,
        citation_required=payment_type == "attribution",
        expires_at=None,
        auto_accepted=not held,
    )


# Each kind of terms, built so that one use of a 12-token passage costs `cost` micros. Raw
# prices point the other way where they can: the cheap per-1k-tokens price is 8,334, above
# the dear per-source price of 5,000; a revenue share's raw price is always 0.
KINDS = {
    "free": lambda cost: _terms("free"),
    "attribution": lambda cost: _terms("attribution"),
    "use/retrieved_source": lambda cost: _terms(
        "use", price_unit="retrieved_source", price_micros=cost
    ),
    "use/cited_source": lambda cost: _terms("use", price_unit="cited_source", price_micros=cost),
    "use/1k_tokens": lambda cost: _terms(
        "use", price_unit="1k_tokens", price_micros=-(-cost * 1000 // TOKENS)
    ),
    "revenue_share": lambda cost: _terms("revenue_share", bps=cost),  # of a 10,000 basis
    "subscription/held": lambda cost: _terms(
        "subscription", price_unit="period", price_micros=9_000_000
    ),
    "subscription/not held": lambda cost: _terms(
        "subscription", price_unit="period", price_micros=cost, held=False
    ),
    "purchase/held": lambda cost: _terms(
        "purchase", price_unit="one_off", price_micros=9_000_000_000
    ),
    "purchase/not held": lambda cost: _terms(
        "purchase", price_unit="one_off", price_micros=cost, held=False
    ),
}
FREE_PER_USE = {"free", "attribution", "subscription/held", "purchase/held"}
PRICED_PER_USE = [kind for kind in KINDS if kind not in FREE_PER_USE]


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_costs_what_one_use_of_the_passage_costs(kind):
    expected = 0 if kind in FREE_PER_USE else CHEAP
    terms = KINDS[kind](CHEAP)

    assert services.marginal_cost(terms, tokens=TOKENS, cited=True) == expected


@pytest.mark.parametrize(
    ("cheap", "dear"),
    [(a, b) for a, b in itertools.product(KINDS, PRICED_PER_USE) if a != b],
)
@pytest.mark.parametrize("order", ["cheap first", "dear first"])
def test_the_cheaper_actual_use_wins_for_every_pair(cheap, dear, order):
    cheaper, dearer = KINDS[cheap](CHEAP), KINDS[dear](DEAR)
    options = (cheaper, dearer) if order == "cheap first" else (dearer, cheaper)
    entitlements = services.Entitlements(
        agent_id=uuid.uuid4(), usage_type="ai-input", terms=(), options=options
    )

    chosen = entitlements.choose(COLLECTION, tokens=TOKENS)

    assert chosen is cheaper
    assert services.marginal_cost(dearer, tokens=TOKENS) == DEAR


def test_per_1k_tokens_beats_a_lower_per_source_price_on_a_small_passage():
    per_source = _terms("use", price_unit="retrieved_source", price_micros=1_000)
    per_tokens = _terms("use", price_unit="1k_tokens", price_micros=1_500)
    entitlements = services.Entitlements(
        agent_id=uuid.uuid4(), usage_type="ai-input", terms=(), options=(per_source, per_tokens)
    )

    assert services.marginal_cost(per_tokens, tokens=12) == 18
    assert entitlements.choose(COLLECTION, tokens=12) is per_tokens
    # On a passage of 1,000 tokens the same per-1k-tokens offer costs 1,500: per source wins.
    assert entitlements.choose(COLLECTION, tokens=1_000) is per_source


def test_a_held_subscription_beats_a_per_use_agreement():
    subscription = _terms("subscription", price_unit="period", price_micros=49_000_000)
    per_use = _terms("use", price_unit="retrieved_source", price_micros=1)
    entitlements = services.Entitlements(
        agent_id=uuid.uuid4(), usage_type="ai-input", terms=(), options=(per_use, subscription)
    )

    assert entitlements.choose(COLLECTION, tokens=TOKENS) is subscription


def test_a_tie_goes_to_terms_held_then_to_terms_accepted_by_the_agent():
    auto_free = _terms("free", held=False)
    held_free = _terms("attribution")
    auto_made = dataclasses.replace(_terms("free"), auto_accepted=True)  # held, made by auto-accept

    def choose(*options):
        return services.Entitlements(
            agent_id=uuid.uuid4(), usage_type="ai-input", terms=(), options=options
        ).choose(COLLECTION, tokens=TOKENS)

    assert choose(auto_free, held_free) is held_free
    assert choose(auto_made, held_free) is held_free
    assert choose(auto_free, auto_made) is auto_made


def test_a_revenue_share_costs_its_share_of_the_documented_basis(settings):
    settings.LICENSING_REVENUE_SHARE_BASIS_MICROS = 25_000
    share = _terms("revenue_share", bps=2_000)  # 20%

    assert services.revenue_share_equivalent(2_000) == 5_000
    assert services.marginal_cost(share, tokens=TOKENS) == 5_000


def test_an_uncited_use_of_a_per_cited_source_offer_costs_nothing():
    per_cited = _terms("use", price_unit="cited_source", price_micros=3_000)

    assert services.marginal_cost(per_cited, tokens=TOKENS, cited=False) == 0
    assert services.marginal_cost(per_cited, tokens=TOKENS, cited=True) == 3_000
