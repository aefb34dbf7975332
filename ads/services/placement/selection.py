"""Choosing the sponsored items of one answer: the auction over this process's snapshot, with
the winners' budgets held (`select_sponsored`); given back when they are not served
(`release_selection`).

Nothing here reads or changes the answer: the auction sees the question and the passages
that ground the answer, and returns units to show beside it. It never raises: whatever goes
wrong (Redis away, a bad unit) is logged and the answer goes out without sponsored items.
"""

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from accounts import services as accounts
from ads.services.auction import (
    AuctionResult,
    BudgetStore,
    Candidates,
    LedgerSpend,
    Reconciled,
    Remaining,
    Reservation,
    auction_params,
    budget_store,
    cost_micros,
    relevance,
    run_and_reserve,
)
from ads.services.auction.budgets import CampaignKey
from ads.services.auction.relevance import tokenize
from ads.services.changes import generations, preferences_generation
from ads.services.eligibility import EligibleUnit
from ads.services.placement.budgets import LoadLimits, budget_view, forget_views
from ads.services.placement.frequency import frequency_store
from ads.services.placement.masks import Surroundings, eligibility
from ads.services.placement.sensitive import sensitive_term
from ads.services.placement.snapshot import Snapshot, current_snapshot
from ads.services.preferences import AdPreferences, ad_preferences_for
from ads.services.spend import load_limits_of_record
from catalog import services as catalog
from core.cache import LocalCache

logger = logging.getLogger("provenant.ads")

REASON_MAX_CHARS = 200
REASONS_SHOWN = 5  # words or names listed per reason
# Words that say a question is one, not what it is about: no reason to show an ad.
QUESTION_WORDS = frozenset(
    [
        "how",
        "what",
        "why",
        "when",
        "where",
        "who",
        "whom",
        "which",
        "whose",
        "does",
        "do",
        "did",
        "can",
        "could",
        "should",
        "would",
        "is",
        "are",
        "was",
        "were",
        "will",
        "work",
        "works",
    ]
)

_preferences: "LocalCache[tuple[int, uuid.UUID], AdPreferences]" = LocalCache(
    "ads.provider_preferences", maxsize=10_000, ttl_s=60
)

# What is not served, and why (no auction runs for these).
NOT_ALLOWED = "not_allowed"
SENSITIVE = "sensitive_question"
PROVIDER_OPT_OUT = "provider_opt_out"
NO_UNITS = "no_units"
FAILED = "failed"


@dataclass(frozen=True)
class AdContext:
    """One answer as the auction sees it: who asks, what, and the passages that ground it."""

    request_id: str
    agent_id: uuid.UUID
    question: str
    currency: str
    source_texts: tuple[str, ...] = ()
    provider_ids: tuple[uuid.UUID, ...] = ()
    collection_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class Placement:
    """A winner: its unit as the snapshot holds it, its price per event and its hold."""

    unit: EligibleUnit
    slot: int
    price_micros: int
    reservation: Reservation
    reasons: tuple[str, ...]  # why this ad, for the agent

    @property
    def max_charge_micros(self) -> int | None:
        """What one of its events may charge when the hold is less than its price allows."""
        bid_type = 0 if self.unit.bid_type == "cpm" else 1
        held = self.reservation.amount_micros
        return held if held < cost_micros(bid_type, self.price_micros) else None


@dataclass(frozen=True, eq=False)
class Selection:
    auction_id: str
    context: AdContext
    placements: tuple[Placement, ...]
    result: AuctionResult | None = None
    snapshot: Snapshot | None = None
    skipped_because: str = ""  # why no auction ran ("" when one did)


def auction_id_for(request_id: str) -> str:
    return f"auc_{request_id}"[:100]


