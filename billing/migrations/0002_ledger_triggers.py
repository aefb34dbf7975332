"""On PostgreSQL the database itself keeps the ledger honest (SQLite relies on the service).

- Every ledger transaction inserted is checked at commit by a DEFERRABLE INITIALLY DEFERRED
  constraint trigger: its entries sum to zero in each currency, and there are at least two.
  The check is set-based: the first trigger call at commit checks every transaction written
  in the database transaction (kept in the session's temporary table `billing_unchecked` by a
  statement trigger), so rating thousands of events costs one query, not one per row.
- Entries join only transactions written in the same database transaction and not yet
  checked, and each entry is in its account's currency (a statement trigger, set-based), so
  nothing can be added to a transaction after its check.
- Entries and transactions are append-only: UPDATE and DELETE are refused; accounts are
  never deleted.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION billing_note_transactions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.billing_unchecked') IS NULL THEN
        CREATE TEMP TABLE billing_unchecked (id bigint PRIMARY KEY) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO pg_temp.billing_unchecked SELECT id FROM added_transactions;
    RETURN NULL;
END $$;

CREATE TRIGGER billing_transaction_noted
AFTER INSERT ON billing_transaction
REFERENCING NEW TABLE AS added_transactions
FOR EACH STATEMENT EXECUTE FUNCTION billing_note_transactions();

CREATE FUNCTION billing_check_entries() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    IF to_regclass('pg_temp.billing_unchecked') IS NULL THEN
        SELECT transaction_id INTO bad FROM added_entries LIMIT 1;
    ELSE
        SELECT e.transaction_id INTO bad FROM added_entries e
        WHERE NOT EXISTS (SELECT 1 FROM pg_temp.billing_unchecked u WHERE u.id = e.transaction_id)
        LIMIT 1;
    END IF;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % is closed: entries join only a transaction '
            'written in the same database transaction', bad
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_closed';
    END IF;
    SELECT e.id INTO bad FROM added_entries e
    LEFT JOIN billing_account a ON a.id = e.account_id
    WHERE a.id IS NULL OR a.currency <> e.currency
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ledger entry % is not in its account''s currency', bad
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_currency';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER billing_entry_checked
AFTER INSERT ON billing_entry
REFERENCING NEW TABLE AS added_entries
FOR EACH STATEMENT EXECUTE FUNCTION billing_check_entries();

CREATE FUNCTION billing_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF to_regclass('pg_temp.billing_unchecked') IS NULL
        OR NOT EXISTS (SELECT 1 FROM pg_temp.billing_unchecked WHERE id = NEW.id) THEN
        RETURN NULL;  -- checked already, with every other transaction of this commit
    END IF;
    SELECT e.transaction_id AS id, e.currency INTO bad
    FROM billing_entry e JOIN pg_temp.billing_unchecked u ON u.id = e.transaction_id
    GROUP BY e.transaction_id, e.currency HAVING SUM(e.amount_micros) <> 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', bad.id, bad.currency
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    SELECT u.id INTO bad FROM pg_temp.billing_unchecked u
    WHERE (SELECT count(*) FROM billing_entry e WHERE e.transaction_id = u.id) < 2
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: fewer than two entries', bad.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    DELETE FROM pg_temp.billing_unchecked;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER billing_transaction_balanced
AFTER INSERT ON billing_transaction
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION billing_check_balanced();

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

CREATE TRIGGER billing_account_kept
BEFORE DELETE ON billing_account
FOR EACH STATEMENT EXECUTE FUNCTION billing_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS billing_account_kept ON billing_account;
DROP TRIGGER IF EXISTS billing_transaction_append_only ON billing_transaction;
DROP TRIGGER IF EXISTS billing_entry_append_only ON billing_entry;
DROP FUNCTION IF EXISTS billing_refuse_change();
DROP TRIGGER IF EXISTS billing_transaction_balanced ON billing_transaction;
DROP FUNCTION IF EXISTS billing_check_balanced();
DROP TRIGGER IF EXISTS billing_entry_checked ON billing_entry;
DROP FUNCTION IF EXISTS billing_check_entries();
DROP TRIGGER IF EXISTS billing_transaction_noted ON billing_transaction;
DROP FUNCTION IF EXISTS billing_note_transactions();
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
