"""What hangs off an account follows its account, a lead its owner, under each record
visibility: the lists, `node`, nested references and the board, as a REP reads them."""

from __future__ import annotations

from typing import Any

import pytest

from app.kit.actor import SYSTEM
from app.leads.service import create_lead
from app.models.teams import RecordVisibility
from schema.relay import to_global_id
from tests.accounts.factories import create_contact
from tests.planning.factories import create_plan
from tests.schema.engine.subscriptions.events import log_activity
from tests.support import Api
from tests.teams.town import VISIBLE, Town, build, set_visibility

LISTS = """
{
  contacts(first: 100) { totalCount edges { node { name account { name } } } }
  activities(first: 100) { totalCount edges { node { summary account { name } } } }
  assignments(first: 100) { totalCount edges { node { account { name } } } }
  plansDueForReview(withinDays: 3660, first: 100) { totalCount edges { node { account { name } } } }
  pipelineBoard {
    stage count entries(first: 100) { totalCount edges { node { account { name } } } }
  }
}
"""
LEADS = "{ leads(first: 100) { totalCount edges { node { company } } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
# Leads owned by Rhea, her teammate Remo, Sol of another team, and nobody.
LEAD_OWNERS = {"Lead Mine": "rhea", "Lead Remo": "remo", "Lead Sol": "sol", "Lead Loose": None}
VISIBLE_LEADS = {
    RecordVisibility.ALL: ["Lead Loose", "Lead Mine", "Lead Remo", "Lead Sol"],
    RecordVisibility.TEAM: ["Lead Mine", "Lead Remo"],
    RecordVisibility.OWN: ["Lead Mine"],
}


async def _rows(api: Api, town: Town) -> dict[str, list[tuple[str, str]]]:
    """A contact, an activity and a plan on each account, and the leads: (global id, the
    account's name or the lead's company)."""
    ids: dict[str, list[tuple[str, str]]] = {"Contact": [], "Lead": []}
    for name, account in town.accounts.items():
        contact = await create_contact(api.session, account, name=f"Contact {name}")
        ids["Contact"].append((to_global_id("Contact", contact.id), name))
        await log_activity(api.session, account.id, summary=name)
        await create_plan(api.session, account, review_frequency_days=30)
    for company, owner in LEAD_OWNERS.items():
        fields = {"owner_id": getattr(town, owner).user_id} if owner else {}
        lead = await create_lead(api.session, actor=SYSTEM, company=company, **fields)
        ids["Lead"].append((to_global_id("Lead", lead.id), company))
    await api.session.commit()
    return ids


def _names(connection: dict[str, Any], path: tuple[str, ...] = ("account", "name")) -> list[str]:
    found = []
    for edge in connection["edges"]:
        value = edge["node"]
        for step in path:
            value = value[step]
        found.append(value)
    assert connection["totalCount"] == len(found)
    return sorted(found)


@pytest.mark.parametrize("visibility", list(RecordVisibility), ids=lambda v: v.value)
async def test_lists_nested_fields_and_nodes_follow_the_visibility(
    api: Api, visibility: RecordVisibility
) -> None:
    town = await build(api)
    ids = await _rows(api, town)
    await set_visibility(api, visibility)
    shown = VISIBLE[visibility]

    data = await api.data(LISTS, caller=town.rhea)

    assert _names(data["contacts"]) == shown
    assert _names(data["activities"]) == shown
    assert _names(data["activities"], ("summary",)) == shown
    held = {"ALL": ["Mine", "Other"], "TEAM": ["Mine"], "OWN": ["Mine"]}[visibility.value]
    assert _names(data["assignments"]) == held
    assert _names(data["plansDueForReview"]) == shown
    entries = [n for column in data["pipelineBoard"] for n in _names(column["entries"])]
    assert sorted(entries) == shown
    assert sum(column["count"] for column in data["pipelineBoard"]) == len(shown)
    leads = await api.data(LEADS, caller=town.rhea)
    assert _names(leads["leads"], ("company",)) == VISIBLE_LEADS[visibility]
    for kind, wanted in (("Contact", shown), ("Lead", VISIBLE_LEADS[visibility])):
        for gid, name in ids[kind]:
            node = (await api.data(NODE, {"id": gid}, caller=town.rhea))["node"]
            assert (node is not None) == (name in wanted), (kind, name)
    everything = await api.data(LISTS, caller=town.manager)
    assert _names(everything["contacts"]) == VISIBLE[RecordVisibility.ALL]
