"""compiled reads: SQL functions that write response JSON exactly as the Python path does

The compiled read path (schema/engine/compiled) has PostgreSQL build a query's whole response
as JSON text. These functions format the values whose JSON text PostgreSQL would write
differently from the HTTP layer (orjson over strawberry's scalars): a DateTime as
`datetime.isoformat()` writes it, a Float as orjson writes a Python float, and a JSON
value compact (jsonb's text has spaces after `:` and `,`). The SQL ones are inlined.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 00:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
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
    # orjson's text of a float: plain digits from 1e-5 up to 1e16 (`12.0` when whole), an
    # exponent outside (`9.9e-6`, `1e+16`). PostgreSQL's shortest text has the same digits
    # but switches to an exponent below 1e-4 and from 1e15: those are rewritten. Above 2**53
    # the two may break an exact tie between two shortest texts differently (last digit):
    # no time or duration the compiled path writes comes near.
    op.execute(
        """
        CREATE FUNCTION af_json_float(x float8) RETURNS text
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        DECLARE
            shortest text := x::text;
            mantissa text;
            digits text;
            exponent int;
            sign text := CASE WHEN x < 0 THEN '-' ELSE '' END;
        BEGIN
            IF x IS NULL THEN
                RETURN NULL;
            ELSIF x = 0 THEN
                RETURN sign || '0.0';
            ELSIF abs(x) < 1e-5 OR abs(x) >= 1e16 THEN
                RETURN regexp_replace(shortest, 'e-0+', 'e-');
            ELSIF position('e' IN shortest) = 0 THEN
                RETURN CASE WHEN position('.' IN shortest) = 0 THEN shortest || '.0'
                            ELSE shortest END;
            END IF;
            mantissa := split_part(ltrim(shortest, '-'), 'e', 1);
            exponent := split_part(shortest, 'e', 2)::int;
            digits := replace(mantissa, '.', '');
            IF exponent < 0 THEN
                RETURN sign || '0.' || repeat('0', -exponent - 1) || digits;
            ELSIF length(digits) <= exponent + 1 THEN
                RETURN sign || rpad(digits, exponent + 1, '0') || '.0';
            END IF;
            RETURN sign || left(digits, exponent + 1) || '.' || substr(digits, exponent + 2);
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
