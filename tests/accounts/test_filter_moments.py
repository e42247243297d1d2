"""A DateTime filter of accounts outside the usable years (in UTC too) is INVALID_INPUT on the
filter's field, on both paths: never a database error answered INTERNAL (found by the fuzz)."""

from __future__ import annotations

import pytest

from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.support import Api

LIST = "query($f: AccountFilter) { accounts(first: 5, filter: $f) { edges { node { name } } } }"
COUNT = "query($f: AccountFilter) { accounts(last: 0, filter: $f) { totalCount } }"


@pytest.mark.parametrize("query", [LIST, COUNT], ids=["list", "count"])
@pytest.mark.parametrize("key", ["createdAfter", "updatedAfter"])
async def test_a_moment_before_year_one_in_utc_is_invalid_input(
    api: Api, query: str, key: str
) -> None:
    rep = await api.caller(Role.REP)
    await create_account(api.session, "Acme")
    result = await api.gql(query, {"f": {key: "0001-01-01T00:00:00+14:00"}}, caller=rep)
    codes = [(e["extensions"]["code"], e["extensions"].get("field")) for e in result["errors"]]
    assert codes == [("INVALID_INPUT", f"filter.{key}")]
