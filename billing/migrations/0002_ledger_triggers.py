"""On PostgreSQL the database itself keeps the ledger honest (SQLite relies on the service):

- a DEFERRABLE INITIALLY DEFERRED constraint trigger on entries checks, at commit, that every
  transaction an inserted entry belongs to sums to zero in each currency, and that each entry's
  currency is its account's;
- entries and transactions are append-only: UPDATE and DELETE are refused.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION billing_check_transaction_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unbalanced text;
BEGIN
    SELECT currency INTO unbalanced FROM billing_entry
    WHERE transaction_id = NEW.transaction_id
    GROUP BY currency HAVING SUM(amount_micros) <> 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %',
            NEW.transaction_id, unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM billing_account WHERE id = NEW.account_id AND currency = NEW.currency
    ) THEN
        RAISE EXCEPTION 'ledger entry % is not in its account''s currency', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_currency';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER billing_entry_balanced
AFTER INSERT ON billing_entry
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION billing_check_transaction_balanced();

CREATE FUNCTION billing_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused (write a reversal)',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER billing_entry_append_only
BEFORE UPDATE OR DELETE ON billing_entry
FOR EACH STATEMENT EXECUTE FUNCTION billing_refuse_change();

CREATE TRIGGER billing_transaction_append_only
BEFORE UPDATE OR DELETE ON billing_transaction
FOR EACH STATEMENT EXECUTE FUNCTION billing_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS billing_transaction_append_only ON billing_transaction;
DROP TRIGGER IF EXISTS billing_entry_append_only ON billing_entry;
DROP FUNCTION IF EXISTS billing_refuse_change();
DROP TRIGGER IF EXISTS billing_entry_balanced ON billing_entry;
DROP FUNCTION IF EXISTS billing_check_transaction_balanced();
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)  # no parameters: the % in RAISE stays as written


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
