"""ACCOUNTFLOW_ENV=production: no GraphiQL, introspection for admins only, no suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.models.auth import Role
from app.settings import Settings
from tests.support import Api

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "ACCOUNTFLOW_DATA_DIR": str(tmp_path),
            "ACCOUNTFLOW_ENV": "production",
        }
    )


async def test_no_graphiql(api: Api) -> None:
    page = await api.client.get("/graphql", headers={"Accept": BROWSER})
    assert not page.headers["content-type"].startswith("text/html")
    assert "graphiql" not in page.text.lower()


@pytest.mark.parametrize("role", [Role.REP, Role.MANAGER, Role.INTEGRATION])
async def test_introspection_is_for_admins_only(api: Api, role: Role) -> None:
    caller, admin = await api.caller(role), await api.caller(Role.ADMIN)
    for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Account") { name } }'):
        result = await api.gql(query, caller=caller)
        assert result["data"] is None
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "errors" not in await api.gql(query, caller=admin)
    # __typename is not introspection
    assert await api.data("{ __typename viewer { id } }", caller=caller)


async def test_no_did_you_mean(api: Api) -> None:
    rep = await api.caller(Role.REP)
    result = await api.gql("{ viewer { emai } }", caller=rep)
    assert [e["message"] for e in result["errors"]] == ["Cannot query field 'emai' on type 'User'."]
