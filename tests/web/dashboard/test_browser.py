"""The dashboard in headless Chromium (Debian's), against a real server and demo data.

Needs /usr/bin/chromium (tests/browser.py says how `make test` gets it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth
from app.auth import tokens
from app.demo import seed_demo
from app.kit.actor import SYSTEM
from app.models.auth import Role
from app.models.handoff import Pipeline, PipelineEntry
from schema import schema
from tests.browser import chromium
from tests.web.dashboard.server import uvicorn_server

pytestmark = pytest.mark.browser
SECTIONS = ("funnel", "time-in-stage", "trend", "coverage", "stuck")
ANSWERS = """
query($from: DateTime!, $to: DateTime!) {
  stageThroughput(from: $from, to: $to) {
    stages { stage entered exited current medianSecondsInStage p90SecondsInStage conversionRate }
  }
  stageTrend(from: $from, to: $to, interval: WEEK) { periodStart entered exited }
  coverageReport(groupBy: [USER, CLASSIFICATION]) { user { id } classification overdueShare }
  stuckEntries(olderThanDays: 30, first: 20) { totalCount edges { node { account { name } } } }
}
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as found:
        yield found


async def token_for(session: AsyncSession, role: Role) -> str:
    user = await auth.create_user(
        session,
        actor=SYSTEM,
        email=f"{role.value.lower()}@browser.example.org",
        name="Mia",
        role=role,
    )
    token, _ = await tokens.issue_token(session, actor=SYSTEM, user_id=user.id)
    await session.commit()
    return token


# Runs before the page's own scripts and outside its Content-Security-Policy.
WATCH_POLICY = """window.violations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));"""


async def open_with_token(browser: Browser, base: str, token: str) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 1800})
    await page.add_init_script(WATCH_POLICY)
    await page.goto(f"{base}/dashboard")
    await page.wait_for_selector("body[data-state=done]")
    await page.fill("#token", token)
    await page.click("#token-form button[type=submit]")
    await page.wait_for_selector("body[data-state=done]")
    return page


async def values(page: Page, selector: str, metric: str) -> dict[str, str]:
    """The raw numbers behind a table's cells, by row key."""
    script = """([selector, metric]) => Object.fromEntries(
        [...document.querySelectorAll(`${selector} tbody tr`)].map((tr) => [
            tr.dataset.key, tr.querySelector(`[data-metric="${metric}"]`).dataset.value]))"""
    found: dict[str, str] = await page.evaluate(script, [selector, metric])
    return found


def same(shown: str, expected: float | None) -> bool:
    return shown == "" if expected is None else abs(float(shown) - expected) < 1e-6


