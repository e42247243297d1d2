"""The authentication backend as served: API tokens (app.web.auth), plus the scrape token.

`ACCOUNTFLOW_METRICS_TOKEN`, when set, is a bearer token that reads /metrics and nothing
else (a Prometheus scraper needs no user); it is compared in constant time. Every other
token is an API token, whose role the rule table judges (`metrics.read`: admins). The role
of the request is noted for its log lines (app.observe).
"""

from __future__ import annotations

import hmac

from starlette.authentication import AuthCredentials, BaseUser
from starlette.requests import HTTPConnection

from app import observe
from app.auth.tokens import bearer_token
from app.web.auth import AUTHENTICATED, TokenBackend, Viewer
from app.web.state import state_of

METRICS_PATH = "/metrics"
SCRAPER = "SCRAPER"  # the role the log lines show for the scrape token


class Scraper(BaseUser):
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return "metrics scraper"


class EdgeBackend(TokenBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        if _is_scraper(conn):
            observe.note_role(SCRAPER)
            return AuthCredentials([AUTHENTICATED, "metrics.read"]), Scraper()
        found = await super().authenticate(conn)
        if found is not None and isinstance(found[1], Viewer):
            observe.note_role(found[1].principal.user.role.value)
        return found


def _is_scraper(conn: HTTPConnection) -> bool:
    expected = state_of(conn).settings.operate.metrics_token
    if expected is None or conn.scope["type"] != "http" or conn.scope["path"] != METRICS_PATH:
        return False
    given = bearer_token(conn.headers.get("authorization"))
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
