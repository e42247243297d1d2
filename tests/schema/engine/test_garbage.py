"""A request's DataLoaders (their futures and rows) are freed when it ends, not by the GC."""

from __future__ import annotations

import gc

from strawberry.dataloader import DataLoader

from app.models.accounts import BuyingRole
from app.models.auth import Role
from tests.accounts.factories import create_account, create_contact
from tests.support import Api

LIST = "{ accounts(first: 5) { edges { node { name contacts { name } } } } }"


async def test_no_dataloader_outlives_its_request(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    for n in range(3):
        account = await create_account(api.session, name=f"Account {n}")
        await create_contact(api.session, account, name=f"Contact {n}", role=BuyingRole.COACH)
    await api.data(LIST, caller=admin)
    gc.collect()
    gc.disable()  # what is left now waits for a collection
    try:
        data = await api.data(LIST, caller=admin)
        alive = [o for o in gc.get_objects() if isinstance(o, DataLoader)]
    finally:
        gc.enable()
    assert data["accounts"]["edges"][0]["node"]["contacts"] == [{"name": "Contact 0"}]
    assert alive == []
