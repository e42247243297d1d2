"""Activities on leads: listed on the lead, announced, refused by the batch paths, moved to
the account on conversion (where they count for cadence)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select

from app.models.activities import Activity
from app.models.assignments import Assignment
from app.models.auth import Role
from app.models.webhooks import OutboxEvent
from schema.relay import decode_id, to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, noon
from tests.support import Api, Caller

LOG = """
mutation($input: LogActivityInput!) {
  logActivity(input: $input) { activity { id account { id } } errors { code field message } }
}"""
LEAD_ACTIVITIES = """
query($id: ID!) {
  node(id: $id) {
    ... on Lead {
      activities(first: 10) {
        totalCount
        edges { node { kind occurredAt account { id } lead { id } } }
      }
    }
  }
}"""
ACCOUNT = """
query($id: ID!) {
  node(id: $id) {
    ... on Account {
      activities(first: 10) { edges { node { kind lead { id } } } }
      assignments { managerType user { id } lastContactAt }
    }
  }
}"""


async def _lead(api: Api, caller: Caller) -> str:
    query = "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id } } }"
    data = await api.data(query, {"i": {"company": "Hof Meyer"}}, caller=caller)
    return str(data["createLead"]["lead"]["id"])


async def _log(api: Api, caller: Caller, lead_id: str, kind: str, at: datetime) -> Any:
    input = {"kind": kind, "occurredAt": at.isoformat(), "leadId": lead_id}
    return (await api.data(LOG, {"input": input}, caller=caller))["logActivity"]


async def _convert(api: Api, caller: Caller, lead_id: str, **input: Any) -> dict[str, Any]:
    status = "mutation($i: SetLeadStatusInput!) { setLeadStatus(input: $i) { errors { code } } }"
    for value in ("WORKING", "QUALIFIED"):
        await api.data(status, {"i": {"id": lead_id, "status": value}}, caller=caller)
    data = await api.op("ConvertLead", {"input": {"leadId": lead_id, **input}}, caller=caller)
    result: dict[str, Any] = data["convertLead"]
    assert result["errors"] == []
    return result


async def test_a_leads_calls_are_listed_on_it_newest_first_without_an_account(api: Api) -> None:
    rep = await api.caller(Role.REP)
    lead_id = await _lead(api, rep)
    await _log(api, rep, lead_id, "CALL_OUTBOUND", noon(3))
    await _log(api, rep, lead_id, "EMAIL_SENT", noon(1))

    data = await api.data(LEAD_ACTIVITIES, {"id": lead_id}, caller=rep)

    listed = data["node"]["activities"]
    assert listed["totalCount"] == 2
    assert [e["node"]["kind"] for e in listed["edges"]] == ["EMAIL_SENT", "CALL_OUTBOUND"]
    assert {(e["node"]["account"], e["node"]["lead"]["id"]) for e in listed["edges"]} == {
        (None, lead_id)
    }


async def test_a_lead_activity_is_announced_with_its_lead(api: Api) -> None:
    rep = await api.caller(Role.REP)
    lead_id = await _lead(api, rep)
    logged = await _log(api, rep, lead_id, "CALL_OUTBOUND", noon(2))

    query = select(OutboxEvent).where(OutboxEvent.type == "activity.logged")
    (event,) = await api.session.scalars(query)

    assert (event.object_key, event.account_id) == (f"Lead:{decode_id(lead_id, 'Lead')}", None)
    assert event.data["id"] == logged["activity"]["id"]
    assert event.data["leadId"] == lead_id
    assert event.data["accountId"] is None
    assert event.data["userId"] == rep.id
    assert event.data["kind"] == "CALL_OUTBOUND"


async def test_revenue_kinds_and_converted_leads_are_refused(api: Api) -> None:
    rep = await api.caller(Role.REP)
    lead_id = await _lead(api, rep)
    invoice = await _log(api, rep, lead_id, "INVOICE", noon(1))
    await _convert(api, rep, lead_id)
    late = await _log(api, rep, lead_id, "CALL_OUTBOUND", noon(0))

    assert [(e["code"], e["field"]) for e in invoice["errors"]] == [("INVALID_INPUT", "kind")]
    assert [(e["code"], e["field"]) for e in late["errors"]] == [("INVALID_INPUT", "leadId")]
    assert list(await api.session.scalars(select(Activity.id))) == []


async def test_logactivities_and_bulk_ingest_reject_a_lead_item_by_its_index(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    lead_id = await _lead(api, manager)
    account = await create_account(api.session, name="Farm")
    at = noon(1).isoformat()
    items = [
        {"kind": "CALL_OUTBOUND", "occurredAt": at, "leadId": lead_id},
        {
            "kind": "CALL_OUTBOUND",
            "occurredAt": at,
            "accountId": to_global_id("Account", account.id),
        },
    ]
    data = await api.op("LogActivities", {"input": {"activities": items}}, caller=manager)
    body = b"\n".join(orjson.dumps(item) for item in items)
    headers = {"Authorization": f"Bearer {manager.token}"}
    response = await api.client.post("/ingest/activities", content=body, headers=headers)

    refused = {
        "code": "INVALID_INPUT",
        "field": "leadId",
        "message": "Log a lead's activities one at a time, with logActivity.",
    }
    assert data["logActivities"]["acceptedCount"] == 1
    assert data["logActivities"]["rejected"] == [{"index": 0, "errors": [refused]}]
    lines = [orjson.loads(line) for line in response.text.splitlines()]
    assert lines[0] == {"line": 1, "status": "rejected", "errors": [refused]}
    assert lines[1]["status"] == "accepted"
    stored = await api.session.scalars(select(Activity.lead_id))
    assert list(stored) == [None, None]


async def test_conversion_moves_them_to_the_new_account_where_they_count(api: Api) -> None:
    rep = await api.caller(Role.REP)
    lead_id = await _lead(api, rep)
    await _log(api, rep, lead_id, "CALL_OUTBOUND", noon(3))
    await _log(api, rep, lead_id, "NOTE", noon(1))

    converted = await _convert(api, rep, lead_id)
    data = await api.data(ACCOUNT, {"id": converted["account"]["id"]}, caller=rep)

    node = data["node"]
    assert [e["node"] for e in node["activities"]["edges"]] == [
        {"kind": "NOTE", "lead": {"id": lead_id}},
        {"kind": "CALL_OUTBOUND", "lead": {"id": lead_id}},
    ]
    # The rep keeps the account; the call (not the note) is its last contact.
    (assignment,) = node["assignments"]
    assert assignment["user"] == {"id": rep.id}
    assert datetime.fromisoformat(assignment["lastContactAt"]) == noon(3)
    listed = await api.data(LEAD_ACTIVITIES, {"id": lead_id}, caller=rep)
    accounts = {e["node"]["account"]["id"] for e in listed["node"]["activities"]["edges"]}
    assert accounts == {converted["account"]["id"]}


async def test_conversion_onto_an_existing_account_folds_them_into_its_cadence(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, name="Hof Meyer KG")
    await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    lead_id = await _lead(api, manager)
    await _log(api, manager, lead_id, "MEETING", noon(2))

    await _convert(api, manager, lead_id, existingAccountId=to_global_id("Account", account.id))

    query = select(Assignment.last_contact_at).where(Assignment.account_id == account.id)
    assert await api.session.scalar(query.execution_options(populate_existing=True)) == noon(2)
    moved = await api.session.scalar(select(Activity.account_id))
    assert moved == account.id


async def test_the_activity_mix_counts_lead_activities_but_no_account_for_them(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    lead_id = await _lead(api, manager)
    account = await create_account(api.session, name="Farm")
    await _log(api, manager, lead_id, "CALL_OUTBOUND", noon(2))
    await _log(api, manager, lead_id, "CALL_OUTBOUND", noon(1))
    on_account = {
        "kind": "CALL_OUTBOUND",
        "occurredAt": noon(1).isoformat(),
        "accountId": to_global_id("Account", account.id),
    }
    await api.data(LOG, {"input": on_account}, caller=manager)
    window = {"from": noon(5).isoformat(), "to": noon(0).isoformat()}

    (row,) = (await api.op("ActivityMix", window, caller=manager))["activityMix"]

    assert row == {"kind": "CALL_OUTBOUND", "count": 3, "accounts": 1, "share": 1.0}


async def test_a_changed_repeat_conflicts_and_a_rep_logs_only_as_themselves(api: Api) -> None:
    rep, other = await api.caller(Role.REP), await api.caller(Role.REP)
    lead_id = await _lead(api, rep)
    keyed = {"kind": "CALL_OUTBOUND", "occurredAt": noon(1).isoformat(), "leadId": lead_id}
    keyed |= {"source": "phone", "externalId": "c-7"}
    await api.data(LOG, {"input": {**keyed, "summary": "Spoke to Jane"}}, caller=rep)

    changed = await api.data(LOG, {"input": {**keyed, "summary": "Other"}}, caller=rep)
    as_other = await api.data(
        LOG, {"input": {**keyed, "externalId": "c-8", "userId": other.id}}, caller=rep
    )

    errors = [changed["logActivity"]["errors"], as_other["logActivity"]["errors"]]
    assert [[(e["code"], e["field"]) for e in found] for found in errors] == [
        [("IDEMPOTENCY_CONFLICT", "externalId")],
        [("FORBIDDEN", "userId")],
    ]
    assert list(await api.session.scalars(select(Activity.summary))) == ["Spoke to Jane"]


async def test_voiding_a_lead_activity_is_announced_on_the_lead(api: Api) -> None:
    rep, manager = await api.caller(Role.REP), await api.caller(Role.MANAGER)
    lead_id = await _lead(api, rep)
    logged = await _log(api, rep, lead_id, "CALL_OUTBOUND", noon(2))
    void = "mutation($i: VoidActivityInput!) { voidActivity(input: $i) { errors { code } } }"
    input = {"id": logged["activity"]["id"], "reason": "wrong lead"}

    data = await api.data(void, {"i": input}, caller=manager)

    assert data["voidActivity"]["errors"] == []
    query = select(OutboxEvent).where(OutboxEvent.type == "activity.voided")
    (event,) = await api.session.scalars(query)
    assert (event.object_key, event.account_id) == (f"Lead:{decode_id(lead_id, 'Lead')}", None)
    assert (event.data["leadId"], event.data["accountId"]) == (lead_id, None)
