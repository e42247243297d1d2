"""The writers test's cases for teams and the record visibility (issue 21, part V)."""

from __future__ import annotations

from typing import Any

from app.models.auth import Role
from tests.kit.mutation_cases import case
from tests.kit.writers import World

DEFINE_TEAM = """
mutation DefineTeam($input: DefineTeamInput!) {
  defineTeam(input: $input) { team { id } errors { code field message } }
}
"""
SET_RECORD_VISIBILITY = """
mutation SetRecordVisibility($input: SetRecordVisibilityInput!) {
  setRecordVisibility(input: $input) { visibility errors { code field message } }
}
"""


async def _run(w: World, document: str, **input: Any) -> None:
    data = await w.api.data(document, {"input": input}, caller=w.admin)
    (payload,) = data.values()
    assert payload["errors"] == [], payload["errors"]


@case("defineTeam", "team.create", "Team", "team.defined")
async def _define_team(w: World) -> None:
    lead = await w.api.caller(Role.MANAGER)
    rep = await w.api.caller(Role.REP)
    await w.mark()
    await _run(w, DEFINE_TEAM, name="North", leadId=lead.id, memberIds=[rep.id])


@case("setRecordVisibility", "record_visibility.set", "OrgSetting", "record_visibility.changed")
async def _set_record_visibility(w: World) -> None:
    await w.mark()
    await _run(w, SET_RECORD_VISIBILITY, visibility="TEAM")
