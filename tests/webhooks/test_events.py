"""Which changes write which outbox events, in the transaction of the change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.events import EventType, global_id, pk_of
from app.models.auth import Role
from app.models.planning import PlanStatus
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.handoff.factories import qualified_account
from tests.planning.factories import create_activity, create_plan
from tests.support import Api
from tests.webhooks.support import outbox


def test_global_ids_match_the_schemas() -> None:
    assert global_id("Account", 42) == to_global_id("Account", 42)
    assert pk_of(to_global_id("StageEvent", 7)) == 7
    assert global_id("User", None) is None


async def test_account_changes_emit_created_updated_and_archived(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    created = (await api.op("CreateAccount", {"input": {"name": "Evented"}}, caller=manager))[
        "createAccount"
    ]["account"]
    variables = {"input": {"id": created["id"], "name": "Evented Inc", "industry": "Retail"}}
    await api.op("UpdateAccount", variables, caller=manager)
    await api.op("UpdateAccount", variables, caller=manager)  # no change: no event
    await api.op("ArchiveAccount", {"input": {"id": created["id"]}}, caller=manager)
    rows = await outbox(api.session)
    assert [r.type for r in rows] == ["account.created", "account.updated", "account.archived"]
    assert {r.object_key for r in rows} == {f"Account:{pk_of(created['id'])}"}
    assert rows[0].data["name"] == "Evented"
    assert rows[1].data == {
        "id": created["id"],
        "name": "Evented Inc",
        "externalRef": None,
        "classification": None,
        "version": 2,
        "changed": ["industry", "name"],
    }
    assert rows[2].data["archivedAt"] is not None


async def test_assignment_changes_emit_assignment_changed(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep, other = await api.caller(Role.REP), await api.caller(Role.REP)
    account = await qualified_account(api.session, "Assigned")
    variables = {
        "input": {
            "accountId": to_global_id("Account", account.id),
            "userId": rep.id,
            "managerType": "SALES",
            "contactFrequencyDays": 14,
        }
    }
    assigned = (await api.op("AssignAccount", variables, caller=manager))["assignAccount"]
    assignment_id = assigned["assignment"]["id"]
    bulk = {"input": {"mode": "REPLACE", "toUserId": other.id, "assignmentIds": [assignment_id]}}
    await api.op("BulkReassign", bulk, caller=manager)
    await api.op("Unassign", {"input": {"assignmentId": assignment_id}}, caller=manager)
    rows = await outbox(api.session, EventType.ASSIGNMENT_CHANGED)
    assert [(r.data["change"], r.data["userId"]) for r in rows] == [
        ("created", rep.id),
        ("reassigned", other.id),
        ("removed", other.id),
    ]
    assert rows[0].data["contactFrequencyDays"] == 14
    assert rows[0].data["nextContactDue"] is not None
    assert {r.data["id"] for r in rows} == {assignment_id}


async def test_moves_and_acceptance_emit_stage_and_handoff_events(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    owner = await api.caller(Role.REP)
    account = await qualified_account(api.session, "Moved")
    gid = to_global_id("Account", account.id)

    async def move(trigger: str, **extra: Any) -> dict[str, Any]:
        variables = {"input": {"accountId": gid, "trigger": trigger, **extra}}
        result: dict[str, Any] = (await api.op("TransitionAccount", variables, caller=manager))[
            "transitionAccount"
        ]
        assert result["errors"] == []
        return result

    await move("qualify")
    handed = await move("handoff", toOwnerId=owner.id, reason="Budget", benefit="Faster")
    variables = {"input": {"eventId": handed["event"]["id"], "nextStep": "Call the CFO"}}
    accepted = (await api.op("AcceptHandoff", variables, caller=owner))["acceptHandoff"]
    assert accepted["errors"] == []
    rows = [
        r for r in await outbox(api.session) if r.type not in ("account.created", "contact.created")
    ]
    assert [r.type for r in rows] == [
        "stage.changed",
        "stage.changed",
        "handoff.requested",
        "handoff.accepted",
    ]
    assert rows[1].data == rows[2].data
    handoff = rows[1].data
    assert handoff["id"] == handed["event"]["id"]
    assert (handoff["pipeline"], handoff["fromStage"], handoff["toStage"]) == (
        "default",
        "QUALIFIED",
        "OPPORTUNITY",
    )
    assert (handoff["handoff"], handoff["toOwnerId"], handoff["reason"]) == (
        True,
        owner.id,
        "Budget",
    )
    assert rows[3].data["nextStep"] == "Call the CFO"
    assert rows[3].data["acceptedById"] == owner.id


async def test_a_blocked_move_emits_nothing(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    created = (await api.op("CreateAccount", {"input": {"name": "Bare"}}, caller=manager))[
        "createAccount"
    ]["account"]
    variables = {"input": {"accountId": created["id"], "trigger": "qualify"}}
    blocked = (await api.op("TransitionAccount", variables, caller=manager))["transitionAccount"]
    assert [e["code"] for e in blocked["errors"]] == ["GATE_BLOCKED"]
    assert [r.type for r in await outbox(api.session)] == ["account.created"]


async def test_plan_status_changes_emit(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await qualified_account(api.session, "Planned")
    plan = await create_plan(api.session, account)
    variables = {"input": {"id": to_global_id("AccountPlan", plan.id), "status": "ACTIVE"}}
    result = (await api.op("SetPlanStatus", variables, caller=manager))["setPlanStatus"]
    assert result["errors"] == []
    (row,) = await outbox(api.session, EventType.PLAN_STATUS_CHANGED)
    assert row.data == {
        "id": to_global_id("AccountPlan", plan.id),
        "accountId": to_global_id("Account", account.id),
        "fromStatus": PlanStatus.DRAFT.value,
        "status": "ACTIVE",
        "version": 2,
    }


class _Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement)


def _watch(engine: AsyncEngine) -> Iterator[_Statements]:
    statements = _Statements()
    event.listen(engine.sync_engine, "before_cursor_execute", statements)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statements)


async def test_a_batch_of_1000_activities_writes_1000_events_in_its_one_statement(
    api: Api, app_engine: tuple[object, AsyncEngine]
) -> None:
    erp = await api.caller(Role.INTEGRATION)
    account = await qualified_account(api.session, "Busy")
    gid = to_global_id("Account", account.id)
    items = [
        {
            "kind": "EMAIL_SENT",
            "occurredAt": f"2026-01-01T{(i // 60) % 24:02}:{i % 60:02}:00Z",
            "accountId": gid,
            "source": "mail",
            "externalId": f"m{i}",
            "amount": "1.50" if i == 0 else None,
        }
        for i in range(1000)
    ]
    before = len(await outbox(api.session))
    for statements in _watch(app_engine[1]):
        result = await api.op("LogActivities", {"input": {"activities": items}}, caller=erp)
        assert result["logActivities"]["acceptedCount"] == 1000
        writers = [s for s in statements.seen if "outbox" in s]
        assert len(writers) == 1
        assert "INSERT INTO activities" in writers[0]
    rows = (await outbox(api.session))[before:]
    assert len(rows) == 1000
    assert {r.type for r in rows} == {"activity.logged"}
    assert rows[0].data["amount"] == "1.50"
    assert rows[0].data["accountId"] == gid
    assert rows[0].data["externalId"] == "m0"
    assert rows[0].data["occurredAt"].startswith("2026-01-01T00:00:00")
    # A repeat of the same batch stores nothing and emits nothing.
    again = await api.op("LogActivities", {"input": {"activities": items}}, caller=erp)
    assert again["logActivities"]["duplicateCount"] == 1000
    assert len(await outbox(api.session)) == before + 1000


async def test_applied_classifications_emit_account_updated(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    now = datetime.now(UTC)
    accounts = []
    for i, amount in enumerate(["5000", "3000", "1000"]):
        account = await create_account(api.session, f"Class {i}")
        await create_activity(api.session, account, amount, now - timedelta(days=10 + i))
        accounts.append(account)
    before = {r.id for r in await outbox(api.session)}
    ids = [to_global_id("Account", a.id) for a in accounts[1:]]
    result = (await api.op("ApplyClassification", {"input": {"accountIds": ids}}, caller=manager))[
        "applyClassification"
    ]
    assert result["changedCount"] == 2
    rows = [r for r in await outbox(api.session) if r.id not in before]
    assert [r.type for r in rows] == ["account.updated", "account.updated"]
    assert sorted(r.data["id"] for r in rows) == sorted(ids)
    for row in rows:
        assert row.data["changed"] == ["classification"]
        assert row.data["classification"] in ("A", "B", "C", "D")
        assert row.data["version"] == 2
        assert row.object_key == f"Account:{pk_of(row.data['id'])}"


async def test_a_merge_emits_account_merged_for_the_survivor(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    survivor = await create_account(api.session, "Survivor")
    duplicate = await create_account(api.session, "Duplicate")
    variables = {
        "input": {
            "survivorId": to_global_id("Account", survivor.id),
            "duplicateId": to_global_id("Account", duplicate.id),
        }
    }
    result = (await api.op("MergeAccounts", variables, caller=manager))["mergeAccounts"]
    assert result["errors"] == []
    (row,) = await outbox(api.session, EventType.ACCOUNT_MERGED)
    assert row.data["id"] == to_global_id("Account", survivor.id)
    assert row.data["mergedId"] == to_global_id("Account", duplicate.id)
    assert row.data["moved"]["contacts"] == 0
    assert row.object_key == f"Account:{survivor.id}"


async def test_a_new_lead_emits_lead_created(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    variables = {"input": {"company": "Prospect GmbH", "email": "ann@prospect.example"}}
    result = (await api.op("CreateLead", variables, caller=erp))["createLead"]
    assert result["errors"] == []
    (row,) = await outbox(api.session, EventType.LEAD_CREATED)
    assert row.data["id"] == result["lead"]["id"]
    assert row.data["company"] == "Prospect GmbH"
    assert row.data["status"] == "NEW"
    assert row.object_key == f"Lead:{pk_of(result['lead']['id'])}"


async def test_upserted_accounts_emit_created_and_updated(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    items = [{"externalRef": "E-1", "name": "One"}, {"externalRef": "E-2", "name": "Two"}]
    await api.op("UpsertAccounts", {"input": {"accounts": items}}, caller=erp)
    items[1]["name"] = "Two Ltd"
    await api.op("UpsertAccounts", {"input": {"accounts": items}}, caller=erp)  # E-1 unchanged
    rows = await outbox(api.session)
    assert [(r.type, r.data["externalRef"], r.data["name"]) for r in rows] == [
        ("account.created", "E-1", "One"),
        ("account.created", "E-2", "Two"),
        ("account.updated", "E-2", "Two Ltd"),
    ]


async def test_tags_and_restore_emit_account_updated(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Tagged")
    gid = to_global_id("Account", account.id)
    await api.op("SetAccountTags", {"input": {"accountId": gid, "add": ["VIP"]}}, caller=manager)
    await api.op("ArchiveAccount", {"input": {"id": gid}}, caller=manager)
    await api.op("RestoreAccount", {"input": {"id": gid}}, caller=manager)
    rows = [r for r in await outbox(api.session) if r.type == "account.updated"]
    assert [r.data["changed"] for r in rows] == [["tags"], ["archivedAt"]]
    assert [r.data["version"] for r in rows] == [2, 4]
