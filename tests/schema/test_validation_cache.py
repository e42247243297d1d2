"""A document is validated once: later requests with it hit strawberry's validation cache."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from strawberry.extensions.validation_cache import _get_validate_cache

from app.models.auth import Role, User
from app.settings import Settings
from schema import build_schema
from schema.context import Context
from tests.accounts.factories import create_account
from tests.support import Api

LIST = """
query List($filter: AccountFilter) {
  first: accounts(first: 2, filter: $filter) { totalCount edges { node { name classification } } }
  second: accounts(first: 1) { edges { node { id contacts { name } } } }
}
"""


async def test_validation_is_cached_across_requests(api: Api) -> None:
    await create_account(api.session, name="Head")
    caller = await api.caller(Role.ADMIN, name="Ada")
    viewer = await api.session.get(User, caller.user_id)
    assert viewer is not None
    context = Context(
        session=api.session,
        viewer=viewer,
        token_id=0,
        request_id="t",
        settings=Settings.from_env({}),
        now=datetime.now(UTC),
    )
    schema = build_schema()
    cache: Any = _get_validate_cache(256)
    results = []
    for _ in range(3):
        hits = cache.cache_info().hits
        results.append(await schema.execute(LIST, context_value=context))
    assert cache.cache_info().hits == hits + 1
    assert [r.errors for r in results] == [None, None, None]
