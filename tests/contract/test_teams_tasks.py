"""Issue 21, tasks: CreateTask, CompleteTask, CancelTask, MyTasks and MyFigures as clients
send them (tests/tasks/test_reminder_servers.py holds TaskDue), with known answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from app.accounts.service import archive_account
from app.kit.actor import SYSTEM
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment, ManagerType
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.tasks import Task, TaskKind
from app.models.webhooks import OutboxEvent
from tests.accounts.factories import create_account, create_contact
from tests.activities.factories import create_assignment, log
from tests.kit.writers import gid
from tests.support import Api, Caller
from tests.tasks.support import at, make_task, op, operations, payload, set_visibility


@dataclass(frozen=True, slots=True)
class People:
    manager: Caller
    rep: Caller
    other: Caller
    integration: Caller


@pytest.fixture
async def people(api: Api) -> People:
    return People(
        manager=await api.caller(Role.MANAGER),
        rep=await api.caller(Role.REP, name="Rita Rep"),
        other=await api.caller(Role.REP, name="Otto Other"),
        integration=await api.caller(Role.INTEGRATION),
    )


def codes(found: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in found["errors"]]


async def _count(api: Api, model: type[Any], *where: Any) -> int:
    query = select(func.count()).select_from(model).where(*where)
    return int(await api.session.scalar(query) or 0)


async def test_a_rep_creates_a_call_on_a_contact_which_names_its_account(
    api: Api, people: People
) -> None:
    account = await create_account(api.session, "Acme")
    contact = await create_contact(api.session, account, "Ann")
    account_id = account.id
    due, remind = at(days=2).isoformat(), at(days=1).isoformat()
    created = await payload(
        api, "CreateTask", people.rep, kind="CALL", title=" Call Ann ", dueAt=due,
        remindAt=remind, contactId=gid("Contact", contact.id),
    )  # fmt: skip
    assert created["errors"] == []
    task = created["task"]
    assert (task["kind"], task["title"], task["status"]) == ("CALL", "Call Ann", "OPEN")
    assert task["owner"] == {"id": people.rep.id, "name": "Rita Rep"}
    assert task["account"] == {"id": gid("Account", account.id), "name": "Acme"}
    assert task["contact"] == {"id": gid("Contact", contact.id), "name": "Ann"}
    assert task["lead"] is None
    assert task["dueAt"][:19] == due[:19]
    assert task["remindAt"][:19] == remind[:19]
    assert await _count(api, AuditEntry, AuditEntry.action == "task.create") == 1
    events = await api.session.scalars(select(OutboxEvent).where(OutboxEvent.type.like("task.%")))
    (event,) = events
    assert (event.type, event.account_id, event.data["id"]) == (
        "task.created",
        account_id,
        task["id"],
    )


async def test_an_integration_creates_a_task_for_the_owner_it_names(
    api: Api, people: People
) -> None:
    account = await create_account(api.session, "Phoned")
    unnamed = await payload(
        api, "CreateTask", people.integration, kind="CALL", title="Call back",
        dueAt=at(hours=1).isoformat(), accountId=gid("Account", account.id),
    )  # fmt: skip
    assert unnamed["task"] is None
    assert codes(unnamed) == [("INVALID_INPUT", "ownerId")]
    variables = {
        "input": {
            "kind": "CALL",
            "title": "Call back",
            "dueAt": at(hours=1).isoformat(),
            "accountId": gid("Account", account.id),
            "ownerId": people.rep.id,
        }
    }
    named = await api.gql(operations()["CreateTask"], variables, caller=people.integration)
    task = named["data"]["createTask"]["task"]
    assert named["data"]["createTask"]["errors"] == []
    assert (task["account"]["name"], task["owner"]) == ("Phoned", None)
    # An integration reads no people: the owner it named reads as null, FORBIDDEN.
    assert [(e["path"], e["extensions"]["code"]) for e in named["errors"]] == [
        (["createTask", "task", "owner"], "FORBIDDEN")
    ]
    stored = await api.session.scalar(select(Task))
    assert stored is not None
    assert stored.owner_id == people.rep.user_id


async def test_bad_or_forbidden_task_inputs_are_refused_and_write_nothing(
    api: Api, people: People
) -> None:
    mine = await create_account(api.session, "Mine")
    theirs = await create_account(api.session, "Theirs")
    await create_assignment(api.session, account_id=mine.id, user_id=people.rep.user_id)
    await create_assignment(api.session, account_id=theirs.id, user_id=people.other.user_id)
    elsewhere = await create_contact(api.session, theirs, "Bob")
    due = at(days=1)
    base = {"kind": "TODO", "title": "Do it", "dueAt": due.isoformat()}
    await set_visibility(api.session, "OWN")
    refused = [
        ({"remindAt": at(days=2).isoformat()}, ("INVALID_INPUT", "remindAt")),
        ({"title": "  "}, ("INVALID_INPUT", "title")),
        ({"ownerId": people.other.id}, ("FORBIDDEN", "ownerId")),
        ({"accountId": gid("Account", theirs.id)}, ("NOT_FOUND", "accountId")),
        ({"contactId": gid("Contact", elsewhere.id)}, ("NOT_FOUND", "contactId")),
        (
            {"accountId": gid("Account", mine.id), "contactId": gid("Contact", elsewhere.id)},
            ("NOT_FOUND", "contactId"),
        ),
        ({"leadId": gid("Lead", 999)}, ("NOT_FOUND", "leadId")),
        ({"accountId": gid("Contact", elsewhere.id)}, ("NOT_FOUND", "accountId")),
    ]
    for given, expected in refused:
        found = await payload(api, "CreateTask", people.rep, **{**base, **given})
        assert (found["task"], codes(found)) == (None, [expected]), given
    assert await _count(api, Task) == 0
    assert await _count(api, OutboxEvent, OutboxEvent.type.like("task.%")) == 0
    # The same rep on the account they hold, and a manager for someone else on any account.
    ok = await payload(api, "CreateTask", people.rep, **base, accountId=gid("Account", mine.id))
    assert ok["errors"] == []
    other = {"ownerId": people.other.id, "contactId": gid("Contact", elsewhere.id)}
    assert (await payload(api, "CreateTask", people.manager, **base, **other))["errors"] == []


async def test_completing_a_call_logs_the_activity_that_counts_for_cadence(
    api: Api, people: People
) -> None:
    account = await create_account(api.session, "Held")
    assignment = await create_assignment(
        api.session, account_id=account.id, user_id=people.rep.user_id, started_at=at(days=-60)
    )
    call = await make_task(
        api.session, people.rep.user_id, kind=TaskKind.CALL, due_at=at(), account_id=account.id
    )
    occurred = at(hours=-1)
    done = await payload(
        api, "CompleteTask", people.rep, id=gid("Task", call.id), occurredAt=occurred.isoformat()
    )
    assert done["errors"] == []
    assert (done["task"]["id"], done["task"]["status"]) == (gid("Task", call.id), "DONE")
    assert done["task"]["completedAt"] is not None
    assert done["activity"]["kind"] == "CALL_OUTBOUND"
    assert done["activity"]["occurredAt"][:19] == occurred.isoformat()[:19]
    held = await api.session.get(Assignment, assignment.id, populate_existing=True)
    assert held is not None
    assert held.last_contact_at == occurred
    logged = await api.session.scalar(select(Activity))
    assert logged is not None
    assert (logged.user_id, logged.summary) == (people.rep.user_id, "Task")
    again = await payload(api, "CompleteTask", people.rep, id=gid("Task", call.id))
    assert codes(again) == [("INVALID_TRANSITION", "id")]
    assert await _count(api, Activity) == 1


async def test_a_todo_logs_nothing_and_only_its_owner_or_a_manager_completes_it(
    api: Api, people: People
) -> None:
    todo = await make_task(api.session, people.rep.user_id, due_at=at(days=1))
    refused = await payload(api, "CompleteTask", people.other, id=gid("Task", todo.id))
    assert (refused["task"], codes(refused)) == (None, [("FORBIDDEN", "id")])
    unknown = await payload(api, "CompleteTask", people.rep, id=gid("Task", 999))
    assert codes(unknown) == [("NOT_FOUND", "id")]
    done = await payload(api, "CompleteTask", people.manager, id=gid("Task", todo.id))
    assert (done["task"]["status"], done["activity"], done["errors"]) == ("DONE", None, [])
    assert await _count(api, Activity) == 0
    types = await api.session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id))
    assert [t for t in types if t.startswith("task.")] == ["task.created", "task.completed"]


async def test_cancel_task(api: Api, people: People) -> None:
    task = await make_task(api.session, people.rep.user_id, due_at=at(days=1))
    integration = await payload(api, "CancelTask", people.integration, id=gid("Task", task.id))
    assert codes(integration) == [("FORBIDDEN", None)]
    cancelled = await payload(api, "CancelTask", people.rep, id=gid("Task", task.id))
    assert cancelled == {"task": {"id": gid("Task", task.id), "status": "CANCELLED"}, "errors": []}
    again = await payload(api, "CancelTask", people.rep, id=gid("Task", task.id))
    assert codes(again) == [("INVALID_TRANSITION", "id")]
    assert await _count(api, AuditEntry, AuditEntry.action == "task.cancel") == 1
    assert await _count(api, OutboxEvent, OutboxEvent.type == "task.cancelled") == 1


BACKWARD = """
query($last: Int, $before: String) {
  tasks(last: $last, before: $before) { edges { node { title } } pageInfo { endCursor } }
}
"""


async def _tasks(api: Api, caller: Caller, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = (await op(api, "MyTasks", variables, caller=caller))["tasks"]
    return found


def _titles(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["title"] for edge in page["edges"]]


async def test_my_tasks_lists_the_viewers_own_by_due_time_in_pages(
    api: Api, people: People
) -> None:
    account = await create_account(api.session, "Listed")
    for title, days in (("third", 3), ("first", -1), ("second", 1), ("fourth", 4)):
        await make_task(
            api.session, people.rep.user_id, title=title, due_at=at(days=days),
            account_id=account.id,
        )  # fmt: skip
    await make_task(api.session, people.other.user_id, title="not mine", due_at=at())
    first = await _tasks(api, people.rep, first=2)
    assert (first["totalCount"], _titles(first)) == (4, ["first", "second"])
    listed = {"id": gid("Account", account.id), "name": "Listed"}
    assert first["edges"][0]["node"]["account"] == listed
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await _tasks(api, people.rep, first=2, after=first["pageInfo"]["endCursor"])
    assert (_titles(rest), rest["pageInfo"]["hasNextPage"]) == (["third", "fourth"], False)
    backward = (await api.data(BACKWARD, {"last": 2}, caller=people.rep))["tasks"]
    assert _titles(backward) == ["third", "fourth"]
    before = {"last": 2, "before": backward["pageInfo"]["endCursor"]}
    assert _titles((await api.data(BACKWARD, before, caller=people.rep))["tasks"]) == [
        "second",
        "third",
    ]
    due = await _tasks(api, people.rep, filter={"dueBefore": at(days=2).isoformat()})
    assert _titles(due) == ["first", "second"]
    await payload(api, "CancelTask", people.rep, id=first["edges"][0]["node"]["id"])
    open_ = await _tasks(api, people.rep, filter={"status": ["OPEN"]})
    assert (open_["totalCount"], _titles(open_)) == (3, ["second", "third", "fourth"])


async def test_others_tasks_follow_their_accounts_visibility(api: Api, people: People) -> None:
    held = await create_account(api.session, "Both hold")
    apart = await create_account(api.session, "Other's only")
    holders = ((held, people.rep, ManagerType.SALES), (held, people.other, ManagerType.PARTS))
    for account, user, kind in (*holders, (apart, people.other, ManagerType.SALES)):
        await create_assignment(
            api.session, account_id=account.id, user_id=user.user_id, manager_type=kind
        )
    for title, account_id in (("shared", held.id), ("apart", apart.id), ("bare", None)):
        await make_task(
            api.session, people.other.user_id, title=title, due_at=at(days=len(title)),
            account_id=account_id,
        )  # fmt: skip
    theirs = {"filter": {"ownerId": people.other.id}}
    assert _titles(await _tasks(api, people.rep, **theirs)) == ["bare", "apart", "shared"]
    await set_visibility(api.session, "OWN")
    assert _titles(await _tasks(api, people.rep, **theirs)) == ["shared"]
    assert (await _tasks(api, people.rep, **theirs))["totalCount"] == 1
    assert len((await _tasks(api, people.manager, **theirs))["edges"]) == 3
    hidden = await api.session.scalar(select(Task.id).where(Task.title == "apart"))
    node = "query($id: ID!) { node(id: $id) { ... on Task { title } } }"
    for caller, expected in ((people.rep, None), (people.other, {"title": "apart"})):
        found = await api.data(node, {"id": gid("Task", hidden or 0)}, caller=caller)
        assert found["node"] == expected


async def test_my_figures_known_answers(api: Api, people: People) -> None:
    rep = people.rep.user_id
    late, soon, later, gone, elsewhere = [
        await create_account(api.session, name)
        for name in ("Late", "Soon", "Later", "Archived", "Elsewhere")
    ]
    # Due 10 days ago (overdue), in 5 days (due soon), in 20 days; the archived one is out.
    for account, started in ((late, -40), (soon, -25), (later, -10), (gone, -40)):
        await create_assignment(
            api.session, account_id=account.id, user_id=rep, started_at=at(days=started)
        )
    await create_assignment(
        api.session, account_id=later.id, user_id=rep, manager_type=ManagerType.PARTS,
        frequency=90, started_at=at(),
    )  # fmt: skip
    await archive_account(api.session, actor=SYSTEM, account_id=gone.id)
    await api.session.commit()
    # Counted: the rep's call 2 days ago; not: a NOTE, a visit 40 days ago, another's call.
    contacts = (
        (ActivityKind.CALL_OUTBOUND, 2, rep),
        (ActivityKind.NOTE, 1, rep),
        (ActivityKind.VISIT, 40, rep),
        (ActivityKind.CALL_OUTBOUND, 1, people.other.user_id),
    )
    for kind, days, user in contacts:
        when = at(days=-days)
        await log(api.session, account_id=elsewhere.id, occurred_at=when, kind=kind, user_id=user)
    for days in (-1, 1, 2):
        await make_task(api.session, rep, due_at=at(days=days))
    done = await make_task(api.session, rep, due_at=at(days=-2))
    await payload(api, "CompleteTask", people.rep, id=gid("Task", done.id))
    await make_task(api.session, people.other.user_id, due_at=at(days=-1))
    viewer = (await op(api, "MyFigures", {}, caller=people.rep))["viewer"]
    assert viewer["id"] == people.rep.id
    assert viewer["figures"] == {
        "assignedAccounts": 3,
        "overdue": 1,
        "dueSoon": 1,
        "contactsLast30Days": 1,
        "contactsDueNext30Days": 2,
        "openTasks": 3,
        "overdueTasks": 1,
    }


async def test_figures_are_the_users_own_or_a_managers_to_read(api: Api, people: People) -> None:
    query = "query($id: ID!) { node(id: $id) { ... on User { figures { openTasks } } } }"
    await make_task(api.session, people.rep.user_id, due_at=at(days=1))
    variables = {"id": people.rep.id}
    read = await api.data(query, variables, caller=people.manager)
    assert read["node"]["figures"] == {"openTasks": 1}
    refused = await api.gql(query, variables, caller=people.other)
    assert refused["data"]["node"]["figures"] is None
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
