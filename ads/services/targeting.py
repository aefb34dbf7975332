"""Where a unit may appear: words and topics it is about, collections and providers to appear
next to or to avoid, agent organizations to include or exclude.

Every key is known (an unknown one is a 400, not silently ignored), every id names something
that exists with the right role, and nothing is both included and excluded.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accounts import services as accounts
from ads.services.content import MAX_IDS, clean_words, invalid
from catalog import services as catalog

WORD_KEYS = ("keywords", "topics")
# Each id list: what its ids name (a collection, or an organization with a role).
ID_KEYS = {
    "collections": "collection",
    "exclude_collections": "collection",
    "providers": accounts.PROVIDER,
    "exclude_providers": accounts.PROVIDER,
    "agent_orgs": accounts.AGENT,
    "exclude_agent_orgs": accounts.AGENT,
}
KEYS = (*WORD_KEYS, *ID_KEYS)
_OPPOSITES = (
    ("collections", "exclude_collections"),
    ("providers", "exclude_providers"),
    ("agent_orgs", "exclude_agent_orgs"),
)


@dataclass(frozen=True)
class Targeting:
    """A unit's targeting; empty lists mean "anywhere" (includes) and "nothing" (excludes)."""

    keywords: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    collections: tuple[uuid.UUID, ...] = ()
    exclude_collections: tuple[uuid.UUID, ...] = ()
    providers: tuple[uuid.UUID, ...] = ()
    exclude_providers: tuple[uuid.UUID, ...] = ()
    agent_orgs: tuple[uuid.UUID, ...] = ()
    exclude_agent_orgs: tuple[uuid.UUID, ...] = ()


def targeting_of(stored: Mapping[str, Any]) -> Targeting:
    """Return the targeting kept in a unit's columns (or a `values()` row of them)."""
    return Targeting(
        keywords=tuple(stored["keywords"] or ()),
        topics=tuple(stored["topics"] or ()),
        **{key: tuple(uuid.UUID(v) for v in stored[key] or ()) for key in ID_KEYS},
    )


def _parse_ids(values: object, field: str) -> list[uuid.UUID]:
    if not isinstance(values, list | tuple):
        raise invalid(field, f"{field} is a list of ids.")
    ids: dict[uuid.UUID, None] = {}
    for value in values:
        try:
            ids[value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))] = None
        except ValueError as exc:
            raise invalid(field, f"{field} holds ids: {str(value)[:40]!r} is not one.") from exc
    if len(ids) > MAX_IDS:
        raise invalid(field, f"At most {MAX_IDS} ids in {field}.")
    return list(ids)


def _check_ids_exist(ids: dict[str, list[uuid.UUID]]) -> None:
    """Refuse an id that names no collection, or no organization with the needed role."""
    by_kind = [(ID_KEYS[key] == "collection", values) for key, values in ids.items()]
    collections = {i for is_collection, values in by_kind if is_collection for i in values}
    organizations = {i for is_collection, values in by_kind if not is_collection for i in values}
    known_collections = set(catalog.collection_owners(collection_ids=collections))
    roles = accounts.organization_roles(organization_ids=organizations) if organizations else {}
    for key, values in ids.items():
        kind = ID_KEYS[key]
        if kind == "collection":
            unknown = [i for i in values if i not in known_collections]
            what = "collection"
        else:
            unknown = [i for i in values if kind not in roles.get(i, ())]
            what = f"{kind} organization"
        if unknown:
            raise invalid(key, f"{key}: {unknown[0]} is no {what}.", code="unknown_target")


def clean_targeting(targeting: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Return the columns to store for a unit's targeting (every key, ids as strings)."""
    if targeting is None:
        targeting = {}
    if not isinstance(targeting, Mapping):
        raise invalid("targeting", "targeting is an object.")
    unknown = sorted(set(targeting) - set(KEYS))
    if unknown:
        raise _unknown_keys(unknown)
    words = {key: clean_words(targeting.get(key, ()), field=key) for key in WORD_KEYS}
    ids = {key: _parse_ids(targeting.get(key, ()), key) for key in ID_KEYS}
    for include, exclude in _OPPOSITES:
        both = set(ids[include]) & set(ids[exclude])
        if both:
            raise invalid(
                exclude, f"{next(iter(both))} is in both {include} and {exclude}.", code="invalid"
            )
    _check_ids_exist(ids)
    return {**words, **{key: [str(i) for i in values] for key, values in ids.items()}}


def _unknown_keys(keys: list[str]) -> Exception:
    message = f"Unknown targeting key: {', '.join(keys)}; choose from {', '.join(KEYS)}."
    error = invalid("targeting", message, code="unknown_field")
    error.details = {"targeting": {key: ["Unknown targeting key."] for key in keys}}
    return error
