"""Pipelines and their entries: defining a pipeline, entering an account into one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.errors import InvalidInputError, NotFoundError
from app.events import Event, EventType
from app.handoff.definition import KEY, PipelineDef, StageDef, TransitionDef
from app.handoff.errors import AlreadyInPipelineError, InvalidPipelineError
from app.handoff.machine import build
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.validation import Checks
from app.models.accounts import Account
from app.models.auth import Role, User
from app.models.handoff import Pipeline, PipelineEntry, StageEvent

ENTER = "enter"


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
    delta = {"key": {"before": None, "after": key}, "version": {"after": pipeline.version}}
    data = {
        "id": events.global_id("Pipeline", pipeline.id),
        "key": key,
        "name": pipeline.name,
        "version": pipeline.version,
        "isDefault": pipeline.is_default,
        "stages": [stage["key"] for stage in pipeline.stages],
    }
    await changes.record(
        session,
        actor=actor,
        audit=Audit("pipeline.define", "Pipeline", pipeline.id, delta),
        events=Event(EventType.PIPELINE_DEFINED, data, object_key=f"Pipeline:{pipeline.id}"),
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


async def staff_user(session: AsyncSession, user_id: int, *, field: str) -> User:
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
) -> tuple[PipelineEntry, StageEvent] | None:
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
    event = StageEvent(
        account_id=account_id,
        pipeline_id=pipeline.id,
        from_stage=None,
        to_stage=entry.stage,
        trigger=ENTER,
        occurred_at=entry.entered_at,
        actor_id=actor.user_id,
        to_owner_id=owner_id,
        is_handoff=False,
        missing_recommended=[],
    )
    session.add(event)
    return entry, event


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
        await staff_user(session, owner_id, field="ownerId")
    else:
        owner_id = actor.default_owner_id
    if await session.get(Account, account_id) is None:
        raise NotFoundError("Unknown account.", field="accountId")
    entered = await _insert_entry(
        session, actor=actor, account_id=account_id, pipeline=pipeline, owner_id=owner_id
    )
    if entered is None:
        raise AlreadyInPipelineError(
            f"The account is already in pipeline {pipeline_key!r}.", field="accountId"
        )
    entry, event = entered
    await session.flush()
    delta = changes.created({"pipeline": pipeline_key, "stage": entry.stage, "ownerId": owner_id})
    data = events.stage_event_data(event, pipeline_key)
    await changes.record(
        session,
        actor=actor,
        audit=Audit("pipeline.enter", "Account", account_id, delta),
        events=Event(EventType.STAGE_CHANGED, data, account_id=account_id),
    )
    return entry


async def enter_default_pipeline(session: AsyncSession, *, actor: Actor, account_id: int) -> None:
    """A new account starts in the default pipeline, owned by its creator (not an integration).

    Part of the account's creation: its audit row and account.created event tell it.
    """
    pipeline = await session.scalar(select(Pipeline).where(Pipeline.is_default))
    if pipeline is None:
        return
    owner_id = actor.default_owner_id
    await _insert_entry(
        session, actor=actor, account_id=account_id, pipeline=pipeline, owner_id=owner_id
    )
