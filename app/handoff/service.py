"""Pipelines, entries and moves: every move is checked and fired inside the entry's row lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app import events
from app.audit import service as audit
from app.errors import InvalidInputError, InvalidTransitionError, NotFoundError
from app.handoff import requirements
from app.handoff.definition import KEY, PipelineDef, StageDef, TransitionDef
from app.handoff.errors import (
    AlreadyInPipelineError,
    GateBlockedError,
    HandoffAlreadyAcceptedError,
    HandoffReasonRequiredError,
    InvalidPipelineError,
)
from app.handoff.machine import Compiled, build, cached, compiled, fire
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.models.accounts import Account
from app.models.audit import AuditEntry
from app.models.auth import Role, User
from app.models.handoff import BlockedAttempt, Pipeline, PipelineEntry, StageEvent

ENTER = "enter"
TEXT_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Move:
    entry: PipelineEntry
    event: StageEvent


async def get_pipeline(session: AsyncSession, key: str, *, field: str = "pipeline") -> Pipeline:
    found = await session.scalar(select(Pipeline).where(Pipeline.key == key))
    if found is None:
        raise NotFoundError(f"Unknown pipeline {key!r}.", field=field)
    return found


async def define_pipeline(
    session: AsyncSession,
    *,
    actor: Actor,
    key: str,
    name: str,
    stages: Sequence[StageDef],
    transitions: Sequence[TransitionDef],
    is_default: bool | None = None,
) -> Pipeline:
    checks = Checks()
    if not KEY.match(key):
        checks.fail("key", "key must be a letter then up to 63 letters, digits or _.")
    clean_name = checks.text("name", name, max_length=200, required=True)
    checks.raise_if_any()
    definition = PipelineDef(stages=tuple(stages), transitions=tuple(transitions))
    build(definition)
    # Taken before the pipeline row, so an entry insert (whose foreign key check needs that row)
    # cannot deadlock with us. It waits for moves and entries in flight and holds new ones off
    # until this commits; they lock or insert their entry before reading the definition.
    await session.execute(text("LOCK TABLE pipeline_entries IN EXCLUSIVE MODE"))
    query = select(Pipeline).where(Pipeline.key == key).with_for_update()
    pipeline = await session.scalar(query.execution_options(populate_existing=True))
    if pipeline is not None:
        await _check_held_stages(session, pipeline, definition)
    if is_default:
        await session.execute(update(Pipeline).where(Pipeline.is_default).values(is_default=False))
    values = {
        "name": clean_name,
        "stages": [stage.as_json() for stage in definition.stages],
        "transitions": [transition.as_json() for transition in definition.transitions],
    }
    if pipeline is None:
        pipeline = Pipeline(key=key, is_default=bool(is_default), **values)
        session.add(pipeline)
    else:
        for attribute, value in values.items():
            setattr(pipeline, attribute, value)
        if is_default is not None:
            pipeline.is_default = is_default
        pipeline.version += 1
        pipeline.updated_at = func.now()
    await session.flush()
    await session.refresh(pipeline)
    await audit.record(
        session,
        actor=actor,
        action="pipeline.define",
        entity_type="Pipeline",
        entity_id=pipeline.id,
        changes={"key": {"before": None, "after": key}, "version": {"after": pipeline.version}},
    )
    return pipeline


async def _check_held_stages(
    session: AsyncSession, pipeline: Pipeline, definition: PipelineDef
) -> None:
    keep = {stage.key for stage in definition.stages}
    query = (
        select(PipelineEntry.stage, func.count())
        .where(PipelineEntry.pipeline_id == pipeline.id, PipelineEntry.stage.not_in(keep))
        .group_by(PipelineEntry.stage)
        .order_by(PipelineEntry.stage)
    )
    held = (await session.execute(query)).all()
    if held:
        detail = ", ".join(f"{stage} holds {n} entries" for stage, n in held)
        raise InvalidPipelineError(
            f"Cannot remove stages that hold entries: {detail}.", field="stages"
        )


async def _staff_user(session: AsyncSession, user_id: int, *, field: str) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFoundError("Unknown or inactive user.", field=field)
    if user.role is Role.INTEGRATION:
        raise InvalidInputError("An integration cannot own a pipeline entry.", field=field)
    return user


async def _insert_entry(
    session: AsyncSession,
    *,
    actor: Actor,
    account_id: int,
    pipeline: Pipeline,
    owner_id: int | None,
) -> PipelineEntry | None:
    # The first stage is read by the insert itself, after its table lock (see define_pipeline).
    first = select(
        literal(account_id, BigInteger),
        Pipeline.id,
        Pipeline.stages[0]["key"].astext,
        literal(owner_id, BigInteger),
        func.clock_timestamp(),
    ).where(Pipeline.id == pipeline.id)
    columns = ["account_id", "pipeline_id", "stage", "owner_id", "entered_at"]
    statement = (
        insert(PipelineEntry)
        .from_select(columns, first)
        .on_conflict_do_nothing()
        .returning(PipelineEntry)
    )
    entry = await session.scalar(statement, execution_options={"populate_existing": True})
    if entry is None:
        return None
    session.add(
        StageEvent(
            account_id=account_id,
            pipeline_id=pipeline.id,
            from_stage=None,
            to_stage=entry.stage,
            trigger=ENTER,
            occurred_at=entry.entered_at,
            actor_id=actor.user_id,
            to_owner_id=owner_id,
            missing_recommended=[],
        )
    )
    return entry


async def enter_pipeline(
    session: AsyncSession,
    *,
    actor: Actor,
    account_id: int,
    pipeline_key: str,
    owner_id: int | None = None,
) -> PipelineEntry:
    pipeline = await get_pipeline(session, pipeline_key)
    if owner_id is not None:
        await _staff_user(session, owner_id, field="ownerId")
    elif actor.role is not Role.INTEGRATION:
        owner_id = actor.user_id
    if await session.get(Account, account_id) is None:
        raise NotFoundError("Unknown account.", field="accountId")
    entry = await _insert_entry(
        session, actor=actor, account_id=account_id, pipeline=pipeline, owner_id=owner_id
    )
    if entry is None:
        raise AlreadyInPipelineError(
            f"The account is already in pipeline {pipeline_key!r}.", field="accountId"
        )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="pipeline.enter",
        entity_type="Account",
        entity_id=account_id,
        changes=audit.created(
            {"pipeline": pipeline_key, "stage": entry.stage, "ownerId": owner_id}
        ),
    )
    return entry


async def enter_default_pipeline(session: AsyncSession, *, actor: Actor, account_id: int) -> None:
    """A new account starts in the default pipeline, owned by its creator (not an integration)."""
    pipeline = await session.scalar(select(Pipeline).where(Pipeline.is_default))
    if pipeline is None:
        return
    owner_id = None if actor.role is Role.INTEGRATION else actor.user_id
    await _insert_entry(
        session, actor=actor, account_id=account_id, pipeline=pipeline, owner_id=owner_id
    )


# A move's statements are built once: per call only their parameters change.
_entries = cast(Table, PipelineEntry.__table__)
_pipelines = cast(Table, Pipeline.__table__)
_events = cast(Table, StageEvent.__table__)
_audit_log = cast(Table, AuditEntry.__table__)

# The entry, locked, with its pipeline's id and version read after the lock (so never an
# older definition; define_pipeline locks the entries table before it changes one).
_LOCK = (
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
# the columns `audit.record` gives it.
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
_MOVE = (
    insert(_events)
    .from_select(list(_EVENT_VALUES), select(*_EVENT_VALUES.values()).select_from(_moved))
    .returning(_events.c.id)
    .add_cte(_audited)
)


@dataclass(frozen=True, slots=True)
class _Locked:
    """The locked entry's row and the pipeline version it was read with."""

    id: int
    stage: str
    owner_id: int | None
    entered_at: datetime
    created_at: datetime
    pipeline_id: int
    version: int


