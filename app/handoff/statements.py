"""A move's statements, built once: per call only their parameters change."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert

from app.models.audit import AuditEntry
from app.models.handoff import Pipeline, PipelineEntry, StageEvent

_entries = cast(Table, PipelineEntry.__table__)
_pipelines = cast(Table, Pipeline.__table__)
_events = cast(Table, StageEvent.__table__)
_audit_log = cast(Table, AuditEntry.__table__)

# The entry, locked, with its pipeline's id and version read after the lock (so never an
# older definition; define_pipeline locks the entries table before it changes one).
LOCK = (
    select(
        _entries.c.id,
        _entries.c.stage,
        _entries.c.owner_id,
        _entries.c.entered_at,
        _entries.c.created_at,
        _pipelines.c.id.label("pipeline_id"),
        _pipelines.c.version,
    )
    .join_from(_entries, _pipelines, _pipelines.c.id == _entries.c.pipeline_id)
    .where(
        _entries.c.account_id == bindparam("account_id", type_=BigInteger),
        _pipelines.c.key == bindparam("pipeline_key", type_=String),
    )
    .with_for_update(of=_entries)
)

# The entry moves, and its stage event and audit row are written, in one statement: both
# inserts read the updated row, so there is neither without the move. The audit row has
# the columns `app.kit.changes.Audit.row` gives it; its event is written by the caller
# (app/handoff/moves.py), which needs the new stage event's id.
_moved = (
    update(_entries)
    .where(_entries.c.id == bindparam("entry_id", type_=BigInteger))
    .values(
        stage=bindparam("to_stage", type_=String),
        entered_at=bindparam("occurred_at", type_=DateTime(timezone=True)),
        owner_id=bindparam("to_owner_id", type_=BigInteger),
    )
    .returning(_entries.c.account_id, _entries.c.pipeline_id)
    .cte("moved")
)
_EVENT_VALUES: dict[str, ColumnElement[Any]] = {
    "account_id": _moved.c.account_id,
    "pipeline_id": _moved.c.pipeline_id,
    "from_stage": bindparam("from_stage", type_=String),
    "to_stage": bindparam("to_stage", type_=String),
    "trigger": bindparam("trigger", type_=String),
    "occurred_at": bindparam("occurred_at", type_=DateTime(timezone=True)),
    "actor_id": bindparam("actor_id", type_=BigInteger),
    "from_owner_id": bindparam("from_owner_id", type_=BigInteger),
    "to_owner_id": bindparam("to_owner_id", type_=BigInteger),
    "is_handoff": bindparam("is_handoff", type_=Boolean),
    "reason": bindparam("reason", type_=Text),
    "benefit": bindparam("benefit", type_=Text),
    "note": bindparam("note", type_=Text),
    "missing_recommended": bindparam("missing_recommended", type_=ARRAY(String)),
    "seconds_in_previous_stage": bindparam("seconds_in_previous_stage", type_=Float),
    "touches_in_previous_stage": bindparam("touches_in_previous_stage", type_=Integer),
}
_AUDIT_VALUES: dict[str, ColumnElement[Any]] = {
    "actor_user_id": bindparam("actor_id", type_=BigInteger),
    "actor_token_id": bindparam("actor_token_id", type_=BigInteger),
    "action": literal("pipeline.move", String),
    "entity_type": literal("Account", String),
    "entity_id": _moved.c.account_id,
    "changes": bindparam("changes", type_=JSONB),
    "request_id": bindparam("request_id", type_=String),
}
_audited = (
    insert(_audit_log)
    .from_select(list(_AUDIT_VALUES), select(*_AUDIT_VALUES.values()).select_from(_moved))
    .cte("audited")
)
MOVE = (
    insert(_events)
    .from_select(list(_EVENT_VALUES), select(*_EVENT_VALUES.values()).select_from(_moved))
    .returning(_events.c.id)
    .add_cte(_audited)
)
