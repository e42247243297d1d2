"""Teams and the record visibility: the Team type, `teams`, `User.teams`, `defineTeam` and
`setRecordVisibility` (the service is app.teams.service)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.models import teams as models
from app.models.teams import RecordVisibility
from app.teams import service
from schema import permissions
from schema.context import Context, Info
from schema.errors import UserError
from schema.relay import Node, decode_id, decode_optional, register_node, to_global_id

if TYPE_CHECKING:
    from schema.users import User

strawberry.enum(RecordVisibility)

LazyUser = Annotated["User", strawberry.lazy("schema.users")]


@strawberry.type(description="A lead who is a MANAGER and members; a user may be in several.")
class Team(Node):
    name: str
    pk: strawberry.Private[int]
    lead_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.Team) -> Self:
        return cls(id=to_global_id("Team", row.id), name=row.name, pk=row.id, lead_pk=row.lead_id)

    @strawberry.field
    async def lead(self, info: Info) -> LazyUser:
        from schema.users import load_user

        found = await load_user(info.context, self.lead_pk)
        assert found is not None
        return found

    @strawberry.field(description="By name.")
    async def members(self, info: Info) -> list[LazyUser]:
        from schema.users import User

        rows = await info.context.loader(service.members_by_team).load(self.pk)
        return [User.from_model(row) for row in rows]


async def load_team(context: Context, pk: int) -> Team | None:
    row = await context.loader(service.teams_by_id).load(pk)
    if row is None:
        return None
    if not context.actor.may(service.READ_ALL_TEAMS):
        mine = await context.loader(service.teams_by_user).load(context.viewer_id)
        if all(team.id != pk for team in mine):
            return None
    return Team.from_model(row)


register_node("Team", "team.read", load_team)


@strawberry.type
class UserTeamFields:
    pk: strawberry.Private[int]

    @strawberry.field(
        description="The teams the user is in, by name (a REP reads only their own teams)."
    )
    async def teams(self, info: Info) -> list[Team]:
        rows = await info.context.loader(service.teams_by_user).load(self.pk)
        if info.context.actor.may(service.READ_ALL_TEAMS) or self.pk == info.context.viewer_id:
            return [Team.from_model(row) for row in rows]
        mine = await info.context.loader(service.teams_by_user).load(info.context.viewer_id)
        shared = {team.id for team in mine}
        return [Team.from_model(row) for row in rows if row.id in shared]


@strawberry.input(description="No id: a new team; an id: replaces its name, lead and members.")
class DefineTeamInput:
    name: str
    lead_id: strawberry.ID
    member_ids: list[strawberry.ID]
    id: strawberry.ID | None = None


@strawberry.type
class TeamPayload:
    team: Team | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class SetRecordVisibilityInput:
    visibility: RecordVisibility


@strawberry.type
class RecordVisibilityPayload:
    visibility: RecordVisibility | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(description="Teams by name: every team for managers, a REP's own for a REP.")
    @permissions.query("team.read")
    async def teams(self, info: Info) -> list[Team]:
        async with info.context.db() as session:
            rows = await service.list_teams(session, actor=info.context.actor)
        return [Team.from_model(row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="ADMIN only. The lead must be a MANAGER (INVALID_INPUT).")
    @permissions.mutation("team.define")
    async def define_team(self, info: Info, input: DefineTeamInput) -> TeamPayload:
        row = await service.define_team(
            info.context.session,
            actor=info.context.actor,
            team_id=decode_optional(input.id, "Team", field="id"),
            name=input.name,
            lead_id=decode_id(input.lead_id, "User", field="leadId"),
            member_ids=[decode_id(m, "User", field="memberIds") for m in input.member_ids],
        )
        return TeamPayload(team=Team.from_model(row))

    @strawberry.mutation(
        description="ADMIN only. What REPs read: ALL accounts (the default), their teams' "
        "(TEAM) or their own (OWN); managers, admins and integrations read all."
    )
    @permissions.mutation("visibility.set")
    async def set_record_visibility(
        self, info: Info, input: SetRecordVisibilityInput
    ) -> RecordVisibilityPayload:
        stored = await service.set_record_visibility(
            info.context.session, actor=info.context.actor, visibility=input.visibility
        )
        return RecordVisibilityPayload(visibility=stored)
