"""Entries carry their transaction's kind, and on PostgreSQL a BRIN index on their time.

A month's statements are then one aggregation of the month's entries by account and kind:
no join to the month's millions of transactions. Entries are written in about the order of
their time (rating runs behind the uses by seconds to minutes), so a BRIN index on
`effective_at` finds a month's rows as a few block ranges for almost nothing per insert.
Existing entries take their transaction's kind (the append-only trigger is set aside for it).
"""

from django.db import migrations, models

KINDS = [
    ("use", "Pay-per-use charge"),
    ("revenue_share", "Revenue share of an answer"),
    ("revenue_report", "Revenue share from a period's revenue report"),
    ("subscription", "Subscription period"),
    ("purchase", "One-off purchase"),
    ("credit", "Credit granted by the operator"),
    ("reversal", "Reversal of an earlier transaction"),
    ("top_up", "Wallet top-up"),
    ("invoice_payment", "Invoice payment"),
    ("payout", "Payout to a provider"),
    ("refund", "Refund"),
    ("fee", "Payment processing fee"),
    ("ad_revenue", "Ad revenue of an answer"),
    ("adjustment", "Adjustment by the operator"),
]


def fill_kinds(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE billing_entry DISABLE TRIGGER billing_entry_append_only")
            cursor.execute(
                "UPDATE billing_entry e SET kind = t.kind FROM billing_transaction t "
                "WHERE t.id = e.transaction_id"
            )
            cursor.execute("ALTER TABLE billing_entry ENABLE TRIGGER billing_entry_append_only")
            cursor.execute(
                "CREATE INDEX entry_time_brin ON billing_entry USING brin (effective_at) "
                "WITH (autosummarize = on)"
            )
        else:
            cursor.execute(
                "UPDATE billing_entry SET kind = (SELECT t.kind FROM billing_transaction t "
                "WHERE t.id = billing_entry.transaction_id)"
            )


def drop_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS entry_time_brin")


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_balance_check_once_per_commit")]

    operations = [
        migrations.AddField(
            model_name="entry",
            name="kind",
            field=models.CharField(choices=KINDS, default="", max_length=24),
            preserve_default=False,
        ),
        migrations.RunPython(fill_kinds, drop_brin, elidable=False),
    ]
