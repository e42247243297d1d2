"""app.kit.changes.record: the audit rows and the events of a change, or neither."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import SYSTEM
from app.kit.changes import Audit
from app.models.audit import AuditEntry
from app.models.webhooks import OutboxEvent

AUDIT = Audit("thing.do", "Thing", 7, {"name": {"before": None, "after": "x"}})
EVENT = Event(EventType.ACCOUNT_UPDATED, {"id": "x"}, account_id=None, object_key="Thing:7")


async def test_a_change_writes_its_audit_row_and_its_event(session: AsyncSession) -> None:
    await changes.record(session, actor=SYSTEM, audit=AUDIT, events=EVENT)
    (entry,) = await session.scalars(select(AuditEntry))
    (event,) = await session.scalars(select(OutboxEvent))
    assert (entry.action, entry.entity_type, entry.entity_id) == ("thing.do", "Thing", 7)
    assert entry.changes == {"name": {"before": None, "after": "x"}}
    assert (event.type, event.object_key, event.data) == ("account.updated", "Thing:7", {"id": "x"})


async def test_forgetting_either_half_is_refused(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="its events"):
        await changes.record(session, actor=SYSTEM, audit=AUDIT, events=[])
    with pytest.raises(ValueError, match="its audit row"):
        await changes.record(session, actor=SYSTEM, audit=[], events=EVENT)
    assert list(await session.scalars(select(AuditEntry))) == []
    assert list(await session.scalars(select(OutboxEvent))) == []


async def test_unannounced_is_said_out_loud(session: AsyncSession) -> None:
    token = Audit("token.create", "ApiToken", 7)
    await changes.record(session, actor=SYSTEM, audit=token, events=None)
    assert len(list(await session.scalars(select(AuditEntry)))) == 1
    assert list(await session.scalars(select(OutboxEvent))) == []


@pytest.mark.parametrize("entity", ["Thing", "Contact", "Assignment", "Activity"])
async def test_only_administration_may_be_unannounced(session: AsyncSession, entity: str) -> None:
    audits = [Audit("user.update", "User", 1), Audit("thing.do", entity, 7)]
    with pytest.raises(ValueError, match="UNANNOUNCED"):
        await changes.record(session, actor=SYSTEM, audit=audits, events=None)
    assert list(await session.scalars(select(AuditEntry))) == []


async def test_events_written_by_the_statement_are_said_out_loud(session: AsyncSession) -> None:
    logged = Audit("activity.log", "Activity", 7, {"accepted": 1})
    await changes.record(session, actor=SYSTEM, audit=logged, events=changes.IN_STATEMENT)
    assert len(list(await session.scalars(select(AuditEntry)))) == 1
    assert list(await session.scalars(select(OutboxEvent))) == []


def test_diff_keeps_changed_fields_as_plain_json() -> None:
    before = {"a": 1, "b": Decimal("1.50"), "c": None}
    after = {"a": 1, "b": Decimal("2.00"), "c": date(2026, 1, 2)}
    assert changes.diff(before, after) == {
        "b": {"before": "1.50", "after": "2.00"},
        "c": {"before": None, "after": "2026-01-02"},
    }