def screenshot_path(tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get("ACCOUNTFLOW_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


async def test_dashboard_shows_the_api_figures(
    browser: Browser, database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    await seed_demo(database_url, accounts=40)
    manager = await token_for(session, Role.MANAGER)
    rep = await token_for(session, Role.REP)
    with uvicorn_server(database_url, tmp_path) as base:
        page = await open_with_token(browser, base, manager)
        for section in SECTIONS:
            await page.wait_for_selector(f"#{section}[data-state=ready]")
        lead_state = await page.get_attribute("#lead-sources", "data-state")
        has_leads = "leadSourceReport" in schema.as_str()
        assert lead_state in (("ready", "empty") if has_leads else ("absent",))
        assert await page.is_hidden("#message")

        first, last = await page.input_value("#from"), await page.input_value("#to")
        assert date.fromisoformat(last) - date.fromisoformat(first) == timedelta(days=90)
        end = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
        variables = {"from": f"{first}T00:00:00Z", "to": f"{end}T00:00:00Z"}
        answers = await graphql(base, manager, ANSWERS, variables)
        await check_figures(page, answers, await _entries(session))
        assert await page.evaluate("window.violations") == []  # the CSP lets it all work
        await page.screenshot(path=screenshot_path(tmp_path, "dashboard.png"), full_page=True)

        wrong = await open_with_token(browser, base, "af_wrong")
        assert await wrong.get_attribute("#message", "data-kind") == "unauthorized"
        assert "Wrong token" in await wrong.inner_text("#message")
        assert await wrong.is_hidden("#reports")
        forbidden = await open_with_token(browser, base, rep)
        assert await forbidden.get_attribute("#message", "data-kind") == "forbidden"
        assert "managers and admins" in await forbidden.inner_text("#message")
        await forbidden.screenshot(path=screenshot_path(tmp_path, "dashboard-forbidden.png"))


async def _entries(session: AsyncSession) -> int:
    """Entries of the default pipeline: the 40 accounts and those converted from leads."""
    query = select(func.count()).select_from(PipelineEntry).join(Pipeline)
    return int(await session.scalar(query.where(Pipeline.key == "default")) or 0)


async def check_figures(page: Page, answers: dict[str, Any], entries: int) -> None:
    stages = {s["stage"]: s for s in answers["stageThroughput"]["stages"]}
    assert entries > 40
    assert sum(s["current"] for s in stages.values()) == entries
    for metric, field in (("current", "current"), ("entered", "entered"), ("exited", "exited")):
        shown = await values(page, "#funnel", metric)
        assert shown == {k: str(s[field]) for k, s in stages.items()}
    conversion = await values(page, "#funnel", "conversion")
    assert all(same(conversion[k], s["conversionRate"]) for k, s in stages.items())
    for metric, field in (("median", "medianSecondsInStage"), ("p90", "p90SecondsInStage")):
        shown = await values(page, "#time-in-stage", metric)
        assert all(same(shown[k], s[field]) for k, s in stages.items()), metric
    funnel = await page.evaluate("Chart.getChart('funnel-chart').data.datasets[0].data")
    assert funnel == [s["current"] for s in stages.values()]

    weeks: dict[str, list[int]] = {}
    for r in answers["stageTrend"]:
        weeks.setdefault(r["periodStart"], [0, 0])
        weeks[r["periodStart"]][0] += r["entered"]
        weeks[r["periodStart"]][1] += r["exited"]
    assert await values(page, "#trend", "entered") == {w: str(n[0]) for w, n in weeks.items()}
    assert await values(page, "#trend", "exited") == {w: str(n[1]) for w, n in weeks.items()}
    lines = await page.evaluate("Chart.getChart('trend-chart').data.datasets.length")
    assert lines == len(stages)
    assert sum(n[0] for n in weeks.values()) > 0

    for row in answers["coverageReport"]:
        metric = f"overdue-{row['classification'] or 'NONE'}"
        selector = f"#coverage tr[data-key='{row['user']['id']}'] [data-metric='{metric}']"
        share = await page.get_attribute(selector, "data-value")
        assert share is not None
        assert same(share, row["overdueShare"])

    stuck = answers["stuckEntries"]
    assert await page.get_attribute("#stuck .total", "data-value") == str(stuck["totalCount"])
    names = await page.eval_on_selector_all(
        "#stuck tbody tr td:first-child", "(cells) => cells.map((c) => c.textContent)"
    )
    assert names == [e["node"]["account"]["name"] for e in stuck["edges"]]


async def graphql(base: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_dashboard_on_an_empty_database(
    browser: Browser, database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    admin = await token_for(session, Role.ADMIN)
    with uvicorn_server(database_url, tmp_path) as base:
        page = await browser.new_page()
        await page.goto(f"{base}/dashboard")
        await page.wait_for_selector("body[data-state=done]")
        assert await page.get_attribute("#message", "data-kind") == "token"
        html = await page.content()
        assert "seed-demo" not in html  # nothing about the data is in the page itself
        page = await open_with_token(browser, base, admin)
        assert await page.get_attribute("#message", "data-kind") == "empty"
        assert "seed-demo" in await page.inner_text("#message")
        for section in SECTIONS:
            assert await page.get_attribute(f"#{section}", "data-state") == "empty"
        await page.screenshot(path=screenshot_path(tmp_path, "dashboard-empty.png"))
