"""Parent changes: no cycle can race in, and recursive reads end even on a planted cycle."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select, text

from app.models.accounts import Account, BuyingRole
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.activities.factories import create_assignment
from tests.support import Api, Caller


def codes(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["code"], e["field"]) for e in result["errors"]]


async def move(api: Api, child: int, parent: int | None, caller: Caller) -> dict[str, Any]:
    variables = {
        "input": {
            "id": to_global_id("Account", child),
            "parentId": None if parent is None else to_global_id("Account", parent),
        }
    }
    data = await api.op("UpdateAccount", variables, caller=caller)
    result: dict[str, Any] = data["updateAccount"]
    return result


async def test_concurrent_opposite_moves_never_make_a_cycle(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    for round_ in range(8):
        a = (await create_account(api.session, f"A{round_}")).id
        b = (await create_account(api.session, f"B{round_}")).id
        first, second = await asyncio.gather(move(api, a, b, manager), move(api, b, a, manager))
        outcomes = sorted([codes(first), codes(second)])
        assert outcomes == [[], [("INVALID_INPUT", "parentId")]], round_
        parents = dict(
            (
                await api.session.execute(
                    select(Account.id, Account.parent_id).where(Account.id.in_([a, b]))
                )
            ).all()
        )
        assert sorted(p is None for p in parents.values()) == [False, True]


async def test_only_managers_set_the_classification(api: Api) -> None:
    rep = await api.caller(Role.REP)
    integration = await api.caller(Role.INTEGRATION)
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Acme")
    await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    gid = to_global_id("Account", account.id)
    for caller in (rep, integration):
        created = (
            await api.op(
                "CreateAccount", {"input": {"name": "New", "classification": "A"}}, caller=caller
            )
        )["createAccount"]
        assert codes(created) == [("FORBIDDEN", "classification")]
        updated = (
            await api.op(
                "UpdateAccount", {"input": {"id": gid, "classification": "B"}}, caller=caller
            )
        )["updateAccount"]
        assert codes(updated) == [("FORBIDDEN", "classification")]
    names = await api.session.scalars(select(Account.name))
    assert list(names) == ["Acme"]
    # Sending the value it has already is no change.
    same = (
        await api.op(
            "UpdateAccount",
            {"input": {"id": gid, "classification": None, "name": "Acme 2"}},
            caller=rep,
        )
    )["updateAccount"]
    assert codes(same) == []
    done = (
        await api.op("UpdateAccount", {"input": {"id": gid, "classification": "A"}}, caller=manager)
    )["updateAccount"]
    assert codes(done) == []
    assert done["account"]["classification"] == "A"


async def test_a_rep_moves_an_account_only_under_one_they_hold(api: Api) -> None:
    rep = await api.caller(Role.REP)
    child = await create_account(api.session, "Branch")
    held = await create_account(api.session, "Held")
    foreign = await create_account(api.session, "Foreign")
    for account in (child, held):
        await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    assert codes(await move(api, child.id, foreign.id, rep)) == [("FORBIDDEN", "parentId")]
    parent = await api.session.scalar(select(Account.parent_id).where(Account.id == child.id))
    assert parent is None
    assert codes(await move(api, child.id, held.id, rep)) == []
    assert codes(await move(api, child.id, None, rep)) == []


PLANNING = """query($id: ID!) {
  node(id: $id) {
    ... on Account {
      rollup { branchCount }
      contactMap(includeBranches: true) { decisionMakers { name } }
    }
  }
}"""


async def test_recursive_reads_end_on_a_cycle_planted_in_sql(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    a = await create_account(api.session, "A")
    b = await create_account(api.session, "B", parent_id=a.id)
    c = await create_account(api.session, "C", parent_id=b.id)
    await create_contact(api.session, c, "Dana", BuyingRole.DECISION_MAKER)
    await api.session.execute(
        text("UPDATE accounts SET parent_id = :c WHERE id = :a"), {"a": a.id, "c": c.id}
    )
    await api.session.commit()
    variables = {"id": to_global_id("Account", a.id)}
    data = await asyncio.wait_for(api.data(PLANNING, variables, caller=manager), timeout=10)
    assert data["node"]["rollup"] == {"branchCount": 2}
    assert {d["name"] for d in data["node"]["contactMap"]["decisionMakers"]} == {"Dana"}
    forecast = await asyncio.wait_for(
        api.data(
            '{ forecast(groupBy: PARENT, periodStart: "2026-01-01") { label } }',
            caller=manager,
        ),
        timeout=10,
    )
    assert forecast["forecast"] == []
