from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.kit.actor import SYSTEM
from app.models.accounts import Account, BuyingRole, Contact


async def create_account(session: AsyncSession, name: str = "Acme", **fields: Any) -> Account:
    account = await service.create_account(session, actor=SYSTEM, name=name, **fields)
    await session.commit()
    return account


async def create_contact(
    session: AsyncSession, account: Account, name: str = "Ann", role: BuyingRole | None = None
) -> Contact:
    contact = await service.add_contact(
        session, actor=SYSTEM, account_id=account.id, name=name, buying_role=role
    )
    await session.commit()
    return contact
