"""The double-entry ledger: accounts, transactions of entries, and what rating keeps.

Amounts are signed integer micros: a debit is positive, a credit negative. Every transaction's
entries sum to zero in each currency (checked by `billing.services.ledger` and, on PostgreSQL,
by a deferred constraint trigger), so the trial balance (the sum of all entries) is zero.
Transactions and entries are append-only: a correction is a reversing transaction.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Purpose(models.TextChoices):
    """What an account holds. Organization accounts have an organization; platform ones none."""

    # Organization accounts.
    AGENT_WALLET = "agent_wallet", "Agent wallet (prepaid funds; liability)"
    AGENT_RECEIVABLE = "agent_receivable", "Agent receivable (owed by an agent; asset)"
    AGENT_PAYABLE = "agent_payable", "Agent payable (owed to an agent, e.g. ad revenue; liability)"
    PROVIDER_PAYABLE = "provider_payable", "Provider payable (earned, not paid out; liability)"
    ADVERTISER_PREPAID = "advertiser_prepaid", "Advertiser prepaid (campaign funds; liability)"
    # Platform accounts.
    PLATFORM_REVENUE = "platform_revenue", "Platform revenue (the take)"
    PLATFORM_PROMOTIONS = "platform_promotions", "Platform promotions (credits granted; expense)"
    STRIPE_CLEARING = "stripe_clearing", "Stripe clearing (funds at Stripe; asset)"
    STRIPE_FEES = "stripe_fees", "Stripe fees (expense)"


ORGANIZATION_PURPOSES = (
    Purpose.AGENT_WALLET,
    Purpose.AGENT_RECEIVABLE,
    Purpose.AGENT_PAYABLE,
    Purpose.PROVIDER_PAYABLE,
    Purpose.ADVERTISER_PREPAID,
)
PLATFORM_PURPOSES = (
    Purpose.PLATFORM_REVENUE,
    Purpose.PLATFORM_PROMOTIONS,
    Purpose.STRIPE_CLEARING,
    Purpose.STRIPE_FEES,
)
# Liabilities and revenue: their balance is normally a credit (negative in the entries' sign).
CREDIT_NORMAL = frozenset(
    {
        Purpose.AGENT_WALLET,
        Purpose.AGENT_PAYABLE,
        Purpose.PROVIDER_PAYABLE,
        Purpose.ADVERTISER_PREPAID,
        Purpose.PLATFORM_REVENUE,
    }
)
# Prepaid funds: never below zero (a credit balance of zero or more).
PREPAID_PURPOSES = (Purpose.AGENT_WALLET, Purpose.ADVERTISER_PREPAID)


class Account(models.Model):
    """One ledger account: an organization's (or the platform's) purpose in one currency.

    `balance_micros` is the sum of the account's entries (debit positive), kept in the same
    database transaction as the entries, so a balance is read without summing history.
    `reserved_micros` is what is held against a wallet for answers not yet settled.
    """

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
    )
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    currency = models.CharField(max_length=3)
    balance_micros = models.BigIntegerField(default=0)
    reserved_micros = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "purpose", "currency"],
                condition=Q(organization__isnull=False),
                name="one_account_per_org_purpose_currency",
            ),
            models.UniqueConstraint(
                fields=["purpose", "currency"],
                condition=Q(organization__isnull=True),
                name="one_platform_account_per_purpose_currency",
            ),
            models.CheckConstraint(
                condition=(Q(organization__isnull=False) & Q(purpose__in=ORGANIZATION_PURPOSES))
                | (Q(organization__isnull=True) & Q(purpose__in=PLATFORM_PURPOSES)),
                name="account_owner_fits_purpose",
            ),
            models.CheckConstraint(
                condition=~Q(purpose__in=PREPAID_PURPOSES) | Q(balance_micros__lte=0),
                name="prepaid_never_below_zero",
            ),
            models.CheckConstraint(
                condition=Q(reserved_micros__gte=0), name="reserved_not_negative"
            ),
        ]

    def __str__(self) -> str:
        owner = self.organization_id or "platform"
        return f"{owner} {self.purpose} {self.currency}"


class Transaction(models.Model):
    """One balanced money movement, written once under a key derived from what caused it."""

    class Kind(models.TextChoices):
        USE = "use", "Pay-per-use charge"
        REVENUE_SHARE = "revenue_share", "Revenue share of an answer"
        REVENUE_REPORT = "revenue_report", "Revenue share from a period's revenue report"
        SUBSCRIPTION = "subscription", "Subscription period"
        PURCHASE = "purchase", "One-off purchase"
        CREDIT = "credit", "Credit granted by the operator"
        REVERSAL = "reversal", "Reversal of an earlier transaction"
        # Written by the Stripe gateway and the ads app.
        TOP_UP = "top_up", "Wallet top-up"
        INVOICE_PAYMENT = "invoice_payment", "Invoice payment"
        PAYOUT = "payout", "Payout to a provider"
        REFUND = "refund", "Refund"
        FEE = "fee", "Payment processing fee"
        AD_REVENUE = "ad_revenue", "Ad revenue of an answer"
        ADJUSTMENT = "adjustment", "Adjustment by the operator"

    id = models.BigAutoField(primary_key=True)
    idempotency_key = models.CharField(max_length=200)  # unique: see Meta.constraints
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # When the money moved in business terms (the use, the period start); statements go by it.
    effective_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    memo = models.CharField(max_length=200, blank=True)
    # What caused it. Usage events are referenced by id, not by a foreign key: metering may
    # void an answer's events (a stream that failed), and rating then reverses their charge.
    usage_event_id = models.BigIntegerField(null=True, blank=True)
    agreement_id = models.UUIDField(null=True, blank=True)
    revenue_report = models.ForeignKey(
        "RevenueReport",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        db_index=False,
    )
    # An outside reference: a Stripe object id; for ad revenue, the answer's request id.
    external_ref = models.CharField(max_length=200, blank=True)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversal"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            # An answer's ad revenue, by the answer's request id (billing.answer_transactions).
            models.Index(
                fields=["external_ref"], condition=Q(kind="ad_revenue"), name="ad_revenue_answer"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="ledger_transaction_key"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class Entry(models.Model):
    """One leg of a transaction: a signed amount (debit positive) on one account."""

    id = models.BigAutoField(primary_key=True)
    # No foreign-key constraints in the database: on PostgreSQL a statement trigger checks, set
    # based, that every entry's transaction was written in the same database transaction and
    # its account exists in its currency (per-row foreign-key checks would cost rating more
    # than everything else); transactions and accounts are never deleted.
    transaction = models.ForeignKey(
        Transaction, on_delete=models.PROTECT, related_name="entries", db_constraint=False
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,
        db_constraint=False,
    )
    amount_micros = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # The transaction's, kept here for statements: a month's statement is one aggregation of
    # the month's entries by account and kind, with no join to millions of transactions.
    effective_at = models.DateTimeField()
    kind = models.CharField(max_length=24, choices=Transaction.Kind.choices)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "entries"
        indexes = [
            models.Index(fields=["account", "effective_at"], name="entry_account_time"),
            models.Index(fields=["account", "transaction"], name="entry_account_transaction"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_micros=0), name="entry_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount_micros} {self.currency}"


class BillingProfile(models.Model):
    """How an organization pays: prepaid from its wallet (the default) or postpaid (invoiced)."""

    organization = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="billing_profile",
    )
    postpaid = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organization_id} ({'postpaid' if self.postpaid else 'prepaid'})"


class RatingCursor(models.Model):
    """How far a rating pass has gone (the last usage event id it rated, say). Its row lock
    also keeps two passes of the same kind from running at once."""

    name = models.CharField(max_length=40, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"


class RevenueReport(models.Model):
    """What an agent earned in a month, shared with revenue-share providers by attribution
    weight across that month's revenue-share uses (optionally of one agreement only)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending allocation"
        ALLOCATED = "allocated", "Allocated"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="revenue_reports"
    )
    agreement_id = models.UUIDField(null=True, blank=True)
    period = models.CharField(max_length=7)  # YYYY-MM
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    revenue_micros = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    uses_count = models.PositiveIntegerField(default=0)
    allocated_micros = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    allocated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "period", "currency", "agreement_id"],
                condition=Q(agreement_id__isnull=False),
                name="one_report_per_agreement_period",
            ),
            models.UniqueConstraint(
                fields=["agent", "period", "currency"],
                condition=Q(agreement_id__isnull=True),
                name="one_report_per_agent_period",
            ),
            models.CheckConstraint(
                condition=Q(revenue_micros__gt=0), name="report_revenue_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.period} {self.revenue_micros} {self.currency}"


class DatasetExport(models.Model):
    """A dataset export of a paid purchase licence (a training or dataset licence): the
    licensed collections' documents as JSONL with a manifest, downloaded through a signed URL
    that expires. Each export is metered once, as an `ai-train` use of the licence."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agreement_id = models.UUIDField(db_index=True)
    agent = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="dataset_exports"
    )
    offer_version_id = models.BigIntegerField()
    documents = models.PositiveIntegerField(default=0)  # ready documents when it was made
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    downloads = models.PositiveIntegerField(default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.id} of {self.agreement_id}"


# What moving money through Stripe keeps (wallet holds, top-ups, webhooks, payouts, invoices).
from billing.payment_models import *  # noqa: E402, F403
