"""Events for subscribers, written by the one write path outside HTTP (no request budget)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.activities import ingest
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind


async def log_activity(session: AsyncSession, account_id: int, summary: str | None = None) -> None:
    """One activity in its own commit: one `activityLogged` event."""
    item = ingest.ActivityInput(
        kind=ActivityKind.CALL_OUTBOUND,
        occurred_at=datetime.now(UTC),
        account_id=account_id,
        summary=summary,
    )
    result = await ingest.log_activities(session, actor=SYSTEM, items=[item], max_batch=1)
    assert result.rejected == []
    await session.commit()
