"""Sponsored items beside answers: which units may serve (a per-process snapshot), which of
them may serve this answer (eligibility masks), the auction with budgets held, and what the
answer path records once they are served. The rule itself is ads/services/auction/."""

from ads.services.placement.masks import Surroundings, eligibility
from ads.services.placement.recording import (
    impression_micros,
    record_payload,
    serve_selection,
    trace_of,
)
from ads.services.placement.selection import (
    AdContext,
    Placement,
    Selection,
    auction_id_for,
    release_selection,
    select_sponsored,
    why_this_ad,
)
from ads.services.placement.sensitive import sensitive_term
from ads.services.placement.snapshot import Snapshot, build_snapshot, current_snapshot

__all__ = [
    "AdContext",
    "Placement",
    "Selection",
    "Snapshot",
    "Surroundings",
    "auction_id_for",
    "build_snapshot",
    "current_snapshot",
    "eligibility",
    "impression_micros",
    "record_payload",
    "release_selection",
    "select_sponsored",
    "sensitive_term",
    "serve_selection",
    "trace_of",
    "why_this_ad",
]
