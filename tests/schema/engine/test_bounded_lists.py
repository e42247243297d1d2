"""An account's contacts, assignments and stage history: plain lists with a bound
(ACCOUNTFLOW_MAX_LIST_ITEMS), priced by it and cut to it on both paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.assignments import service as assignments
from app.kit.actor import SYSTEM
from app.models.assignments import ManagerType
from app.models.auth import Role
from app.settings import Settings
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.handoff.factories import default_pipeline, insert_events
from tests.support import Api, Caller

BOUND = 3
LISTS = "contacts { name } assignments { user { name } } stageHistory { toStage }"
DETAIL = "query($id: ID!) { node(id: $id) { ... on Account { %s } } }"
# revenueLast12Months has no SQL: strawberry answers (it costs nothing, being a leaf)
PATHS = {"compiled": DETAIL % LISTS, "graphql": DETAIL % (LISTS + " revenueLast12Months")}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_MAX_LIST_ITEMS": str(BOUND)}
    )


async def _account_with_five_of_each(api: Api) -> tuple[str, list[Caller]]:
    account = await create_account(api.session, "Acme")
    for n in range(5):
        await create_contact(api.session, account, name=f"Contact {n}")
    reps = [await api.caller(Role.REP, name=f"Rep {n}") for n in range(5)]
    for rep, manager_type in zip(reps, ManagerType, strict=False):  # SALES first
        await assignments.assign_account(
            api.session,
            actor=SYSTEM,
            account_id=account.id,
            user_id=rep.user_id,
            manager_type=manager_type,
            contact_frequency_days=30,
        )
    await api.session.commit()
    pipeline = await default_pipeline(api.session)
    start = datetime(2030, 1, 1, tzinfo=UTC)  # after the event of the account's creation
    stages = ["QUALIFIED", "LOST", "PROSPECT", "QUALIFIED", "OPPORTUNITY"]
    moves: list[tuple[str | None, str, datetime]] = [(None, stages[0], start)]
    moves += [(stages[n - 1], stages[n], start + timedelta(days=n)) for n in range(1, 5)]
    await insert_events(api.session, pipeline, account.id, moves, touches=[0] * 4)
    return to_global_id("Account", account.id), reps


@pytest.mark.parametrize("path", PATHS)
async def test_each_list_keeps_its_bound_and_is_priced_by_it(api: Api, path: str) -> None:
    manager = await api.caller(Role.MANAGER)
    account_id, _ = await _account_with_five_of_each(api)
    response = await api.post(PATHS[path], {"id": account_id}, caller=manager)
    body = response.json()
    assert response.headers["x-accountflow-executor"] == path
    assert "errors" not in body, body
    account = body["data"]["node"]
    assert account["contacts"] == [{"name": f"Contact {n}"} for n in range(BOUND)]
    assert account["assignments"] == [{"user": {"name": f"Rep {n}"}} for n in range(BOUND)]
    # the newest three, oldest first
    stages = [event["toStage"] for event in account["stageHistory"]]
    assert stages == ["PROSPECT", "QUALIFIED", "OPPORTUNITY"]
    # node 1, contacts 3 x 1, assignments 3 x (1 + user 1), stageHistory 3 x 1
    assert body["extensions"] == {"cost": 1 + 3 + 6 + 3}


async def test_a_page_of_accounts_prices_each_bounded_list_by_the_bound(api: Api) -> None:
    rep = await api.caller(Role.REP)
    query = "{ accounts(first: 10) { edges { node { contacts { id } } } } }"
    assert (await api.gql(query, caller=rep))["extensions"] == {"cost": 1 + 10 * (2 + BOUND)}


def test_the_bound_is_a_setting_of_at_least_one() -> None:
    assert Settings.from_env({}).limits.max_list_items == 100
    limits = Settings.from_env({"ACCOUNTFLOW_MAX_LIST_ITEMS": "7"}).limits
    assert limits.max_list_items == 7
    with pytest.raises(ValueError, match="ACCOUNTFLOW_MAX_LIST_ITEMS must be at least 1"):
        Settings.from_env({"ACCOUNTFLOW_MAX_LIST_ITEMS": "0"})