async def _lock_entry(
    session: AsyncSession, account_id: int, pipeline_key: str
) -> tuple[_Locked, Compiled]:
    """The entry, locked, and the machine of its pipeline's current definition."""
    params = {"account_id": account_id, "pipeline_key": pipeline_key}
    row = (await session.execute(_LOCK, params)).one_or_none()
    if row is None:
        await get_pipeline(session, pipeline_key)
        raise NotFoundError(f"The account is not in pipeline {pipeline_key!r}.", field="accountId")
    locked = _Locked(*row)
    machine = cached(locked.pipeline_id, locked.version)
    if machine is None:
        options = {"populate_existing": True}
        pipeline = await session.get(Pipeline, locked.pipeline_id, execution_options=options)
        assert pipeline is not None
        machine = compiled(pipeline)
    return locked, machine


@dataclass(frozen=True, slots=True)
class MoveInput:
    trigger: str
    reason: str | None = None
    benefit: str | None = None
    to_owner_id: int | None = None
    note: str | None = None


async def _check_move_input(session: AsyncSession, move: MoveInput, *, handoff: bool) -> MoveInput:
    checks = Checks()
    reason = checks.text("reason", move.reason, max_length=TEXT_LIMIT)
    benefit = checks.text("benefit", move.benefit, max_length=TEXT_LIMIT)
    note = checks.text("note", move.note, max_length=TEXT_LIMIT)
    if handoff:
        for field, value in (("reason", reason), ("benefit", benefit)):
            if value is None:
                checks.add(HandoffReasonRequiredError(f"A handoff needs a {field}.", field=field))
        if move.to_owner_id is None:
            checks.fail("toOwnerId", "A handoff needs the new owner (toOwnerId).")
    elif move.to_owner_id is not None:
        checks.fail("toOwnerId", f"{move.trigger!r} is not a handoff: the owner stays.")
    checks.raise_if_any()
    if move.to_owner_id is not None:
        await _staff_user(session, move.to_owner_id, field="toOwnerId")
    return MoveInput(move.trigger, reason, benefit, move.to_owner_id, note)


