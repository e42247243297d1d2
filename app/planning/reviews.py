"""A plan's reviews, as recordReview wrote them to the audit log: who, when, the notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.audit import AuditEntry

REVIEW_ACTION = "plan.review"


@dataclass(frozen=True, slots=True)
class Review:
    id: int
    at: datetime
    reviewer_id: int | None
    notes: str | None


async def reviews_by_plan(session: AsyncSession, plan_ids: Sequence[int]) -> list[list[Review]]:
    """Each plan's reviews, newest first."""
    query = (
        select(
            AuditEntry.entity_id,
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.actor_user_id,
            AuditEntry.changes["notes"].astext,
        )
        .where(
            AuditEntry.entity_type == "AccountPlan",
            AuditEntry.entity_id.in_(plan_ids),
            AuditEntry.action == REVIEW_ACTION,
        )
        .order_by(AuditEntry.id.desc())
    )
    grouped: dict[int, list[Review]] = {i: [] for i in plan_ids}
    for plan_id, *review in await session.execute(query):
        grouped[plan_id].append(Review(*review))
    return [grouped[i] for i in plan_ids]
