"""Activities from CSV, through logActivities' own batch path (app.activities.ingest)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities.ingest import ActivityInput, log_activities
from app.imports.base import BatchResult, Item, row_errors
from app.imports.csvfile import Row, RowError
from app.imports.values import CellError, parse_datetime, parse_decimal, parse_enum, parse_id
from app.kit.actor import Actor
from app.models.activities import Activity, ActivityKind


class ActivityImporter:
    columns: tuple[str, ...] = (
        "id",
        "accountId",
        "accountExternalRef",
        "kind",
        "occurredAt",
        "userId",
        "contactId",
        "amount",
        "summary",
        "source",
        "externalId",
    )
    required: frozenset[str] = frozenset({"kind", "occurredAt"})

    def clean(self, row: Row) -> tuple[int | None, ActivityInput]:
        v = row.values
        kind = parse_enum(v.get("kind"), ActivityKind, "kind")
        occurred_at = parse_datetime(v.get("occurredAt"), "occurredAt")
        if kind is None or occurred_at is None:
            raise CellError(
                "kind" if kind is None else "occurredAt", "kind and occurredAt are required."
            )
        item = ActivityInput(
            kind=kind,
            occurred_at=occurred_at,
            account_id=parse_id(v.get("accountId"), "Account", "accountId"),
            account_external_ref=v.get("accountExternalRef"),
            user_id=parse_id(v.get("userId"), "User", "userId"),
            contact_id=parse_id(v.get("contactId"), "Contact", "contactId"),
            amount=parse_decimal(v.get("amount"), "amount"),
            summary=v.get("summary"),
            source=v.get("source"),
            external_id=v.get("externalId"),
        )
        return parse_id(v.get("id"), "Activity", "id"), item

    def key(self, data: tuple[int | None, ActivityInput]) -> Hashable | None:
        pk, item = data
        if pk is not None:
            return ("id", pk)
        return None if item.external_id is None else ("externalId", item.source, item.external_id)

    async def write(
        self, session: AsyncSession, actor: Actor, items: Sequence[Item]
    ) -> BatchResult:
        result = BatchResult()
        known = [i.data[0] for i in items if i.data[0] is not None]
        found = (
            set(await session.scalars(select(Activity.id).where(Activity.id.in_(known))))
            if known
            else set()
        )
        fresh: list[Item] = []
        for item in items:
            pk = item.data[0]
            if pk is None:
                fresh.append(item)
            elif pk in found:
                result.unchanged += 1  # an activity is a fact: a row with its id is a repeat
            else:
                result.errors.append(RowError(item.row, "id", "NOT_FOUND", "Unknown activity."))
        if fresh:
            logged = await log_activities(
                session, actor=actor, items=[i.data[1] for i in fresh], max_batch=len(fresh)
            )
            result.created += logged.accepted_count
            result.unchanged += logged.duplicate_count
            for index, errors in logged.rejected:
                for error in errors:
                    result.errors.extend(row_errors(fresh[index].row, error, self.columns))
        return result
