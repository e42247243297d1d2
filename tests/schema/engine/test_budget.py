"""The per-user cost budget (429 with Retry-After) and the cost limit setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.auth import tokens
from app.kit.actor import SYSTEM
from app.models.auth import Role
from app.settings import Settings
from schema.engine.limits import CostBudget
from tests.support import Api, Caller

PAGE = "{ accounts(first: 50) { edges { node { id } } } }"  # costs 101


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "ACCOUNTFLOW_DATA_DIR": str(tmp_path),
            "ACCOUNTFLOW_RATE_LIMIT_COST_PER_MINUTE": "250",
            "ACCOUNTFLOW_MAX_COST": "150",
        }
    )


async def test_a_user_over_their_budget_gets_429_with_retry_after(api: Api) -> None:
    rep, other = await api.caller(Role.REP), await api.caller(Role.REP)
    for _ in range(3):  # 101 + 101 + 101: the third starts below 250 and ends above
        assert (await api.gql(PAGE, caller=rep))["extensions"] == {"cost": 101}
    refused = await api.post(PAGE, caller=rep)
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # 303 spent drains at 250/60 per second: below 250 again after 13 s
    assert 12 <= int(refused.headers["retry-after"]) <= 14
    assert (await api.post(PAGE, caller=other)).status_code == 200  # per user


async def test_the_tokens_of_one_user_share_one_budget(api: Api) -> None:
    rep = await api.caller(Role.REP)
    minted, _ = await tokens.issue_token(api.session, actor=SYSTEM, user_id=rep.user_id)
    await api.session.commit()
    second = Caller(user_id=rep.user_id, token=minted, role=rep.role)
    for caller in (rep, second, rep):  # 303 spent by one user through two tokens
        assert (await api.gql(PAGE, caller=caller))["extensions"] == {"cost": 101}
    for caller in (second, rep):
        refused = await api.post(PAGE, caller=caller)
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_max_cost_setting_is_applied(api: Api) -> None:
    rep = await api.caller(Role.REP)
    result = await api.gql("{ accounts(first: 100) { edges { node { id } } } }", caller=rep)
    assert result["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 201,
        "maxCost": 150,
    }


def test_the_budget_drains_over_a_minute() -> None:
    now = [0.0]
    budget = CostBudget(600, clock=lambda: now[0])  # drains 10 a second
    assert budget.retry_after(1) is None
    budget.charge(1, 650)
    assert budget.retry_after(1) == 6  # 50 over: 5 s, plus one to be sure
    assert budget.retry_after(2) is None
    now[0] = 5.5
    assert budget.retry_after(1) is None  # 595 left undrained
    off = CostBudget(0, clock=lambda: now[0])
    off.charge(1, 10**9)
    assert off.retry_after(1) is None


def test_charge_spends_only_while_the_budget_lasts() -> None:
    """What a subscription charges each event to: the user's one budget."""
    now = [0.0]
    budget = CostBudget(600, clock=lambda: now[0])  # drains 10 a second
    assert budget.charge(7, 590) is True
    assert budget.charge(7, 50) is True  # 590 left undrained: below the budget, so it runs
    assert budget.charge(7, 1) is False  # 640: spent; nothing more is added
    assert budget.retry_after(7) == 5
    assert budget.charge(8, 1) is True  # another user
    now[0] = 4.5  # 595 left undrained
    assert budget.charge(7, 5) is True
    assert budget.charge(7, 1) is False
    off = CostBudget(0, clock=lambda: now[0])
    assert off.charge(7, 10**9) is True
