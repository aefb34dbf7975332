"""The deferred balance check costs one query per commit, not one per transaction written.

`billing_check_balanced` runs once per ledger transaction inserted (a constraint trigger is a
row trigger). Its first call at commit checks every transaction noted in `billing_unchecked`;
until now every later call still looked itself up there (`to_regclass` and an index probe), a
third of what committing a rating batch cost. Now the statement trigger that notes new
transactions also sets a transaction-local flag (`billing.unchecked`), the check clears it, and
every call made while it is clear returns at once. A statement that writes more transactions
after a check (`SET CONSTRAINTS ALL IMMEDIATE`) sets it again, so they are checked too.

The check is one grouped query: a transaction with no entries, or whose entries do not sum to
zero in a currency, is refused (entries are never zero, so one entry alone never balances).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION billing_note_transactions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.billing_unchecked') IS NULL THEN
        CREATE TEMP TABLE billing_unchecked (id bigint PRIMARY KEY) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO pg_temp.billing_unchecked SELECT id FROM added_transactions;
    PERFORM set_config('billing.unchecked', 'yes', true);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION billing_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF current_setting('billing.unchecked', true) IS DISTINCT FROM 'yes' THEN
        RETURN NULL;  -- checked already, with every other transaction of this commit
    END IF;
    SELECT u.id AS id, e.currency AS currency INTO bad
    FROM pg_temp.billing_unchecked u LEFT JOIN billing_entry e ON e.transaction_id = u.id
    GROUP BY u.id, e.currency
    HAVING COALESCE(SUM(e.amount_micros), 0) <> 0 OR count(e.id) = 0
    LIMIT 1;
    IF FOUND AND bad.currency IS NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: fewer than two entries', bad.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', bad.id, bad.currency
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    DELETE FROM pg_temp.billing_unchecked;
    PERFORM set_config('billing.unchecked', 'no', true);
    RETURN NULL;
END $$;
"""

# The functions as migration 0002 made them.
BACKWARD = """
CREATE OR REPLACE FUNCTION billing_note_transactions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.billing_unchecked') IS NULL THEN
        CREATE TEMP TABLE billing_unchecked (id bigint PRIMARY KEY) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO pg_temp.billing_unchecked SELECT id FROM added_transactions;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION billing_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF to_regclass('pg_temp.billing_unchecked') IS NULL
        OR NOT EXISTS (SELECT 1 FROM pg_temp.billing_unchecked WHERE id = NEW.id) THEN
        RETURN NULL;
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
    dependencies = [("billing", "0003_stripe")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