def provider_preferences(
    provider_ids: tuple[uuid.UUID, ...], *, generation: int | None = None
) -> list[AdPreferences]:
    """Return these providers' ad preferences, cached per process until one changes
    (`generation`: the preferences' generation, when the caller has just read it)."""
    generation = preferences_generation() if generation is None else generation
    cached = _preferences.get_many((generation, p) for p in provider_ids)
    missing = [p for p in provider_ids if (generation, p) not in cached]
    if missing:
        loaded = ad_preferences_for(provider_ids=missing)
        _preferences.set_many({(generation, p): prefs for p, prefs in loaded.items()})
        cached.update({(generation, p): prefs for p, prefs in loaded.items()})
    return [cached[(generation, p)] for p in provider_ids]


def _skipped(context: AdContext, why: str) -> Selection:
    return Selection(auction_id_for(context.request_id), context, (), skipped_because=why)


def select_sponsored(
    context: AdContext, *, load_limits: LoadLimits | None = None, now_s: float | None = None
) -> Selection:
    """Run the auction for one answer and hold the winners' budgets (see the module)."""
    try:
        return _select(
            context,
            load_limits or load_limits_of_record,
            time.time() if now_s is None else now_s,
        )
    except Exception:
        logger.exception("The ad auction of %s failed; no sponsored items", context.request_id)
        forget_views()
        return _skipped(context, FAILED)


def _select(context: AdContext, load_limits: LoadLimits, now_s: float) -> Selection:
    if sensitive_term(context.question):
        return _skipped(context, SENSITIVE)
    units_generation, preferences_now = generations()
    preferences = provider_preferences(
        tuple(dict.fromkeys(context.provider_ids)), generation=preferences_now
    )
    if any(not p.allow_ads for p in preferences):
        return _skipped(context, PROVIDER_OPT_OUT)
    snapshot = current_snapshot(
        currency=context.currency, now_s=now_s, generation_now=units_generation
    )
    if not len(snapshot):
        return _skipped(context, NO_UNITS)
    store = budget_store()
    view = budget_view(snapshot, store=store, load_limits=load_limits, now_s=now_s)
    cap = int(settings.ADS_FREQUENCY_CAP)
    day = datetime.fromtimestamp(now_s, UTC).date()
    shown = frequency_store().counts(str(context.agent_id), day) if cap > 0 else {}
    around = Surroundings(
        agent_id=context.agent_id,
        collection_ids=frozenset(context.collection_ids),
        provider_ids=frozenset(context.provider_ids),
        blocked_advertisers=frozenset(a for p in preferences for a in p.blocked_advertisers),
        blocked_categories=frozenset(c for p in preferences for c in p.blocked_categories),
    )
    reasons, pacing = eligibility(
        snapshot,
        around,
        view,
        served_today=shown,
        frequency_cap=cap,
        now_s=now_s,
    )
    base = snapshot.candidates
    u = relevance(snapshot.index, context.question, context.source_texts)
    candidates = Candidates(
        unit_id=base.unit_id,
        campaign_id=base.campaign_id,
        advertiser_id=base.advertiser_id,
        bid_type=base.bid_type,
        max_bid_micros=base.max_bid_micros,
        est_ctr=base.est_ctr,
        pacing=pacing,
        relevance=u,
        reasons=reasons,
    )
    auction_id = auction_id_for(context.request_id)
    served = run_and_reserve(
        candidates,
        auction_params(),
        store=CampaignKeys(store, snapshot),
        hold_prefix=auction_id,
    )
    if served.rounds > 1:
        forget_views()  # a hold was refused: the view was stale
    result = served.result
    words = set(tokenize(context.question)) | set(tokenize("\n".join(context.source_texts)))
    placements = tuple(
        Placement(
            unit=snapshot.units[row],
            slot=slot,
            price_micros=price,
            reservation=hold,
            reasons=why_this_ad(snapshot.units[row], words, around, float(u[row])),
        )
        for slot, (row, price, hold) in enumerate(
            zip(
                result.winners.tolist(),
                result.price_micros.tolist(),
                served.reservations,
                strict=True,
            )
        )
    )
    return Selection(auction_id, context, placements, result=result, snapshot=snapshot)


