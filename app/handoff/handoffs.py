"""Accepting a handoff: the new owner's next step, which measures how long handoffs wait."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.errors import NotFoundError
from app.events import Event, EventType
from app.handoff.errors import HandoffAlreadyAcceptedError
from app.handoff.moves import TEXT_LIMIT
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.validation import Checks
from app.models.handoff import StageEvent


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
    data = {
        "id": events.global_id("StageEvent", event.id),
        "accountId": events.global_id("Account", event.account_id),
        "acceptedAt": events.iso(event.accepted_at),
        "acceptedById": events.global_id("User", actor.user_id),
        "nextStep": step,
        "nextStepDue": events.iso(next_step_due),
    }
    delta = changes.created({"nextStep": step, "nextStepDue": next_step_due})
    await changes.record(
        session,
        actor=actor,
        audit=Audit("handoff.accept", "StageEvent", event.id, delta),
        events=Event(EventType.HANDOFF_ACCEPTED, data, account_id=event.account_id),
    )
    return event
