"""The managers' dashboard: a static page that reads the GraphQL API with a pasted token.

The page holds that token, so it and its assets say how they may be used: scripts, styles,
images and requests from this origin only (no inline script, nothing from elsewhere),
never inside a frame (no clickjacking of the token form), no MIME sniffing, no referrer.
"""

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
DASHBOARD_PAGE = STATIC_DIR / "index.html"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'none'",  # both forms are handled by script, never submitted
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",  # frame-ancestors for browsers that predate it
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


async def dashboard_page(request: Request) -> Response:
    return FileResponse(DASHBOARD_PAGE, headers=HEADERS)


class DashboardAssets(StaticFiles):
    """The page's scripts, styles and license files, with the page's headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response
