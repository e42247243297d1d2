"""The dashboard's page and assets say how a browser may use them (issue 18)."""

from __future__ import annotations

import pytest

from tests.support import Api

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/dashboard", "text/html"),
        ("/dashboard/static/dashboard.js", "text/javascript"),
        ("/dashboard/static/dashboard.css", "text/css"),
        ("/dashboard/static/vendor/chart.umd.js", "text/javascript"),
    ],
)
async def test_the_page_and_its_assets_carry_the_security_headers(
    api: Api, path: str, media_type: str
) -> None:
    response = await api.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["content-security-policy"] == POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