async def transition_account(
    session: AsyncSession, *, actor: Actor, account_id: int, pipeline_key: str, move: MoveInput
) -> Move:
    locked, machine = await _lock_entry(session, account_id, pipeline_key)
    transition = machine.definition.transition(move.trigger, locked.stage)
    if transition is None:
        raise InvalidTransitionError(
            f"Cannot {move.trigger} from stage {locked.stage}.", field="trigger"
        )
    move = await _check_move_input(session, move, handoff=transition.handoff)
    dest = machine.definition.stage(transition.dest)
    facts = await requirements.evaluate(
        session, account_id, (*dest.necessary, *dest.recommended), stay_began=locked.entered_at
    )
    met, now = facts.met, facts.clock
    missing = tuple(name for name in dest.necessary if name not in met)
    stage = fire(machine.machine, stage=locked.stage, trigger=move.trigger, missing=missing)
    if stage is None:
        session.add(_blocked(actor, account_id, locked, transition, missing, now))
        await session.flush()
        raise GateBlockedError(dest.key, missing)
    to_owner_id = move.to_owner_id if transition.handoff else locked.owner_id
    values = {
        "from_stage": locked.stage,
        "to_stage": stage,
        "trigger": move.trigger,
        "occurred_at": now,
        "actor_id": actor.user_id,
        "from_owner_id": locked.owner_id,
        "to_owner_id": to_owner_id,
        "is_handoff": transition.handoff,
        "reason": move.reason,
        "benefit": move.benefit,
        "note": move.note,
        "missing_recommended": [name for name in dest.recommended if name not in met],
        "seconds_in_previous_stage": max(0.0, (now - locked.entered_at).total_seconds()),
        "touches_in_previous_stage": facts.touches,
    }
    audit_row = {
        "actor_token_id": actor.token_id,
        "request_id": actor.request_id,
        "changes": audit.diff(
            {"stage": locked.stage, "ownerId": locked.owner_id},
            {"stage": stage, "ownerId": to_owner_id},
        ),
    }
    params = {"entry_id": locked.id, **values, **audit_row}
    event_id = (await session.execute(_MOVE, params)).scalar_one()
    entry = _moved_entry(session, account_id, locked, stage, now, to_owner_id)
    event = StageEvent(
        id=event_id,
        account_id=account_id,
        pipeline_id=locked.pipeline_id,
        accepted_at=None,
        accepted_by_id=None,
        next_step=None,
        next_step_due=None,
        **values,
    )
    await _emit_move(session, event, pipeline_key)
    return Move(entry=entry, event=event)


