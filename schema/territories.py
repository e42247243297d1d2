"""Territories: assignment rules with weighted pools, and their backfill."""

from __future__ import annotations

from typing import Self

import strawberry

from app.accounts.read import AccountFilter as AccountFilterArgs
from app.leads import territories
from app.models.leads import AssignmentRule as RuleModel
from app.models.leads import AssignmentRuleMember
from schema import permissions
from schema.accounts import AccountFilter
from schema.context import Context, Info
from schema.enums import AccountSource, Classification, ManagerType
from schema.errors import UserError
from schema.relay import Node, decode_id, decode_optional, register_node, to_global_id
from schema.users import User, load_user


@strawberry.type
class RuleCriteria:
    country_codes: list[str]
    regions: list[str]
    postal_code_prefixes: list[str]
    industries: list[str]
    classifications: list[Classification]
    sources: list[AccountSource]


@strawberry.type
class RuleMember:
    weight: int
    assigned_count: int
    user_pk: strawberry.Private[int]

    @strawberry.field
    async def user(self, info: Info) -> User:
        found = await load_user(info.context, self.user_pk)
        assert found is not None
        return found


@strawberry.type
class AssignmentRule(Node):
    name: str
    position: int
    manager_type: ManagerType
    contact_frequency_days: int | None
    is_active: bool
    criteria: RuleCriteria
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: RuleModel) -> Self:
        return cls(
            id=to_global_id("AssignmentRule", row.id),
            pk=row.id,
            name=row.name,
            position=row.position,
            manager_type=row.manager_type,
            contact_frequency_days=row.contact_frequency_days,
            is_active=row.is_active,
            criteria=RuleCriteria(
                country_codes=list(row.country_codes),
                regions=list(row.regions),
                postal_code_prefixes=list(row.postal_code_prefixes),
                industries=list(row.industries),
                classifications=[Classification(c) for c in row.classifications],
                sources=[AccountSource(s) for s in row.sources],
            ),
        )

    @strawberry.field
    async def members(self, info: Info) -> list[RuleMember]:
        rows: list[AssignmentRuleMember] = await info.context.loader(
            territories.members_by_rule
        ).load(self.pk)
        return [
            RuleMember(weight=m.weight, assigned_count=m.assigned_count, user_pk=m.user_id)
            for m in rows
        ]


async def load_rule(context: Context, pk: int) -> AssignmentRule | None:
    row = await context.loader(territories.rules_by_id).load(pk)
    return None if row is None else AssignmentRule.from_model(row)


register_node("AssignmentRule", "rule.read", load_rule)


@strawberry.input
class RuleCriteriaInput:
    country_codes: list[str] | None = None
    regions: list[str] | None = None
    postal_code_prefixes: list[str] | None = None
    industries: list[str] | None = None
    classifications: list[Classification] | None = None
    sources: list[AccountSource] | None = None


@strawberry.input
class RuleMemberInput:
    user_id: strawberry.ID
    weight: int = 1


@strawberry.input
class DefineAssignmentRuleInput:
    name: str
    position: int
    manager_type: ManagerType
    criteria: RuleCriteriaInput
    members: list[RuleMemberInput]
    id: strawberry.ID | None = None
    contact_frequency_days: int | None = None
    is_active: bool | None = True

    def to_definition(self) -> territories.RuleDefinition:
        c = self.criteria
        return territories.RuleDefinition(
            rule_id=decode_optional(self.id, "AssignmentRule", field="id"),
            name=self.name,
            position=self.position,
            manager_type=self.manager_type,
            contact_frequency_days=self.contact_frequency_days,
            is_active=self.is_active is not False,
            criteria=territories.Criteria(
                country_codes=c.country_codes or (),
                regions=c.regions or (),
                postal_code_prefixes=c.postal_code_prefixes or (),
                industries=c.industries or (),
                classifications=c.classifications or (),
                sources=c.sources or (),
            ),
            members=[
                territories.MemberInput(
                    user_id=decode_id(m.user_id, "User", field=f"members[{i}].userId"),
                    weight=m.weight,
                )
                for i, m in enumerate(self.members)
            ],
        )


@strawberry.type
class AssignmentRulePayload:
    rule: AssignmentRule | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ApplyAssignmentRulesInput:
    filter: AccountFilter | None = None
    dry_run: bool = True


@strawberry.type
class UserCount:
    count: int
    user_pk: strawberry.Private[int]

    @strawberry.field
    async def user(self, info: Info) -> User:
        found = await load_user(info.context, self.user_pk)
        assert found is not None
        return found


@strawberry.type
class ApplyAssignmentRulesPayload:
    dry_run: bool = False
    matched_count: int = 0
    assigned_count: int = 0
    unmatched_count: int = 0
    per_user: list[UserCount] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field
    @permissions.query("rule.read")
    async def assignment_rules(self, info: Info) -> list[AssignmentRule]:
        async with info.context.db() as session:
            rows = await territories.list_rules(session)
        return [AssignmentRule.from_model(r) for r in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("rule.define")
    async def define_assignment_rule(
        self, info: Info, input: DefineAssignmentRuleInput
    ) -> AssignmentRulePayload:
        row = await territories.define_rule(
            info.context.session, actor=info.context.actor, definition=input.to_definition()
        )
        return AssignmentRulePayload(rule=AssignmentRule.from_model(row))

    @strawberry.mutation
    @permissions.mutation("rule.apply")
    async def apply_assignment_rules(
        self, info: Info, input: ApplyAssignmentRulesInput
    ) -> ApplyAssignmentRulesPayload:
        result = await territories.backfill(
            info.context.session,
            actor=info.context.actor,
            filter=input.filter.to_args() if input.filter else AccountFilterArgs(),
            dry_run=input.dry_run,
        )
        if input.dry_run:
            await info.context.session.rollback()
        return ApplyAssignmentRulesPayload(
            dry_run=result.dry_run,
            matched_count=result.matched,
            assigned_count=result.assigned,
            unmatched_count=result.unmatched,
            per_user=[
                UserCount(user_pk=uid, count=n) for uid, n in sorted(result.per_user.items())
            ],
        )
