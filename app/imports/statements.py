"""The set-based statements of the accounts import: one per batch, arrays as parameters."""

from __future__ import annotations

import functools

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
COLUMNS = (*TEXT_COLUMNS, "attributes", "tags", "parent_id")

JSON_COLUMNS = frozenset({"attributes", "tags"})
ID_COLUMNS = frozenset({"parent_id"})


def _type(column: str) -> str:
    return "jsonb" if column in JSON_COLUMNS else "bigint" if column in ID_COLUMNS else "text"


def _value(column: str) -> str:
    if column == "tags":  # a JSON array: unnest would flatten a two-dimensional array
        return "ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb))::varchar[]"
    return f"u.{column}::jsonb" if column in JSON_COLUMNS else f"u.{column}"


@functools.cache
def upsert(columns: tuple[str, ...]) -> str:
    """Rows keyed by externalRef (or by nothing: always new), setting only `columns` (those
    the file has). An update happens only when a value differs, so the RETURNING rows are
    exactly the created and the changed accounts."""
    params = ", ".join(
        f"${i}::{'text' if c in JSON_COLUMNS else _type(c)}[]" for i, c in enumerate(columns, 1)
    )
    n = len(columns)
    names = ", ".join(columns)
    current = ", ".join(f"a.{c}" for c in columns)
    excluded = ", ".join(f"EXCLUDED.{c}" for c in columns)
    assign = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
    return f"""
INSERT INTO accounts AS a ({names}, created_by_id)
SELECT {", ".join(_value(c) for c in columns)}, ${n + 1}::bigint
FROM unnest({params}) AS u({names})
ON CONFLICT (external_ref) DO UPDATE SET {assign}, version = a.version + 1, updated_at = now()
WHERE ROW({current}) IS DISTINCT FROM ROW({excluded})
RETURNING a.id, (a.xmax = 0) AS created
"""


@functools.cache
def update_by_id(columns: tuple[str, ...]) -> str:
    """Rows keyed by id (an export read back): changed only where a value differs."""
    params = ", ".join(
        f"${i}::{'text' if c in JSON_COLUMNS else _type(c)}[]" for i, c in enumerate(columns, 2)
    )
    names = ", ".join(columns)
    current = ", ".join(f"a.{c}" for c in columns)
    new = ", ".join(f"v.{c}" for c in columns)
    assign = ", ".join(f"{c} = v.{c}" for c in columns)
    return f"""
UPDATE accounts AS a SET {assign}, version = a.version + 1, updated_at = now()
FROM (
    SELECT u.id, {", ".join(f"{_value(c)} AS {c}" for c in columns)}
    FROM unnest($1::bigint[], {params}) AS u(id, {names})
) AS v
WHERE a.id = v.id AND ROW({current}) IS DISTINCT FROM ROW({new})
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
