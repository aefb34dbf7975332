"""What an organization sees of its own money: its transactions, page by page (monthly
statements are `statements.py`). Only the organization's own entries are shown: what the other
side of a transaction got (a provider's share, the platform's take) is not its business."""

import uuid
from collections import defaultdict
from dataclasses import dataclass

from accounts import services as accounts
from billing.models import Account, Entry, Transaction
from billing.services.balances import billing_organization_id
from billing.services.ledger import entry_info, transaction_with_entries
from billing.services.types import EntryInfo, TransactionInfo

PAGE_MAX = 500


@dataclass(frozen=True)
class TransactionPage:
    results: tuple[TransactionInfo, ...]
    next_before_id: int | None  # None on the last page


def list_transactions(
    *,
    actor: accounts.Actor,
    organization_id: uuid.UUID | str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> TransactionPage:
    """Return the acting organization's transactions, newest first, with its own entries."""
    org_id = billing_organization_id(actor, organization_id)
    limit = max(1, min(limit, PAGE_MAX))
    account_ids = list(Account.objects.filter(organization_id=org_id).values_list("id", flat=True))
    if not account_ids:
        return TransactionPage(results=(), next_before_id=None)
    entries = Entry.objects.filter(account_id__in=account_ids)
    if before_id is not None:
        entries = entries.filter(transaction_id__lt=before_id)
    ids = list(
        entries.order_by("-transaction_id")
        .values_list("transaction_id", flat=True)
        .distinct()[: limit + 1]
    )
    more = len(ids) > limit
    ids = ids[:limit]
    own: defaultdict[int, list[EntryInfo]] = defaultdict(list)
    for e in (
        Entry.objects.filter(transaction_id__in=ids, account_id__in=account_ids)
        .select_related("account")
        .order_by("id")
    ):
        own[e.transaction_id].append(entry_info(e))
    rows = Transaction.objects.filter(id__in=ids).order_by("-id")
    results = tuple(transaction_with_entries(t, tuple(own[t.id])) for t in rows)
    return TransactionPage(results=results, next_before_id=ids[-1] if more else None)
