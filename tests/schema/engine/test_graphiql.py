"""GraphiQL comes with its assets: the page names only this origin's, each is served (issue 20)."""

from __future__ import annotations

import base64
import hashlib
import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Route
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.auth import Role
from tests.browser import chromium
from tests.support import Api
from tests.web.dashboard.server import uvicorn_server
from tests.web.dashboard.test_browser import token_for

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


class Assets(HTMLParser):
    """Every URL the page loads by itself: scripts and linked files, with their integrity."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        url = named.get("src") if tag == "script" else named.get("href") if tag == "link" else None
        if url is not None and not url.startswith("data:"):
            self.found.append((url, named.get("integrity")))


async def _assets(api: Api) -> list[tuple[str, str | None]]:
    page = await api.client.get("/graphql", headers={"Accept": BROWSER})
    assert page.status_code == 200
    parser = Assets()
    parser.feed(page.text)
    return parser.found


async def test_the_page_names_only_same_origin_assets_and_each_is_served(api: Api) -> None:
    assets = await _assets(api)
    assert [url for url, _ in assets if urlsplit(url).scheme or urlsplit(url).netloc] == []
    assert len(assets) == 8  # 4 vendored scripts, 2 vendored styles, our script and style
    for url, integrity in assets:
        parts = urlsplit(url)
        assert url.startswith("/graphiql/static/"), url
        response = await api.client.get(url)
        assert response.status_code == 200, url
        media_type = MEDIA_TYPES[Path(parts.path).suffix]
        assert response.headers["content-type"].startswith(media_type), url
        if integrity is not None:  # the npm file, byte for byte (strawberry's SRI hash)
            digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
            assert integrity == f"sha384-{digest}", url
    assert sum(integrity is not None for _, integrity in assets) == 6


@pytest.mark.browser
async def test_graphiql_runs_a_query_with_every_other_origin_blocked(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    token = await token_for(session, Role.ADMIN)
    elsewhere: list[str] = []
    with uvicorn_server(database_url, tmp_path) as base:

        async def only_this_origin(route: Route) -> None:
            if route.request.url.startswith(f"{base}/"):
                await route.continue_()
            else:
                elsewhere.append(route.request.url)
                await route.abort()

        async with chromium() as browser:
            page = await browser.new_page()
            await page.route("**/*", only_this_origin)
            headers = json.dumps(json.dumps({"Authorization": f"Bearer {token}"}))
            await page.add_init_script(f"localStorage.setItem('graphiql:headers', {headers})")
            await page.goto(f"{base}/graphql")
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror")
            await page.click(".graphiql-execute-button")
            result = page.locator(".graphiql-response .CodeMirror")
            await result.get_by_text('"role": "ADMIN"').wait_for()
    assert elsewhere == []
