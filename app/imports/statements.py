"""The set-based statements of the accounts import: one per batch, arrays as parameters."""

from __future__ import annotations

TEXT_COLUMNS = (
    "name",
    "classification",
    "industry",
    "source",
    "street",
    "city",
    "region",
    "postal_code",
    "country_code",
    "phone",
    "email",
    "website",
    "external_ref",
)
COLUMNS = (*TEXT_COLUMNS, "attributes", "parent_id")

_TYPES = ", ".join(f"${i}::text[]" for i in range(1, len(TEXT_COLUMNS) + 1))
_N = len(TEXT_COLUMNS)
_UNNEST = f"unnest({_TYPES}, ${_N + 1}::text[], ${_N + 2}::bigint[])"
_ALIAS = f"u({', '.join(COLUMNS)})"
_VALUES = ", ".join(f"u.{c}" for c in TEXT_COLUMNS) + ", u.attributes::jsonb, u.parent_id"
_CURRENT = ", ".join(f"a.{c}" for c in COLUMNS)
_EXCLUDED = ", ".join(f"EXCLUDED.{c}" for c in COLUMNS)
_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS)

# Rows keyed by externalRef (or by nothing: always new). An update happens only when a
# value differs, so the RETURNING rows are exactly the created and the changed accounts.
UPSERT = f"""
INSERT INTO accounts AS a ({", ".join(COLUMNS)}, created_by_id)
SELECT {_VALUES}, ${_N + 3}::bigint FROM {_UNNEST} AS {_ALIAS}
ON CONFLICT (external_ref) DO UPDATE SET {_SET}, version = a.version + 1, updated_at = now()
WHERE ({_CURRENT}) IS DISTINCT FROM ({_EXCLUDED})
RETURNING a.id, (a.xmax = 0) AS created
"""

_UPDATE_SET = ", ".join(f"{c} = v.{c}" for c in COLUMNS)
_NEW = ", ".join(f"v.{c}" for c in COLUMNS)

# Rows keyed by id (an export read back): changed only where a value differs.
UPDATE_BY_ID = f"""
UPDATE accounts AS a SET {_UPDATE_SET}, version = a.version + 1, updated_at = now()
FROM (
    SELECT u.id, {_VALUES}
    FROM unnest($1::bigint[], {", ".join(f"${i}::text[]" for i in range(2, _N + 2))},
                ${_N + 2}::text[], ${_N + 3}::bigint[]) AS u(id, {", ".join(COLUMNS)})
) AS v
WHERE a.id = v.id AND ({_CURRENT}) IS DISTINCT FROM ({_NEW})
RETURNING a.id
"""

# New accounts enter the default pipeline's first stage (as createAccount does), with the
# stage event of the entry.
ENTER_DEFAULT_PIPELINE = """
WITH p AS (SELECT id, stages -> 0 ->> 'key' AS stage FROM pipelines WHERE is_default),
entered AS (
    INSERT INTO pipeline_entries (account_id, pipeline_id, stage, owner_id, entered_at)
    SELECT a.id, p.id, p.stage, $2::bigint, clock_timestamp()
    FROM unnest($1::bigint[]) AS a(id), p
    ON CONFLICT DO NOTHING
    RETURNING account_id, pipeline_id, stage, owner_id, entered_at
)
INSERT INTO stage_events
    (account_id, pipeline_id, from_stage, to_stage, trigger, occurred_at, actor_id,
     to_owner_id, missing_recommended)
SELECT account_id, pipeline_id, NULL, stage, 'enter', entered_at, $3::bigint, owner_id, '{}'
FROM entered
"""

AUDIT = """
INSERT INTO audit_log
    (actor_user_id, actor_token_id, action, entity_type, entity_id, changes, request_id)
SELECT $2::bigint, $3::bigint, $4::text, 'Account', id, $5::jsonb, $6::text
FROM unnest($1::bigint[]) AS id
"""

EXISTING_REFS = "SELECT external_ref, id FROM accounts WHERE external_ref = ANY($1::text[])"
EXISTING_IDS = "SELECT id FROM accounts WHERE id = ANY($1::bigint[])"
