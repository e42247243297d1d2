"""The dashboard's team picker (issue 21), in headless Chromium against a real server: the
coverage heat map and the stuck entries show the picked team's figures, as the API gives
them with teamId. Where the schema has no `teams` query yet, the picker stays away."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.demo import seed_demo
from app.models.assignments import Assignment
from app.models.auth import Role
from schema import schema
from tests.browser import chromium
from tests.reports.teams import create_team
from tests.web.dashboard.server import uvicorn_server
from tests.web.dashboard.test_browser import graphql, open_with_token, token_for

pytestmark = pytest.mark.browser
ANSWERS = """
query($teamId: ID) {
  coverageReport(groupBy: [USER, CLASSIFICATION], filter: {teamId: $teamId}) { user { id } }
  stuckEntries(olderThanDays: 30, first: 20, teamId: $teamId) {
    totalCount edges { node { account { name } } }
  }
}
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as found:
        yield found


def has_teams_query() -> bool:
    query = schema.as_str().split("type Query {", 1)[1].split("\n}", 1)[0]
    return re.search(r"^\s+teams[:(]", query, re.MULTILINE) is not None


async def shown(page: Page) -> tuple[set[str], str | None, list[str]]:
    rows = await page.eval_on_selector_all(
        "#coverage tbody tr", "(rows) => rows.map((r) => r.dataset.key)"
    )
    total = await page.get_attribute("#stuck .total", "data-value")
    names = await page.eval_on_selector_all(
        "#stuck tbody tr td:first-child", "(cells) => cells.map((c) => c.textContent)"
    )
    return set(rows), total, names


def expected(answers: dict[str, Any]) -> tuple[set[str], str, list[str]]:
    users = {r["user"]["id"] for r in answers["coverageReport"] if r["user"]}
    stuck = answers["stuckEntries"]
    names = [e["node"]["account"]["name"] for e in stuck["edges"]]
    return users, str(stuck["totalCount"]), names


async def test_the_team_picker_narrows_coverage_and_stuck_entries(
    browser: Browser, database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    await seed_demo(database_url, accounts=40)
    holders = list(await session.scalars(select(Assignment.user_id).distinct()))
    manager = await token_for(session, Role.MANAGER)
    lead = holders[0]
    team = await create_team(session, "North", lead_id=lead, members=sorted(holders)[:1])
    with uvicorn_server(database_url, tmp_path) as base:
        page = await open_with_token(browser, base, manager)
        await page.wait_for_selector("#coverage[data-state=ready]")
        everyone = await graphql(base, manager, ANSWERS, {})
        assert await shown(page) == expected(everyone)
        if not has_teams_query():
            assert await page.get_attribute("#team-picker", "data-state") == "absent"
            assert await page.is_hidden("#team-picker")
            return
        assert await page.get_attribute("#team-picker", "data-state") == "ready"
        assert await page.eval_on_selector_all(
            "#team option", "(options) => options.map((o) => o.textContent)"
        ) == ["Everyone", "North"]
        await page.select_option("#team", team)
        await page.click("#filters button[type=submit]")
        await page.wait_for_selector("body[data-state=done]")
        await page.wait_for_selector("#coverage[data-state=ready]")
        answers = await graphql(base, manager, ANSWERS, {"teamId": team})
        assert await shown(page) == expected(answers)
        assert len(expected(answers)[0]) == 1 < len(expected(everyone)[0])
        assert await page.inner_text("#coverage .team-note") == "team North"