class CampaignKeys:
    """The budget store as the auction sees it: campaigns by their number in a snapshot, kept
    in the store under their ids (so every process names a campaign alike)."""

    def __init__(self, store: BudgetStore, snapshot: Snapshot) -> None:
        self._store = store
        self._ids = snapshot.campaign_ids

    def _key(self, campaign_id: CampaignKey) -> str:
        return str(self._ids[int(campaign_id)])

    def set_limits(self, campaign_id: CampaignKey, *, total_micros: int, daily_micros: int) -> None:
        self._store.set_limits(
            self._key(campaign_id), total_micros=total_micros, daily_micros=daily_micros
        )

    def reserve(
        self,
        campaign_id: CampaignKey,
        amount_micros: int,
        *,
        least_micros: int | None = None,
        hold_id: str | None = None,
    ) -> Reservation | None:
        return self._store.reserve(
            self._key(campaign_id), amount_micros, least_micros=least_micros, hold_id=hold_id
        )

    def settle(self, reservation: Reservation, *, spent_micros: int) -> int:
        return self._store.settle(reservation, spent_micros=spent_micros)

    def release(self, reservation: Reservation) -> int:
        return self._store.release(reservation)

    def release_expired(self, campaign_id: CampaignKey, *, older_than_s: float) -> int:
        return self._store.release_expired(self._key(campaign_id), older_than_s=older_than_s)

    def remaining(self, campaign_id: CampaignKey) -> Remaining:
        return self._store.remaining(self._key(campaign_id))

    def remaining_many(self, campaign_ids: Sequence[CampaignKey]) -> list[Remaining | None]:
        return self._store.remaining_many([self._key(c) for c in campaign_ids])

    def reconcile(self, spends: Iterable[LedgerSpend]) -> list[Reconciled]:
        return self._store.reconcile(spends)


def why_this_ad(
    unit: EligibleUnit, words: set[str], around: Surroundings, u: float
) -> tuple[str, ...]:
    """Return the main reasons a unit was chosen: the keywords, topics and context hints the
    question and its sources match, the targeting it met, and its relevance."""

    def matched(phrases: tuple[str, ...]) -> list[str]:
        return [p for p in phrases if (t := tokenize(p)) and all(w in words for w in t)]

    reasons = []
    keywords = matched(unit.targeting.keywords)
    if keywords:
        reasons.append(f"Matches the keywords: {', '.join(keywords[:REASONS_SHOWN])}")
    topics = matched(unit.targeting.topics)
    if topics:
        reasons.append(f"About the topics: {', '.join(topics[:REASONS_SHOWN])}")
    hints = sorted(
        {w for w in tokenize(unit.context_hints) if w in words and w not in QUESTION_WORDS}
    )
    if hints:
        reasons.append(f"Its context hints match: {', '.join(hints[:REASONS_SHOWN])}")
    beside = [c for c in unit.targeting.collections if c in around.collection_ids]
    if beside:
        names = catalog.collection_names(collection_ids=beside)
        shown = ", ".join(sorted(names.values())[:REASONS_SHOWN])
        reasons.append(f"Targets answers from the collections: {shown}")
    providers = [p for p in unit.targeting.providers if p in around.provider_ids]
    if providers:
        names = accounts.organization_names(organization_ids=providers)
        shown = ", ".join(sorted(names.values())[:REASONS_SHOWN])
        reasons.append(f"Targets answers from the providers: {shown}")
    if around.agent_id in unit.targeting.agent_orgs:
        reasons.append("Offered to your organization by name")
    reasons.append(f"Relevance to the question and its sources: {u:.2f}")
    return tuple(r[:REASON_MAX_CHARS] for r in reasons)


def release_selection(selection: Selection | None) -> None:
    """Give back every hold of a selection that was not served (a hold settled already gives
    back nothing)."""
    if selection is None:
        return
    store = budget_store()
    for placement in selection.placements:
        try:
            store.release(placement.reservation)
        except Exception:
            logger.exception("Could not release the hold of %s", selection.auction_id)
