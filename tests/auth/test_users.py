"""updateUser through the ASGI app: edits, deactivation, the last admin, pickers, audit."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from app.models.audit import AuditEntry
from app.models.auth import ApiToken, Role, User
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment
from tests.support import Api, Caller

VIEWER = "{ viewer { id } }"
USERS = """query($all: Boolean!) {
  users(first: 100, includeInactive: $all) { edges { node { id } } }
}"""
WORK = """query($inactive: Boolean) {
  assignments(filter: {inactiveUsers: $inactive}) { totalCount edges { node { user { id } } } }
}"""


async def _update(api: Api, caller: Caller, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.op("UpdateUser", {"input": fields}, caller=caller))[
        "updateUser"
    ]
    return result


async def _status(api: Api, caller: Caller) -> int:
    return (await api.post(VIEWER, caller=caller)).status_code


async def _audits(api: Api) -> int:
    return int(await api.session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def _listed(api: Api, caller: Caller, *, include_inactive: bool) -> set[str]:
    data = await api.data(USERS, {"all": include_inactive}, caller=caller)
    return {edge["node"]["id"] for edge in data["users"]["edges"]}


async def test_admin_edits_a_user_and_each_change_is_audited(api: Api) -> None:
    admin, rep = await api.caller(Role.ADMIN), await api.caller(Role.REP, name="Rita")
    result = await _update(
        api, admin, id=rep.id, name=" Rita Diaz ", role="MANAGER", maxAccounts=40
    )
    assert result == {
        "user": {
            "id": rep.id,
            "name": "Rita Diaz",
            "role": "MANAGER",
            "maxAccounts": 40,
            "isActive": True,
        },
        "errors": [],
    }
    entry = (
        await api.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.update").order_by(AuditEntry.id)
        )
    ).one()
    assert (entry.entity_type, entry.entity_id, entry.actor_user_id) == (
        "User",
        rep.user_id,
        admin.user_id,
    )
    assert entry.changes == {
        "name": {"before": "Rita", "after": "Rita Diaz"},
        "role": {"before": "REP", "after": "MANAGER"},
        "maxAccounts": {"before": None, "after": 40},
    }
    cleared = await _update(api, admin, id=rep.id, maxAccounts=None)
    assert cleared["user"]["maxAccounts"] is None
    audits = await _audits(api)
    unchanged = await _update(api, admin, id=rep.id, name="Rita Diaz", role=None)
    assert unchanged["user"]["role"] == "MANAGER"
    assert await _audits(api) == audits  # nothing changed, nothing written


async def test_bad_input_is_a_user_error_and_nothing_is_written(api: Api) -> None:
    admin, rep = await api.caller(Role.ADMIN), await api.caller(Role.REP, name="Rob")
    audits = await _audits(api)
    unknown = await _update(api, admin, id=to_global_id("User", 987654), name="X")
    assert [(e["code"], e["field"]) for e in unknown["errors"]] == [("NOT_FOUND", "id")]
    for bad in (-1, 1_000_001):
        over = await _update(api, admin, id=rep.id, maxAccounts=bad, name="Changed")
        assert over["user"] is None
        assert [(e["code"], e["field"]) for e in over["errors"]] == [
            ("INVALID_INPUT", "maxAccounts")
        ]
    blank = await _update(api, admin, id=rep.id, name="  ")
    assert [e["field"] for e in blank["errors"]] == ["name"]
    assert await api.session.scalar(select(User.name).where(User.id == rep.user_id)) == "Rob"
    assert await _audits(api) == audits


async def test_only_an_admin_updates_users(api: Api) -> None:
    manager, rep = await api.caller(Role.MANAGER), await api.caller(Role.REP)
    audits = await _audits(api)
    for caller in (manager, rep):
        result = await _update(api, caller, id=rep.id, isActive=False)
        assert [e["code"] for e in result["errors"]] == ["FORBIDDEN"]
    assert await _status(api, rep) == 200
    assert await _audits(api) == audits


async def test_deactivation_stops_tokens_at_once_and_hides_the_user(api: Api) -> None:
    admin, rep = await api.caller(Role.ADMIN), await api.caller(Role.REP)
    assert rep.id in await _listed(api, admin, include_inactive=False)
    result = await _update(api, admin, id=rep.id, isActive=False)
    assert result["user"]["isActive"] is False
    assert await _status(api, rep) == 401
    metrics = await api.client.get("/metrics", headers={"Authorization": f"Bearer {rep.token}"})
    assert metrics.status_code == 401
    assert rep.id not in await _listed(api, admin, include_inactive=False)
    assert rep.id in await _listed(api, admin, include_inactive=True)
    revoked = await api.session.scalars(
        select(ApiToken.revoked_at).where(ApiToken.user_id == rep.user_id)
    )
    assert all(at is not None for at in revoked)
    actions = await api.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
    assert list(actions)[-2:] == ["user.update", "token.revoke"]
    # Reactivation does not revive the old tokens: an admin mints new ones.
    assert (await _update(api, admin, id=rep.id, isActive=True))["user"]["isActive"] is True
    assert await _status(api, rep) == 401
    minted = await api.op(
        "CreateApiToken", {"input": {"userId": rep.id, "name": "back"}}, caller=admin
    )
    fresh = minted["createApiToken"]["token"]
    response = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {fresh}"}
    )
    assert response.status_code == 200


async def test_no_token_is_minted_for_an_inactive_user(api: Api) -> None:
    admin, rep = await api.caller(Role.ADMIN), await api.caller(Role.REP)
    await _update(api, admin, id=rep.id, isActive=False)
    result = await api.op(
        "CreateApiToken", {"input": {"userId": rep.id, "name": "x"}}, caller=admin
    )
    errors = result["createApiToken"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID_INPUT", "userId")]


async def test_a_deactivated_users_assignments_stay_listed_for_reassignment(api: Api) -> None:
    admin, manager = await api.caller(Role.ADMIN), await api.caller(Role.MANAGER)
    leaving, staying = await api.caller(Role.REP), await api.caller(Role.REP)
    for n, holder in enumerate((leaving, leaving, staying)):
        account = await create_account(api.session, name=f"Acme {n}")
        await create_assignment(api.session, account_id=account.id, user_id=holder.user_id)
    await _update(api, admin, id=leaving.id, isActive=False)
    work = (await api.data(WORK, {"inactive": True}, caller=manager))["assignments"]
    assert work["totalCount"] == 2
    assert {edge["node"]["user"]["id"] for edge in work["edges"]} == {leaving.id}
    active = (await api.data(WORK, {"inactive": False}, caller=manager))["assignments"]
    assert active["totalCount"] == 1
    everything = (await api.data(WORK, {"inactive": None}, caller=manager))["assignments"]
    assert everything["totalCount"] == 3
    by_user = await api.data(
        "query($u: ID) { assignments(filter: {userId: $u}) { totalCount } }",
        {"u": leaving.id},
        caller=manager,
    )
    assert by_user["assignments"]["totalCount"] == 2


async def test_the_last_active_admin_can_be_neither_deactivated_nor_demoted(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    audits = await _audits(api)
    off = await _update(api, admin, id=admin.id, isActive=False)
    assert [(e["code"], e["field"]) for e in off["errors"]] == [("LAST_ADMIN", "isActive")]
    demoted = await _update(api, admin, id=admin.id, role="MANAGER")
    assert [(e["code"], e["field"]) for e in demoted["errors"]] == [("LAST_ADMIN", "role")]
    assert await _audits(api) == audits
    assert await _status(api, admin) == 200
    second = await api.caller(Role.ADMIN)
    done = await _update(api, second, id=admin.id, role="MANAGER")
    assert done["user"]["role"] == "MANAGER"
    last = await _update(api, second, id=second.id, isActive=False)
    assert [e["code"] for e in last["errors"]] == ["LAST_ADMIN"]


async def test_a_user_holding_accounts_cannot_become_an_integration(api: Api) -> None:
    admin, rep = await api.caller(Role.ADMIN), await api.caller(Role.REP)
    account = await create_account(api.session, name="Held")
    await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    result = await _update(api, admin, id=rep.id, role="INTEGRATION")
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_INPUT", "role")]
    assert await api.session.scalar(select(User.role).where(User.id == rep.user_id)) is Role.REP


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(api: Api) -> None:
    first, second = await api.caller(Role.ADMIN), await api.caller(Role.ADMIN)
    results = await asyncio.gather(
        _update(api, first, id=second.id, role="REP"),
        _update(api, second, id=first.id, role="REP"),
    )
    codes = sorted(e["code"] for r in results for e in r["errors"])
    assert codes == ["LAST_ADMIN"]
    admins = await api.session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN)
    )
    assert admins == 1


async def test_a_role_change_applies_to_the_next_request(api: Api) -> None:
    admin, other = await api.caller(Role.ADMIN), await api.caller(Role.ADMIN)
    assert (await _update(api, admin, id=other.id, role="REP"))["errors"] == []
    refused = await _update(api, other, id=admin.id, name="Renamed")
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    viewer = await api.data("{ viewer { role } }", caller=other)
    assert viewer == {"viewer": {"role": "REP"}}
