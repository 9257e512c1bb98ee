"""SQL for the trigger-based, hash-chained audit trail (PostgreSQL ≥ 11: sha256() is built in)."""

from __future__ import annotations

EVENT_TABLE = "audit_auditevent"
CHAIN_LOCK = 7_310_002  # advisory lock serialising the chain: seq order equals commit order
GENESIS_HASH = "0" * 64

# The digest of one event, over every stored column. The trigger and the verifier both call this function,
# so the chain can be recomputed from the table alone.
HASH_FUNCTION = r"""
CREATE OR REPLACE FUNCTION pilotlight_audit_hash(
    p_seq bigint, p_prev text, p_at timestamptz, p_kind text, p_action text, p_table text, p_pk text,
    p_before jsonb, p_after jsonb, p_detail jsonb, p_actor bigint, p_request text, p_ip text,
    p_initiative bigint, p_unit bigint
) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws('|',
        p_seq::text, p_prev, to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        p_kind, p_action, p_table, p_pk,
        COALESCE(p_before::text, 'null'), COALESCE(p_after::text, 'null'), COALESCE(p_detail::text, 'null'),
        COALESCE(p_actor::text, ''), p_request, p_ip, COALESCE(p_initiative::text, ''), COALESCE(p_unit::text, '')
    ), 'UTF8')), 'hex')
$$;
"""

STAMP_FUNCTION = rf"""
CREATE OR REPLACE FUNCTION pilotlight_audit_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
    SELECT seq, hash INTO last_seq, last_hash FROM {EVENT_TABLE} ORDER BY seq DESC LIMIT 1;
    NEW.seq := COALESCE(last_seq, 0) + 1;
    NEW.prev_hash := COALESCE(last_hash, '{GENESIS_HASH}');
    NEW.occurred_at := clock_timestamp();
    -- Events written by the application (security events) take the request's context like trigger events do.
    IF NEW.actor_id IS NULL THEN
        NEW.actor_id := NULLIF(current_setting('pilotlight.actor_id', true), '')::bigint;
    END IF;
    IF NEW.request_id = '' THEN
        NEW.request_id := COALESCE(current_setting('pilotlight.request_id', true), '');
    END IF;
    IF NEW.ip = '' THEN
        NEW.ip := COALESCE(current_setting('pilotlight.ip', true), '');
    END IF;
    NEW.hash := pilotlight_audit_hash(
        NEW.seq, NEW.prev_hash, NEW.occurred_at, NEW.kind, NEW.action, NEW.table_name, NEW.object_pk,
        NEW.before, NEW.after, NEW.detail, NEW.actor_id, NEW.request_id, NEW.ip, NEW.initiative_id,
        NEW.business_unit_id);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION pilotlight_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('pilotlight.audit_maintenance', true) = 'on' THEN
        RETURN NULL;  -- test databases are flushed between tests; never set in production
    END IF;
    RAISE EXCEPTION 'The audit trail is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS audit_stamp ON {EVENT_TABLE};
CREATE TRIGGER audit_stamp BEFORE INSERT ON {EVENT_TABLE}
    FOR EACH ROW EXECUTE FUNCTION pilotlight_audit_stamp();
DROP TRIGGER IF EXISTS audit_append_only ON {EVENT_TABLE};
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {EVENT_TABLE}
    FOR EACH ROW EXECUTE FUNCTION pilotlight_audit_refuse();
DROP TRIGGER IF EXISTS audit_no_truncate ON {EVENT_TABLE};
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {EVENT_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION pilotlight_audit_refuse();
"""

# Row capture for governed tables. TG_ARGV[0]: the primary-key column; TG_ARGV[1]: optional SQL that, given the
# row as jsonb in $1, returns (initiative_id, business_unit_id) so events can be scoped like the data they record.
CAPTURE_FUNCTION = rf"""
CREATE OR REPLACE FUNCTION pilotlight_audit_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before_row jsonb;
    after_row jsonb;
    row_data jsonb;
    v_initiative bigint;
    v_unit bigint;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN before_row := to_jsonb(OLD); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN after_row := to_jsonb(NEW); END IF;
    IF TG_OP = 'UPDATE' AND before_row = after_row THEN
        RETURN NULL;
    END IF;
    row_data := COALESCE(after_row, before_row);
    IF TG_NARGS > 1 AND TG_ARGV[1] <> '' THEN
        EXECUTE TG_ARGV[1] INTO v_initiative, v_unit USING row_data;
    END IF;
    INSERT INTO {EVENT_TABLE} (seq, kind, action, table_name, object_pk, before, after, detail, actor_id,
                               request_id, ip, initiative_id, business_unit_id, prev_hash, hash)
    VALUES (0, 'data', lower(TG_OP), TG_TABLE_NAME, COALESCE(row_data ->> TG_ARGV[0], ''), before_row, after_row,
            NULL, NULLIF(current_setting('pilotlight.actor_id', true), '')::bigint,
            COALESCE(current_setting('pilotlight.request_id', true), ''),
            COALESCE(current_setting('pilotlight.ip', true), ''), v_initiative, v_unit, '', '');
    RETURN NULL;
END $$;
"""

VERIFY_QUERY = f"""
SELECT seq, prev_hash, hash,
       pilotlight_audit_hash(seq, prev_hash, occurred_at, kind, action, table_name, object_pk, before, after,
                             detail, actor_id, request_id, ip, initiative_id, business_unit_id) AS recomputed
FROM {EVENT_TABLE} ORDER BY seq
"""


def capture_trigger_sql(table: str, pk_column: str = "id", scope_sql: str = "") -> str:
    """SQL installing the capture trigger on `table` (idempotent)."""
    scope_literal = scope_sql.replace("'", "''")
    return (
        f"DROP TRIGGER IF EXISTS audit_capture ON {table};\n"
        f"CREATE TRIGGER audit_capture AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION pilotlight_audit_capture('{pk_column}', '{scope_literal}');"
    )


def drop_capture_trigger_sql(table: str) -> str:
    return f"DROP TRIGGER IF EXISTS audit_capture ON {table};"
