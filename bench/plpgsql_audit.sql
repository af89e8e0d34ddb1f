-- The audit trigger people write by hand (in the style of audit-trigger
-- 91plus and supa_audit, with jsonb): the reference bench/run compares
-- audit_ext's row capture with.  It captures the same fields as a row
-- event with its statement: transaction, time, operation, table, session
-- and effective role, client address, application, old and new row as
-- jsonb, changed columns, and the statement text, into one table with a
-- primary key.  No hashing, no chaining: cheaper work than audit_ext does.
CREATE TABLE plpgsql_audit_log (
	id               bigserial PRIMARY KEY,
	txid             bigint      NOT NULL,
	occurred_at      timestamptz NOT NULL,
	operation        text        NOT NULL,
	table_name       text        NOT NULL,
	session_role     text,
	effective_role   text,
	client_addr      inet,
	application_name text,
	old_row          jsonb,
	new_row          jsonb,
	changed_columns  text[],
	statement        text
);

CREATE FUNCTION plpgsql_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	o jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
	n jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
BEGIN
	INSERT INTO plpgsql_audit_log (txid, occurred_at, operation, table_name,
		session_role, effective_role, client_addr, application_name,
		old_row, new_row, changed_columns, statement)
	VALUES (txid_current(), clock_timestamp(), TG_OP,
		TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, session_user, current_user,
		inet_client_addr(), current_setting('application_name'), o, n,
		CASE WHEN TG_OP = 'UPDATE' THEN
			ARRAY(SELECT key FROM jsonb_each(n) WHERE o -> key IS DISTINCT FROM value)
		END,
		current_query());
	RETURN NULL;
END
$$;
