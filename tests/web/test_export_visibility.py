"""Exports follow the record visibility: whoever the visibility applies to gets only the rows
GraphQL shows them. Exports are MANAGER-only (managers read everything), so the rule is
checked on the export's statement for a REP, and over HTTP for the roles that may export."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.imports.export import export_query, stream_csv
from app.kit.actor import SYSTEM, Actor
from app.leads.service import create_lead
from app.models.auth import Role
from app.models.imports import ImportKind
from app.models.teams import RecordVisibility
from schema.authz import grants
from tests.support import Api, Caller
from tests.teams.town import VISIBLE, Town, build, set_visibility

LEADS = {  # company -> owner in the town
    RecordVisibility.ALL: ["Lead Loose", "Lead Mine", "Lead Remo", "Lead Sol"],
    RecordVisibility.TEAM: ["Lead Mine", "Lead Remo"],
    RecordVisibility.OWN: ["Lead Mine"],
}


def _rep(caller: Caller) -> Actor:
    return Actor(user_id=caller.user_id, role=Role.REP, grants=grants(Role.REP))


async def _column(
    engine: AsyncEngine, kind: ImportKind, actor: Actor, visibility: RecordVisibility, name: str
) -> list[str]:
    rows = export_query(kind, None, actor=actor, visibility=visibility)
    text = b"".join([chunk async for chunk in stream_csv(engine, kind, rows)]).decode()
    return sorted(row[name] for row in csv.DictReader(io.StringIO(text)))


async def _leads(api: Api, town: Town) -> None:
    owners = {"Lead Mine": town.rhea, "Lead Remo": town.remo, "Lead Sol": town.sol}
    for company in LEADS[RecordVisibility.ALL]:
        owner = owners.get(company)
        fields = {"owner_id": owner.user_id} if owner else {}
        await create_lead(api.session, actor=SYSTEM, company=company, **fields)
    await api.session.commit()


@pytest.mark.parametrize("visibility", list(RecordVisibility), ids=lambda v: v.value)
async def test_a_reps_export_holds_the_rows_they_read(
    api: Api, engine: AsyncEngine, visibility: RecordVisibility
) -> None:
    town = await build(api)
    await _leads(api, town)
    rhea = _rep(town.rhea)
    accounts = await _column(engine, ImportKind.ACCOUNTS, rhea, visibility, "name")
    assert accounts == VISIBLE[visibility]
    leads = await _column(engine, ImportKind.LEADS, rhea, visibility, "company")
    assert leads == LEADS[visibility]
    manager = Actor(user_id=town.manager.user_id, role=Role.MANAGER, grants=grants(Role.MANAGER))
    everything = await _column(engine, ImportKind.ACCOUNTS, manager, visibility, "name")
    assert everything == VISIBLE[RecordVisibility.ALL]


async def test_over_http_a_manager_exports_everything_under_own(
    api: Api, client: httpx.AsyncClient
) -> None:
    town = await build(api)
    await set_visibility(api, RecordVisibility.OWN)
    manager = {"Authorization": f"Bearer {town.manager.token}"}
    response = await client.get("/export/accounts.csv", headers=manager)
    assert response.status_code == 200
    names = sorted(row["name"] for row in csv.DictReader(io.StringIO(response.text)))
    assert names == VISIBLE[RecordVisibility.ALL]
    rep = {"Authorization": f"Bearer {town.rhea.token}"}
    assert (await client.get("/export/accounts.csv", headers=rep)).status_code == 403
