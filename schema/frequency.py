"""Contact frequencies: change an assignment's; defaults per manager type and classification."""

from __future__ import annotations

from typing import Self

import strawberry

from app.assignments import frequency
from app.models import assignments as models
from schema import permissions
from schema.cadence import Assignment, AssignPayload
from schema.context import Info
from schema.enums import Classification, ManagerType
from schema.errors import UserError
from schema.relay import decode_id


@strawberry.type
class ContactFrequencyDefault:
    manager_type: ManagerType
    classification: Classification
    contact_frequency_days: int

    @classmethod
    def from_model(cls, row: models.ContactFrequencyDefault) -> Self:
        return cls(
            manager_type=row.manager_type,
            classification=row.classification,
            contact_frequency_days=row.contact_frequency_days,
        )


@strawberry.input
class UpdateAssignmentInput:
    id: strawberry.ID
    contact_frequency_days: int


@strawberry.input
class SetContactFrequencyDefaultInput:
    manager_type: ManagerType
    classification: Classification
    contact_frequency_days: int


@strawberry.type
class ContactFrequencyDefaultPayload:
    default: ContactFrequencyDefault | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(description="What assignAccount uses when no frequency is given.")
    @permissions.query("assignment.read")
    async def contact_frequency_defaults(self, info: Info) -> list[ContactFrequencyDefault]:
        async with info.context.db() as session:
            rows = await frequency.defaults(session)
        return [ContactFrequencyDefault.from_model(r) for r in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="A new frequency; due date and status follow at once.")
    @permissions.mutation("assignment.write")
    async def update_assignment(self, info: Info, input: UpdateAssignmentInput) -> AssignPayload:
        row = await frequency.update_assignment(
            info.context.session,
            actor=info.context.actor,
            assignment_id=decode_id(input.id, "Assignment"),
            contact_frequency_days=input.contact_frequency_days,
        )
        return AssignPayload(assignment=Assignment.from_model(row))

    @strawberry.mutation(description="Existing assignments keep their frequencies.")
    @permissions.mutation("assignment.write")
    async def set_contact_frequency_default(
        self, info: Info, input: SetContactFrequencyDefaultInput
    ) -> ContactFrequencyDefaultPayload:
        row = await frequency.set_default(
            info.context.session,
            actor=info.context.actor,
            manager_type=input.manager_type,
            classification=input.classification,
            contact_frequency_days=input.contact_frequency_days,
        )
        return ContactFrequencyDefaultPayload(default=ContactFrequencyDefault.from_model(row))
