"""Moves: every move is checked and fired inside the entry's row lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app import events
from app.errors import InvalidTransitionError, NotFoundError
from app.handoff import requirements
from app.handoff.definition import TransitionDef
from app.handoff.errors import GateBlockedError, HandoffReasonRequiredError
from app.handoff.machine import Compiled, cached, compiled, fire
from app.handoff.pipelines import get_pipeline, staff_user
from app.handoff.statements import LOCK, MOVE
from app.kit import changes
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.models.handoff import BlockedAttempt, Pipeline, PipelineEntry, StageEvent

TEXT_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Move:
    entry: PipelineEntry
    event: StageEvent


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
    row = (await session.execute(LOCK, params)).one_or_none()
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
        await staff_user(session, move.to_owner_id, field="toOwnerId")
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
        "changes": changes.diff(
            {"stage": locked.stage, "ownerId": locked.owner_id},
            {"stage": stage, "ownerId": to_owner_id},
        ),
    }
    params = {"entry_id": locked.id, **values, **audit_row}
    event_id = (await session.execute(MOVE, params)).scalar_one()
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
    """The move's events; its audit row was written by the move's own statement (MOVE)."""
    data = events.stage_event_data(event, pipeline_key)
    kinds = [events.EventType.STAGE_CHANGED]
    if event.is_handoff:
        kinds.append(events.EventType.HANDOFF_REQUESTED)
    await events.emit_events(
        session, [events.Event(kind, data, account_id=event.account_id) for kind in kinds]
    )


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
