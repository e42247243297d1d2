"""compiled reads: SQL functions that write response JSON exactly as the Python path does

The compiled read path (schema/compiled) has PostgreSQL build a query's whole response
as JSON text. These functions format the values whose JSON text PostgreSQL would write
differently from the HTTP layer (orjson over strawberry's scalars): a DateTime as
`datetime.isoformat()` writes it, a Float as orjson writes a Python float, and a JSON
value compact (jsonb's text has spaces after `:` and `,`). The SQL ones are inlined.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 00:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `datetime.isoformat()` of a UTC time: microseconds only when there are some.
    op.execute(
        """
        CREATE FUNCTION af_json_time(t timestamptz) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
            SELECT '"' || to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                || CASE WHEN extract(microseconds FROM t)::bigint % 1000000 = 0 THEN ''
                        ELSE to_char(t AT TIME ZONE 'UTC', '.US') END
                || '+00:00"'
        $$
        """
    )
    # orjson's text of a float: `12.0` for whole numbers, plain digits from 1e-6 up to
    # 1e16, an exponent without leading zeros outside (`1.5e-7`, `1e+16`).
    op.execute(
        """
        CREATE FUNCTION af_json_float(x float8) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE
                WHEN x = 0 THEN '0.0'
                WHEN abs(x) >= 1e16 OR abs(x) < 1e-6
                    THEN regexp_replace(x::text, 'e-0+', 'e-')
                WHEN x = trunc(x) THEN trunc(x)::numeric::text || '.0'
                WHEN abs(x) < 1e-4 THEN x::numeric::text
                ELSE x::text
            END
        $$
        """
    )
    # A JSON value as orjson writes what json.loads made of it: compact, keys in jsonb's
    # order, a number with a point or an exponent as a float, others as integers.
    op.execute(
        """
        CREATE FUNCTION af_json(j jsonb) RETURNS text
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        DECLARE
            kind text := jsonb_typeof(j);
            number text;
        BEGIN
            IF j IS NULL THEN
                RETURN NULL;
            ELSIF kind = 'object' THEN
                RETURN '{' || coalesce((
                    SELECT string_agg(to_json(e.key)::text || ':' || af_json(e.value), ','
                                      ORDER BY e.n)
                    FROM jsonb_each(j) WITH ORDINALITY AS e(key, value, n)), '') || '}';
            ELSIF kind = 'array' THEN
                RETURN '[' || coalesce((
                    SELECT string_agg(af_json(e.value), ',' ORDER BY e.n)
                    FROM jsonb_array_elements(j) WITH ORDINALITY AS e(value, n)), '') || ']';
            ELSIF kind = 'number' THEN
                number := j::text;
                IF number ~ '[.eE]' THEN
                    RETURN af_json_float(number::float8);
                END IF;
                RETURN number;
            END IF;
            RETURN j::text;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION af_json(jsonb)")
    op.execute("DROP FUNCTION af_json_float(float8)")
    op.execute("DROP FUNCTION af_json_time(timestamptz)")
