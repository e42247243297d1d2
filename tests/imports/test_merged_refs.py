"""CSV imports name accounts by externalRef the way the API does: a merged duplicate's ref
means its survivor, for a contact's account and for an account's parent."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.merge import merge_accounts
from app.imports.runner import run_import
from app.kit.actor import SYSTEM
from app.models.accounts import Account, Contact
from app.models.imports import ImportKind
from tests.accounts.factories import create_account


async def _merged_pair(session: AsyncSession) -> Account:
    survivor = await create_account(session, "Acme", external_ref="A-1")
    duplicate = await create_account(session, "Acme Inc", external_ref="B-1")
    await merge_accounts(session, actor=SYSTEM, survivor_id=survivor.id, duplicate_id=duplicate.id)
    await session.commit()
    return survivor


async def _import(session: AsyncSession, path: Path, kind: ImportKind, content: str) -> None:
    path.write_bytes(content.encode())  # noqa: ASYNC240 (a small file, before any request)
    progress = await run_import(session, actor=SYSTEM, kind=kind, path=path)
    assert (progress.failed, progress.errors) == (False, [])


async def test_a_contact_by_a_merged_ref_lands_on_the_survivor(
    session: AsyncSession, tmp_path: Path
) -> None:
    survivor = await _merged_pair(session)
    content = "accountExternalRef;name;email\nB-1;Ann;ann@acme.de\n"
    await _import(session, tmp_path / "contacts.csv", ImportKind.CONTACTS, content)
    assert list(await session.scalars(select(Contact.account_id))) == [survivor.id]


async def test_a_parent_by_a_merged_ref_is_the_survivor(
    session: AsyncSession, tmp_path: Path
) -> None:
    survivor = await _merged_pair(session)
    content = "externalRef;name;parentExternalRef\nC-1;Acme Berlin;B-1\n"
    await _import(session, tmp_path / "accounts.csv", ImportKind.ACCOUNTS, content)
    child = await session.scalar(select(Account).where(Account.external_ref == "C-1"))
    assert child is not None
    assert child.parent_id == survivor.id
