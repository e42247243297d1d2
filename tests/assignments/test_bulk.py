"""bulkReassign: APPEND, REPLACE, REMOVE, dry run, and all or nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.activities.rules import set_contact_rule
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind
from app.models.assignments import Assignment, ManagerType
from app.models.audit import AuditEntry
from app.models.auth import Role, User
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, log, noon
from tests.support import Api, Caller


async def holdings(api: Api) -> set[tuple[int, str, int]]:
    query = select(Assignment.account_id, Assignment.manager_type, Assignment.user_id)
    return {(account, kind.value, user) for account, kind, user in await api.session.execute(query)}


async def reassign(api: Api, caller: Caller, **input: Any) -> dict[str, Any]:
    data = await api.op("BulkReassign", {"input": input}, caller=caller)
    result: dict[str, Any] = data["bulkReassign"]
    return result


async def setup(api: Api) -> tuple[Caller, Caller, Caller, list[Assignment]]:
    manager = await api.caller(Role.MANAGER)
    old, new = await api.caller(Role.REP), await api.caller(Role.REP)
    rows = []
    for name in ("A", "B"):
        account = await create_account(api.session, name)
        rows.append(
            await create_assignment(api.session, account_id=account.id, user_id=old.user_id)
        )
    rows.append(
        await create_assignment(
            api.session,
            account_id=rows[0].account_id,
            user_id=old.user_id,
            manager_type=ManagerType.PARTS,
        )
    )
    return manager, old, new, rows


async def test_replace_by_user_and_type_moves_and_audits(api: Api) -> None:
    manager, old, new, (a, b, _parts) = await setup(api)
    result = await reassign(
        api, manager, fromUserId=old.id, managerType="SALES", toUserId=new.id, mode="REPLACE"
    )
    assert result["errors"] == []
    assert result["affectedCount"] == 2
    assert result["dryRun"] is False
    assert [(x["id"], x["user"]["id"]) for x in result["assignments"]] == [
        (to_global_id("Assignment", a.id), new.id),
        (to_global_id("Assignment", b.id), new.id),
    ]
    assert await holdings(api) == {
        (a.account_id, "SALES", new.user_id),
        (b.account_id, "SALES", new.user_id),
        (a.account_id, "PARTS", old.user_id),
    }
    entries = await api.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "assignment.bulk_replace")
    )
    assert sorted((e.entity_id, e.actor_user_id, e.changes["userId"]) for e in entries) == [
        (a.id, manager.user_id, {"before": old.user_id, "after": new.user_id}),
        (b.id, manager.user_id, {"before": old.user_id, "after": new.user_id}),
    ]


async def test_append_copies_and_remove_drops(api: Api) -> None:
    manager, old, new, (a, b, parts) = await setup(api)
    ids = [to_global_id("Assignment", a.id), to_global_id("Assignment", parts.id)]
    appended = await reassign(api, manager, assignmentIds=ids, toUserId=new.id, mode="APPEND")
    assert appended["errors"] == []
    assert appended["affectedCount"] == 2
    assert [(x["managerType"], x["user"]["id"]) for x in appended["assignments"]] == [
        ("SALES", new.id),
        ("PARTS", new.id),
    ]
    assert len(await holdings(api)) == 5
    removed = await reassign(api, manager, assignmentIds=ids, toUserId=new.id, mode="REMOVE")
    assert removed["errors"] == []
    assert removed["affectedCount"] == 2
    assert await holdings(api) == {
        (a.account_id, "SALES", new.user_id),
        (a.account_id, "PARTS", new.user_id),
        (b.account_id, "SALES", old.user_id),
    }


async def test_dry_run_reports_without_writing(api: Api) -> None:
    manager, old, new, _ = await setup(api)
    before = await holdings(api)
    for mode in ("APPEND", "REPLACE", "REMOVE"):
        result = await reassign(
            api, manager, fromUserId=old.id, toUserId=new.id, mode=mode, dryRun=True
        )
        assert result["errors"] == []
        assert result["dryRun"] is True
        assert result["affectedCount"] == 3
        assert len(result["assignments"]) == 3
        assert await holdings(api) == before
    audit = await api.session.scalars(
        select(AuditEntry.id).where(AuditEntry.action.like("assignment.bulk%"))
    )
    assert list(audit) == []


async def test_any_failure_changes_nothing(api: Api) -> None:
    manager, old, new, (a, b, _parts) = await setup(api)
    before = await holdings(api)
    ids = [to_global_id("Assignment", i) for i in (a.id, b.id)]
    copy = await reassign(api, manager, assignmentIds=ids, toUserId=new.id, mode="APPEND")
    assert copy["errors"] == []
    after_copy = await holdings(api)
    again = await reassign(api, manager, assignmentIds=ids, toUserId=new.id, mode="REPLACE")
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("ALREADY_ASSIGNED", "toUserId")]
    assert again["affectedCount"] == 0
    assert await holdings(api) == after_copy
    unknown = [*ids, to_global_id("Assignment", 999999)]
    missing = await reassign(api, manager, assignmentIds=unknown, toUserId=old.id, mode="REMOVE")
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [("NOT_FOUND", "assignmentIds")]
    assert await holdings(api) == after_copy
    target = await api.session.get(User, new.user_id)
    assert target is not None
    target.is_active = False
    await api.session.commit()
    inactive = await reassign(api, manager, fromUserId=old.id, toUserId=new.id, mode="REPLACE")
    assert [(e["code"], e["field"]) for e in inactive["errors"]] == [("INVALID_INPUT", "toUserId")]
    assert await holdings(api) == after_copy
    assert before != after_copy


async def test_reps_cannot_reassign(api: Api) -> None:
    _, old, new, _ = await setup(api)
    before = await holdings(api)
    result = await reassign(api, old, fromUserId=old.id, toUserId=new.id, mode="REPLACE")
    assert [e["code"] for e in result["errors"]] == ["FORBIDDEN"]
    assert await holdings(api) == before


async def test_moved_assignments_count_the_new_users_contacts_under_assignee_only(
    api: Api,
) -> None:
    manager, old, new, (a, _b, _parts) = await setup(api)
    await set_contact_rule(
        api.session,
        actor=SYSTEM,
        manager_type=ManagerType.SALES,
        kinds=[ActivityKind.CALL_OUTBOUND],
        assignee_only=True,
    )
    await api.session.commit()
    await log(api.session, account_id=a.account_id, occurred_at=noon(5), user_id=old.user_id)
    await log(api.session, account_id=a.account_id, occurred_at=noon(9), user_id=new.user_id)
    gid = to_global_id("Assignment", a.id)
    moved = await reassign(api, manager, assignmentIds=[gid], toUserId=new.id, mode="REPLACE")
    assert moved["errors"] == []
    row = await api.session.get(Assignment, a.id, populate_existing=True)
    assert row is not None
    assert row.user_id == new.user_id
    assert row.last_contact_at == noon(9)
    assert row.contact_days == [noon(9).date()]
