"""Assignments from CSV, as assignAccount and updateAssignment write them."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.assignments import frequency
from app.assignments import service as assignments
from app.errors import InvalidInputError, NotFoundError
from app.imports.csvfile import Row
from app.imports.rows import CREATED, UNCHANGED, UPDATED, RowByRow, account_columns, account_of
from app.imports.values import parse_datetime, parse_enum, parse_id, parse_int
from app.kit.actor import Actor
from app.models.assignments import Assignment, ManagerType


class AssignmentImporter(RowByRow):
    columns: tuple[str, ...] = (
        "id",
        "accountId",
        "accountExternalRef",
        "userId",
        "managerType",
        "contactFrequencyDays",
        "startedAt",
    )
    required: frozenset[str] = frozenset({"contactFrequencyDays"})

    def clean(self, row: Row) -> dict[str, Any]:
        v = row.values
        return {
            "id": parse_id(v.get("id"), "Assignment", "id"),
            **account_columns(v),
            "user_id": parse_id(v.get("userId"), "User", "userId"),
            "manager_type": parse_enum(v.get("managerType"), ManagerType, "managerType"),
            "contact_frequency_days": parse_int(
                v.get("contactFrequencyDays"), "contactFrequencyDays"
            ),
            "started_at": parse_datetime(v.get("startedAt"), "startedAt"),
        }

    def key(self, data: dict[str, Any]) -> Hashable | None:
        return None if data["id"] is None else ("id", data["id"])

    async def write_one(self, session: AsyncSession, actor: Actor, data: dict[str, Any]) -> str:
        days = data["contact_frequency_days"]
        if data["id"] is not None:
            return await self._frequency(session, actor, data["id"], days)
        if data["user_id"] is None or data["manager_type"] is None:
            raise InvalidInputError("userId and managerType are required.", field="userId")
        account_id = await account_of(session, data)
        held = await session.scalar(
            select(Assignment.id).where(
                Assignment.account_id == account_id,
                Assignment.manager_type == data["manager_type"],
                Assignment.user_id == data["user_id"],
            )
        )
        if held is not None:
            return await self._frequency(session, actor, held, days)
        await assignments.assign_account(
            session,
            actor=actor,
            account_id=account_id,
            user_id=data["user_id"],
            manager_type=data["manager_type"],
            contact_frequency_days=days,
            started_at=data["started_at"],
        )
        return CREATED

    async def _frequency(
        self, session: AsyncSession, actor: Actor, assignment_id: int, days: int | None
    ) -> str:
        query = select(Assignment.contact_frequency_days).where(Assignment.id == assignment_id)
        current = await session.scalar(query)
        if current is None:
            raise NotFoundError("Unknown assignment.", field="id")
        if current == days:
            return UNCHANGED
        if days is None:  # updateAssignment's frequency is not optional
            raise InvalidInputError(
                "contactFrequencyDays is required.", field="contactFrequencyDays"
            )
        await frequency.update_assignment(
            session, actor=actor, assignment_id=assignment_id, contact_frequency_days=days
        )
        return UPDATED
