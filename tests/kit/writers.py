"""The world the writers test acts in: a caller, a mark, and the rows written after it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.assignments.service import assign_account
from app.handoff import service as handoff
from app.kit.actor import SYSTEM
from app.leads.service import create_lead, set_lead_status
from app.models.accounts import Account
from app.models.assignments import Assignment, ManagerType
from app.models.audit import AuditEntry
from app.models.leads import Lead, LeadStatus
from app.models.planning import AccountPlan
from app.models.webhooks import OutboxEvent
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.handoff.factories import qualified_account
from tests.planning.factories import create_plan
from tests.support import Api, Caller, operations


@dataclass(frozen=True, slots=True)
class Expect:
    """The audit row (action, entity type) and the event a write must leave."""

    action: str
    entity_type: str
    event: str | None  # None: audited, not announced (the exemptions)
    # Every other type the write announces (the test checks the exact set).
    also: frozenset[str] = frozenset()

    @property
    def types(self) -> set[str]:
        return set() if self.event is None else {self.event, *self.also}


@dataclass(slots=True)
class Written:
    audit: list[tuple[str, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


@dataclass(slots=True)
class World:
    api: Api
    admin: Caller
    audit_mark: int = 0
    outbox_mark: int = 0

    @property
    def session(self) -> Any:
        return self.api.session

    async def mark(self) -> None:
        """Everything written before this is arrangement, not the write under test."""
        await self.session.commit()
        self.audit_mark = await self._max(AuditEntry.id)
        self.outbox_mark = await self._max(OutboxEvent.id)

    async def _max(self, column: Any) -> int:
        return int(await self.session.scalar(select(func.coalesce(func.max(column), 0))))

    async def written(self) -> Written:
        self.session.expire_all()
        audit = await self.session.execute(
            select(AuditEntry.action, AuditEntry.entity_type)
            .where(AuditEntry.id > self.audit_mark)
            .order_by(AuditEntry.id)
        )
        types = await self.session.scalars(
            select(OutboxEvent.type)
            .where(OutboxEvent.id > self.outbox_mark)
            .order_by(OutboxEvent.id)
        )
        return Written([(a, e) for a, e in audit], list(types))

    async def op(self, operation_name: str, /, **input: Any) -> dict[str, Any]:
        """Run the mutation's contract operation; its payload must carry no errors."""
        operation = operations()[operation_name]
        data = await self.api.data(operation, {"input": input}, caller=self.admin)
        (payload,) = data.values()
        assert payload.get("errors", []) == [], payload["errors"]
        result: dict[str, Any] = payload
        return result

    # Arrangements, written through the services and committed before the mark.

    async def account(self, name: str = "Acme", **fields: Any) -> Account:
        return await create_account(self.session, name, **fields)

    async def ready_account(self, name: str = "Ready") -> Account:
        return await qualified_account(self.session, name)

    async def plan(self) -> AccountPlan:
        plan = await create_plan(self.session, await self.account("Planned"))
        return plan

    async def assignment(
        self,
        account: Account | None = None,
        manager_type: ManagerType = ManagerType.SALES,
        started_at: datetime | None = None,
    ) -> Assignment:
        account = account or await self.account("Held")
        row, _ = await assign_account(
            self.session,
            actor=SYSTEM,
            account_id=account.id,
            user_id=self.admin.user_id,
            manager_type=manager_type,
            contact_frequency_days=14,
            started_at=started_at,
        )
        await self.session.commit()
        return row

    async def lead(self, status: LeadStatus = LeadStatus.NEW) -> Lead:
        lead = await create_lead(
            self.session, actor=SYSTEM, company="Lead Co", email="a@lead.example"
        )
        steps = {
            LeadStatus.WORKING: [LeadStatus.WORKING],
            LeadStatus.QUALIFIED: [LeadStatus.WORKING, LeadStatus.QUALIFIED],
        }
        for step in steps.get(status, []):
            await set_lead_status(self.session, actor=SYSTEM, lead_id=lead.id, status=step)
        await self.session.commit()
        return lead

    async def handed_off(self) -> int:
        """The id of a handoff stage event waiting for the admin to accept it."""
        account = await self.ready_account("Handed")
        for trigger in ("qualify", "handoff"):
            move = handoff.MoveInput(
                trigger,
                reason="Budget" if trigger == "handoff" else None,
                benefit="Faster" if trigger == "handoff" else None,
                to_owner_id=self.admin.user_id if trigger == "handoff" else None,
            )
            moved = await handoff.transition_account(
                self.session, actor=SYSTEM, account_id=account.id, pipeline_key="default", move=move
            )
        await self.session.commit()
        return moved.event.id


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


def yesterday_at() -> datetime:
    return datetime.now(UTC) - timedelta(days=1)


def yesterday() -> str:
    return yesterday_at().isoformat()
