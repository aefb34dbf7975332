"""Candidates for the auction tests, one keyword-argument dict per unit."""

from ads.services.auction import AuctionParams, BidType, Candidates, Reason

CPM = BidType.CPM
CPC = BidType.CPC
# No floor, no reserve, no relevance floor: each test turns on what it is about.
OPEN = AuctionParams(
    slots=1, relevance_floor=0.0, reserve_micros=0.0, beta=1.0, floor_cpm_micros=0,
    floor_cpc_micros=0,
)  # fmt: skip


def unit(unit_id, bid, *, u=1.0, bid_type=CPM, ctr=0.0, pacing=1.0, advertiser=None,
         campaign=None, reason=Reason.ELIGIBLE):  # fmt: skip
    return {
        "unit_id": unit_id,
        "campaign_id": campaign if campaign is not None else unit_id * 10,
        "advertiser_id": advertiser if advertiser is not None else unit_id * 100,
        "bid_type": bid_type,
        "max_bid_micros": bid,
        "est_ctr": ctr,
        "pacing": pacing,
        "relevance": u,
        "reasons": reason,
    }


def candidates(*units):
    fields = ("unit_id", "campaign_id", "advertiser_id", "bid_type", "max_bid_micros",
              "est_ctr", "pacing", "relevance", "reasons")  # fmt: skip
    return Candidates(**{f: [row[f] for row in units] for f in fields})


def params(**changes):
    return AuctionParams(**{**OPEN.__dict__, **changes})
