"""Cadence through the API: last contact, due date, status, balance, filters and rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from app.activities import cadence
from app.models.activities import ActivityKind
from app.models.assignments import Assignment, ManagerType
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, day_start, log, noon, rules_rebuilt
from tests.support import Api, Caller


async def assignments(api: Api, caller: Caller, **filter: Any) -> list[dict[str, Any]]:
    data = await api.op("Assignments", {"filter": filter or None}, caller=caller)
    return [edge["node"] for edge in data["assignments"]["edges"]]


async def test_known_answers_for_due_status_and_balance(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP, name="Rob")
    account = await create_account(api.session, "Acme", classification="A")
    row = await create_assignment(
        api.session,
        account_id=account.id,
        user_id=rep.user_id,
        frequency=10,
        started_at=day_start(19),
    )
    # Three distinct days (one with two events) in a 20-day clipped window, every 10 days.
    for days_ago in (1, 2, 2, 3):
        await log(api.session, account_id=account.id, occurred_at=noon(days_ago))
    await log(api.session, account_id=account.id, occurred_at=noon(0), kind=ActivityKind.NOTE)
    (node,) = await assignments(api, manager)
    assert node["id"] == to_global_id("Assignment", row.id)
    assert node["lastContactAt"] == noon(1).isoformat()
    assert node["nextContactDue"] == (noon(1) + timedelta(days=10)).isoformat()
    assert node["status"] == "ON_TRACK"
    assert node["balance"] == {"expected": 2.0, "actual": 3, "ratio": 1.5, "status": "SURPLUS"}
    assert node["account"] == {
        "id": to_global_id("Account", account.id),
        "name": "Acme",
        "classification": "A",
    }
    assert node["user"] == {"id": rep.id, "name": "Rob"}
    assert await assignments(api, manager, balance=["SURPLUS"]) == [node]
    assert await assignments(api, manager, balance=["BALANCED", "DEFICIT"]) == []


async def test_status_boundaries_and_most_overdue_first(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    now = datetime.now(UTC)
    starts = {
        "overdue_most": now - timedelta(days=40),
        "overdue": now - timedelta(days=30, minutes=1),
        "soon": now - timedelta(days=23, minutes=1),
        "on_track": now - timedelta(days=23) + timedelta(hours=1),
    }
    ids = {}
    for name, started in starts.items():
        account = await create_account(api.session, name)
        row = await create_assignment(
            api.session, account_id=account.id, user_id=rep.user_id, started_at=started
        )
        ids[name] = to_global_id("Assignment", row.id)
    nodes = await assignments(api, manager)
    assert [n["id"] for n in nodes] == [
        ids["overdue_most"],
        ids["overdue"],
        ids["soon"],
        ids["on_track"],
    ]
    assert [n["status"] for n in nodes] == ["OVERDUE", "OVERDUE", "DUE_SOON", "ON_TRACK"]
    overdue = await assignments(api, manager, status=["OVERDUE"], userId=rep.id)
    assert [n["id"] for n in overdue] == [ids["overdue_most"], ids["overdue"]]
    later = await assignments(api, manager, status=["DUE_SOON", "ON_TRACK"])
    assert [n["id"] for n in later] == [ids["soon"], ids["on_track"]]
    first = (await api.op("Assignments", {"first": 3}, caller=manager))["assignments"]
    assert first["totalCount"] == 4
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (
        await api.op(
            "Assignments", {"first": 3, "after": first["pageInfo"]["endCursor"]}, caller=manager
        )
    )["assignments"]
    assert [e["node"]["id"] for e in rest["edges"]] == [ids["on_track"]]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_filters_by_user_type_and_account(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep, other = await api.caller(Role.REP), await api.caller(Role.REP)
    a, b = await create_account(api.session, "A"), await create_account(api.session, "B")
    mine = await create_assignment(api.session, account_id=a.id, user_id=rep.user_id)
    parts = await create_assignment(
        api.session, account_id=a.id, user_id=other.user_id, manager_type=ManagerType.PARTS
    )
    await create_assignment(api.session, account_id=b.id, user_id=other.user_id)
    by_user = await assignments(api, rep, userId=rep.id)
    assert [n["id"] for n in by_user] == [to_global_id("Assignment", mine.id)]
    by_type = await assignments(api, manager, managerType="PARTS")
    assert [n["id"] for n in by_type] == [to_global_id("Assignment", parts.id)]
    by_account = await assignments(api, manager, accountId=to_global_id("Account", a.id))
    assert len(by_account) == 2
    integration = await api.caller(Role.INTEGRATION)
    response = await api.gql("query { assignments { totalCount } }", caller=integration)
    assert response["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_deficit_when_ratio_is_exactly_half_and_stale_rows_are_computed(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme")
    row = await create_assignment(
        api.session,
        account_id=account.id,
        user_id=rep.user_id,
        frequency=10,
        started_at=day_start(19),
    )
    await log(api.session, account_id=account.id, occurred_at=noon(5))
    (node,) = await assignments(api, manager, balance=["DEFICIT"])
    assert node["balance"] == {"expected": 2.0, "actual": 1, "ratio": 0.5, "status": "DEFICIT"}
    # A row whose stored balance is from an earlier day (or wrong) is computed at read time.
    await api.session.execute(text("SET session_replication_role = replica"))
    await api.session.execute(
        text("UPDATE assignments SET balance_status = 'SURPLUS', balance_as_of = NULL")
    )
    await api.session.commit()
    assert [n["id"] for n in await assignments(api, manager, balance=["DEFICIT"])] == [node["id"]]
    assert await assignments(api, manager, balance=["SURPLUS"]) == []
    await api.session.execute(text("SET session_replication_role = origin"))
    assert await cadence.refresh_balances(api.session) == 1
    await api.session.commit()
    refreshed = await api.session.get(Assignment, row.id, populate_existing=True)
    assert refreshed is not None
    assert refreshed.balance_status == "DEFICIT"


async def test_contact_rules_default_then_assignee_only_recomputes(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    manager = await api.caller(Role.MANAGER)
    rep, colleague = await api.caller(Role.REP), await api.caller(Role.REP)
    rules = (await api.op("ContactRules", caller=manager))["contactRules"]
    assert [r["managerType"] for r in rules] == [t.value for t in ManagerType]
    every_kind_but_note = [k.value for k in ActivityKind if k is not ActivityKind.NOTE]
    assert all(r["kinds"] == every_kind_but_note and not r["assigneeOnly"] for r in rules)
    account = await create_account(api.session, "Acme")
    await create_assignment(
        api.session, account_id=account.id, user_id=rep.user_id, started_at=day_start(60)
    )
    await log(api.session, account_id=account.id, occurred_at=noon(10), user_id=rep.user_id)
    await log(api.session, account_id=account.id, occurred_at=noon(2), user_id=colleague.user_id)
    await log(api.session, account_id=account.id, occurred_at=noon(1), kind=ActivityKind.VISIT)
    (node,) = await assignments(api, manager)
    assert node["lastContactAt"] == noon(1).isoformat()
    rule_input = {"managerType": "SALES", "kinds": ["CALL_OUTBOUND"], "assigneeOnly": True}
    denied = (await api.op("SetContactRule", {"input": rule_input}, caller=manager))[
        "setContactRule"
    ]
    assert [e["code"] for e in denied["errors"]] == ["FORBIDDEN"]
    (unchanged,) = await assignments(api, manager)
    assert unchanged["lastContactAt"] == noon(1).isoformat()
    result = (await api.op("SetContactRule", {"input": rule_input}, caller=admin))["setContactRule"]
    assert result == {"rule": rule_input, "errors": []}
    await rules_rebuilt(api.session)
    # The rule change rebuilt the stored last contact: only the rep's own calls count now.
    (node,) = await assignments(api, manager)
    assert node["lastContactAt"] == noon(10).isoformat()
    assert node["balance"]["actual"] == 1
    # ...and ingest applies the new rule from then on.
    await log(api.session, account_id=account.id, occurred_at=noon(0), user_id=colleague.user_id)
    await log(api.session, account_id=account.id, occurred_at=noon(3), user_id=rep.user_id)
    (node,) = await assignments(api, manager)
    assert node["lastContactAt"] == noon(3).isoformat()
    assert node["balance"]["actual"] == 2
    rules = (await api.op("ContactRules", caller=manager))["contactRules"]
    assert rules[0] == rule_input
    assert rules[1]["assigneeOnly"] is False


async def test_account_list_shows_assignments(api: Api) -> None:
    rep = await api.caller(Role.REP, name="Rob")
    account = await create_account(api.session, "Acme")
    await create_assignment(
        api.session, account_id=account.id, user_id=rep.user_id, manager_type=ManagerType.PARTS
    )
    await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    data = await api.op("AccountList", {}, caller=rep)
    shown = data["accounts"]["edges"][0]["node"]["assignments"]
    assert [(a["managerType"], a["status"], a["user"]["name"]) for a in shown] == [
        ("SALES", "ON_TRACK", "Rob"),
        ("PARTS", "ON_TRACK", "Rob"),
    ]


async def test_balance_arguments_and_rule_input_are_checked(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    account = await create_account(api.session, "Acme")
    await create_assignment(api.session, account_id=account.id, user_id=admin.user_id)
    query = (
        "query($w: Int!) { assignments { edges { node { balance(windowDays: $w) { actual } } } } }"
    )
    for window in (0, 3651):
        result = await api.gql(query, {"w": window}, caller=admin)
        assert result["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    ok = await api.data(query, {"w": 3650}, caller=admin)
    assert ok["assignments"]["edges"][0]["node"]["balance"] == {"actual": 0}
    empty = {"managerType": "PARTS", "kinds": [], "assigneeOnly": True}
    result = (await api.op("SetContactRule", {"input": empty}, caller=admin))["setContactRule"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_INPUT", "kinds")]
    rules = (await api.op("ContactRules", caller=admin))["contactRules"]
    assert rules[2]["managerType"] == "PARTS"
    assert rules[2]["assigneeOnly"] is False
    assert len(rules[2]["kinds"]) == 12
