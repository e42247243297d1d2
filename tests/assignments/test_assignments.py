"""assignAccount, unassign, workload, and who may do them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.models.assignments import Assignment, ManagerType
from app.models.audit import AuditEntry
from app.models.auth import Role, User
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, log, noon
from tests.support import Api


def assign_input(account_id: int, user_id: int, **extra: object) -> dict[str, object]:
    return {
        "input": {
            "accountId": to_global_id("Account", account_id),
            "userId": to_global_id("User", user_id),
            "managerType": "SALES",
            "contactFrequencyDays": 30,
            **extra,
        }
    }


async def count_assignments(api: Api) -> int:
    return int(await api.session.scalar(select(func.count()).select_from(Assignment)) or 0)


async def test_assign_account_returns_the_assignment(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme")
    started = "2026-01-01T00:00:00+00:00"
    result = (
        await api.op(
            "AssignAccount",
            assign_input(account.id, rep.user_id, startedAt=started),
            caller=manager,
        )
    )["assignAccount"]
    assert result["errors"] == []
    assert result["warnings"] == []
    assignment = result["assignment"]
    assert assignment["managerType"] == "SALES"
    assert assignment["contactFrequencyDays"] == 30
    assert assignment["startedAt"] == started
    assert assignment["user"] == {"id": rep.id}
    assert assignment["account"] == {"id": to_global_id("Account", account.id)}
    audit = (
        await api.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "assignment.create")
        )
    ).one()
    assert audit.actor_user_id == manager.user_id
    assert audit.changes["userId"] == {"before": None, "after": rep.user_id}


async def test_second_user_for_the_same_type_is_already_assigned(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    first, second = await api.caller(Role.REP), await api.caller(Role.REP)
    account = await create_account(api.session, "Acme")
    await create_assignment(api.session, account_id=account.id, user_id=first.user_id)
    result = (
        await api.op("AssignAccount", assign_input(account.id, second.user_id), caller=manager)
    )["assignAccount"]
    assert result["assignment"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("ALREADY_ASSIGNED", "userId")]
    assert await count_assignments(api) == 1
    other_type = (
        await api.op(
            "AssignAccount",
            assign_input(account.id, second.user_id, managerType="PARTS"),
            caller=manager,
        )
    )["assignAccount"]
    assert other_type["errors"] == []
    assert await count_assignments(api) == 2


async def test_frequency_must_be_between_1_and_3650(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme")
    for bad in (0, 3651):
        result = (
            await api.op(
                "AssignAccount",
                assign_input(account.id, rep.user_id, contactFrequencyDays=bad),
                caller=manager,
            )
        )["assignAccount"]
        assert [(e["code"], e["field"]) for e in result["errors"]] == [
            ("INVALID_INPUT", "contactFrequencyDays")
        ]
    assert await count_assignments(api) == 0
    for good in (1, 3650):
        other = await create_account(api.session, f"Ok {good}")
        result = (
            await api.op(
                "AssignAccount",
                assign_input(other.id, rep.user_id, contactFrequencyDays=good),
                caller=manager,
            )
        )["assignAccount"]
        assert result["errors"] == []


async def test_max_accounts_is_a_soft_limit_with_a_warning(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP, name="Rita")
    user = await api.session.get(User, rep.user_id)
    assert user is not None
    user.max_accounts = 1
    await api.session.commit()
    a, b = await create_account(api.session, "A"), await create_account(api.session, "B")
    first = (await api.op("AssignAccount", assign_input(a.id, rep.user_id), caller=manager))[
        "assignAccount"
    ]
    assert first["warnings"] == []
    second = (await api.op("AssignAccount", assign_input(b.id, rep.user_id), caller=manager))[
        "assignAccount"
    ]
    assert second["errors"] == []
    assert second["warnings"] == ["Rita now holds 2 accounts, over their limit of 1."]
    assert await count_assignments(api) == 2


async def test_only_managers_and_admins_assign(api: Api) -> None:
    account = await create_account(api.session, "Acme")
    target = await api.caller(Role.REP)
    for role in (Role.REP, Role.INTEGRATION):
        caller = await api.caller(role)
        result = (
            await api.op("AssignAccount", assign_input(account.id, target.user_id), caller=caller)
        )["assignAccount"]
        assert [e["code"] for e in result["errors"]] == ["FORBIDDEN"]
    assert await count_assignments(api) == 0
    admin = await api.caller(Role.ADMIN)
    result = (
        await api.op("AssignAccount", assign_input(account.id, target.user_id), caller=admin)
    )["assignAccount"]
    assert result["errors"] == []


async def test_unassign_removes_and_audits(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme")
    row = await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    gid = to_global_id("Assignment", row.id)
    forbidden = (await api.op("Unassign", {"input": {"assignmentId": gid}}, caller=rep))["unassign"]
    assert [e["code"] for e in forbidden["errors"]] == ["FORBIDDEN"]
    assert await count_assignments(api) == 1
    result = (await api.op("Unassign", {"input": {"assignmentId": gid}}, caller=manager))[
        "unassign"
    ]
    assert result == {"removedId": gid, "errors": []}
    assert await count_assignments(api) == 0
    again = (await api.op("Unassign", {"input": {"assignmentId": gid}}, caller=manager))["unassign"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("NOT_FOUND", "assignmentId")]
    audit = (
        await api.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "assignment.delete")
        )
    ).one()
    assert audit.changes["userId"] == {"before": rep.user_id, "after": None}


async def test_workload_counts_accounts_and_overdue(api: Api) -> None:
    manager = await api.caller(Role.MANAGER, name="Mia")
    rep = await api.caller(Role.REP, name="Rob")
    a, b, c = [await create_account(api.session, n) for n in "ABC"]
    long_ago = datetime.now(UTC) - timedelta(days=100)
    await create_assignment(api.session, account_id=a.id, user_id=rep.user_id, started_at=long_ago)
    await create_assignment(
        api.session,
        account_id=a.id,
        user_id=rep.user_id,
        manager_type=ManagerType.PARTS,
        started_at=long_ago,
    )
    await create_assignment(api.session, account_id=b.id, user_id=rep.user_id, started_at=long_ago)
    await create_assignment(api.session, account_id=c.id, user_id=rep.user_id)
    await log(api.session, account_id=b.id, occurred_at=noon(1))
    users = (await api.op("Workload", caller=manager))["users"]["edges"]
    found = {u["node"]["name"]: u["node"] for u in users}
    assert found["Rob"]["assignedAccountCount"] == 3
    assert found["Rob"]["overdueCount"] == 2
    assert found["Rob"]["role"] == "REP"
    assert found["Mia"]["assignedAccountCount"] == 0
    assert found["Mia"]["overdueCount"] == 0
