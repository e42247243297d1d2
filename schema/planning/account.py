"""The planning fields of Account: its plans, contact map and rollup."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.models.accounts import BuyingRole
from app.planning import figures, segments, service
from schema.context import Info
from schema.planning.types import AccountPlan, cents

if TYPE_CHECKING:
    from schema.accounts import Contact

ContactRef = Annotated["Contact", strawberry.lazy("schema.accounts")]


@strawberry.type
class ContactMap:
    decision_makers: list[ContactRef]
    influencers: list[ContactRef]
    coaches: list[ContactRef]
    champions: list[ContactRef]
    users: list[ContactRef]
    blockers: list[ContactRef]
    gaps: list[BuyingRole] = strawberry.field(
        description="Which of DECISION_MAKER, INFLUENCER and COACH have no contact."
    )


@strawberry.type
class AccountRollup:
    revenue_last_12_months: Decimal
    branch_count: int
    forecast_revenue: Decimal


@strawberry.type
class AccountPlanningFields:
    pk: strawberry.Private[int]

    @strawberry.field
    async def plans(self, info: Info) -> list[AccountPlan]:
        rows = await info.context.loader(service.plans_by_account).load(self.pk)
        return [AccountPlan.from_model(r) for r in rows]

    @strawberry.field(description="Contacts by buying role; branches' too when asked.")
    async def contact_map(self, info: Info, include_branches: bool = False) -> ContactMap:
        from schema.accounts import Contact

        found = await info.context.loader(segments.contact_maps).load((self.pk, include_branches))

        def role(r: BuyingRole) -> list[Contact]:
            return [Contact.from_model(c) for c in found.get(r, [])]

        return ContactMap(
            decision_makers=role(BuyingRole.DECISION_MAKER),
            influencers=role(BuyingRole.INFLUENCER),
            coaches=role(BuyingRole.COACH),
            champions=role(BuyingRole.CHAMPION),
            users=role(BuyingRole.USER),
            blockers=role(BuyingRole.BLOCKER),
            gaps=[r for r in segments.KEY_ROLES if not found.get(r)],
        )

    @strawberry.field(description="The account with all its branches, recursively.")
    async def rollup(self, info: Info) -> AccountRollup:
        found = await info.context.loader(figures.rollups).load(self.pk)
        return AccountRollup(
            revenue_last_12_months=cents(found.revenue_last_12_months),
            branch_count=found.branch_count,
            forecast_revenue=cents(found.forecast_revenue),
        )
