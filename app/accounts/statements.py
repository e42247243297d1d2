"""upsertAccounts' two writing statements, built once from the read model's written columns.

Each item arrives as one JSON record (`json_to_recordset`): its key `ext`, its parent's key
`parent_ref`, the fields it `sent`, and a value per written column (app.accounts.read), so a
column added to the read model is upserted too, with no SQL of its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    String,
    Text,
    any_,
    bindparam,
    case,
    cast,
    column,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import aliased

from app.accounts import read
from app.models.accounts import Account
from app.models.handoff import Pipeline, PipelineEntry, StageEvent

# Service keyword -> column: what an item may send besides its key and its parent.
FIELDS: dict[str, Any] = {
    **{c.key: c.attribute for c in read.COLUMNS if c.write and c.key != "external_ref"},
    "tags": Account.tags,
}
_EMPTY: dict[str, Any] = {
    "attributes": literal_column("'{}'::jsonb"),
    "tags": literal_column("'{}'::varchar[]"),
}


def _record() -> Any:
    rows = cast(bindparam("rows", type_=Text), JSON)
    shape: list[Any] = [column("ext", String), column("parent_ref", String)]
    shape += [column("sent", ARRAY(String))]
    shape += [column(key, attribute.type) for key, attribute in FIELDS.items()]
    return func.json_to_recordset(rows).table_valued(*shape).render_derived("x", with_types=True)


def _value(x: Any, key: str) -> Any:
    return func.coalesce(x.c[key], _EMPTY[key]) if key in _EMPTY else x.c[key]


def _insert() -> Any:
    """New keys, and their entry into the default pipeline (first stage, as createAccount)."""
    x = _record()
    actor_id = bindparam("actor_id", type_=BigInteger)
    rows = select(x.c.ext, *(_value(x, key) for key in FIELDS), actor_id).order_by(x.c.ext)
    inserted = (
        pg_insert(Account)
        .from_select(["external_ref", *FIELDS, "created_by_id"], rows, include_defaults=False)
        .on_conflict_do_nothing(index_elements=["external_ref"])
        .returning(Account.id)
        .cte("inserted")
    )
    return select(inserted.c.id).add_cte(_entered(inserted, actor_id))


def _entered(inserted: Any, actor_id: Any) -> Any:
    """New accounts (`inserted.id`) enter the default pipeline's first stage, as
    createAccount's do: an entry and its stage event each."""
    owner_id = bindparam("owner_id", type_=BigInteger)
    first_stage = Pipeline.stages.op("->")(0).op("->>")("key")
    entries = select(inserted.c.id, Pipeline.id, first_stage, owner_id, func.clock_timestamp())
    entries = entries.select_from(inserted.join(Pipeline, true()))  # every new key, each pipeline
    entered = (
        pg_insert(PipelineEntry)
        .from_select(
            ["account_id", "pipeline_id", "stage", "owner_id", "entered_at"],
            entries.where(Pipeline.is_default).order_by(inserted.c.id),
            include_defaults=False,
        )
        .on_conflict_do_nothing()
        .returning(*(PipelineEntry.__table__.c[name] for name in _ENTERED))
        .cte("entered")
    )
    e = entered.c
    moves = select(e.account_id, e.pipeline_id, literal(None, String), e.stage, literal("enter"))
    moves = moves.add_columns(e.entered_at, actor_id, e.owner_id, literal_column("'{}'"))
    events = insert(StageEvent).from_select(_EVENT_COLUMNS, moves, include_defaults=False)
    return events.cte("events")


def _enter() -> Any:
    """Accounts just created (`ids`) enter the default pipeline (create_accounts)."""
    ids = func.unnest(bindparam("ids", type_=ARRAY(BigInteger))).table_valued("id")
    ids = ids.render_derived("new_ids")
    new = select(ids.c.id).cte("inserted")
    actor_id = bindparam("actor_id", type_=BigInteger)
    return select(new.c.id).add_cte(_entered(new, actor_id))


_ENTERED = ("account_id", "pipeline_id", "stage", "owner_id", "entered_at")
_EVENT_COLUMNS = [
    "account_id",
    "pipeline_id",
    "from_stage",
    "to_stage",
    "trigger",
    "occurred_at",
    "actor_id",
    "to_owner_id",
    "missing_recommended",
]


def _update() -> Any:
    """Only the fields each item sent, only rows that change; a row created by this call
    (getting its parent) keeps version 1. The trigger accounts_updated_at follows the version."""
    record = _record()
    parent = aliased(Account)
    # Each item's parent joined once (not looked up in both the SET and the WHERE).
    joined = record.outerjoin(parent, parent.external_ref == record.c.parent_ref)
    x = select(record, parent.id.label("parent_id")).select_from(joined).subquery("items")
    given = {key: x.c[key] for key in (*FIELDS, "parent_id")}

    def sent(key: str) -> Any:
        return literal(key) == any_(x.c.sent)

    values: dict[str, Any] = {
        key: case((sent(key), new), else_=getattr(Account, key)) for key, new in given.items()
    }
    created = Account.id == any_(bindparam("created", type_=ARRAY(BigInteger)))
    values["version"] = Account.version + case((created, 0), else_=1)
    differs = [
        sent(key) & new.is_distinct_from(getattr(Account, key)) for key, new in given.items()
    ]
    return (
        update(Account)
        .values(values)
        .where(Account.external_ref == x.c.ext, or_(*differs))
        .returning(Account.id)
    )


INSERT = _insert()
UPDATE = _update()
ENTER = _enter()