async def _emit_move(session: AsyncSession, event: StageEvent, pipeline_key: str) -> None:
    data = events.stage_event_data(event, pipeline_key)
    await events.emit(session, events.EventType.STAGE_CHANGED, data, account_id=event.account_id)
    if event.is_handoff:
        kind = events.EventType.HANDOFF_REQUESTED
        await events.emit(session, kind, data, account_id=event.account_id)


def _moved_entry(
    session: AsyncSession,
    account_id: int,
    locked: _Locked,
    stage: str,
    now: datetime,
    owner_id: int | None,
) -> PipelineEntry:
    """The moved entry as a row object: the session's own copy, brought up to date, when it
    holds one (so later reads in this request do not see the old stage), else a new one."""
    moved = {"stage": stage, "entered_at": now, "owner_id": owner_id}
    held = session.identity_map.get(identity_key(PipelineEntry, locked.id))
    if isinstance(held, PipelineEntry):
        for attribute, value in moved.items():
            set_committed_value(held, attribute, value)
        return held
    return PipelineEntry(
        id=locked.id,
        account_id=account_id,
        pipeline_id=locked.pipeline_id,
        created_at=locked.created_at,
        **moved,
    )


def _blocked(
    actor: Actor,
    account_id: int,
    locked: _Locked,
    transition: TransitionDef,
    missing: Sequence[str],
    now: datetime,
) -> BlockedAttempt:
    return BlockedAttempt(
        account_id=account_id,
        pipeline_id=locked.pipeline_id,
        from_stage=locked.stage,
        to_stage=transition.dest,
        trigger=transition.trigger,
        is_handoff=transition.handoff,
        missing=list(missing),
        actor_id=actor.user_id,
        occurred_at=now,
    )


async def accept_handoff(
    session: AsyncSession,
    *,
    actor: Actor,
    event_id: int,
    next_step: str,
    next_step_due: datetime | None = None,
) -> StageEvent:
    checks = Checks()
    step = checks.text("nextStep", next_step, max_length=TEXT_LIMIT, required=True)
    checks.moment("nextStepDue", next_step_due)
    checks.raise_if_any()
    query = select(StageEvent).where(StageEvent.id == event_id).with_for_update()
    event = await session.scalar(query.execution_options(populate_existing=True))
    if event is None or not event.is_handoff:
        raise NotFoundError("Unknown handoff.", field="eventId")
    if event.accepted_at is not None:
        raise HandoffAlreadyAcceptedError("The handoff was already accepted.", field="eventId")
    event.accepted_at = await session.scalar(select(func.clock_timestamp()))
    event.accepted_by_id = actor.user_id
    event.next_step, event.next_step_due = step, next_step_due
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="handoff.accept",
        entity_type="StageEvent",
        entity_id=event.id,
        changes=audit.created({"nextStep": step, "nextStepDue": next_step_due}),
    )
    data = {
        "id": events.global_id("StageEvent", event.id),
        "accountId": events.global_id("Account", event.account_id),
        "acceptedAt": events.iso(event.accepted_at),
        "acceptedById": events.global_id("User", actor.user_id),
        "nextStep": step,
        "nextStepDue": events.iso(next_step_due),
    }
    kind = events.EventType.HANDOFF_ACCEPTED
    await events.emit(session, kind, data, account_id=event.account_id)
    return event
