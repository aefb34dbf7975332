"""The demo's advertisers: prepaid funds, campaigns and ad units, approved by the demo operator,
so that an answer asked with `allow_sponsored: true` gets a labelled sponsored item beside it.

Everything goes through the ads and billing services, as an advertiser's API calls and an
operator's review would. Campaigns are found again by name and units by title, so seeding again
adds nothing; a unit whose text in catalog.toml changed is updated and approved again.
"""

import uuid
from dataclasses import dataclass, fields
from typing import Any

from accounts import services as accounts
from ads import services as ads
from billing import services as billing


@dataclass(frozen=True)
class DemoUnit:
    title: str
    body: str
    url: str
    call_to_action: str
    category: str
    bid_type: str
    max_bid_micros: int
    context_hints: str = ""
    keywords: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    def content(self) -> dict[str, Any]:
        """Return the unit as `ads.create_unit` and `ads.update_unit` take it."""
        plain = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("keywords", "topics")
        }
        return {
            **plain,
            "targeting": {"keywords": list(self.keywords), "topics": list(self.topics)},
        }


@dataclass(frozen=True)
class DemoCampaign:
    name: str
    total_budget_micros: int
    units: tuple[DemoUnit, ...]
    daily_budget_micros: int | None = None
    pacing: str = "asap"


@dataclass(frozen=True)
class DemoAdvertiser:
    email: str
    organization: str
    prepaid_micros: int
    campaigns: tuple[DemoCampaign, ...]


@dataclass(frozen=True)
class DemoAds:
    advertisers: tuple[str, ...]  # names
    approved_units: int
    prepaid_micros: dict[str, int]  # advertiser name -> its prepaid funds now


def read_advertisers(rows: list[dict[str, Any]]) -> tuple[DemoAdvertiser, ...]:
    """Return the advertisers of catalog.toml's `[[advertisers]]` tables."""
    return tuple(
        DemoAdvertiser(
            email=row["email"],
            organization=row["organization"],
            prepaid_micros=row["prepaid_micros"],
            campaigns=tuple(
                DemoCampaign(
                    **{
                        **campaign,
                        "units": tuple(
                            DemoUnit(
                                **{
                                    **unit,
                                    "keywords": tuple(unit.get("keywords", ())),
                                    "topics": tuple(unit.get("topics", ())),
                                }
                            )
                            for unit in campaign["units"]
                        ),
                    }
                )
                for campaign in row["campaigns"]
            ),
        )
        for row in rows
    )


def _same(info: ads.AdUnitInfo, spec: DemoUnit) -> bool:
    content = spec.content()
    targeting = content.pop("targeting")
    return all(getattr(info, key) == value for key, value in content.items()) and (
        list(info.targeting.keywords),
        list(info.targeting.topics),
    ) == (targeting["keywords"], targeting["topics"])


def _ensure_unit(actor, campaign_id: uuid.UUID, spec: DemoUnit, operator_id: int) -> None:
    existing = {u.title: u for u in ads.list_units(actor=actor, campaign_id=campaign_id)}
    unit = existing.get(spec.title)
    if unit is None:
        unit = ads.create_unit(actor=actor, campaign_id=campaign_id, **spec.content())
    elif not _same(unit, spec):
        unit = ads.update_unit(actor=actor, unit_id=unit.id, **spec.content())
    if unit.review_state != "approved":
        ads.approve_unit(reviewer_id=operator_id, unit_id=unit.id, version=unit.version)


def _ensure_campaign(actor, spec: DemoCampaign, operator_id: int) -> None:
    existing = {c.name: c for c in ads.list_campaigns(actor=actor) if c.status != "ended"}
    campaign = existing.get(spec.name)
    if campaign is None:
        campaign = ads.create_campaign(
            actor=actor,
            name=spec.name,
            total_budget_micros=spec.total_budget_micros,
            daily_budget_micros=spec.daily_budget_micros,
            pacing=spec.pacing,
        )
    for unit in spec.units:
        _ensure_unit(actor, campaign.id, unit, operator_id)


def seed_ads(
    *,
    advertisers: tuple[DemoAdvertiser, ...],
    owners: dict[str, tuple[int, uuid.UUID]],
    operator_id: int,
) -> DemoAds:
    """Fund each advertiser once and bring its campaigns and approved units up to date.

    `owners` maps an advertiser's organization name to its owner's user id and its id."""
    prepaid = {}
    approved = 0
    for advertiser in advertisers:
        user_id, org_id = owners[advertiser.organization]
        billing.grant_credit(
            organization_id=org_id,
            amount_micros=advertiser.prepaid_micros,
            idempotency_key=f"demo-prepaid-{org_id}",
            purpose="advertiser_prepaid",
            memo="Demo prepaid ad funds",
        )
        actor = accounts.actor_for_user(user_id=user_id)
        for campaign in advertiser.campaigns:
            _ensure_campaign(actor, campaign, operator_id)
            approved += len(campaign.units)
        balance = billing.balance_of(organization_id=org_id).currencies
        prepaid[advertiser.organization] = sum(c.advertiser_prepaid_micros for c in balance)
    return DemoAds(
        advertisers=tuple(a.organization for a in advertisers),
        approved_units=approved,
        prepaid_micros=prepaid,
    )
